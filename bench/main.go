// Command bench measures onnxdigits against its peers on this machine, in one
// run, and prints a table of images/s and peak RSS with ratios (bench/run.sh
// builds and runs it; bench/README.md shows the latest output).
//
// Every system runs the same protocol, the one of testdata/torch/bench_torch.py:
// training is one untimed epoch then the median of -epochs epochs of 7,500
// random images (uniform [0,1], random labels) in mini-batches, the last
// partial batch dropped, cross-entropy and Adam at learning rate 0.01 with L2
// 1e-4; inference is the median of 5 passes over 10,240 images in batches of
// 256, and 2,000 single images for batch 1, on the paper's net with batch norm
// folded into the conv, exported to ONNX (the onnxruntime peer and onnxdigits
// run the same file). Each system runs in its own process under
// /usr/bin/time -v, whose "Maximum resident set size" is the peak RSS.
//
// Peers: PyTorch 1.13 (Debian's python3-torch through /usr/bin/python3) as
// installed, which links the reference BLAS, and with OpenBLAS
// (libopenblas0-pthread, OPENBLAS_CORETYPE=SkylakeX, OPENBLAS_NUM_THREADS=1,
// loaded with LD_LIBRARY_PATH), 2 intra-op threads each; onnxruntime-node 1.30
// (interop/node_modules) with 2 and 1 intra-op threads.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onnxdigits/onnxdigits/backend"
	"github.com/onnxdigits/onnxdigits/digits"
	"github.com/onnxdigits/onnxdigits/export"
	"github.com/onnxdigits/onnxdigits/graph"
	onnximport "github.com/onnxdigits/onnxdigits/import"
	"github.com/onnxdigits/onnxdigits/internal/atomicfile"
	"github.com/onnxdigits/onnxdigits/internal/kernels"
	"github.com/onnxdigits/onnxdigits/train"
)

// result is one system's JSON line (a subset of bench_torch.py's fields).
type result struct {
	System      string    `json:"system"`
	BatchSize   int       `json:"batch_size,omitempty"`
	Train       float64   `json:"train_images_per_s,omitempty"`
	TrainEpochs []float64 `json:"train_images_per_s_epochs,omitempty"`
	Infer       float64   `json:"infer_images_per_s,omitempty"`
	InferBatch1 float64   `json:"infer1_images_per_s,omitempty"`
	Threads     int       `json:"threads,omitempty"`
	PeakRSSMB   float64   `json:"-"` // from /usr/bin/time -v
	LoadAvg     []float64 `json:"loadavg_1m,omitempty"`
	Label       string    `json:"-"`
	Error       string    `json:"-"`
	WallSeconds float64   `json:"-"`
}

var (
	root     = flag.String("root", ".", "repository root")
	epochs   = flag.Int("epochs", 5, "measured training epochs per run")
	skip     = flag.String("skip", "", "comma-separated rows to skip: torch, openblas, ort, avx2, purego (the generic path), lenet")
	rounds   = flag.Int("rounds", 2, "rounds over all systems; each figure is the best of them")
	worker   = flag.Bool("worker", false, "internal: run onnxdigits itself and print one JSON line")
	batch    = flag.Int("batch", 128, "internal: training batch of a -worker run")
	onnxPath = flag.String("onnx", "", "internal: write the BN-folded model here (-worker)")
	mode     = flag.String("mode", "both", "internal: what a -worker run does: train, infer or both")
	modelIn  = flag.String("model", "", "internal: infer this ONNX file (all its outputs) instead of the paper's net (-worker -mode infer)")
)

// lenet is the imported PyTorch LeNet-style model of the second table.
const lenet = "testdata/torch/lenet_opset11.onnx"

