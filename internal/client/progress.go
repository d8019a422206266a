package client

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// runProgress is a pipeline run's properties.response.progress: ACR's
// percentage (a string on the wire) and Bulkhead's bytes and artifacts.
type runProgress struct {
	Percentage     percentage `json:"percentage"`
	Bytes          int64      `json:"bytes"`
	TotalBytes     int64      `json:"totalBytes"`
	Artifacts      int        `json:"artifacts"`
	TotalArtifacts int        `json:"totalArtifacts"`
}

// UnmarshalJSON marks an absent percentage as -1.
func (p *runProgress) UnmarshalJSON(b []byte) error {
	type plain runProgress
	v := plain{Percentage: -1}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = runProgress(v)
	return nil
}

// percentage is ACR's progress.percentage: "42" on the wire; a number is
// taken too. -1 when absent or unreadable.
type percentage int

// UnmarshalJSON reads a string or a number.
func (p *percentage) UnmarshalJSON(b []byte) error {
	*p = -1
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	var f float64
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(x), "%"), 64)
		if err != nil {
			return nil
		}
		f = n
	case float64:
		f = x
	default:
		return nil
	}
	*p = percentage(min(max(f, 0), 100))
	return nil
}

// percent is the share done, 0–100: the server's percentage when it
// gives one, else bytes over total bytes.
func (p runProgress) percent() int {
	switch {
	case p.Percentage >= 0:
		return int(p.Percentage)
	case p.TotalBytes > 0:
		return int(min(max(p.Bytes*100/p.TotalBytes, 0), 100))
	}
	return 0
}

// barWidth is the number of cells between the brackets of a progress bar.
const barWidth = 30

// progressLine is one progress line:
//
//	[=============>                ]  48%  512.0 MiB / 1.0 GiB  12/64 artifacts
//
// Totals the server does not know yet (0) are left out.
func progressLine(p runProgress) string {
	pct := p.percent()
	filled := pct * barWidth / 100
	bar := strings.Repeat("=", filled)
	if filled > 0 && filled < barWidth {
		bar = bar[1:] + ">"
	}
	bar += strings.Repeat(" ", barWidth-filled)
	size := humanBytes(p.Bytes)
	if p.TotalBytes > 0 {
		size += " / " + humanBytes(p.TotalBytes)
	}
	arts := fmt.Sprintf("%d artifacts", p.Artifacts)
	if p.TotalArtifacts > 0 {
		arts = fmt.Sprintf("%d/%d artifacts", p.Artifacts, p.TotalArtifacts)
	}
	return fmt.Sprintf("[%s] %3d%%  %s  %s", bar, pct, size, arts)
}

// humanBytes writes n in binary units with one decimal: 512 B, 1.5 KiB,
// 512.0 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	// 1023.96 KiB would print as "1024.0 KiB": round first, then carry.
	for u < len(units)-1 && v >= 1023.95 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// progressBar draws a run's progress on stderr: redrawn in place on a
// terminal, a plain line every interval otherwise (logs, CI).
type progressBar struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	now      func() time.Time
	last     time.Time // when the last plain line was written
	drawn    int       // length of the line on screen (tty)
}

func newProgressBar(w io.Writer, interval time.Duration) *progressBar {
	return &progressBar{w: w, tty: isTerminal(w), interval: interval, now: time.Now}
}

// update shows p; status is the run's status, added to the line once the
// run has ended.
func (b *progressBar) update(p runProgress, status string, done bool) {
	line := progressLine(p)
	if done && status != "" {
		line += "  " + status
	}
	if b.tty {
		pad := max(b.drawn-len(line), 0)
		fmt.Fprint(b.w, "\r"+line+strings.Repeat(" ", pad))
		b.drawn = len(line)
		if done {
			fmt.Fprintln(b.w)
		}
		return
	}
	now := b.now()
	if !done && !b.last.IsZero() && now.Sub(b.last) < b.interval {
		return
	}
	b.last = now
	fmt.Fprintln(b.w, line)
}

// isTerminal reports whether w is a character device (a terminal), with
// nothing beyond the os package.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
