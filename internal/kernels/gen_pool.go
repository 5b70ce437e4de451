//go:build ignore

// gen_pool writes pool_amd64.s, the 2x2 stride-2 max pool of package kernels
// on AVX-512 and AVX2: go run gen_pool.go gen_emit.go (see go:generate in
// pool_amd64.go).
//
// Go's max is exact on floats: NaN wins, +0 beats -0. The kernels compare
// floats as integers in a total order instead of with VMAXPS (which returns
// its second operand for NaN and for equal zeros): the key of a float's bits
// f is f ^ ((f >> 31) & 0x7fffffff), so negative floats count down and -0
// sits just below +0; the key maps back to the float the same way. A NaN
// input is only reported (the caller pools that plane with Go's max), since
// the total order would rank a negative NaN below everything.
package main

// key turns the float bits in register v into their integer key (or back),
// with t as scratch and mask holding 0x7fffffff in every lane.
func key(v, t, mask string, avx512 bool) {
	if avx512 {
		p("\tVPSRAD $31, %s, %s", v, t)
		p("\tVPANDD %s, %s, %s", mask, t, t)
		p("\tVPXORD %s, %s, %s", t, v, v)
		return
	}
	p("\tVPSRAD $31, %s, %s", v, t)
	p("\tVPAND %s, %s, %s", mask, t, t)
	p("\tVPXOR %s, %s, %s", t, v, v)
}

