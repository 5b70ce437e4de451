package kernels

import (
	"math"
)

func SoftmaxRows[T Float](x, out []T, outer, k, inner int, log bool) {
	for o := range outer {
		for in := range inner {
			at := func(j int) int { return (o*k+j)*inner + in }
			m := x[at(0)]
			for j := 1; j < k; j++ {
				m = max(m, x[at(j)])
			}
			sum := 0.0
			for j := range k {
				sum += math.Exp(float64(x[at(j)] - m))
			}
			if log {
				ls := math.Log(sum)
				for j := range k {
					out[at(j)] = T(float64(x[at(j)]-m) - ls)
				}
				continue
			}
			for j := range k {
				out[at(j)] = T(math.Exp(float64(x[at(j)]-m)) / sum)
			}
		}
	}
}

func SoftmaxGrad[T Float](y, dy, dx []T, outer, k, inner int, log bool) {
	for o := range outer {
		for in := range inner {
			at := func(j int) int { return (o*k+j)*inner + in }
			s := 0.0
			for j := range k {
				if log {
					s += float64(dy[at(j)])
				} else {
					s += float64(dy[at(j)]) * float64(y[at(j)])
				}
			}
			for j := range k {
				i := at(j)
				if log {
					dx[i] = T(float64(dy[i]) - math.Exp(float64(y[i]))*s)
				} else {
					dx[i] = T(float64(y[i]) * (float64(dy[i]) - s))
				}
			}
		}
	}
}
