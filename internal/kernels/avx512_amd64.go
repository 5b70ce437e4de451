//go:build amd64 && !purego

package kernels

//go:generate go run gen_avx512.go gen_emit.go

import "fmt"

// haveAVX512 reports that this build has the AVX-512 kernels of
// avx512_amd64.s; cpu.go decides whether the CPU may run them.
const haveAVX512 = true

//go:noescape
func gemmNN1(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN2(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN3(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN4(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN5(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN6(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN7(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN8(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN9(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func gemmNN10(k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

// gemmNNBlock runs the kernel for mr rows. A switch of direct calls, not a
// table of funcs: through a func value escape analysis would move the packed
// panel to the heap.
func gemmNNBlock(mr, k, n int, ap, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int) {
	switch mr {
	case 1:
		gemmNN1(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 2:
		gemmNN2(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 3:
		gemmNN3(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 4:
		gemmNN4(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 5:
		gemmNN5(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 6:
		gemmNN6(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 7:
		gemmNN7(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 8:
		gemmNN8(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 9:
		gemmNN9(k, n, ap, b, ldb, c, ldc, bias, flags)
	case 10:
		gemmNN10(k, n, ap, b, ldb, c, ldc, bias, flags)
	default:
		panic("backend: GemmNN row block out of range")
	}
}

// maxNNRows is the largest row block of the GemmNN kernels.
const maxNNRows = 10

const (
	flagAcc  = 1
	flagBias = 2
	flagRelu = 4
)

// need panics unless s holds at least n values: the kernels do not check.
func need(s []float32, n int, what string) {
	if len(s) < n {
		panic(fmt.Sprintf("backend: %s has %d values, kernel reads %d", what, len(s), n))
	}
}

func gemmNN32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	gemmNNPacked(false, m, n, k, a, lda, b, ldb, nil, nil, c, ldc, acc, bias, relu)
}

// gemmNNPacked is GemmNN on an assembly path's micro-kernels (AVX2's when avx2
// is set, else AVX-512's): rows of A in blocks of at most the path's row count,
// each packed into a panel, k in pieces that fit it. The kernels are called
// directly, not through a func value, so the panel stays on the stack. With
// rows non-nil, B row p is b[rows[p]:] (GemmNNRows) and ldb is unused. With
// pre non-nil, A comes packed already (packA's m*k values) and a is unused.
func gemmNNPacked(avx2 bool, m, n, k int, a []float32, lda int, b []float32, ldb int, rows []int, pre []float32, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	if pre != nil || m == 1 { // nothing to pack: no panel to clear (8 KiB)
		gemmNNPanels(avx2, m, n, k, a, lda, b, ldb, rows, pre, c, ldc, acc, bias, relu, nil)
		return
	}
	var stack [nnPanel]float32
	gemmNNPanels(avx2, m, n, k, a, lda, b, ldb, rows, pre, c, ldc, acc, bias, relu, stack[:])
}

// gemmNNPanels is gemmNNPacked with the panel buffer (nnPanel values, or nil
// when A needs no packing) given.
func gemmNNPanels(avx2 bool, m, n, k int, a []float32, lda int, b []float32, ldb int, rows []int, pre []float32, c []float32, ldc int, acc bool, bias []float32, relu bool, panel []float32) {
	if k == 0 {
		gemmNNGo(m, n, k, a, lda, b, ldb, c, ldc, acc, bias, relu)
		return
	}
	if pre != nil {
		need(pre, m*k, "packed A")
	} else {
		need(a, (m-1)*lda+k, "A")
	}
	if rows != nil {
		needRows(b, rows[:k], n)
	} else {
		need(b, (k-1)*ldb+n, "B")
	}
	need(c, (m-1)*ldc+n, "C")
	flags := 0
	if acc {
		flags |= flagAcc
	}
	if bias != nil {
		need(bias, m, "bias")
		flags |= flagBias
	}
	if relu {
		flags |= flagRelu
	}
	blocks := nnBlocks(avx2, m)
	off := 0 // of the next panel in pre
	for bi := range blocks {
		i0, i1 := ChunkRange(m, blocks, bi)
		mr := i1 - i0
		var bp *float32
		if bias != nil {
			bp = &bias[i0]
		}
		// Long k goes in pieces whose packed panel fits the stack buffer (and
		// the L1 cache): the bias goes with the first, the ReLU with the last.
		kc := max(1, nnPanel/mr)
		for k0 := 0; k0 < k; k0 += kc {
			k1 := min(k, k0+kc)
			f := flags
			if k0 > 0 {
				f = (f | flagAcc) &^ flagBias
			}
			if k1 < k {
				f &^= flagRelu
			}
			var ap *float32
			switch {
			case pre != nil:
				ap = &pre[off]
			case mr == 1:
				ap = &a[i0*lda+k0] // one row is its own packing
			default:
				packPanel(panel, a, lda, i0, mr, k0, k1)
				ap = &panel[0]
			}
			off += (k1 - k0) * mr
			switch {
			case rows != nil:
				gemmNNRowsBlock(avx2, mr, k1-k0, n, ap, &b[0], &rows[k0], &c[i0*ldc], ldc, bp, f)
			case avx2:
				gemmNNBlockAVX2(mr, k1-k0, n, ap, &b[k0*ldb], ldb, &c[i0*ldc], ldc, bp, f)
			default:
				gemmNNBlock(mr, k1-k0, n, ap, &b[k0*ldb], ldb, &c[i0*ldc], ldc, bp, f)
			}
		}
	}
}

// nnBlocks is the number of row blocks gemmNNPacked cuts m rows into.
func nnBlocks(avx2 bool, m int) int {
	maxRows := maxNNRows
	if avx2 {
		maxRows = maxNNRowsAVX2
	}
	return (m + maxRows - 1) / maxRows
}

// packPanel writes rows i0..i0+mr, columns k0..k1 of A as (k1-k0, mr) into
// dst: the rows read as streams, the panel written in order.
func packPanel(dst, a []float32, lda, i0, mr, k0, k1 int) {
	var rp [maxNNRows][]float32
	for r := range mr {
		rp[r] = a[(i0+r)*lda+k0:][:k1-k0]
	}
	panel := dst[:(k1-k0)*mr]
	for p := range k1 - k0 {
		col := panel[p*mr:][:mr]
		for r := range col {
			col[r] = rp[r][p]
		}
	}
}

// packA writes A (m, k) into dst (m*k values) as the panels gemmNNPacked
// packs, in the order it reads them, so that products with the same A (a
// conv's weights, image after image) pack it once.
func packA(avx2 bool, m, k int, a []float32, lda int, dst []float32) {
	need(a, (m-1)*lda+k, "A")
	need(dst, m*k, "packed A")
	blocks := nnBlocks(avx2, m)
	off := 0
	for bi := range blocks {
		i0, i1 := ChunkRange(m, blocks, bi)
		mr := i1 - i0
		kc := max(1, nnPanel/mr)
		for k0 := 0; k0 < k; k0 += kc {
			k1 := min(k, k0+kc)
			packPanel(dst[off:], a, lda, i0, mr, k0, k1)
			off += (k1 - k0) * mr
		}
	}
}

// nnPanel is the size of GemmNN's packed A panel (8 KiB).
const nnPanel = 2048

// ntArgs is the argument block of gemmNT45 (offsets fixed in gen_avx512.go).
type ntArgs struct {
	a    [4]*float32
	b    [5]*float32
	k    int
	out  [20]float32
	part *float32 // 20 vectors of 16: unreduced sums (modes ntLoad, ntKeep)
	mode int
}

const (
	ntLoad = 1 // start from part
	ntKeep = 2 // store into part unreduced
)

// ntTile is the size of one tile's unreduced sums in part.
const ntTile = 20 * 16

//go:noescape
func gemmNT45(args *ntArgs)

// ntChunk is the piece of k that gemmNT32 runs over all tiles at a time
// (once k exceeds it): its 5 B rows and 4 A rows, 36 KiB, stay in L1 while
// the tiles of A rows go by.
const ntChunk = 512

func gemmNT32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if k == 0 {
		gemmNTGo(m, n, k, a, lda, b, ldb, c, ldc, acc)
		return
	}
	need(a, (m-1)*lda+k, "A")
	need(b, (n-1)*ldb+k, "B")
	need(c, (m-1)*ldc+n, "C")
	tiles := ((m + 3) / 4) * ((n + 4) / 5)
	var stack [32 * ntTile]float32
	if k <= ntChunk || tiles > 32 {
		var args ntArgs
		args.k = k
		for i0 := 0; i0 < m; i0 += 4 {
			for j0 := 0; j0 < n; j0 += 5 {
				ntSetRows(&args, m, n, i0, j0, a, lda, b, ldb)
				gemmNT45(&args)
				ntStore(&args, m, n, i0, j0, c, ldc, acc)
			}
		}
		return
	}
	part := stack[:tiles*ntTile]
	for k0 := 0; k0 < k; k0 += ntChunk {
		k1 := min(k, k0+ntChunk)
		gemmNTPart(m, n, k1-k0, a[k0:], lda, b[k0:], ldb, part, k0 == 0)
	}
	ntReduce(m, n, part, c, ldc, acc)
}

// gemmNTPart adds the dot products of rows of A and B (length k) to the
// unreduced tile sums in part (ceil(m/4)*ceil(n/5) tiles of ntTile values),
// or sets them when first.
func gemmNTPart(m, n, k int, a []float32, lda int, b []float32, ldb int, part []float32, first bool) {
	if k == 0 {
		if first {
			clear(part)
		}
		return
	}
	need(a, (m-1)*lda+k, "A")
	need(b, (n-1)*ldb+k, "B")
	need(part, ((m+3)/4)*((n+4)/5)*ntTile, "partial sums")
	var args ntArgs
	args.k = k
	args.mode = ntKeep
	if !first {
		args.mode |= ntLoad
	}
	t := 0
	for i0 := 0; i0 < m; i0 += 4 {
		for j0 := 0; j0 < n; j0 += 5 {
			ntSetRows(&args, m, n, i0, j0, a, lda, b, ldb)
			args.part = &part[t*ntTile]
			gemmNT45(&args)
			t++
		}
	}
}

// ntReduce sums the tile vectors of part into C (m,n): set, or added with acc.
func ntReduce(m, n int, part []float32, c []float32, ldc int, acc bool) {
	t := 0
	for i0 := 0; i0 < m; i0 += 4 {
		for j0 := 0; j0 < n; j0 += 5 {
			tile := part[t*ntTile:][:ntTile]
			t++
			for r := range min(4, m-i0) {
				crow := c[(i0+r)*ldc+j0:][:min(5, n-j0)]
				for j := range crow {
					v := sum32(&tile[(r*5+j)*16], 16)
					if acc {
						crow[j] += v
					} else {
						crow[j] = v
					}
				}
			}
		}
	}
}

// ntSetRows points args at rows i0.. of A and j0.. of B, repeating the last
// row where fewer than 4 (5) remain.
func ntSetRows(args *ntArgs, m, n, i0, j0 int, a []float32, lda int, b []float32, ldb int) {
	mr, nr := min(4, m-i0), min(5, n-j0)
	for r := range 4 {
		args.a[r] = &a[(i0+min(r, mr-1))*lda]
	}
	for r := range 5 {
		args.b[r] = &b[(j0+min(r, nr-1))*ldb]
	}
}

// ntStore writes the valid part of args.out to C.
func ntStore(args *ntArgs, m, n, i0, j0 int, c []float32, ldc int, acc bool) {
	mr, nr := min(4, m-i0), min(5, n-j0)
	for r := range mr {
		crow := c[(i0+r)*ldc+j0:][:nr]
		out := args.out[r*5:][:nr]
		if acc {
			for j, v := range out {
				crow[j] += v
			}
		} else {
			copy(crow, out)
		}
	}
}

//go:noescape
func shiftedSums32(x *float32, n int, shift float32) (s1, s2 float32)

//go:noescape
func sum32(x *float32, n int) float32

//go:noescape
func affine32(x, y *float32, n int, a, b float32, relu int)

//go:noescape
func gradSums32(x, dy, y *float32, n int, mean float32) (s0, s1 float32)

//go:noescape
func bnDx32(x, dy, y, dx *float32, n int, a, b, c float32)

//go:noescape
func relu32(x, y *float32, n int)

//go:noescape
func reluMask32(y, dy, dx *float32, n int)

//go:noescape
func copyRows32(dst, src *float32, n, rows, dstStride, srcStride int)
