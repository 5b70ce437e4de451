package train

// Benchmarks of training throughput. Machine of record: 2-core AVX-512 VM
// (AMD EPYC, Zen 5), Go 1.26, Gorgonia v0.9.18 running backend's own ops on
// AVX-512 kernels (ONNXDIGITS_CPU=generic for the portable loops). bench/README.md
// has the figures and the peers (DESIGN §8); compare runs with benchstat.

import (
	"context"
	"fmt"
	"testing"

	"github.com/onnxdigits/onnxdigits/digits"
)

// BenchmarkTrainEpoch trains the paper's network for one epoch of the paper's
// 7,500-image training split per iteration.
func BenchmarkTrainEpoch(b *testing.B) {
	tr, _ := digits.Split(digits.Synthetic(1000, 1), 0.75, 1)
	for _, bs := range []int{128, 43} {
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) {
			b.ReportAllocs()
			images := 0
			for b.Loop() {
				_, err := Train(context.Background(), Config{Epochs: 1, BatchSize: bs, Seed: 1}, tr, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				images += (tr.Len() / bs) * bs
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkTrainStep times one training step (forward, backward, Adam update)
// of the paper's network, each step on the next mini-batch of 3,000 synthetic
// training images (gathering the batch, a copy, is timed too), without
// validation: the per-step cost that BenchmarkTrainEpoch adds up.
func BenchmarkTrainStep(b *testing.B) {
	tr, _ := digits.Split(digits.Synthetic(4000, 1), 0.75, 1)
	for _, bs := range []int{128, 43} {
		for _, opt := range []Optimizer{Adam, SGDM} {
			b.Run(fmt.Sprintf("batch=%d/%s", bs, opt), func(b *testing.B) {
				cfg := Config{Epochs: 1, BatchSize: bs, Seed: 1, Optimizer: opt}.withDefaults()
				t, err := newTrainer(cfg, tr, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer t.close()
				// Each step takes the next of the set's batches: trained on
				// one batch over and over, the net fits it and its loss
				// gradients go subnormal, which measured the CPU's
				// subnormal assists rather than the kernels.
				idx := make([]int, bs)
				next := func(step int) {
					first := step % (tr.Len() / bs) * bs
					for i := range idx {
						idx[i] = first + i
					}
					tr.Gather(idx, t.images, t.labels)
				}
				next(0)
				if _, _, err := t.step(); err != nil { // warm up the buffers
					b.Fatal(err)
				}
				b.ReportAllocs()
				step := 0
				for b.Loop() {
					step++
					next(step)
					if _, _, err := t.step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(bs*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
