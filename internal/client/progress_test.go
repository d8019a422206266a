package client

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestHumanBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1024*1024 - 1, "1.0 MiB"}, // not "1024.0 KiB"
		{512 << 20, "512.0 MiB"},
		{1 << 30, "1.0 GiB"},
		{5<<40 + 1<<39, "5.5 TiB"},
		{1 << 62, "4.0 EiB"},
	} {
		if got := humanBytes(c.n); got != c.want {
			t.Errorf("humanBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	bar := func(s string) string { return "[" + s + strings.Repeat(" ", 30-len(s)) + "]" }
	for _, c := range []struct {
		name string
		p    runProgress
		want string
	}{
		{"nothing known yet", runProgress{Percentage: -1}, bar("") + "   0%  0 B  0 artifacts"},
		{"totals unknown", runProgress{Percentage: -1, Bytes: 3 << 20, Artifacts: 2}, bar("") + "   0%  3.0 MiB  2 artifacts"},
		{"the example", runProgress{Percentage: 48, Bytes: 512 << 20, TotalBytes: 1 << 30, Artifacts: 12, TotalArtifacts: 64},
			bar("=============>") + "  48%  512.0 MiB / 1.0 GiB  12/64 artifacts"},
		{"from bytes when no percentage", runProgress{Percentage: -1, Bytes: 1 << 29, TotalBytes: 1 << 30, Artifacts: 1, TotalArtifacts: 2},
			bar("==============>") + "  50%  512.0 MiB / 1.0 GiB  1/2 artifacts"},
		{"the server's percentage wins", runProgress{Percentage: 10, Bytes: 1 << 29, TotalBytes: 1 << 30}, bar("==>") + "  10%  512.0 MiB / 1.0 GiB  0 artifacts"},
		{"one cell", runProgress{Percentage: 4}, bar(">") + "   4%  0 B  0 artifacts"},
		{"done", runProgress{Percentage: 100, Bytes: 1 << 30, TotalBytes: 1 << 30, Artifacts: 64, TotalArtifacts: 64},
			"[" + strings.Repeat("=", 30) + "] 100%  1.0 GiB / 1.0 GiB  64/64 artifacts"},
		{"bytes past the total", runProgress{Percentage: -1, Bytes: 2 << 30, TotalBytes: 1 << 30}, "[" + strings.Repeat("=", 30) + "] 100%  2.0 GiB / 1.0 GiB  0 artifacts"},
	} {
		if got := progressLine(c.p); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestProgressDecode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{`{"percentage":"42"}`, 42},
		{`{"percentage":"42%"}`, 42},
		{`{"percentage":42.7}`, 42},
		{`{"percentage":"250"}`, 100},
		{`{"percentage":"-3"}`, 0},
		{`{"percentage":"soon"}`, 0},
		{`{"percentage":null,"bytes":1,"totalBytes":4}`, 25},
		{`{"bytes":3,"totalBytes":4}`, 75},
		{`{}`, 0},
	} {
		var p runProgress
		if err := json.Unmarshal([]byte(c.in), &p); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := p.percent(); got != c.want {
			t.Errorf("%s: %d%%, want %d%%", c.in, got, c.want)
		}
	}
}

func TestProgressBarTerminal(t *testing.T) {
	var w bytes.Buffer
	b := &progressBar{w: &w, tty: true, interval: time.Hour, now: time.Now}
	b.update(runProgress{Percentage: 50, Bytes: 1 << 29, TotalBytes: 1 << 30, Artifacts: 10, TotalArtifacts: 20}, "Running", false)
	b.update(runProgress{Percentage: 60, Bytes: 1, Artifacts: 1}, "Running", false)
	b.update(runProgress{Percentage: 100, Bytes: 1 << 30, TotalBytes: 1 << 30, Artifacts: 20, TotalArtifacts: 20}, "Succeeded", true)
	frames := strings.Split(w.String(), "\r")
	if len(frames) != 4 || frames[0] != "" || !strings.HasSuffix(frames[3], "Succeeded\n") || strings.Count(w.String(), "\n") != 1 {
		t.Fatalf("frames: %q", frames)
	}
	// A shorter line blanks what is left of the longer one before it.
	if len(frames[2]) != len(frames[1]) || !strings.Contains(frames[2], "  1 B  1 artifacts ") {
		t.Fatalf("redraw: %q after %q", frames[2], frames[1])
	}
}

func TestProgressBarPlainLines(t *testing.T) {
	var w bytes.Buffer
	now := time.Unix(0, 0)
	b := &progressBar{w: &w, interval: 5 * time.Second, now: func() time.Time { return now }}
	for i := 0; i <= 12; i++ { // a poll a second for 12 s
		b.update(runProgress{Percentage: percentage(i * 5)}, "Running", false)
		now = now.Add(time.Second)
	}
	b.update(runProgress{Percentage: 100}, "Failed", true)
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "  0%") || !strings.Contains(lines[1], " 25%") || !strings.Contains(lines[2], " 50%") ||
		!strings.HasSuffix(lines[3], "100%  0 B  0 artifacts  Failed") || strings.Contains(w.String(), "\r") {
		t.Fatalf("plain lines:\n%s", w.String())
	}
}
