package train

import (
	"fmt"
	"io"
	"strings"
)

// Printer is a Recorder that writes progress to W: a bar redrawn in place when
// Terminal is set, otherwise one plain line per epoch.
type Printer struct {
	W        io.Writer
	Terminal bool
	Prefix   string // e.g. "[2/6 sse adam] " for the study
	lastLen  int
}

func (p *Printer) Batch(g Progress) {
	if !p.Terminal {
		return
	}
	const width = 24
	fill := width * g.Batch / max(g.Batches, 1)
	line := fmt.Sprintf("%sepoch %d/%d [%s%s] %d/%d loss %.4f acc %.2f%% %.0f img/s",
		p.Prefix, g.Epoch, g.Epochs, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		g.Batch, g.Batches, g.Loss, 100*g.Accuracy, g.ImagesPerSecond)
	pad := max(p.lastLen-len(line), 0)
	fmt.Fprintf(p.W, "\r%s%s", line, strings.Repeat(" ", pad))
	p.lastLen = len(line)
}

func (p *Printer) Epoch(s EpochStats, epochs int) {
	if p.Terminal {
		fmt.Fprint(p.W, "\r"+strings.Repeat(" ", p.lastLen)+"\r")
		p.lastLen = 0
	}
	val := "no validation images"
	if s.ValImages > 0 {
		val = fmt.Sprintf("val loss %.4f  val acc %.2f%%", s.ValLoss, 100*s.ValAcc)
	}
	fmt.Fprintf(p.W, "%sepoch %d/%d  loss %.4f  acc %.2f%%  %s  %.1fs  %.0f img/s\n",
		p.Prefix, s.Epoch, epochs, s.TrainLoss, 100*s.TrainAcc, val, s.Seconds, s.ImagesPerSec)
}

// Log is a Recorder that keeps everything it is told, for tests.
type Log struct {
	Batches []Progress
	Epochs  []EpochStats
}

func (l *Log) Batch(p Progress)               { l.Batches = append(l.Batches, p) }
func (l *Log) Epoch(s EpochStats, epochs int) { l.Epochs = append(l.Epochs, s) }
