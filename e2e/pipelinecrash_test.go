package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// waitFor polls cond every 2 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// anyFile reports whether a file under root has a name that match accepts.
func anyFile(root string, match func(name string) bool) bool {
	found := false
	filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && match(d.Name()) {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// kill -9 during an export run and during an import run: after the
// restart each run is Failed with a message that says what to do, the
// export left no archive that looks complete, and the import left no tag.
func TestPipelineRunCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	data := t.TempDir()
	args := []string{"--pipeline-trigger-interval", "0"}
	srv := testserver.Start(t, testserver.Options{DataDir: data, Args: args})
	e := newTransferEnv(t, srv, "crash")
	reg := e.createRegistry("crashsource")
	p := newPusher(srv)
	big := make([]byte, 96<<20)
	for i := range big {
		big[i] = byte(i * 7 / 5)
	}
	for _, tag := range []string{"a", "b", "c"} {
		big[0] = tag[0]
		if _, err := p.pushImage("crashsource/big", tag, big); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	exp := e.pipeline(reg, "exportPipelines", "crashexport", dir, false)

	// A complete archive to import from later.
	done := e.waitRun(e.startRun(reg, "crashgood", exp, "good.tar", "big:a", "big:b", "big:c"), 2*time.Minute)
	if dig(done, "properties", "response", "status") != "Succeeded" {
		t.Fatalf("export: %v", done)
	}

	run := e.startRun(reg, "crashexport1", exp, "crash.tar", "big:a", "big:b", "big:c")
	waitFor(t, time.Minute, "the export's partial archive", func() bool {
		return anyFile(dir, func(n string) bool { return strings.HasSuffix(n, ".partial") })
	})
	srv.Kill()
	if _, err := os.Stat(filepath.Join(dir, "crash.tar")); err == nil {
		t.Fatal("a killed export left an archive that looks complete")
	}
	srv = testserver.Start(t, testserver.Options{DataDir: data, Args: args})
	e.srv, e.a = srv, newARM(t, srv)
	m := e.waitRun(run, 10*time.Second)
	if msg, _ := dig(m, "properties", "response", "pipelineRunErrorMessage").(string); dig(m, "properties", "response", "status") != "Failed" || !strings.Contains(msg, "interrupted") {
		t.Fatalf("export run after kill -9: %v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "crash.tar")); err == nil {
		t.Fatal("the restarted server committed the killed export")
	}

	regT := e.createRegistry("crashtarget")
	imp := e.pipeline(regT, "importPipelines", "crashimport", dir, false)
	run = e.startRun(regT, "crashimport1", imp, "good.tar")
	waitFor(t, time.Minute, "the import's first blob upload", func() bool {
		return anyFile(data, func(n string) bool { return strings.HasPrefix(n, "transfer-") })
	})
	srv.Kill()
	srv = testserver.Start(t, testserver.Options{DataDir: data, Args: args})
	e.srv, e.a = srv, newARM(t, srv)
	m = e.waitRun(run, 10*time.Second)
	if msg, _ := dig(m, "properties", "response", "pipelineRunErrorMessage").(string); dig(m, "properties", "response", "status") != "Failed" || !strings.Contains(msg, "interrupted") {
		t.Fatalf("import run after kill -9: %v", m)
	}
	p = newPusher(srv)
	for _, tag := range []string{"a", "b", "c"} {
		if d := headDigest(t, p, "crashtarget/big", tag); d != "" {
			t.Errorf("a killed import left the tag big:%s", tag)
		}
	}
	// The run can be made again, and then it completes.
	e.must("DELETE", run, "", 200)
	m = e.waitRun(e.startRun(regT, "crashimport1", imp, "good.tar"), 2*time.Minute)
	if dig(m, "properties", "response", "status") != "Succeeded" {
		t.Fatalf("import again: %v", m)
	}

	// A run deleted in flight stops and commits nothing; a run created
	// at once under its name is a run of its own, untouched by the first
	// one's ending.
	partials := func() map[string]bool {
		out := map[string]bool{}
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if strings.HasSuffix(en.Name(), ".partial") {
				out[en.Name()] = true
			}
		}
		return out
	}
	killed := partials() // what kill -9 left; the medium keeps it until it is an hour old
	first := e.startRun(reg, "recreate1", exp, "first.tar", "big:a", "big:b", "big:c")
	waitFor(t, time.Minute, "the first run's partial archive", func() bool { return len(partials()) > len(killed) })
	e.must("DELETE", first, "", 200)
	m = e.waitRun(e.startRun(reg, "recreate1", exp, "second.tar", "big:a"), 2*time.Minute)
	if dig(m, "properties", "response", "status") != "Succeeded" {
		t.Fatalf("the run created again: %v", m)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "first.tar")); err == nil {
		t.Fatal("a run deleted in flight committed its archive")
	}
	for name := range partials() {
		if !killed[name] {
			t.Fatalf("a run deleted in flight left its partial archive %s", name)
		}
	}
}