func main() {
	flag.Parse()
	if *worker {
		if err := runWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := orchestrate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// randomSet is n random images and labels, as bench_torch.py trains on.
func randomSet(n int, seed int64) *digits.Set {
	rng := rand.New(rand.NewSource(seed))
	s := &digits.Set{Images: make([]float32, n*digits.Height*digits.Width), Labels: make([]uint8, n), Classes: digits.DigitClasses()}
	for i := range s.Images {
		s.Images[i] = rng.Float32()
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(rng.Intn(10))
	}
	return s
}

type epochRates []float64

func (r *epochRates) Batch(train.Progress) {}
func (r *epochRates) Epoch(s train.EpochStats, _ int) {
	*r = append(*r, s.ImagesPerSec)
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func loadavg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}

// runWorker trains (unless -no-train) and runs inference of the folded model,
// printing one JSON line.
func runWorker() error {
	res := result{System: "onnxdigits", BatchSize: *batch, Threads: runtime.GOMAXPROCS(0), LoadAvg: []float64{loadavg()}}
	if *mode != "infer" {
		var rates epochRates
		cfg := train.Config{Epochs: 1 + *epochs, BatchSize: *batch, Seed: 1, Loss: train.CrossEntropy, Optimizer: train.Adam}
		if _, err := train.Train(context.Background(), cfg, randomSet(7500, 1), nil, &rates); err != nil {
			return err
		}
		res.TrainEpochs = rates[1:]
		res.Train = median(res.TrainEpochs)
	}
	if *mode == "train" {
		res.LoadAvg = append(res.LoadAvg, loadavg())
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	if *modelIn != "" {
		im, err := onnximport.ReadFile(*modelIn, onnximport.Options{})
		if err != nil {
			return err
		}
		images := randomSet(10240, 3).Images
		if res.Infer, err = inferRate(im, images, 256, 10240, 5); err != nil {
			return err
		}
		if res.InferBatch1, err = inferRate(im, images, 1, 2000, 5); err != nil {
			return err
		}
		res.LoadAvg = append(res.LoadAvg, loadavg())
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	m, err := graph.New("", graph.DigitsInput(), rand.New(rand.NewSource(1)))
	if err != nil {
		return err
	}
	copy(m.Param(graph.MeanParam).Data, digits.MeanImage(randomSet(1000, 2)))
	folded, err := graph.FoldBatchNorm(m)
	if err != nil {
		return err
	}
	data, err := export.Marshal(folded, export.Options{})
	if err != nil {
		return err
	}
	if *onnxPath != "" {
		if err := atomicfile.WriteFile(*onnxPath, data); err != nil {
			return err
		}
	}
	im, err := onnximport.Decode(data, onnximport.Options{})
	if err != nil {
		return err
	}
	images := randomSet(10240, 3).Images
	res.Infer, err = inferRate(im, images, 256, 10240, 5)
	if err != nil {
		return err
	}
	res.InferBatch1, err = inferRate(im, images, 1, 2000, 5)
	if err != nil {
		return err
	}
	res.LoadAvg = append(res.LoadAvg, loadavg())
	return json.NewEncoder(os.Stdout).Encode(res)
}

// inferRate is the median images/s of reps passes (after one warm-up) over n
// images in batches of batch: labels and probabilities out for our models,
// every output for a foreign one.
func inferRate(m *graph.Model, images []float32, batch, n, reps int) (float64, error) {
	var want []string
	if m.Producer(graph.ProbsOutput) != nil && m.Producer(graph.LabelOutput) != nil {
		want = []string{graph.ProbsOutput, graph.LabelOutput}
	}
	r := backend.NewRunner(m, want...)
	r.MaxBatch = batch
	defer r.Close()
	var rates []float64
	for rep := 0; rep <= reps; rep++ {
		start := time.Now()
		done := 0
		for i := 0; i+batch <= n; i += batch {
			if _, err := r.Run(batch, images[i*784:(i+batch)*784]); err != nil {
				return 0, err
			}
			done += batch
		}
		if rep > 0 {
			rates = append(rates, float64(done)/time.Since(start).Seconds())
		}
	}
	return median(rates), nil
}

var rssRE = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

// timed runs cmd under /usr/bin/time -v and decodes the last JSON line of its
// output into a result with the peak RSS.
func timed(label string, env []string, name string, args ...string) result {
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = *root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	fmt.Fprintf(os.Stderr, "bench: %s ...", label)
	start := time.Now()
	err := cmd.Run()
	res := result{Label: label, WallSeconds: time.Since(start).Seconds()}
	fmt.Fprintf(os.Stderr, " %.0fs\n", res.WallSeconds)
	if m := rssRE.FindSubmatch(stderr.Bytes()); m != nil {
		kb, _ := strconv.ParseFloat(string(m[1]), 64)
		res.PeakRSSMB = kb / 1024
	}
	if err != nil {
		res.Error = fmt.Sprintf("%v: %s", err, lastLines(stderr.String(), 3))
		return res
	}
	var line []byte
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 && b[0] == '{' {
			line = slices.Clone(b)
		}
	}
	if line == nil {
		res.Error = "no JSON line in output: " + lastLines(stdout.String()+stderr.String(), 3)
		return res
	}
	rss, lab, wall := res.PeakRSSMB, res.Label, res.WallSeconds
	if err := json.Unmarshal(line, &res); err != nil {
		res.Error = err.Error()
	}
	res.PeakRSSMB, res.Label, res.WallSeconds = rss, lab, wall
	return res
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func orchestrate() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	skipped := map[string]bool{}
	for _, s := range strings.Split(*skip, ",") {
		skipped[strings.TrimSpace(s)] = true
	}
	tmp, err := os.MkdirTemp("", "onnxdigits-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	model := filepath.Join(tmp, "paper_folded.onnx")
	ep := strconv.Itoa(*epochs)
	start := time.Now()
	load0 := loadavg()

	type row struct {
		system, config string
		train          [2]result // batch 128, 43
		infer          result
		note           string
		lenet          bool // the second table: the imported LeNet, inference only
	}
	var rows []row

	// Jobs fill slots of the rows; every round runs all jobs once, in this
	// order, and each slot keeps the best throughput (and the largest RSS)
	// over the rounds: the machine is shared and noisy, and interleaving keeps
	// a slow spell from hitting one system only.
	type job struct {
		row, slot int // slot 0, 1: training batch 128, 43; 2: inference
		label     string
		env       []string
		name      string
		args      []string
	}
	var jobs []job
	addRow := func(r row) int {
		rows = append(rows, r)
		return len(rows) - 1
	}
	g := addRow(row{system: "onnxdigits (Go, Gorgonia + own ops)", config: fmt.Sprintf("GOMAXPROCS=%d, kernels %s", runtime.GOMAXPROCS(0), kernels.CPU())})
	// Inference first: it writes the model the onnxruntime peer reads.
	// Training and inference run in separate processes, so that the RSS of
	// a training run is its own.
	jobs = append(jobs,
		job{g, 2, "onnxdigits inference", nil, self, []string{"-worker", "-mode", "infer", "-onnx", model}},
		job{g, 0, "onnxdigits train batch 128", nil, self, []string{"-worker", "-mode", "train", "-batch", "128", "-epochs", ep}},
		job{g, 1, "onnxdigits train batch 43", nil, self, []string{"-worker", "-mode", "train", "-batch", "43", "-epochs", ep}})
	// The lower instruction paths where the CPU has them (ONNXDIGITS_CPU
	// never raises the path, so on a smaller CPU a row repeats a lower one).
	lower := []string{"avx2", "generic"}
	if skipped["avx2"] {
		lower = lower[1:]
	}
	if skipped["purego"] {
		lower = lower[:len(lower)-1]
	}
	for _, path := range lower {
		p := addRow(row{system: "onnxdigits, " + path + " path", config: "ONNXDIGITS_CPU=" + path, note: "2 measured epochs"})
		env := []string{"ONNXDIGITS_CPU=" + path}
		jobs = append(jobs,
			job{p, 0, "onnxdigits " + path + " train batch 128", env, self, []string{"-worker", "-mode", "train", "-batch", "128", "-epochs", "2"}},
			job{p, 2, "onnxdigits " + path + " inference", env, self, []string{"-worker", "-mode", "infer"}})
	}
	torch := func(system, config string, env []string, batches ...string) {
		r := addRow(row{system: system, config: config, note: "training and inference in one process"})
		for i, bs := range batches {
			jobs = append(jobs, job{r, i, system + " batch " + bs, env, "/usr/bin/python3",
				[]string{"testdata/torch/bench_torch.py", "--batch-size", bs, "--epochs", ep, "--threads", "2"}})
		}
	}
	if !skipped["openblas"] {
		lib := "/usr/lib/x86_64-linux-gnu/openblas-pthread"
		if _, err := os.Stat(filepath.Join(lib, "libblas.so.3")); err != nil {
			fmt.Fprintln(os.Stderr, "bench: OpenBLAS peer skipped: install libopenblas0-pthread (bench/run.sh does)")
		} else {
			torch("PyTorch 1.13 + OpenBLAS", "SkylakeX kernels, 1 BLAS thread, 2 torch threads",
				[]string{"LD_LIBRARY_PATH=" + lib, "OPENBLAS_CORETYPE=SkylakeX", "OPENBLAS_NUM_THREADS=1"}, "128", "43")
			if !skipped["avx2"] {
				torch("PyTorch 1.13 + OpenBLAS, AVX2 kernels", "OPENBLAS_CORETYPE=Haswell (the bar for the avx2 row), 1 BLAS thread, 2 torch threads",
					[]string{"LD_LIBRARY_PATH=" + lib, "OPENBLAS_CORETYPE=Haswell", "OPENBLAS_NUM_THREADS=1"}, "128")
			}
		}
	}
	if !skipped["torch"] {
		torch("PyTorch 1.13 as installed", "reference BLAS, 2 torch threads",
			[]string{"LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas"}, "128", "43")
	}
	ort := func(model string, lenet bool) {
		if skipped["ort"] {
			return
		}
		for _, th := range []string{"2", "1"} {
			r := addRow(row{system: "onnxruntime-node 1.30", config: th + " intra-op thread(s), graph optimization all", lenet: lenet})
			jobs = append(jobs, job{r, 2, "onnxruntime " + th + " threads " + filepath.Base(model), []string{"NODE_PATH=" + filepath.Join(*root, "interop/node_modules")},
				"node", []string{"bench/bench_ort.js", model, th}})
		}
	}
	ort(model, false)
	if !skipped["lenet"] {
		// The second table: a PyTorch LeNet-style model (conv 5x5 pad 2, ReLU,
		// max pool 2, conv 5x5, ReLU, max pool 2, MatMul+Add, two Gemm),
		// imported as any user's model would be.
		for _, path := range append([]string{kernels.CPU()}, lower...) {
			l := addRow(row{system: "onnxdigits, imported LeNet", config: "ONNXDIGITS_CPU=" + path, lenet: true})
			jobs = append(jobs, job{l, 2, "onnxdigits lenet " + path, []string{"ONNXDIGITS_CPU=" + path}, self,
				[]string{"-worker", "-mode", "infer", "-model", lenet}})
		}
		ort(lenet, true)
	}
	for round := 1; round <= *rounds; round++ {
		fmt.Fprintf(os.Stderr, "bench: round %d of %d (load %.2f)\n", round, *rounds, loadavg())
		for _, j := range jobs {
			res := timed(j.label, j.env, j.name, j.args...)
			r := &rows[j.row]
			var slot *result
			switch j.slot {
			case 0, 1:
				slot = &r.train[j.slot]
			default:
				slot = &r.infer
			}
			*slot = better(*slot, res, round == 1)
			if j.slot == 0 && r.note == "training and inference in one process" {
				r.infer = better(r.infer, res, round == 1)
			}
		}
	}

	// The table.
	gr := rows[0]
	ratio := func(ours, theirs float64) string {
		if ours == 0 || theirs == 0 {
			return ""
		}
		return fmt.Sprintf(" (%.2fx)", ours/theirs)
	}
	num := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return commas(v)
	}
	cell := func(r result, v func(result) float64, ours float64, own bool) string {
		if r.Error != "" {
			return "error"
		}
		s := num(v(r))
		if !own && v(r) != 0 {
			s += ratio(ours, v(r))
		}
		return s
	}
	trainRate := func(r result) float64 { return r.Train }
	inferRate := func(r result) float64 { return r.Infer }
	infer1 := func(r result) float64 { return r.InferBatch1 }
	trainRSS := func(r row) float64 { return max(r.train[0].PeakRSSMB, r.train[1].PeakRSSMB) }

	var out strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&out, "Machine: %s, %d CPUs (%s), Go %s %s/%s; 1-minute load %.2f before, %.2f after (%s).\n",
		cpuModel(), runtime.NumCPU(), host, strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH, load0, loadavg(), time.Since(start).Round(time.Second))
	fmt.Fprintf(&out, "Ratios are onnxdigits / peer (above 1: onnxdigits is faster). Training: median of %s epochs of 7,500 images after one warm-up epoch; inference: BN-folded ONNX. Each figure is the best of %d interleaved rounds.\n\n", ep, *rounds)
	fmt.Fprintln(&out, "| system | configuration | train img/s, batch 128 | train img/s, batch 43 | infer img/s, batch 256 | infer img/s, batch 1 | peak RSS MB, training / inference |")
	fmt.Fprintln(&out, "| --- | --- | --- | --- | --- | --- | --- |")
	for i, r := range rows {
		if r.lenet {
			continue
		}
		own := i == 0
		cfg := r.config
		if r.note != "" {
			cfg += "; " + r.note
		}
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s | %s |\n", r.system, cfg,
			cell(r.train[0], trainRate, gr.train[0].Train, own), cell(r.train[1], trainRate, gr.train[1].Train, own),
			cell(r.infer, inferRate, gr.infer.Infer, own), cell(r.infer, infer1, gr.infer.InferBatch1, own),
			rss(trainRSS(r))+" / "+rss(r.infer.PeakRSSMB))
	}
	first := -1
	for i, r := range rows {
		if !r.lenet {
			continue
		}
		if first < 0 {
			first = i
			fmt.Fprintf(&out, "\nImported PyTorch LeNet (%s), inference; ratios are the first row / the row.\n\n", lenet)
			fmt.Fprintln(&out, "| system | configuration | infer img/s, batch 256 | infer img/s, batch 1 | peak RSS MB |")
			fmt.Fprintln(&out, "| --- | --- | --- | --- | --- |")
		}
		lr := rows[first]
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s |\n", r.system, r.config,
			cell(r.infer, inferRate, lr.infer.Infer, i == first), cell(r.infer, infer1, lr.infer.InferBatch1, i == first), rss(r.infer.PeakRSSMB))
	}
	fmt.Print(out.String())
	for _, r := range rows {
		for _, x := range []result{r.train[0], r.train[1], r.infer} {
			if x.Error != "" {
				fmt.Printf("\n%s: %s\n", x.Label, x.Error)
			}
		}
	}
	return nil
}

// better merges two runs of one job: the higher throughputs, the larger
// RSS; an error only when no run succeeded.
func better(a, b result, first bool) result {
	if first || a.Error != "" {
		if a.PeakRSSMB > b.PeakRSSMB && !first {
			b.PeakRSSMB = a.PeakRSSMB
		}
		return b
	}
	if b.Error != "" {
		return a
	}
	a.Train = max(a.Train, b.Train)
	a.Infer = max(a.Infer, b.Infer)
	a.InferBatch1 = max(a.InferBatch1, b.InferBatch1)
	a.PeakRSSMB = max(a.PeakRSSMB, b.PeakRSSMB)
	return a
}

func rss(mb float64) string {
	if mb == 0 {
		return "-"
	}
	return strconv.Itoa(int(mb + 0.5))
}

func commas(v float64) string {
	s := strconv.Itoa(int(v + 0.5))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	model := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") && model == "" {
			model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	if strings.Contains(string(b), " avx512f") {
		model += ", AVX-512"
	}
	return model
}
