package serve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageInBrowser opens the page in a real browser (Debian's chromium,
// which scripts/setup.sh installs), draws a 7 on the canvas with the mouse and
// waits for a label and ten probabilities. It writes page.png to the test's
// artifact directory (go test -artifacts keeps it).
func TestPageInBrowser(t *testing.T) {
	var browser string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no chromium on PATH (apt-get install chromium, or sh scripts/setup.sh): the page is not tested in a browser")
	}
	_, ts := newTestServer(t, Config{})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1100, 620),
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	type rect struct{ X, Y, W, H float64 }
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// The model's metadata fills ten bars.
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll("#bars li").length === 10 && document.querySelector("#meta dd") !== null`)); err != nil {
		t.Fatal(err)
	}
	box, err := chromedp.Run(ctx, chromedp.Evaluate[rect](`(() => { const r = document.getElementById("pad").getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	// A 7: a bar across the top, then a stroke down to the lower left.
	stroke := [][2]float64{{0.25, 0.2}, {0.45, 0.2}, {0.72, 0.2}, {0.62, 0.45}, {0.52, 0.65}, {0.45, 0.85}}
	at := func(i int) (float64, float64) { return box.X + stroke[i][0]*box.W, box.Y + stroke[i][1]*box.H }
	x, y := at(0)
	actions := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonLeft)}
	for i := 1; i < len(stroke); i++ {
		x0, y0 := at(i - 1)
		x1, y1 := at(i)
		for s := 1; s <= 8; s++ { // intermediate points, as a hand would give
			f := float64(s) / 8
			actions = append(actions, chromedp.MouseEvent(chromedp.MouseMoved, x0+f*(x1-x0), y0+f*(y1-y0), chromedp.ButtonLeft))
		}
	}
	x, y = at(len(stroke) - 1)
	actions = append(actions,
		chromedp.MouseEvent(chromedp.MouseReleased, x, y, chromedp.ButtonLeft),
		chromedp.Poll[chromedp.Void](`document.getElementById("label").textContent !== "–" && [...document.querySelectorAll("#bars .prob")].every(e => e.textContent !== "–")`),
		chromedp.Sleep(300*time.Millisecond), // the answer to the pad's final state
	)
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("label").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	probs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#bars .prob")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), "page.png")
	if err := os.WriteFile(path, screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("label %q, probabilities %v; screenshot %s", label, probs, path)
	if len(probs) != 10 {
		t.Fatalf("%d probabilities, want 10", len(probs))
	}
	sum := 0.0
	for _, p := range probs {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 1 {
			t.Fatalf("probability %q", p)
		}
		sum += v
	}
	// Ten values shown with 3 decimals: each is off by at most 0.0005.
	if sum < 0.995 || sum > 1.005 {
		t.Errorf("probabilities sum to %v", sum)
	}
	if label == "" || label == "–" {
		t.Errorf("label %q", label)
	}
}
