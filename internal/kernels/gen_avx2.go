//go:build ignore

// gen_avx2 writes avx2_amd64.s, the AVX2+FMA GEMM micro-kernels (Haswell and
// later, AMD Zen): go run gen_avx2.go gen_emit.go (see go:generate in
// avx2_amd64.go).
//
// It is a plain text generator like gen_avx512.go rather than avo
// (github.com/mmcloughlin/avo): the kernels are a few instruction patterns
// unrolled over a row count with fixed registers, so avo's register
// allocation would buy little, while it would add a module dependency (or a
// nested module to keep it out of go.mod) for one generator. `go generate`
// must reproduce the .s byte for byte; never edit the .s by hand.
package main

import "fmt"

// maxRows is the largest row block: 5 rows x 16 columns keep 10 accumulators,
// two B vectors, a broadcast, two tail masks and a zero in the 16 YMM
// registers.
const maxRows = 5

// Register use: Y0..Y9 accumulators, Y10 Y11 the B strip, Y12 the broadcast A
// value, Y13 Y14 the tail masks (columns 0-7 and 8-15 of the strip), Y15 zero.

// sets is how many accumulator sets the k loop interleaves for mr rows: one
// row has only two FMA chains, too few to hide the FMA latency.
func sets(mr int) int {
	switch mr {
	case 1:
		return 4
	case 2:
		return 2
	}
	return 1
}

// rowAddr is the address of row r of C plus off bytes: DI holds row 0, DX
// row 3, R8 the row stride in bytes.
func rowAddr(off, r int) string {
	base := "DI"
	if r >= 3 {
		base, r = "DX", r-3
	}
	switch r {
	case 0:
		return fmt.Sprintf("%d(%s)", off, base)
	case 1:
		return fmt.Sprintf("%d(%s)(R8*1)", off, base)
	default:
		return fmt.Sprintf("%d(%s)(R8*2)", off, base)
	}
}

// load emits a load of 8 floats from src into dst, masked by mask when mask
// is not empty (masked-out lanes read as zero and never fault).
func load(src, mask, dst string) {
	if mask == "" {
		p("\tVMOVUPS %s, %s", src, dst)
	} else {
		p("\tVMASKMOVPS %s, %s, %s", src, mask, dst)
	}
}

// store emits a (masked) store of src to dst.
func store(src, mask, dst string) {
	if mask == "" {
		p("\tVMOVUPS %s, %s", src, dst)
	} else {
		p("\tVMASKMOVPS %s, %s, %s", src, mask, dst)
	}
}

