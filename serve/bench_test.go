package serve

// Benchmarks of the server on 127.0.0.1 (httptest): concurrent clients each
// sending batch-1 JSON inference requests for the MNIST fixture model, with
// dynamic batching on and off. Reported: requests/s and the p50/p99 latency.
// The clients run in the same process and on the same cores as the server.
// For the figures in the report use bench/serve.sh (a separate server process
// and its peak RSS).

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func BenchmarkInfer(b *testing.B) {
	images, probs := fixtures(b)
	bodies := make([][]byte, len(images))
	for i := range images {
		bodies[i] = inferBody(b, images, i)
	}
	for _, batching := range []bool{true, false} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("batching=%v/clients=%d", batching, clients), func(b *testing.B) {
				_, ts := newTestServer(b, Config{NoBatching: !batching})
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				var mu sync.Mutex
				var lat []time.Duration
				next := make(chan int, clients)
				var wg sync.WaitGroup
				b.ResetTimer()
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var mine []time.Duration
						for i := range next {
							t0 := time.Now()
							resp, err := client.Post(ts.URL+"/v2/models/mnist/infer", "application/json", bytes.NewReader(bodies[i]))
							if err != nil {
								b.Error(err)
								continue
							}
							body, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							mine = append(mine, time.Since(t0))
							if resp.StatusCode != 200 {
								b.Errorf("status %d: %s", resp.StatusCode, body)
							} else if err := checkAnswer(body, probs, i); err != nil {
								b.Error(err)
							}
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					}()
					_ = c
				}
				for i := range b.N {
					next <- i % len(images)
				}
				close(next)
				wg.Wait()
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
			})
		}
	}
}
