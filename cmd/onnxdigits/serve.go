package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/onnxdigits/onnxdigits/classify"
	"github.com/onnxdigits/onnxdigits/serve"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve ONNX classifiers over HTTP (Open Inference Protocol v2, a draw-a-digit page, metrics)",
		ArgsUsage: "MODEL.onnx...",
		Description: `Serves each model under its file name without .onnx (--name NAME=FILE to
   choose) on the Open Inference Protocol v2 REST API that KServe and Triton
   speak, with Triton's binary tensor data and classification extensions:
     GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME[/versions/1][/ready]
     POST /v2/models/NAME/infer   FP32 in the model's layout or UINT8 pixels
     POST /v2/models/NAME/image   a PNG or JPEG body (or several, multipart),
                                  answered like predict --json
     GET  /                       draw a digit and watch the probabilities
     GET  /metrics                Prometheus metrics
   Requests arriving within --batch-delay run as one batch of at most
   --max-batch examples; when --max-queue requests wait, more get 503 with
   Retry-After. One log line per request goes to stderr. SIGINT or SIGTERM
   turns readiness false, lets the requests in flight finish and exits 0.
   --pprof ADDR serves Go's profiles (net/http/pprof) on a second address, for
   go tool pprof http://ADDR/debug/pprof/profile; it is off by default.

   Examples:
     onnxdigits serve model.onnx
     onnxdigits serve --addr :8080 --name digits=model.onnx --max-batch 128 other.onnx
     curl -s localhost:8080/v2/models/model
     curl -s --data-binary @seven.png localhost:8080/v2/models/model/image`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "address to listen on (host:port; :8080 for every interface)"},
			&cli.IntFlag{Name: "max-batch", Value: 64, Usage: "most examples in one model run (and in one request)"},
			&cli.IntFlag{Name: "max-queue", Usage: "requests per model that may wait (0: 4 x --max-batch)"},
			&cli.DurationFlag{Name: "batch-delay", Value: time.Millisecond, Usage: "how long a batch waits for more requests after its first"},
			&cli.BoolFlag{Name: "dynamic-batching", Value: true, Usage: "group concurrent requests into batches (--dynamic-batching=false runs each alone)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "deadline of each request, queueing included"},
			&cli.StringSliceFlag{Name: "name", Usage: "serve FILE under NAME (NAME=FILE; repeatable)"},
			&cli.StringFlag{Name: "pprof", Usage: "also serve Go's profiles (net/http/pprof, /debug/pprof/) on this address, e.g. 127.0.0.1:6060; off when empty"},
			pixelRangeFlag(),
			maxMemoryFlag(),
		},
		Action: runServe,
	}
}

func runServe(c *cli.Context) error {
	if err := checkArgsOrder(c); err != nil {
		return err
	}
	files := map[string]string{} // name -> file
	named := map[string]bool{}   // files given a --name
	for _, nf := range c.StringSlice("name") {
		name, file, ok := strings.Cut(nf, "=")
		if !ok || name == "" || file == "" {
			return badUsage("--name %q: want NAME=FILE", nf)
		}
		if files[name] != "" {
			return badUsage("--name %q: the name %q is taken", nf, name)
		}
		files[name], named[file] = file, true
	}
	for _, file := range c.Args().Slice() {
		if named[file] {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(file), ".onnx")
		if files[name] != "" {
			return badUsage("two models are called %q (%s and %s): choose with --name NAME=FILE", name, files[name], file)
		}
		files[name] = file
	}
	if len(files) == 0 {
		return badUsage("serve takes at least one ONNX file")
	}
	switch {
	case c.Int("max-batch") < 1:
		return badUsage("--max-batch %d: must be at least 1", c.Int("max-batch"))
	case c.Int("max-queue") < 0:
		return badUsage("--max-queue %d: must be 0 (4 x --max-batch) or more", c.Int("max-queue"))
	case c.Duration("batch-delay") < 0:
		return badUsage("--batch-delay %v: must not be negative", c.Duration("batch-delay"))
	case c.Duration("timeout") <= 0:
		return badUsage("--timeout %v: must be positive", c.Duration("timeout"))
	}
	if _, _, err := net.SplitHostPort(c.String("addr")); err != nil {
		return badUsage("--addr %q: %v", c.String("addr"), err)
	}
	if a := c.String("pprof"); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return badUsage("--pprof %q: %v", a, err)
		}
	}

	pr, err := pixelRange(c)
	if err != nil {
		return err
	}
	maxMem, err := maxMemory(c)
	if err != nil {
		return err
	}
	models := map[string]serve.Model{}
	for name, file := range files {
		m, err := classify.Open(file, classify.Options{PixelRange: pr, MaxBatch: c.Int("max-batch"), MaxMemory: maxMem})
		if err != nil {
			return err
		}
		models[name] = m
	}
	delay := c.Duration("batch-delay")
	if delay == 0 {
		delay = -1 // no wait: only the requests queued already join a batch
	}
	srv, err := serve.New(models, serve.Config{
		MaxBatch: c.Int("max-batch"), MaxQueue: c.Int("max-queue"), BatchDelay: delay,
		NoBatching: !c.Bool("dynamic-batching"), RequestTimeout: c.Duration("timeout"),
		Logger: slog.New(slog.NewTextHandler(c.App.ErrWriter, nil)),
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(c.App.Writer, "serving %s on http://%s/\n", strings.Join(names, ", "), l.Addr())
	if a := c.String("pprof"); a != "" {
		pl, err := net.Listen("tcp", a)
		if err != nil {
			srv.Shutdown(context.Background())
			return fmt.Errorf("--pprof: %w", err)
		}
		defer pl.Close()
		go http.Serve(pl, profiles())
		fmt.Fprintf(c.App.Writer, "profiles on http://%s/debug/pprof/\n", pl.Addr())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop()
	fmt.Fprintln(c.App.Writer, "shutting down: readiness false, finishing the requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout")+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// profiles serves net/http/pprof's handlers (on their own mux: the package's
// registration on http.DefaultServeMux is never served).
func profiles() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