// maxPool512 emits
//
//	func maxPool2Plane32(x, y *float32, ow, oh, w int) (nan int)
//
// y (oh, ow) = the 2x2 stride-2 max pool of x (rows of w floats, at least
// 2*oh rows of at least 2*ow). 16 outputs per step: two vectors from each
// input row, the vertical max, then the max of each even/odd pair inside a
// quadword, narrowed to one vector (VPMOVQD). The last step is masked.
func maxPool512() {
	p("// func maxPool2Plane32(x, y *float32, ow, oh, w int) (nan int)")
	p("TEXT ·maxPool2Plane32(SB), NOSPLIT, $0-48")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ y+8(FP), DI")
	p("\tMOVQ ow+16(FP), R8")
	p("\tMOVQ oh+24(FP), R9")
	p("\tMOVQ w+32(FP), R10")
	p("\tSHLQ $2, R10") // input row stride in bytes
	p("\tMOVL $0x7fffffff, AX")
	p("\tVPBROADCASTD AX, Z30")
	p("\tKXORW K6, K6, K6") // lanes that saw a NaN
	// Tail masks: K3 for the ow%16 outputs, K1/K2 for their 2*(ow%16) inputs.
	p("\tMOVQ R8, CX")
	p("\tANDQ $15, CX")
	p("\tMOVQ $-1, AX")
	p("\tBZHIQ CX, AX, BX")
	p("\tKMOVW BX, K3")
	p("\tSHLQ $1, CX")
	p("\tBZHIQ CX, AX, BX")
	p("\tKMOVW BX, K1")
	p("\tSHRQ $16, BX")
	p("\tKMOVW BX, K2")
	p("\tSHRQ $4, R8") // full steps per row
	p("mp_row:")
	p("\tTESTQ R9, R9")
	p("\tJZ mp_done")
	p("\tLEAQ (SI)(R10*1), DX") // the second input row
	p("\tXORQ R11, R11")        // input byte offset
	p("\tXORQ R12, R12")        // output byte offset
	p("\tMOVQ R8, CX")
	p("\tTESTQ CX, CX")
	p("\tJZ mp_tail")
	p("mp_step:")
	p("\tVMOVUPS (SI)(R11*1), Z0")
	p("\tVMOVUPS 64(SI)(R11*1), Z1")
	p("\tVMOVUPS (DX)(R11*1), Z2")
	p("\tVMOVUPS 64(DX)(R11*1), Z3")
	body512()
	p("\tVMOVUPS Z0, (DI)(R12*1)")
	p("\tADDQ $128, R11")
	p("\tADDQ $64, R12")
	p("\tDECQ CX")
	p("\tJNZ mp_step")
	p("mp_tail:")
	p("\tKORTESTW K3, K3")
	p("\tJZ mp_next")
	p("\tVMOVUPS.Z (SI)(R11*1), K1, Z0")
	p("\tVMOVUPS.Z 64(SI)(R11*1), K2, Z1")
	p("\tVMOVUPS.Z (DX)(R11*1), K1, Z2")
	p("\tVMOVUPS.Z 64(DX)(R11*1), K2, Z3")
	body512()
	p("\tVMOVUPS Z0, K3, (DI)(R12*1)")
	p("mp_next:")
	p("\tLEAQ (SI)(R10*2), SI")
	p("\tMOVQ ow+16(FP), AX")
	p("\tLEAQ (DI)(AX*4), DI")
	p("\tDECQ R9")
	p("\tJMP mp_row")
	p("mp_done:")
	p("\tKMOVW K6, AX")
	p("\tMOVQ AX, nan+40(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// body512 pools Z0,Z1 (row 0) and Z2,Z3 (row 1) into Z0, noting NaNs in K6.
func body512() {
	p("\tVCMPPS $3, Z2, Z0, K4") // unordered
	p("\tVCMPPS $3, Z3, Z1, K5")
	p("\tKORW K4, K6, K6")
	p("\tKORW K5, K6, K6")
	for _, z := range []string{"Z0", "Z1", "Z2", "Z3"} {
		key(z, "Z4", "Z30", true)
	}
	p("\tVPMAXSD Z2, Z0, Z0")
	p("\tVPMAXSD Z3, Z1, Z1")
	p("\tVPSRLQ $32, Z0, Z2")
	p("\tVPSRLQ $32, Z1, Z3")
	p("\tVPMAXSD Z2, Z0, Z0")
	p("\tVPMAXSD Z3, Z1, Z1")
	p("\tVPMOVQD Z0, Y0")
	p("\tVPMOVQD Z1, Y1")
	p("\tVINSERTI64X4 $1, Y1, Z0, Z0")
	key("Z0", "Z4", "Z30", true)
}

// maxPool256 emits maxPool2Plane32AVX2, the same on 8 outputs a step; the
// last ow%8 outputs of each row are left to the caller.
func maxPool256() {
	p("// func maxPool2Plane32AVX2(x, y *float32, ow, oh, w int) (nan int)")
	p("TEXT ·maxPool2Plane32AVX2(SB), NOSPLIT, $0-48")
	p("\tMOVQ x+0(FP), SI")
	p("\tMOVQ y+8(FP), DI")
	p("\tMOVQ ow+16(FP), R8")
	p("\tMOVQ oh+24(FP), R9")
	p("\tMOVQ w+32(FP), R10")
	p("\tSHLQ $2, R10")
	p("\tMOVL $0x7fffffff, AX")
	p("\tMOVQ AX, X15")
	p("\tVPBROADCASTD X15, Y15")
	p("\tVPXOR Y14, Y14, Y14") // lanes that saw a NaN
	p("\tSHRQ $3, R8")         // full steps per row
	p("ma_row:")
	p("\tTESTQ R9, R9")
	p("\tJZ ma_done")
	p("\tLEAQ (SI)(R10*1), DX")
	p("\tXORQ R11, R11")
	p("\tXORQ R12, R12")
	p("\tMOVQ R8, CX")
	p("\tTESTQ CX, CX")
	p("\tJZ ma_next")
	p("ma_step:")
	p("\tVMOVUPS (SI)(R11*1), Y0")
	p("\tVMOVUPS 32(SI)(R11*1), Y1")
	p("\tVMOVUPS (DX)(R11*1), Y2")
	p("\tVMOVUPS 32(DX)(R11*1), Y3")
	p("\tVCMPPS $3, Y2, Y0, Y4")
	p("\tVCMPPS $3, Y3, Y1, Y5")
	p("\tVORPS Y4, Y14, Y14")
	p("\tVORPS Y5, Y14, Y14")
	for _, y := range []string{"Y0", "Y1", "Y2", "Y3"} {
		key(y, "Y4", "Y15", false)
	}
	p("\tVPMAXSD Y2, Y0, Y0")
	p("\tVPMAXSD Y3, Y1, Y1")
	p("\tVPSRLQ $32, Y0, Y2")
	p("\tVPSRLQ $32, Y1, Y3")
	p("\tVPMAXSD Y2, Y0, Y0")
	p("\tVPMAXSD Y3, Y1, Y1")
	// Even dwords of Y0 and Y1 per 128-bit lane, then the quadwords in order.
	p("\tVSHUFPS $0x88, Y1, Y0, Y0")
	p("\tVPERMQ $0xd8, Y0, Y0")
	key("Y0", "Y4", "Y15", false)
	p("\tVMOVUPS Y0, (DI)(R12*1)")
	p("\tADDQ $64, R11")
	p("\tADDQ $32, R12")
	p("\tDECQ CX")
	p("\tJNZ ma_step")
	p("ma_next:")
	p("\tLEAQ (SI)(R10*2), SI")
	p("\tMOVQ ow+16(FP), AX")
	p("\tLEAQ (DI)(AX*4), DI")
	p("\tDECQ R9")
	p("\tJMP ma_row")
	p("ma_done:")
	p("\tVMOVMSKPS Y14, AX")
	p("\tMOVQ AX, nan+40(FP)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func main() {
	header("gen_pool.go")
	maxPool512()
	maxPool256()
	write("pool_amd64.s")
}
