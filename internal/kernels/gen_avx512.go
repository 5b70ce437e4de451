//go:build ignore

// gen_avx512 writes avx512_amd64.s, the AVX-512 micro-kernels of package
// kernels: go run gen_avx512.go gen_emit.go (see go:generate in
// avx512_amd64.go). Unrolled variants differ only in their row count, so they
// are generated rather than written out by hand.
package main

import "fmt"

// maxNNRows is the largest row block of gemmNN: 10 rows x 32 columns keep 20
// accumulators, two B vectors and a zero in the 32 vector registers.
const maxNNRows = 10

// unrollRows is the largest row block whose k loop runs four accumulator sets.
const unrollRows = 2

// rowAddr is the address of row r of C: DI holds row 0, DX row 5, R8 the row
// stride in bytes and R9 three row strides.
func rowAddr(off string, r int) string {
	base := "DI"
	if r >= 5 {
		base, r = "DX", r-5
	}
	switch r {
	case 0:
		return fmt.Sprintf("%s(%s)", off, base)
	case 1:
		return fmt.Sprintf("%s(%s)(R8*1)", off, base)
	case 2:
		return fmt.Sprintf("%s(%s)(R8*2)", off, base)
	case 3:
		return fmt.Sprintf("%s(%s)(R9*1)", off, base)
	default:
		return fmt.Sprintf("%s(%s)(R8*4)", off, base)
	}
}

