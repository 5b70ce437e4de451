# make run   trains the paper's network on the built-in synthetic digits and exports model.onnx
# make test  installs what the tests need (apt, npm) and runs every test, interop and conformance included,
#            then the tests again on the portable kernels (purego build tag) and the model tests on the
#            avx2 and generic instruction paths

GO ?= go

# The published digit models of testdata/published/published.json are other
# people's files and not in this repository; where a folder holding them sits
# beside the checkout (../shared/published), the tests run them too.
PUBLISHED ?= $(wildcard $(CURDIR)/../shared/published)

.PHONY: run test build bench fuzz

build:
	$(GO) build -o onnxdigits ./cmd/onnxdigits

run: build
	./onnxdigits train
	./onnxdigits export model.onnx
	./onnxdigits inspect model.onnx

test:
	sh scripts/setup.sh
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet ./...
	ONNXDIGITS_INTEROP=1 ONNXDIGITS_CONFORMANCE=1 ONNXDIGITS_PUBLISHED=$(PUBLISHED) $(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -tags purego ./...
	# The imported fixtures and conformance cases on the lower instruction paths
	# (ONNXDIGITS_CPU only lowers the path: on a CPU without them these repeat
	# the generic run); internal/kernels tests every path by itself.
	ONNXDIGITS_CPU=avx2 ONNXDIGITS_CONFORMANCE=1 $(GO) test -count=1 ./import ./backend ./verify ./perf
	ONNXDIGITS_CPU=generic ONNXDIGITS_CONFORMANCE=1 $(GO) test -count=1 ./import ./backend ./verify ./perf

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# make fuzz FUZZTIME=10m runs each target that long (issue 12 asks for 10 minutes).
FUZZTIME ?= 2m

fuzz:
	$(GO) test ./import -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./digits -run '^$$' -fuzz '^FuzzReadIDX$$' -fuzztime $(FUZZTIME)
	$(GO) test ./digits -run '^$$' -fuzz '^FuzzDecodeImage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./digits -run '^$$' -fuzz '^FuzzReadImage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./export -run '^$$' -fuzz '^FuzzDescribe$$' -fuzztime $(FUZZTIME)
	$(GO) test ./serve -run '^$$' -fuzz '^FuzzDecodeInferRequest$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
	$(GO) test ./serve -run '^$$' -fuzz '^FuzzParseFloat32$$' -fuzztime $(FUZZTIME)
	# Each exec runs the whole predict command; minimizing a new input for the
	# default 60 s stalls the run, so it is cut to 3 s.
	$(GO) test ./cmd/onnxdigits -run '^$$' -fuzz '^FuzzPredictModel$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
