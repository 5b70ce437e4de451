// Command serveload is a bounded load generator for `onnxdigits serve`: some
// concurrent clients send batch-1 inference requests (the MNIST fixture
// images of testdata/torch, JSON FP32 or binary tensor data) for a fixed time,
// check every answer's label against onnxruntime's, and print one JSON line:
// requests/s, latency percentiles, errors and the server's peak RSS (VmHWM of
// -pid). It stops by itself.
//
//	go run ./bench/serveload -url http://127.0.0.1:8080/v2/models/mnist/infer -clients 64 -duration 10s -pid PID
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/v2/models/mnist/infer", "inference endpoint")
	clients := flag.Int("clients", 1, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	warmup := flag.Duration("warmup", time.Second, "sending before the measured time (not counted)")
	bin := flag.Bool("binary", false, "send binary tensor data instead of JSON")
	pid := flag.Int("pid", 0, "server process whose peak RSS (VmHWM) to report")
	fixtures := flag.String("fixtures", "testdata/torch/mnist_ce_adam", "prefix of the .input.f32 and .ort.f32 files")
	label := flag.String("label", "", "a label for the output line")
	wait := flag.Duration("wait", 30*time.Second, "how long to wait for the server's /v2/health/ready first")
	cpuprofile := flag.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	raw := flag.Bool("raw", false, "send with a minimal HTTP/1.1 client (one connection per client, as wrk) instead of net/http's")
	reference := flag.Float64("reference", 0, "in-process images/s to compare requests/s with (pct_of_reference); 0: none")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "serveload:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := waitReady(*url, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
	if err := run(*url, *clients, *duration, *warmup, *bin, *pid, *fixtures, *label, *reference, *raw); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

type request struct {
	raw    []byte // the whole HTTP request, for -raw
	body   []byte
	header string // Inference-Header-Content-Length, or ""
	want   int    // onnxruntime's label
}

func requests(prefix string, bin bool) ([]request, error) {
	x, err := readFloats(prefix + ".input.f32")
	if err != nil {
		return nil, err
	}
	p, err := readFloats(prefix + ".ort.f32")
	if err != nil {
		return nil, err
	}
	n := len(p) / 10
	if n == 0 || len(x) != n*784 {
		return nil, fmt.Errorf("%s: %d inputs for %d outputs", prefix, len(x), len(p))
	}
	var reqs []request
	for i := range n {
		img, probs := x[i*784:(i+1)*784], p[i*10:(i+1)*10]
		r := request{want: argmax(probs)}
		if bin {
			h := `{"inputs":[{"name":"image","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3136}}],"outputs":[{"name":"probabilities","parameters":{"binary_data":true}}]}`
			r.header = strconv.Itoa(len(h))
			r.body = []byte(h)
			for _, v := range img {
				r.body = binary.LittleEndian.AppendUint32(r.body, math.Float32bits(v))
			}
		} else {
			data, _ := json.Marshal(img)
			r.body = []byte(`{"inputs":[{"name":"image","shape":[1,1,28,28],"datatype":"FP32","data":` + string(data) + `}]}`)
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

func readFloats(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// send posts r and checks the answer's label; buf is the caller's buffer
// for the answer, reused.
func send(c *http.Client, url string, r request, buf *bytes.Buffer) error {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(r.body))
	req.Header.Set("Content-Type", "application/json")
	if r.header != "" {
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Inference-Header-Content-Length", r.header)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	return check(r, resp.StatusCode, resp.Header.Get("Inference-Header-Content-Length"), buf.Bytes())
}

// check checks an answer to r: status 200 and onnxruntime's label.
func check(r request, status int, headerLen string, body []byte) error {
	if status != 200 {
		return fmt.Errorf("status %d: %.200s", status, body)
	}
	var probs [10]float32
	if r.header != "" {
		n, err := strconv.Atoi(headerLen)
		if err != nil || len(body)-n != 40 {
			return fmt.Errorf("binary answer of %d bytes, header %q", len(body), headerLen)
		}
		for i := range probs {
			probs[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[n+4*i:]))
		}
	} else if err := firstData(body, probs[:]); err != nil {
		return fmt.Errorf("answer %.200s: %v", body, err)
	}
	if got := argmax(probs[:]); got != r.want {
		return fmt.Errorf("label %d, onnxruntime %d", got, r.want)
	}
	return nil
}

// rawConn is a minimal HTTP/1.1 client on one keep-alive connection, as wrk
// is: each request is written as prepared bytes in one write, the answer read
// by its Content-Length. It costs a fraction of net/http's client (no
// goroutines per connection, no header maps), so that on shared cores more of
// the CPU goes to the server. Chunked answers are not read.
type rawConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
}

// rawRequest returns r as the bytes of an HTTP/1.1 request to url.
func rawRequest(url string, r request) ([]byte, error) {
	rest, ok := strings.CutPrefix(url, "http://")
	i := strings.IndexByte(rest, '/')
	if !ok || i < 0 {
		return nil, fmt.Errorf("-raw: %s is not an http:// URL with a path", url)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", rest[i:], rest[:i], len(r.body))
	if r.header != "" {
		fmt.Fprintf(&b, "Content-Type: application/octet-stream\r\nInference-Header-Content-Length: %s\r\n", r.header)
	} else {
		b.WriteString("Content-Type: application/json\r\n")
	}
	b.WriteString("\r\n")
	b.Write(r.body)
	return b.Bytes(), nil
}

// do sends a prepared request and checks the answer to r; on any error the
// connection is closed (the next call dials again).
func (c *rawConn) do(raw []byte, r request, buf *bytes.Buffer) error {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		if err != nil {
			return err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	err := c.roundTrip(raw, r, buf)
	if err != nil {
		c.conn.Close()
		c.conn = nil
	}
	return err
}

func (c *rawConn) roundTrip(raw []byte, r request, buf *bytes.Buffer) error {
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(raw); err != nil {
		return err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	f := strings.Fields(string(line))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return fmt.Errorf("status line %q", line)
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		return fmt.Errorf("status line %q", line)
	}
	length, headerLen, closing := -1, "", false
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		h := strings.TrimSpace(string(line))
		if h == "" {
			break
		}
		name, value, _ := strings.Cut(h, ":")
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(value); err != nil || length < 0 {
				return fmt.Errorf("Content-Length %q", value)
			}
		case strings.EqualFold(name, "Inference-Header-Content-Length"):
			headerLen = value
		case strings.EqualFold(name, "Connection"):
			closing = strings.EqualFold(value, "close")
		case strings.EqualFold(name, "Transfer-Encoding"):
			return fmt.Errorf("-raw reads no %s answers", value)
		}
	}
	if length < 0 {
		return errors.New("an answer without Content-Length")
	}
	buf.Reset()
	if _, err := io.CopyN(buf, c.r, int64(length)); err != nil {
		return err
	}
	if closing {
		c.conn.Close()
		c.conn = nil
	}
	return check(r, status, headerLen, buf.Bytes())
}

// firstData reads the numbers of the first "data" array in a JSON answer
// (the first output: the probabilities) into probs, which it must fill
// exactly. A scan rather than encoding/json, which took a tenth of this
// program's CPU time, so that more of the shared cores go to the server.
func firstData(body []byte, probs []float32) error {
	i := bytes.Index(body, []byte(`"data"`))
	if i < 0 {
		return errors.New(`no "data"`)
	}
	rest := bytes.TrimLeft(body[i+len(`"data"`):], " \t\r\n")
	if rest, ok := bytes.CutPrefix(rest, []byte(":")); ok {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if rest, ok := bytes.CutPrefix(rest, []byte("[")); ok {
			end := bytes.IndexByte(rest, ']')
			if end < 0 {
				return errors.New(`"data" does not end`)
			}
			fields := bytes.Split(rest[:end], []byte(","))
			if len(fields) != len(probs) {
				return fmt.Errorf("%d values, want %d", len(fields), len(probs))
			}
			for k, f := range fields {
				v, err := strconv.ParseFloat(string(bytes.TrimSpace(f)), 32)
				if err != nil {
					return err
				}
				probs[k] = float32(v)
			}
			return nil
		}
	}
	return errors.New(`"data" is not an array`)
}

func run(url string, clients int, duration, warmup time.Duration, bin bool, pid int, fixtures, label string, reference float64, raw bool) error {
	reqs, err := requests(fixtures, bin)
	if err != nil {
		return err
	}
	addr := ""
	if raw {
		for i := range reqs {
			if reqs[i].raw, err = rawRequest(url, reqs[i]); err != nil {
				return err
			}
		}
		rest := strings.TrimPrefix(url, "http://")
		addr = rest[:strings.IndexByte(rest, '/')]
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients},
		Timeout:   30 * time.Second,
	}
	start := time.Now()
	measureFrom, stop := start.Add(warmup), start.Add(warmup+duration)
	var mu sync.Mutex
	var lat []time.Duration
	errs, busy := 0, 0
	var firstErr error
	var wg sync.WaitGroup
	// The CPU time the server and this process use while measured, and the
	// server's batch-size histogram (/metrics) then, read by one goroutine
	// (readings is closed when it has them).
	var serverCPU, ownCPU [2]time.Duration
	var batches [2][2]float64 // sum and count
	metricsURL := url[:strings.Index(url, "/v2/")] + "/metrics"
	readings := make(chan struct{})
	go func() {
		defer close(readings)
		time.Sleep(time.Until(measureFrom))
		serverCPU[0], ownCPU[0] = cpuTime(pid), cpuTime(os.Getpid())
		batches[0] = batchSizes(client, metricsURL)
		time.Sleep(time.Until(stop))
		serverCPU[1], ownCPU[1] = cpuTime(pid), cpuTime(os.Getpid())
		batches[1] = batchSizes(client, metricsURL)
	}()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var buf bytes.Buffer
			conn := rawConn{addr: addr}
			defer func() {
				if conn.conn != nil {
					conn.conn.Close()
				}
			}()
			myErrs, myBusy := 0, 0
			var myFirst error
			for i := c; ; i++ {
				t0 := time.Now()
				if t0.After(stop) {
					break
				}
				var err error
				if r := reqs[i%len(reqs)]; raw {
					err = conn.do(r.raw, r, &buf)
				} else {
					err = send(client, url, r, &buf)
				}
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				switch {
				case err == nil:
					mine = append(mine, d)
				case strings.Contains(err.Error(), "status 503"):
					myBusy++
				default:
					myErrs++
					if myFirst == nil {
						myFirst = err
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			busy += myBusy
			if firstErr == nil {
				firstErr = myFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	out := map[string]any{
		"label": label, "clients": clients, "binary": bin, "seconds": duration.Seconds(),
		"ok": len(lat), "errors": errs, "busy_503": busy,
		"requests_per_s": math.Round(float64(len(lat))/duration.Seconds()*10) / 10,
		"p50_ms":         pct(0.50), "p99_ms": pct(0.99),
	}
	if firstErr != nil {
		out["first_error"] = firstErr.Error()
	}
	if pid > 0 {
		out["server_peak_rss_mb"] = peakRSS(pid)
	}
	<-readings // the CPU and batch readings are taken
	if len(lat) > 0 && ownCPU[1] > 0 {
		perRequest := func(cpu [2]time.Duration) float64 {
			return math.Round(float64((cpu[1]-cpu[0]).Microseconds())/float64(len(lat)+busy+errs)*10) / 10
		}
		if pid > 0 {
			out["server_cpu_us_per_request"] = perRequest(serverCPU)
		}
		out["client_cpu_us_per_request"] = perRequest(ownCPU)
	}
	if n := batches[1][1] - batches[0][1]; n > 0 {
		out["mean_batch"] = math.Round((batches[1][0]-batches[0][0])/n*100) / 100
	}
	if reference > 0 {
		out["pct_of_reference"] = math.Round(float64(len(lat))/duration.Seconds()/reference*1000) / 10
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		out["loadavg"] = strings.Join(strings.Fields(string(load))[:3], " ")
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	if errs > 0 {
		return fmt.Errorf("%d errors, first: %v", errs, firstErr)
	}
	return nil
}

// peakRSS reads VmHWM of a process, in MB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return math.Round(kb/1024*10) / 10
		}
	}
	return -1
}

// batchSizes reads the sum and count of onnxdigits_batch_size (every model)
// from the server's metrics, zeros if it cannot.
func batchSizes(c *http.Client, url string) (sc [2]float64) {
	resp, err := c.Get(url)
	if err != nil {
		return sc
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch {
		case strings.HasPrefix(f[0], "onnxdigits_batch_size_sum"):
			sc[0] += v
		case strings.HasPrefix(f[0], "onnxdigits_batch_size_count"):
			sc[1] += v
		}
	}
	return sc
}

// cpuTime returns the user and system CPU time a process has used so far
// (/proc/PID/stat, in clock ticks of 10 ms), 0 if it cannot be read.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14 and stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// waitReady polls the server's readiness endpoint (the URL up to /v2/).
func waitReady(url string, limit time.Duration) error {
	i := strings.Index(url, "/v2/")
	if i < 0 {
		return fmt.Errorf("%s is not a /v2/ URL", url)
	}
	ready := url[:i] + "/v2/health/ready"
	for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v (%v)", ready, limit, err)
		}
	}
}