// gemmNN emits gemmNN<mr>: C (mr, n) = [C +] [bias +] Apanel·B, [ReLU].
//
//	func gemmNN<mr>(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)
//
// ap is A packed as (k, mr): the mr row values of column p at ap[p*mr:]. B is
// (k, n) with row stride ldb, C (mr, n) with row stride ldc (in floats).
// flags: 1 accumulate into C, 2 add bias[r] to row r, 4 clamp at zero.
// Columns go in strips of 32 (two vectors); the last strip is masked.
//
// With rows set it emits gemmNN<mr>Rows instead, whose B row p starts at
// b[rows[p]] (offsets in floats, any order): an implicit GEMM, e.g. the
// column matrix of a convolution read straight from the image.
//
//	func gemmNN<mr>Rows(k, n int, ap, b *float32, rows *int, c *float32, ldc int, bias *float32, flags int)
func gemmNN(mr int, rows bool) {
	fn, nn, ldb := fmt.Sprintf("gemmNN%d", mr), fmt.Sprintf("nn%d", mr), "ldb int"
	if rows {
		fn, nn, ldb = fn+"Rows", nn+"rows", "rows *int"
	}
	p("// func %s(k, n int, ap, b *float32, %s, c *float32, ldc int, bias *float32, flags int)", fn, ldb)
	p("TEXT ·%s(SB), NOSPLIT, $8-72", fn)
	flushOn()
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ n+8(FP), R10")
	p("\tMOVQ ap+16(FP), R11")
	p("\tMOVQ b+24(FP), BX")
	if rows {
		p("\tMOVQ rows+32(FP), R12")
	} else {
		p("\tMOVQ ldb+32(FP), R12")
		p("\tSHLQ $2, R12")
	}
	p("\tMOVQ c+40(FP), DI")
	p("\tMOVQ ldc+48(FP), R8")
	p("\tSHLQ $2, R8")
	p("\tMOVQ bias+56(FP), R13")
	p("\tMOVQ flags+64(FP), R14")
	p("\tLEAQ (R8)(R8*2), R9")
	p("\tLEAQ (DI)(R8*4), DX")
	p("\tADDQ R8, DX")
	p("\tVPXORD Z31, Z31, Z31")
	p("\tMOVQ $-1, AX")
	p("\tKMOVW AX, K1")
	p("\tKMOVW AX, K2")
	p("\tXORQ SI, SI") // SI = 1 on the final, masked strip
	p("%s_strip:", nn)
	p("\tCMPQ R10, $32")
	p("\tJGE %s_body", nn)
	p("\tTESTQ R10, R10")
	p("\tJLE %s_done", nn)
	// Masks for the last n < 32 columns.
	p("\tMOVQ $-1, AX")
	p("\tBZHIQ R10, AX, AX")
	p("\tKMOVW AX, K1")
	p("\tSHRQ $16, AX")
	p("\tKMOVW AX, K2")
	p("\tMOVQ $1, SI")
	p("%s_body:", nn)
	// Initialise the accumulators: bias or zero.
	p("\tTESTQ $2, R14")
	p("\tJZ %s_zero", nn)
	for r := 0; r < mr; r++ {
		p("\tVBROADCASTSS %d(R13), Z%d", 4*r, 2*r)
		p("\tVMOVAPS Z%d, Z%d", 2*r, 2*r+1)
	}
	p("\tJMP %s_k", nn)
	p("%s_zero:", nn)
	for r := 0; r < mr; r++ {
		p("\tVPXORD Z%d, Z%d, Z%d", 2*r, 2*r, 2*r)
		p("\tVPXORD Z%d, Z%d, Z%d", 2*r+1, 2*r+1, 2*r+1)
	}
	p("%s_k:", nn)
	p("\tMOVQ R11, R15") // A panel
	if rows {
		p("\tMOVQ rows+32(FP), R12") // row offsets
	} else {
		p("\tMOVQ BX, AX") // B strip
	}
	p("\tMOVQ CX, R13") // k counter (bias no longer needed in this strip)
	if mr <= unrollRows {
		// Few rows give short dependency chains per accumulator: run four
		// sets of accumulators over k, four steps at a time, and add them up.
		for r := 2 * mr; r < 8*mr; r++ {
			p("\tVPXORD Z%d, Z%d, Z%d", r, r, r)
		}
		p("%s_k4:", nn)
		p("\tCMPQ R13, $4")
		p("\tJL %s_k1", nn)
		for u := 0; u < 4; u++ {
			loadB(rows, 20+2*u)
			advanceB(rows)
			for r := 0; r < mr; r++ {
				p("\tVFMADD231PS.BCST %d(R15), Z%d, Z%d", 4*(u*mr+r), 20+2*u, 2*mr*u+2*r)
				p("\tVFMADD231PS.BCST %d(R15), Z%d, Z%d", 4*(u*mr+r), 21+2*u, 2*mr*u+2*r+1)
			}
		}
		p("\tADDQ $%d, R15", 16*mr)
		p("\tSUBQ $4, R13")
		p("\tJMP %s_k4", nn)
		p("%s_k1:", nn)
	}
	p("\tTESTQ R13, R13")
	p("\tJZ %s_kdone", nn)
	p("%s_kloop:", nn)
	loadB(rows, 20)
	for r := 0; r < mr; r++ {
		p("\tVFMADD231PS.BCST %d(R15), Z20, Z%d", 4*r, 2*r)
		p("\tVFMADD231PS.BCST %d(R15), Z21, Z%d", 4*r, 2*r+1)
	}
	p("\tADDQ $%d, R15", 4*mr)
	advanceB(rows)
	p("\tDECQ R13")
	p("\tJNZ %s_kloop", nn)
	p("%s_kdone:", nn)
	if mr <= unrollRows {
		for u := 1; u < 4; u++ {
			for r := 0; r < 2*mr; r++ {
				p("\tVADDPS Z%d, Z%d, Z%d", 2*mr*u+r, r, r)
			}
		}
	}
	p("\tMOVQ bias+56(FP), R13")
	// Accumulate into C.
	p("\tTESTQ $1, R14")
	p("\tJZ %s_noacc", nn)
	for r := 0; r < mr; r++ {
		p("\tVMOVUPS.Z %s, K1, Z22", rowAddr("0", r))
		p("\tVADDPS Z22, Z%d, Z%d", 2*r, 2*r)
		p("\tVMOVUPS.Z %s, K2, Z23", rowAddr("64", r))
		p("\tVADDPS Z23, Z%d, Z%d", 2*r+1, 2*r+1)
	}
	p("%s_noacc:", nn)
	p("\tTESTQ $4, R14")
	p("\tJZ %s_store", nn)
	// VMAXPS returns its second source (the accumulator, in Go's operand
	// order the first) when either is NaN, so NaNs survive the ReLU as in Go.
	for r := 0; r < 2*mr; r++ {
		p("\tVMAXPS Z%d, Z31, Z%d", r, r)
	}
	p("%s_store:", nn)
	for r := 0; r < mr; r++ {
		p("\tVMOVUPS Z%d, K1, %s", 2*r, rowAddr("0", r))
		p("\tVMOVUPS Z%d, K2, %s", 2*r+1, rowAddr("64", r))
	}
	p("\tTESTQ SI, SI")
	p("\tJNZ %s_done", nn)
	p("\tADDQ $128, BX")
	p("\tADDQ $128, DI")
	p("\tADDQ $128, DX")
	p("\tSUBQ $32, R10")
	p("\tJMP %s_strip", nn)
	p("%s_done:", nn)
	flushOff()
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// loadB loads the current row of the B strip into Z<z> and Z<z+1> (masks
// K1, K2): at AX, or with rows at BX plus the current offset.
func loadB(rows bool, z int) {
	if rows {
		p("\tMOVQ (R12), AX")
		p("\tVMOVUPS.Z (BX)(AX*4), K1, Z%d", z)
		p("\tVMOVUPS.Z 64(BX)(AX*4), K2, Z%d", z+1)
		return
	}
	p("\tVMOVUPS.Z (AX), K1, Z%d", z)
	p("\tVMOVUPS.Z 64(AX), K2, Z%d", z+1)
}

// advanceB steps to the next row of B: AX += ldb, or the next offset.
func advanceB(rows bool) {
	if rows {
		p("\tADDQ $8, R12")
		return
	}
	p("\tADDQ R12, AX")
}

// gemmNT emits gemmNT45: the 4x5 dot products of rows a[0..3] and b[0..4]
// (length k) into out[i*5+j], with vectors along k.
//
//	func gemmNT45(args *ntArgs)
//
// ntArgs is {a [4]*float32; b [5]*float32; k int; out [20]float32;
// part *[320]float32; mode int}. Mode bit 1 starts from the 20 unreduced
// vectors in part instead of zero; bit 2 stores them back unreduced instead
// of summing each into out (so long sums can run in pieces, and over images,
// with one horizontal reduction at the end).
func gemmNT() {
	a := []string{"AX", "BX", "CX", "DX"}
	b := []string{"SI", "DI", "R8", "R9", "R10"}
	p("// func gemmNT45(args *ntArgs)")
	p("TEXT ·gemmNT45(SB), NOSPLIT, $8-8")
	flushOn()
	p("\tMOVQ args+0(FP), R15")
	for i, r := range a {
		p("\tMOVQ %d(R15), %s", 8*i, r)
	}
	for j, r := range b {
		p("\tMOVQ %d(R15), %s", 32+8*j, r)
	}
	p("\tMOVQ 72(R15), R11")  // k
	p("\tMOVQ 160(R15), R14") // part
	p("\tMOVQ 168(R15), R13") // mode
	p("\tTESTQ $1, R13")
	p("\tJNZ nt_load")
	for i := 0; i < 20; i++ {
		p("\tVPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	p("\tJMP nt_start")
	p("nt_load:")
	for i := 0; i < 20; i++ {
		p("\tVMOVUPS %d(R14), Z%d", 64*i, i)
	}
	p("nt_start:")
	p("\tXORQ R12, R12") // byte offset
	p("nt_loop:")
	p("\tCMPQ R11, $16")
	p("\tJL nt_tail")
	emitNTStep(a, b, "")
	p("\tADDQ $64, R12")
	p("\tSUBQ $16, R11")
	p("\tJMP nt_loop")
	p("nt_tail:")
	p("\tTESTQ R11, R11")
	p("\tJZ nt_reduce")
	p("\tMOVQ $-1, R13")
	p("\tBZHIQ R11, R13, R13")
	p("\tKMOVW R13, K1")
	emitNTStep(a, b, "K1")
	p("nt_reduce:")
	p("\tMOVQ 168(R15), R13")
	p("\tTESTQ $2, R13")
	p("\tJZ nt_hsum")
	// Mode 2: leave the 20 vectors unreduced in part for the next call.
	for i := 0; i < 20; i++ {
		p("\tVMOVUPS Z%d, %d(R14)", i, 64*i)
	}
	flushOff()
	p("\tVZEROUPPER")
	p("\tRET")
	p("nt_hsum:")
	// Horizontal sums with EVEX forms only (accumulators reach Z19).
	for i := 0; i < 20; i++ {
		p("\tVEXTRACTF64X4 $1, Z%d, Y30", i)
		p("\tVADDPS Y30, Y%d, Y%d", i, i)
		p("\tVEXTRACTF32X4 $1, Y%d, X30", i)
		p("\tVADDPS X30, X%d, X%d", i, i)
		p("\tVPERMILPS $0x4e, X%d, X30", i)
		p("\tVADDPS X30, X%d, X%d", i, i)
		p("\tVPERMILPS $0xb1, X%d, X30", i)
		p("\tVADDPS X30, X%d, X%d", i, i)
		p("\tVMOVSS X%d, %d(R15)", i, 80+4*i)
	}
	flushOff()
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func emitNTStep(a, b []string, mask string) {
	load := func(src, dst string) {
		if mask == "" {
			p("\tVMOVUPS (%s)(R12*1), %s", src, dst)
		} else {
			p("\tVMOVUPS.Z (%s)(R12*1), %s, %s", src, mask, dst)
		}
	}
	for i, r := range a {
		load(r, fmt.Sprintf("Z%d", 20+i))
	}
	for j, r := range b {
		load(r, fmt.Sprintf("Z%d", 24+j))
		for i := range a {
			p("\tVFMADD231PS Z%d, Z%d, Z%d", 24+j, 20+i, i*5+j)
		}
	}
}

// hsum reduces the 16 lanes of Z<r> into X<r> lane 0, with Z<t> as scratch
// (both below 16, or EVEX forms are used).
func hsum(r, t int) {
	p("\tVEXTRACTF64X4 $1, Z%d, Y%d", r, t)
	p("\tVADDPS Y%d, Y%d, Y%d", t, r, r)
	p("\tVEXTRACTF32X4 $1, Y%d, X%d", r, t)
	p("\tVADDPS X%d, X%d, X%d", t, r, r)
	p("\tVPERMILPS $0x4e, X%d, X%d", r, t)
	p("\tVADDPS X%d, X%d, X%d", t, r, r)
	p("\tVPERMILPS $0xb1, X%d, X%d", r, t)
	p("\tVADDPS X%d, X%d, X%d", t, r, r)
}

// tailMask sets K1 to the low CX bits.
func tailMask() {
	p("\tMOVQ $-1, AX")
	p("\tBZHIQ CX, AX, AX")
	p("\tKMOVW AX, K1")
}

// stream emits a loop over CX elements, 16 at a time, then a masked tail:
// body(mask) emits one step whose loads and stores use mask ("" for none) and
// advance(bytes) the pointer increments.
func stream(name string, body func(mask string), advance func(bytes int)) {
	p("%s_loop:", name)
	p("\tCMPQ CX, $16")
	p("\tJL %s_tail", name)
	body("")
	advance(64)
	p("\tSUBQ $16, CX")
	p("\tJMP %s_loop", name)
	p("%s_tail:", name)
	p("\tTESTQ CX, CX")
	p("\tJZ %s_end", name)
	tailMask()
	body("K1")
	p("%s_end:", name)
}

// load emits a (masked, zeroing) vector load.
func load(mask, src, dst string) {
	if mask == "" {
		p("\tVMOVUPS %s, %s", src, dst)
	} else {
		p("\tVMOVUPS.Z %s, %s, %s", src, mask, dst)
	}
}

func store(mask, src, dst string) {
	if mask == "" {
		p("\tVMOVUPS %s, %s", src, dst)
	} else {
		p("\tVMOVUPS %s, %s, %s", src, mask, dst)
	}
}

func adv(regs ...string) func(int) {
	return func(n int) {
		for _, r := range regs {
			p("\tADDQ $%d, %s", n, r)
		}
	}
}

// elementwise emits the batch-norm, ReLU and reduction loops.
func elementwise() {
	// func shiftedSums32(x *float32, n int, shift float32) (s1, s2 float32)
	p("// func shiftedSums32(x *float32, n int, shift float32) (s1, s2 float32)")
	p("TEXT ·shiftedSums32(SB), NOSPLIT, $0-32")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ n+8(FP), CX")
	p("\tVBROADCASTSS shift+16(FP), Z2")
	p("\tVPXORD Z0, Z0, Z0")
	p("\tVPXORD Z1, Z1, Z1")
	stream("ss", func(mask string) {
		load(mask, "(SI)", "Z5")
		if mask == "" {
			p("\tVSUBPS Z2, Z5, Z5")
		} else {
			p("\tVSUBPS.Z Z2, Z5, %s, Z5", mask)
		}
		p("\tVADDPS Z5, Z0, Z0")
		p("\tVFMADD231PS Z5, Z5, Z1")
	}, adv("SI"))
	hsum(0, 7)
	hsum(1, 7)
	p("\tVMOVSS X0, s1+24(FP)")
	p("\tVMOVSS X1, s2+28(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func sum32(x *float32, n int) float32
	p("// func sum32(x *float32, n int) float32")
	p("TEXT ·sum32(SB), NOSPLIT, $0-20")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ n+8(FP), CX")
	p("\tVPXORD Z0, Z0, Z0")
	stream("sm", func(mask string) {
		load(mask, "(SI)", "Z5")
		p("\tVADDPS Z5, Z0, Z0")
	}, adv("SI"))
	hsum(0, 7)
	p("\tVMOVSS X0, ret+16(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func affine32(x, y *float32, n int, a, b float32, relu int)
	p("// func affine32(x, y *float32, n int, a, b float32, relu int)")
	p("TEXT ·affine32(SB), NOSPLIT, $0-40")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ y+8(FP), DI")
	p("\tMOVQ n+16(FP), CX")
	p("\tVBROADCASTSS a+24(FP), Z1")
	p("\tVBROADCASTSS b+28(FP), Z2")
	p("\tVPXORD Z3, Z3, Z3")
	p("\tMOVQ relu+32(FP), DX")
	p("\tTESTQ DX, DX")
	p("\tJNZ af_relu")
	stream("af", func(mask string) {
		load(mask, "(SI)", "Z0")
		p("\tVFMADD213PS Z2, Z1, Z0")
		store(mask, "Z0", "(DI)")
	}, adv("SI", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("af_relu:")
	stream("afr", func(mask string) {
		load(mask, "(SI)", "Z0")
		p("\tVFMADD213PS Z2, Z1, Z0")
		p("\tVMAXPS Z0, Z3, Z0")
		store(mask, "Z0", "(DI)")
	}, adv("SI", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func gradSums32(x, dy, y *float32, n int, mean float32) (s0, s1 float32)
	// y may be nil (no ReLU mask).
	p("// func gradSums32(x, dy, y *float32, n int, mean float32) (s0, s1 float32)")
	p("TEXT ·gradSums32(SB), NOSPLIT, $0-48")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ dy+8(FP), DX")
	p("\tMOVQ y+16(FP), DI")
	p("\tMOVQ n+24(FP), CX")
	p("\tVBROADCASTSS mean+32(FP), Z2")
	p("\tVPXORD Z0, Z0, Z0")
	p("\tVPXORD Z1, Z1, Z1")
	p("\tVPXORD Z3, Z3, Z3")
	p("\tTESTQ DI, DI")
	p("\tJNZ gs_mask")
	gs := func(masked bool) func(string) {
		return func(mask string) {
			load(mask, "(DX)", "Z5")
			if masked {
				load(mask, "(DI)", "Z6")
				p("\tVCMPPS $0x1e, Z3, Z6, K2") // y > 0 (ordered, quiet)
				p("\tVMOVAPS.Z Z5, K2, Z5")
			}
			load(mask, "(SI)", "Z7")
			p("\tVSUBPS Z2, Z7, Z7")
			p("\tVADDPS Z5, Z0, Z0")
			p("\tVFMADD231PS Z7, Z5, Z1")
		}
	}
	stream("gs", gs(false), adv("SI", "DX"))
	p("\tJMP gs_reduce")
	p("gs_mask:")
	stream("gsm", gs(true), adv("SI", "DX", "DI"))
	p("gs_reduce:")
	hsum(0, 8)
	hsum(1, 8)
	p("\tVMOVSS X0, s0+40(FP)")
	p("\tVMOVSS X1, s1+44(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func bnDx32(x, dy, y, dx *float32, n int, a, b, c float32)
	// dx = a*dz + b*x + c, dz = dy (masked by y > 0 when y is not nil).
	p("// func bnDx32(x, dy, y, dx *float32, n int, a, b, c float32)")
	p("TEXT ·bnDx32(SB), NOSPLIT, $0-52")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ dy+8(FP), DX")
	p("\tMOVQ y+16(FP), R8")
	p("\tMOVQ dx+24(FP), DI")
	p("\tMOVQ n+32(FP), CX")
	p("\tVBROADCASTSS a+40(FP), Z1")
	p("\tVBROADCASTSS b+44(FP), Z2")
	p("\tVBROADCASTSS c+48(FP), Z4")
	p("\tVPXORD Z3, Z3, Z3")
	p("\tTESTQ R8, R8")
	p("\tJNZ dx_mask")
	dx := func(masked bool) func(string) {
		return func(mask string) {
			load(mask, "(DX)", "Z5")
			if masked {
				load(mask, "(R8)", "Z6")
				p("\tVCMPPS $0x1e, Z3, Z6, K2")
				p("\tVMOVAPS.Z Z5, K2, Z5")
			}
			load(mask, "(SI)", "Z0")
			p("\tVFMADD213PS Z4, Z2, Z0") // b*x + c
			p("\tVFMADD231PS Z5, Z1, Z0") // + a*dz
			store(mask, "Z0", "(DI)")
		}
	}
	stream("dx", dx(false), adv("SI", "DX", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("dx_mask:")
	stream("dxm", dx(true), adv("SI", "DX", "DI", "R8"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func relu32(x, y *float32, n int)
	p("// func relu32(x, y *float32, n int)")
	p("TEXT ·relu32(SB), NOSPLIT, $0-24")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ y+8(FP), DI")
	p("\tMOVQ n+16(FP), CX")
	p("\tVPXORD Z3, Z3, Z3")
	stream("re", func(mask string) {
		load(mask, "(SI)", "Z0")
		p("\tVMAXPS Z0, Z3, Z0")
		store(mask, "Z0", "(DI)")
	}, adv("SI", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func reluMask32(y, dy, dx *float32, n int)
	p("// func reluMask32(y, dy, dx *float32, n int)")
	p("TEXT ·reluMask32(SB), NOSPLIT, $0-32")
	p("\tMOVQ y+0(FP), SI")
	p("\tMOVQ dy+8(FP), DX")
	p("\tMOVQ dx+16(FP), DI")
	p("\tMOVQ n+24(FP), CX")
	p("\tVPXORD Z3, Z3, Z3")
	stream("rm", func(mask string) {
		load(mask, "(SI)", "Z6")
		load(mask, "(DX)", "Z5")
		p("\tVCMPPS $0x1e, Z3, Z6, K2")
		p("\tVMOVAPS.Z Z5, K2, Z5")
		store(mask, "Z5", "(DI)")
	}, adv("SI", "DX", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// func copyRows32(dst, src *float32, n, rows, dstStride, srcStride int)
	// copies rows runs of n floats (the stride-1 case of im2col).
	p("// func copyRows32(dst, src *float32, n, rows, dstStride, srcStride int)")
	p("TEXT ·copyRows32(SB), NOSPLIT, $0-48")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ n+16(FP), R8")
	p("\tMOVQ rows+24(FP), R9")
	p("\tMOVQ dstStride+32(FP), R10")
	p("\tSHLQ $2, R10")
	p("\tMOVQ srcStride+40(FP), R11")
	p("\tSHLQ $2, R11")
	p("\tMOVQ R8, CX")
	p("\tANDQ $15, CX")
	tailMask()
	p("\tSHRQ $4, R8") // full vectors per row
	p("\tTESTQ R9, R9")
	p("\tJZ cr_done")
	p("cr_row:")
	p("\tXORQ DX, DX")
	p("\tMOVQ R8, CX")
	p("\tTESTQ CX, CX")
	p("\tJZ cr_tail")
	p("cr_vec:")
	p("\tVMOVUPS (SI)(DX*1), Z0")
	p("\tVMOVUPS Z0, (DI)(DX*1)")
	p("\tADDQ $64, DX")
	p("\tDECQ CX")
	p("\tJNZ cr_vec")
	p("cr_tail:")
	p("\tVMOVUPS.Z (SI)(DX*1), K1, Z0")
	p("\tVMOVUPS Z0, K1, (DI)(DX*1)")
	p("\tADDQ R11, SI")
	p("\tADDQ R10, DI")
	p("\tDECQ R9")
	p("\tJNZ cr_row")
	p("cr_done:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func main() {
	header("gen_avx512.go")
	for mr := 1; mr <= maxNNRows; mr++ {
		gemmNN(mr, false)
	}
	gemmNT()
	elementwise()
	for mr := 1; mr <= maxNNRows; mr++ {
		gemmNN(mr, true)
	}
	write("avx512_amd64.s")
}