// gemmNN emits gemmNN<mr>AVX2: C (mr, n) = [C +] [bias +] Apanel·B, [ReLU].
//
//	func gemmNN<mr>AVX2(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)
//
// ap is A packed as (k, mr): the mr row values of column p at ap[p*mr:]. B is
// (k, n) with row stride ldb, C (mr, n) with row stride ldc (in floats).
// flags: 1 accumulate into C, 2 add bias[r] to row r, 4 clamp at zero.
// Columns go in strips of 16 (two vectors); the last, shorter strip uses
// masked loads and stores.
//
// With rows set it emits gemmNN<mr>RowsAVX2, whose B row p starts at
// b[rows[p]] (as gemmNN<mr>Rows of gen_avx512.go).
func gemmNN(mr int, rows bool) {
	name, fn, ldb := fmt.Sprintf("nn%davx2", mr), fmt.Sprintf("gemmNN%dAVX2", mr), "ldb int"
	if rows {
		name, fn, ldb = fmt.Sprintf("nn%drowsavx2", mr), fmt.Sprintf("gemmNN%dRowsAVX2", mr), "rows *int"
	}
	p("// func %s(k, n int, ap, b *float32, %s, c *float32, ldc int, bias *float32, flags int)", fn, ldb)
	p("TEXT ·%s(SB), NOSPLIT, $8-72", fn)
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
	p("\tLEAQ (R8)(R8*2), DX")
	p("\tADDQ DI, DX")
	p("\tVXORPS Y15, Y15, Y15")
	flushOn()
	p("%s_strip:", name)
	p("\tCMPQ R10, $16")
	p("\tJL %s_tail", name)
	body(mr, name+"_full", "", "", rows)
	p("\tADDQ $64, BX")
	p("\tADDQ $64, DI")
	p("\tADDQ $64, DX")
	p("\tSUBQ $16, R10")
	p("\tJMP %s_strip", name)
	p("%s_tail:", name)
	p("\tTESTQ R10, R10")
	p("\tJLE %s_done", name)
	// Masks: lanes j < r of a vector are on for r = min(n, 8) and
	// min(max(n-8, 0), 8): load 8 words of avx2Mask<> (8 x -1, then 8 x 0)
	// from word 8-r.
	p("\tMOVQ R10, AX")
	p("\tCMPQ AX, $8")
	p("\tJLE %s_m1", name)
	p("\tMOVQ $8, AX")
	p("%s_m1:", name)
	p("\tNEGQ AX")
	p("\tLEAQ ·avx2Mask<>+32(SB), R15")
	p("\tVMOVDQU (R15)(AX*4), Y13")
	p("\tMOVQ R10, AX")
	p("\tSUBQ $8, AX")
	p("\tJGE %s_m2", name)
	p("\tXORQ AX, AX")
	p("%s_m2:", name)
	p("\tNEGQ AX")
	p("\tVMOVDQU (R15)(AX*4), Y14")
	body(mr, name+"_tail", "Y13", "Y14", rows)
	p("%s_done:", name)
	flushOff()
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// body emits one 16-column strip: accumulators from the bias or zero, the k
// loop, then accumulate, ReLU and store, with masks m0 m1 ("" for none).
func body(mr int, name, m0, m1 string, rows bool) {
	u := sets(mr)
	p("\tTESTQ $2, R14")
	p("\tJZ %s_zero", name)
	for r := range mr {
		p("\tVBROADCASTSS %d(R13), Y%d", 4*r, 2*r)
		p("\tVMOVAPS Y%d, Y%d", 2*r, 2*r+1)
	}
	p("\tJMP %s_init", name)
	p("%s_zero:", name)
	for r := range 2 * mr {
		p("\tVXORPS Y%d, Y%d, Y%d", r, r, r)
	}
	p("%s_init:", name)
	for r := 2 * mr; r < 2*mr*u; r++ {
		p("\tVXORPS Y%d, Y%d, Y%d", r, r, r)
	}
	p("\tMOVQ R11, R15") // A panel
	if rows {
		p("\tMOVQ rows+32(FP), R12") // row offsets
	} else {
		p("\tMOVQ BX, AX") // B strip
	}
	p("\tMOVQ CX, SI") // k counter
	step := func(set int, aoff int) {
		if rows {
			p("\tMOVQ (R12), AX")
			load("(BX)(AX*4)", m0, "Y10")
			load("32(BX)(AX*4)", m1, "Y11")
			p("\tADDQ $8, R12")
		} else {
			load("(AX)", m0, "Y10")
			load("32(AX)", m1, "Y11")
			p("\tADDQ R12, AX")
		}
		for r := range mr {
			p("\tVBROADCASTSS %d(R15), Y12", aoff+4*r)
			p("\tVFMADD231PS Y12, Y10, Y%d", 2*mr*set+2*r)
			p("\tVFMADD231PS Y12, Y11, Y%d", 2*mr*set+2*r+1)
		}
	}
	if u > 1 {
		p("%s_ku:", name)
		p("\tCMPQ SI, $%d", u)
		p("\tJL %s_k1", name)
		for s := range u {
			step(s, 4*mr*s)
		}
		p("\tADDQ $%d, R15", 4*mr*u)
		p("\tSUBQ $%d, SI", u)
		p("\tJMP %s_ku", name)
		p("%s_k1:", name)
	}
	p("\tTESTQ SI, SI")
	p("\tJZ %s_kdone", name)
	p("%s_kloop:", name)
	step(0, 0)
	p("\tADDQ $%d, R15", 4*mr)
	p("\tDECQ SI")
	p("\tJNZ %s_kloop", name)
	p("%s_kdone:", name)
	for s := 1; s < u; s++ {
		for r := range 2 * mr {
			p("\tVADDPS Y%d, Y%d, Y%d", 2*mr*s+r, r, r)
		}
	}
	p("\tTESTQ $1, R14")
	p("\tJZ %s_noacc", name)
	for r := range mr {
		load(rowAddr(0, r), m0, "Y10")
		load(rowAddr(32, r), m1, "Y11")
		p("\tVADDPS Y10, Y%d, Y%d", 2*r, 2*r)
		p("\tVADDPS Y11, Y%d, Y%d", 2*r+1, 2*r+1)
	}
	p("%s_noacc:", name)
	p("\tTESTQ $4, R14")
	p("\tJZ %s_store", name)
	// VMAXPS returns its second source (the accumulator, in Go's operand
	// order the first) when either is NaN, so NaNs survive the ReLU as in Go.
	for r := range 2 * mr {
		p("\tVMAXPS Y%d, Y15, Y%d", r, r)
	}
	p("%s_store:", name)
	for r := range mr {
		store(fmt.Sprintf("Y%d", 2*r), m0, rowAddr(0, r))
		store(fmt.Sprintf("Y%d", 2*r+1), m1, rowAddr(32, r))
	}
}

// gemmNT emits gemmNT34AVX2: the 3x4 dot products of rows a[0..2] and
// b[0..3] (length k) into out[i*4+j], with vectors along k.
//
//	func gemmNT34AVX2(args *ntArgsAVX2)
//
// ntArgsAVX2 is {a [3]*float32; b [4]*float32; k int; out [12]float32}.
// Y0..Y11 hold the 12 sums (Y(4i+j) for A row i, B row j), Y12..Y14 a vector
// of each A row and Y15 one of a B row: per 8 values of k, 7 loads feed 12
// FMAs. The last k%8 values load masked (mask in Y14; A rows reloaded for
// each B row, since the mask takes an A register), so nothing past row ends
// is read.
func gemmNT() {
	a := []string{"AX", "BX", "CX"}
	b := []string{"SI", "DI", "R8", "R9"}
	p("// func gemmNT34AVX2(args *ntArgsAVX2)")
	p("TEXT ·gemmNT34AVX2(SB), NOSPLIT, $8-8")
	p("\tMOVQ args+0(FP), R15")
	flushOn()
	for i, r := range a {
		p("\tMOVQ %d(R15), %s", 8*i, r)
	}
	for j, r := range b {
		p("\tMOVQ %d(R15), %s", 24+8*j, r)
	}
	p("\tMOVQ 56(R15), R11") // k
	for i := range 12 {
		p("\tVXORPS Y%d, Y%d, Y%d", i, i, i)
	}
	p("\tXORQ R12, R12") // byte offset along k
	p("nt_loop:")
	p("\tCMPQ R11, $8")
	p("\tJL nt_tail")
	for i, r := range a {
		p("\tVMOVUPS (%s)(R12*1), Y%d", r, 12+i)
	}
	for j, r := range b {
		p("\tVMOVUPS (%s)(R12*1), Y15", r)
		for i := range a {
			p("\tVFMADD231PS Y%d, Y15, Y%d", 12+i, 4*i+j)
		}
	}
	p("\tADDQ $32, R12")
	p("\tSUBQ $8, R11")
	p("\tJMP nt_loop")
	p("nt_tail:")
	p("\tTESTQ R11, R11")
	p("\tJZ nt_reduce")
	p("\tLEAQ ·avx2Mask<>+32(SB), R10")
	p("\tNEGQ R11")
	p("\tVMOVDQU (R10)(R11*4), Y14")
	for j, r := range b {
		p("\tVMASKMOVPS (%s)(R12*1), Y14, Y15", r)
		for i, ra := range a {
			p("\tVMASKMOVPS (%s)(R12*1), Y14, Y12", ra)
			p("\tVFMADD231PS Y12, Y15, Y%d", 4*i+j)
		}
	}
	p("nt_reduce:")
	// Row i's four sums: two rounds of pairwise adds within each 128-bit
	// half leave [s0 s1 s2 s3] split over the halves; add the halves.
	for i := range a {
		y := 4 * i
		p("\tVHADDPS Y%d, Y%d, Y12", y+1, y)
		p("\tVHADDPS Y%d, Y%d, Y13", y+3, y+2)
		p("\tVHADDPS Y13, Y12, Y12")
		p("\tVEXTRACTF128 $1, Y12, X13")
		p("\tVADDPS X13, X12, X12")
		p("\tVMOVUPS X12, %d(R15)", 64+16*i)
	}
	flushOff()
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// stream emits a loop over CX elements, 8 at a time, then a masked tail:
// body(mask) emits one step whose loads and stores use mask ("" for none,
// else Y15, set here to the low CX lanes) and advance(bytes) moves the
// pointers.
func stream(name string, body func(mask string), advance func(bytes int)) {
	p("%s_loop:", name)
	p("\tCMPQ CX, $8")
	p("\tJL %s_tail", name)
	body("")
	advance(32)
	p("\tSUBQ $8, CX")
	p("\tJMP %s_loop", name)
	p("%s_tail:", name)
	p("\tTESTQ CX, CX")
	p("\tJZ %s_end", name)
	p("\tLEAQ ·avx2Mask<>+32(SB), AX")
	p("\tNEGQ CX")
	p("\tVMOVDQU (AX)(CX*4), Y15")
	body("Y15")
	p("%s_end:", name)
}

func adv(regs ...string) func(int) {
	return func(n int) {
		for _, r := range regs {
			p("\tADDQ $%d, %s", n, r)
		}
	}
}

// hsum reduces the 8 lanes of Y<r> into X<r> lane 0, with Y<t> as scratch.
func hsum(r, t int) {
	p("\tVEXTRACTF128 $1, Y%d, X%d", r, t)
	p("\tVADDPS X%d, X%d, X%d", t, r, r)
	p("\tVPERMILPS $0x4e, X%d, X%d", r, t)
	p("\tVADDPS X%d, X%d, X%d", t, r, r)
	p("\tVPERMILPS $0xb1, X%d, X%d", r, t)
	p("\tVADDPS X%d, X%d, X%d", t, r, r)
}

// positive emits dst = src where y > 0 (ordered, quiet), else 0, with Y3
// zero and Y7 scratch.
func positive(y, src string) {
	p("\tVCMPPS $0x1e, Y3, %s, Y7", y)
	p("\tVANDPS Y7, %s, %s", src, src)
}

// elementwise emits the batch-norm, ReLU and reduction loops: the AVX2 forms
// of gen_avx512.go's, with the same signatures and an AVX2 suffix.
func elementwise() {
	p("// func shiftedSums32AVX2(x *float32, n int, shift float32) (s1, s2 float32)")
	p("TEXT ·shiftedSums32AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ n+8(FP), CX")
	p("\tVBROADCASTSS shift+16(FP), Y2")
	p("\tVXORPS Y0, Y0, Y0")
	p("\tVXORPS Y1, Y1, Y1")
	stream("ss", func(mask string) {
		load("(SI)", mask, "Y5")
		p("\tVSUBPS Y2, Y5, Y5")
		if mask != "" {
			p("\tVANDPS %s, Y5, Y5", mask) // the lanes past n add nothing
		}
		p("\tVADDPS Y5, Y0, Y0")
		p("\tVFMADD231PS Y5, Y5, Y1")
	}, adv("SI"))
	hsum(0, 7)
	hsum(1, 7)
	p("\tVMOVSS X0, s1+24(FP)")
	p("\tVMOVSS X1, s2+28(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	p("// func sum32AVX2(x *float32, n int) float32")
	p("TEXT ·sum32AVX2(SB), NOSPLIT, $0-20")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ n+8(FP), CX")
	p("\tVXORPS Y0, Y0, Y0")
	stream("sm", func(mask string) {
		load("(SI)", mask, "Y5")
		p("\tVADDPS Y5, Y0, Y0")
	}, adv("SI"))
	hsum(0, 7)
	p("\tVMOVSS X0, ret+16(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	p("// func affine32AVX2(x, y *float32, n int, a, b float32, relu int)")
	p("TEXT ·affine32AVX2(SB), NOSPLIT, $0-40")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ y+8(FP), DI")
	p("\tMOVQ n+16(FP), CX")
	p("\tVBROADCASTSS a+24(FP), Y1")
	p("\tVBROADCASTSS b+28(FP), Y2")
	p("\tVXORPS Y3, Y3, Y3")
	p("\tMOVQ relu+32(FP), DX")
	p("\tTESTQ DX, DX")
	p("\tJNZ af_relu")
	stream("af", func(mask string) {
		load("(SI)", mask, "Y0")
		p("\tVFMADD213PS Y2, Y1, Y0")
		store("Y0", mask, "(DI)")
	}, adv("SI", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("af_relu:")
	stream("afr", func(mask string) {
		load("(SI)", mask, "Y0")
		p("\tVFMADD213PS Y2, Y1, Y0")
		p("\tVMAXPS Y0, Y3, Y0")
		store("Y0", mask, "(DI)")
	}, adv("SI", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	// y may be nil (no ReLU mask).
	p("// func gradSums32AVX2(x, dy, y *float32, n int, mean float32) (s0, s1 float32)")
	p("TEXT ·gradSums32AVX2(SB), NOSPLIT, $0-48")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ dy+8(FP), DX")
	p("\tMOVQ y+16(FP), DI")
	p("\tMOVQ n+24(FP), CX")
	p("\tVBROADCASTSS mean+32(FP), Y2")
	p("\tVXORPS Y0, Y0, Y0")
	p("\tVXORPS Y1, Y1, Y1")
	p("\tVXORPS Y3, Y3, Y3")
	p("\tTESTQ DI, DI")
	p("\tJNZ gs_mask")
	gs := func(masked bool) func(string) {
		return func(mask string) {
			load("(DX)", mask, "Y5")
			if masked {
				load("(DI)", mask, "Y6")
				positive("Y6", "Y5")
			}
			load("(SI)", mask, "Y8")
			p("\tVSUBPS Y2, Y8, Y8") // lanes past n: dy is 0 there
			p("\tVADDPS Y5, Y0, Y0")
			p("\tVFMADD231PS Y8, Y5, Y1")
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

	// dx = a*dz + b*x + c, dz = dy (masked by y > 0 when y is not nil).
	p("// func bnDx32AVX2(x, dy, y, dx *float32, n int, a, b, c float32)")
	p("TEXT ·bnDx32AVX2(SB), NOSPLIT, $0-52")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ dy+8(FP), DX")
	p("\tMOVQ y+16(FP), R8")
	p("\tMOVQ dx+24(FP), DI")
	p("\tMOVQ n+32(FP), CX")
	p("\tVBROADCASTSS a+40(FP), Y1")
	p("\tVBROADCASTSS b+44(FP), Y2")
	p("\tVBROADCASTSS c+48(FP), Y4")
	p("\tVXORPS Y3, Y3, Y3")
	p("\tTESTQ R8, R8")
	p("\tJNZ dx_mask")
	dx := func(masked bool) func(string) {
		return func(mask string) {
			load("(DX)", mask, "Y5")
			if masked {
				load("(R8)", mask, "Y6")
				positive("Y6", "Y5")
			}
			load("(SI)", mask, "Y0")
			p("\tVFMADD213PS Y4, Y2, Y0") // b*x + c
			p("\tVFMADD231PS Y5, Y1, Y0") // + a*dz
			store("Y0", mask, "(DI)")
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

	p("// func relu32AVX2(x, y *float32, n int)")
	p("TEXT ·relu32AVX2(SB), NOSPLIT, $0-24")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ y+8(FP), DI")
	p("\tMOVQ n+16(FP), CX")
	p("\tVXORPS Y3, Y3, Y3")
	stream("re", func(mask string) {
		load("(SI)", mask, "Y0")
		p("\tVMAXPS Y0, Y3, Y0")
		store("Y0", mask, "(DI)")
	}, adv("SI", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")

	p("// func reluMask32AVX2(y, dy, dx *float32, n int)")
	p("TEXT ·reluMask32AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ y+0(FP), SI")
	p("\tMOVQ dy+8(FP), DX")
	p("\tMOVQ dx+16(FP), DI")
	p("\tMOVQ n+24(FP), CX")
	p("\tVXORPS Y3, Y3, Y3")
	stream("rm", func(mask string) {
		load("(SI)", mask, "Y6")
		load("(DX)", mask, "Y5")
		positive("Y6", "Y5")
		store("Y5", mask, "(DI)")
	}, adv("SI", "DX", "DI"))
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func main() {
	header("gen_avx2.go")
	p("// avx2Mask<> is 8 words of -1 then 8 of 0: 8 words from word 8-r are a")
	p("// mask with lanes 0..r-1 on.")
	for i := range 16 {
		v := "$0xffffffff"
		if i >= 8 {
			v = "$0"
		}
		p("DATA ·avx2Mask<>+%d(SB)/4, %s", 4*i, v)
	}
	p("GLOBL ·avx2Mask<>(SB), RODATA|NOPTR, $64")
	p("")
	for mr := 1; mr <= maxRows; mr++ {
		gemmNN(mr, false)
	}
	gemmNT()
	elementwise()
	for mr := 1; mr <= maxRows; mr++ {
		gemmNN(mr, true)
	}
	write("avx2_amd64.s")
}
