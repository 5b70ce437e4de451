package onnximport

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pytorchSkips lists the PyTorch cases of libonnx-testdata that use only our
// ops (after upgrading to opset 9) but that we do not pass, with the reason. A
// listed case that passes fails the test.
var pytorchSkips = map[string]string{
	"test_BatchNorm1d_3d_input_eval":              "BatchNormalization of rank 3 (2 and 4 are supported)",
	"test_BatchNorm3d_eval":                       "BatchNormalization of rank 5",
	"test_BatchNorm3d_momentum_eval":              "BatchNormalization of rank 5",
	"test_Conv3d":                                 "3-D convolution",
	"test_Conv3d_dilated":                         "3-D convolution",
	"test_Conv3d_dilated_strided":                 "3-D convolution",
	"test_Conv3d_groups":                          "3-D convolution",
	"test_Conv3d_no_bias":                         "3-D convolution",
	"test_Conv3d_stride":                          "3-D convolution",
	"test_Conv3d_stride_padding":                  "3-D convolution",
	"test_Embedding":                              "Gather of run-time data (embeddings)",
	"test_Embedding_sparse":                       "Gather of run-time data (embeddings)",
	"test_operator_add_broadcast":                 "float64 data beyond float32's range",
	"test_operator_add_size1_broadcast":           "float64 inputs",
	"test_operator_add_size1_right_broadcast":     "float64 data beyond float32's range",
	"test_operator_add_size1_singleton_broadcast": "float64 data beyond float32's range",
	"test_operator_addconstant":                   "float64 data beyond float32's range",
	"test_operator_non_float_params":              "int64 arithmetic at run time",
}

// TestPyTorchCases runs libonnx-testdata's pytorch-converted and
// pytorch-operator cases (opset 6, below our range) after upgrading them to
// opset 9 with onnx 1.12's version converter (testdata/upgrade_cases.py, run
// with /usr/bin/python3). Cases whose ops (after conversion) are all ours must
// pass; the count is logged.
func TestPyTorchCases(t *testing.T) {
	root := filepath.Dir(debianNodeDir)
	if _, err := os.Stat(filepath.Join(root, "pytorch-operator")); err != nil {
		if os.Getenv("ONNXDIGITS_CONFORMANCE") == "1" {
			t.Fatalf("%s/pytorch-operator is missing: apt-get install libonnx-testdata", root)
		}
		t.Skip("libonnx-testdata is not installed")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx").Run(); err != nil {
		if os.Getenv("ONNXDIGITS_CONFORMANCE") == "1" {
			t.Fatalf("/usr/bin/python3 cannot import onnx (apt-get install python3-onnx): %v", err)
		}
		t.Skip("no python3-onnx to upgrade the cases' opset")
	}
	ops := append(SupportedOps(), ShapeOps()...)
	var pass, skip, fail, outside, unconverted int
	for _, set := range []string{"pytorch-converted", "pytorch-operator"} {
		dst := t.TempDir()
		out, err := exec.Command("/usr/bin/python3", "testdata/upgrade_cases.py", filepath.Join(root, set), dst, "9").CombinedOutput()
		if err != nil {
			t.Fatalf("upgrade_cases.py %s: %v\n%s", set, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasSuffix(line, " ok") {
				unconverted++
				t.Logf("%s: %s", set, line)
			}
		}
		cases, _ := filepath.Glob(filepath.Join(dst, "test_*"))
		for _, c := range cases {
			name := filepath.Base(c)
			mp, err := ReadProtoFile(filepath.Join(c, "model.onnx"), Options{})
			if err != nil {
				continue // not converted
			}
			ours := true
			for _, n := range mp.GetGraph().GetNode() {
				ours = ours && slices.Contains(ops, n.GetOpType())
			}
			if !ours {
				outside++
				continue
			}
			reason, listed := pytorchSkips[name]
			err = runCase(c, mp)
			switch {
			case listed && err == nil:
				t.Errorf("%s/%s: listed in pytorchSkips (%s) but passes: remove it", set, name, reason)
			case listed:
				skip++
			case err != nil:
				fail++
				t.Errorf("%s/%s: %v", set, name, err)
			default:
				pass++
			}
		}
	}
	t.Logf("libonnx-testdata PyTorch cases upgraded to opset 9: %d use only our ops: %d pass, %d skipped (pytorchSkips), %d fail; %d use other ops; %d did not convert",
		pass+skip+fail, pass, skip, fail, outside, unconverted)
}
