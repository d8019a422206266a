package insights_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/insights"
)

// streamFile is the path of the registry's repository events of hour at.
func streamFile(dir string, at time.Time) string {
	container, blob := audit.BlobPath(audit.CategoryRepository, regID, at)
	return filepath.Join(dir, container, filepath.FromSlash(blob))
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

func ship(t testing.TB, s *insights.Shipper) {
	t.Helper()
	if err := s.Ship(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A setting copies what its stream gets after it was created, whole
// lines only, exactly once across restarts of the shipper.
func TestShipLocalExactlyOnce(t *testing.T) {
	w := newWorld(t)
	at := time.Now().UTC()
	appendRecords(t, w.auditDir, at, 0, 10) // before the setting: never copied
	acc := w.createAccount("localsink")
	w.createSetting("s1", acc)
	start := int64(len(readFile(t, streamFile(w.auditDir, at))))
	dest := streamFile(filepath.Join(w.storageDir, "localsink"), at)

	s := w.shipper(insights.ShipperOptions{})
	ship(t, s)
	if b := readFile(t, dest); len(b) != 0 {
		t.Fatalf("records from before the setting were copied: %d bytes", len(b))
	}
	appendRecords(t, w.auditDir, at, 10, 20)
	src := streamFile(w.auditDir, at)
	f, _ := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"`) // a line still being written
	f.Close()
	ship(t, s)
	whole := readFile(t, src)
	whole = whole[:bytes.LastIndexByte(whole, '\n')+1]
	if got := readFile(t, dest); !bytes.Equal(got, whole[start:]) {
		t.Fatalf("copy after one pass:\n%s\nwant:\n%s", got, whole[start:])
	}
	f, _ = os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`2026-01-01T00:00:00Z","operationName":"Pull"}` + "\n")
	f.Close()

	// A new shipper (a restart) goes on where the last one stopped.
	s = w.shipper(insights.ShipperOptions{})
	appendRecords(t, w.auditDir, at, 30, 5)
	ship(t, s)
	ship(t, s)
	if got, all := readFile(t, dest), readFile(t, src); !bytes.Equal(got, all[start:]) {
		t.Fatalf("copy after a restart:\n%s\nwant:\n%s", got, all[start:])
	}

	// A crash between an append and its cursor: the cursors are as they
	// were before the pass, the destination has the append.
	cursors := filepath.Join(w.auditDir, "cursors")
	saved := snapshot(t, cursors)
	appendRecords(t, w.auditDir, at, 35, 7)
	ship(t, s)
	restore(t, cursors, saved)
	s = w.shipper(insights.ShipperOptions{})
	appendRecords(t, w.auditDir, at, 42, 3)
	ship(t, s)
	if got, all := readFile(t, dest), readFile(t, src); !bytes.Equal(got, all[start:]) {
		t.Fatalf("copy after a lost cursor write: %d bytes, want %d", len(got), len(all)-int(start))
	}
	if st := s.Stats(); st.Buffer != insights.DefaultMaxChunk || st.Appends != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Deleting the setting stops the copy; a new one starts at the end.
	w.do(owner, "DELETE", settings+"/s1"+dv, "").expect(t, 200, "")
	before := len(readFile(t, dest))
	appendRecords(t, w.auditDir, at, 45, 3)
	ship(t, s)
	if len(readFile(t, dest)) != before {
		t.Fatal("a deleted setting still copies")
	}
	w.createSetting("s2", acc)
	mark := int64(len(readFile(t, src)))
	appendRecords(t, w.auditDir, at, 48, 2)
	ship(t, s)
	all := readFile(t, src)
	if got := readFile(t, dest); string(got[before:]) != string(all[mark:]) {
		t.Fatalf("the new setting copied %q, want %q", got[before:], all[mark:])
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		out[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return out
}

func restore(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// Records of each hour go to that hour's blob; old hours are finished.
func TestShipLocalHours(t *testing.T) {
	w := newWorld(t)
	acc := w.createAccount("hoursink")
	w.createSetting("s1", acc)
	now := time.Now().UTC()
	old, recent := now.Add(-5*time.Hour), now.Add(-time.Hour)
	appendRecords(t, w.auditDir, old, 0, 3)
	appendRecords(t, w.auditDir, recent, 3, 4)
	appendRecords(t, w.auditDir, now, 7, 5)
	s := w.shipper(insights.ShipperOptions{})
	ship(t, s)
	for _, h := range []time.Time{old, recent, now} {
		if got, want := readFile(t, streamFile(filepath.Join(w.storageDir, "hoursink"), h)), readFile(t, streamFile(w.auditDir, h)); !bytes.Equal(got, want) {
			t.Fatalf("hour %s: %d bytes copied of %d", h.Format(time.RFC3339), len(got), len(want))
		}
	}
	ship(t, s)
	cur := snapshot(t, filepath.Join(w.auditDir, "cursors"))
	if len(cur) != 1 {
		t.Fatalf("cursors: %v", cur)
	}
	for _, b := range cur {
		_, oldBlob := audit.BlobPath(audit.CategoryRepository, regID, old)
		if !strings.Contains(string(b), `"done":`) || strings.Count(string(b), `"src"`) != 2 || !strings.Contains(string(b), oldBlob[len(oldBlob)-30:]) {
			t.Fatalf("the old hour is not marked finished: %s", b)
		}
	}
}

// lockedBuffer collects log output.
type lockedBuffer struct{ bytes.Buffer }

// A destination that fails only falls behind: the shipper holds one
// buffer whatever the backlog, warns once per outage, and catches up.
func TestShipLocalBlockedDestination(t *testing.T) {
	w := newWorld(t)
	acc := w.createAccount("blockedsink")
	w.createSetting("s1", acc)
	var logs lockedBuffer
	clock := time.Now()
	s := w.shipper(insights.ShipperOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return clock }})
	// The account's directory is a file: every append fails.
	if err := os.MkdirAll(w.storageDir, 0o755); err != nil {
		t.Fatal(err)
	}
	block := filepath.Join(w.storageDir, "blockedsink")
	if err := os.WriteFile(block, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc
	for i := 0; i < 100_000; i += 10_000 {
		appendRecords(t, w.auditDir, at, i, 10_000)
		ship(t, s)
		clock = clock.Add(2 * time.Minute) // past any backoff
	}
	runtime.GC()
	runtime.ReadMemStats(&m)
	if st := s.Stats(); st.Failures != 10 || st.Appends != 0 || st.Buffer > insights.DefaultMaxChunk {
		t.Fatalf("stats while blocked: %+v", st)
	}
	if grew := int64(m.HeapAlloc) - int64(base); grew > 16<<20 {
		t.Fatalf("the heap grew by %d MiB while the destination was down", grew>>20)
	}
	if n := strings.Count(logs.String(), "the destination fails"); n != 1 {
		t.Fatalf("%d warnings for one outage:\n%s", n, logs.String())
	}
	src := streamFile(w.auditDir, at)
	if fi, _ := os.Stat(src); fi.Size() < 20<<20 {
		t.Fatalf("the backlog is only %d bytes", fi.Size())
	}
	os.Remove(block)
	ship(t, s)
	if got, want := readFile(t, streamFile(filepath.Join(w.storageDir, "blockedsink"), at)), readFile(t, src); !bytes.Equal(got, want) {
		t.Fatalf("after the outage: %d bytes of %d", len(got), len(want))
	}
	if st := s.Stats(); st.Appends < 5 || !strings.Contains(logs.String(), "destination recovered") {
		t.Fatalf("stats %+v, logs:\n%s", st, logs.String())
	}
}

// Within a backoff the failing destination is not tried again.
func TestShipBackoff(t *testing.T) {
	w := newWorld(t)
	w.createSetting("s1", w.createAccount("backoffsink"))
	os.MkdirAll(w.storageDir, 0o755)
	os.WriteFile(filepath.Join(w.storageDir, "backoffsink"), nil, 0o644)
	clock := time.Now()
	s := w.shipper(insights.ShipperOptions{Now: func() time.Time { return clock }, MaxBackoff: 4 * time.Second})
	appendRecords(t, w.auditDir, time.Now().UTC(), 0, 1)
	for range 5 {
		ship(t, s) // the first fails, the others fall within its backoff
	}
	if f := s.Stats().Failures; f != 1 {
		t.Fatalf("%d tries within the backoff", f)
	}
	for i := range 6 {
		clock = clock.Add(5 * time.Second)
		ship(t, s)
		if f := s.Stats().Failures; f != int64(i+2) {
			t.Fatalf("after backoff %d: %d failures", i, f)
		}
	}
}

// A setting moved to another account goes on there from where it was,
// whatever that account's blob already holds.
func TestShipMovedSetting(t *testing.T) {
	w := newWorld(t)
	w.createSetting("s1", w.createAccount("firstsink"))
	at := time.Now().UTC()
	appendRecords(t, w.auditDir, at, 0, 10)
	s := w.shipper(insights.ShipperOptions{})
	ship(t, s)
	src := streamFile(w.auditDir, at)
	first := streamFile(filepath.Join(w.storageDir, "firstsink"), at)
	if !bytes.Equal(readFile(t, first), readFile(t, src)) {
		t.Fatal("first account")
	}
	mark := len(readFile(t, src))
	second := streamFile(filepath.Join(w.storageDir, "secondsink"), at)
	os.MkdirAll(filepath.Dir(second), 0o755)
	junk := strings.Repeat(`{"someone":"else"}`+"\n", 1000) // longer than what was copied so far
	os.WriteFile(second, []byte(junk), 0o644)
	w.createSetting("s1", w.createAccount("secondsink"))
	appendRecords(t, w.auditDir, at, 10, 5)
	ship(t, s)
	all := readFile(t, src)
	if got := readFile(t, second); string(got) != junk+string(all[mark:]) {
		t.Fatalf("second account:\n%s", got)
	}
	if got := readFile(t, first); len(got) != mark {
		t.Fatalf("the first account still gets records: %d bytes", len(got))
	}
}

// Run ships at start and on Wake, and stops with its context.
func TestShipperRun(t *testing.T) {
	w := newWorld(t)
	w.createSetting("s1", w.createAccount("runsink"))
	s := w.shipper(insights.ShipperOptions{Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	at := time.Now().UTC()
	dest := streamFile(filepath.Join(w.storageDir, "runsink"), at)
	for i := 0; len(readFile(t, dest)) == 0; i++ {
		if i == 100 {
			t.Fatal("Wake did not start a pass")
		}
		appendRecords(t, w.auditDir, at, i, 1)
		s.Wake()
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
