package kernels

import "testing"

// TestAllowed checks that ONNXDIGITS_CPU lowers the instruction path and
// never raises it.
func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		env, path string
		want      bool
	}{
		{"", AVX512, true},
		{"", Generic, true},
		{AVX512, AVX512, true},
		{AVX512, Generic, true},
		{Generic, AVX512, false},
		{Generic, Generic, true},
		{"sse9", AVX512, false}, // unknown: generic only
		{"sse9", Generic, true},
		{AVX2, AVX512, false},
		{AVX2, AVX2, true},
		{AVX2, Generic, true},
		{AVX512, AVX2, true},
		{Generic, AVX2, false},
	} {
		t.Setenv("ONNXDIGITS_CPU", tc.env)
		if got := allowed(tc.path); got != tc.want {
			t.Errorf("ONNXDIGITS_CPU=%q: allowed(%q) = %v, want %v", tc.env, tc.path, got, tc.want)
		}
	}
}
