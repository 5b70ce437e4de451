package study

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxdigits/onnxdigits/train"
)

func TestSettings(t *testing.T) {
	s := Settings(Options{})
	if len(s) != 6 {
		t.Fatalf("%d default settings, want the paper's 6", len(s))
	}
	for i, p := range Table1 {
		found := false
		p.Remedies, p.Variant = train.DefaultRemedies(p.Optimizer), train.DefaultSpec
		for _, q := range s {
			found = found || q == p
		}
		if !found {
			t.Errorf("Table 1 row %d (%s) missing", i, p.Name())
		}
	}
	s = Settings(Options{Losses: []train.Loss{train.Huber}, Optimizers: []train.Optimizer{train.Nadam, train.Adam}, EpochsScale: 0.1})
	if len(s) != 2 || s[0].Epochs != 2 || s[0].BatchSize != 43 || s[0].Paper != 0 {
		t.Errorf("extension settings %+v", s)
	}
	if s := Settings(Options{EpochsScale: 0.001}); s[0].Epochs != 1 {
		t.Errorf("epochs scale keeps at least one epoch, got %d", s[0].Epochs)
	}
}

// TestTinyStudy runs the paper's six settings for one epoch each on 200 images
// and checks that every artefact is written and the parity holds.
func TestTinyStudy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains six small models")
	}
	dir := t.TempDir()
	var log strings.Builder
	res, err := Run(context.Background(), Options{Data: "synthetic:20", Out: dir, EpochsScale: 0.01, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 6 {
		t.Fatalf("%d results, want 6", len(res))
	}
	for _, r := range res {
		// DESIGN §5: float32 parity within 1e-5, labels 100% equal.
		if r.Parity > 1e-5 || r.Labels != 1 {
			t.Errorf("%s: parity %g, labels agree %v", r.Setting.Name(), r.Parity, r.Labels)
		}
		if _, err := os.Stat(filepath.Join(dir, r.Model)); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"table.md", "table.csv", "report.md", "fig-sgdm-accuracy.png", "fig-sgdm-loss.png", "fig-adam-accuracy.png", "fig-adam-loss.png", "fig-sse-loss.png", "fig-best.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	f, _ := os.Open(filepath.Join(dir, "table.csv"))
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 7 {
		t.Fatalf("table.csv: %d records, %v", len(recs), err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "table.md"))
	for _, want := range []string{"crossentropy | SGDM | logitpen=0.001 | 1 | 64", "sse | ADAM | headlr=0.1,logitpen=0.001 | 1 | 43", "99.72"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("table.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(log.String(), "[6/6] "+Table1[5].Name()) && !strings.Contains(log.String(), "[6/6] sse-adam+") {
		t.Errorf("progress does not name the runs:\n%s", log.String())
	}
}

// TestRemedyVariants compares two recipes on one setting: every seed runs once
// per variant and the report puts them side by side.
func TestRemedyVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four small models")
	}
	dir := t.TempDir()
	variants := []string{"none", "logitpen=0.001"}
	res, err := Run(context.Background(), Options{Data: "synthetic:20", Out: dir, EpochsScale: 0.01, SkipOnnxGo: true,
		Losses: []train.Loss{train.MAE}, Optimizers: []train.Optimizer{train.Adam}, Seeds: []int64{1, 2}, Remedies: variants})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 2 variants x 2 seeds", len(res))
	}
	names := map[string]bool{}
	for _, r := range res {
		names[r.Setting.Name()] = true
	}
	if !names["mae-adam"] || !names["mae-adam+logitpen=0.001"] {
		t.Errorf("runs %v", names)
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"## Remedies compared", "| mae | ADAM |", "`none`", "`logitpen=0.001`", "mae | ADAM | logitpen=0.001 | 1 | 100"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report.md lacks %q:\n%s", want, report)
		}
	}
}
