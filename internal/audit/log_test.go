package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

const testRegistry = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1"

func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openLog(t *testing.T, dir string, key ed25519.PrivateKey, store meta.Store, mod func(*Options)) *Log {
	t.Helper()
	o := Options{Dir: dir, Key: key, Node: "node-a", Meta: store, CheckpointRecords: 5}
	if mod != nil {
		mod(&o)
	}
	l, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func pull(i int) Record {
	return Record{ResourceID: testRegistry, RegistryKey: "k1", Category: CategoryRepository, OperationName: OpPull,
		ResultType: ResultSucceeded, ResultDescription: "200", Identity: "sp-1", CallerIPAddress: "127.0.10.5",
		Properties: Properties{Repository: "app", Tag: fmt.Sprint(i), Digest: "sha256:abc", Size: 100},
		Egress:     &Egress{Channel: EgressPullPrivate, Bytes: 100, Artifacts: 1}}
}

func verifyDir(t *testing.T, dir string, pub ed25519.PublicKey) Report {
	t.Helper()
	rep, err := Verify(t.Context(), DirSource(dir), pub)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The happy path: records are chained, sealed every 5 records and at
// shutdown, counted in the egress totals, and verify intact.
func TestLogChainsSealsAndCounts(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key := testKey(t)
	l := openLog(t, dir, key, store, nil)
	for i := range 12 {
		l.Record(pull(i))
	}
	l.Record(Record{ResourceID: testRegistry, Category: CategoryLogin, OperationName: OpLogin, ResultType: ResultFailed, ResultDescription: "401", Identity: "x"})
	if err := l.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Close()

	rep := verifyDir(t, dir, key.Public().(ed25519.PublicKey))
	if rep.Problem != nil {
		t.Fatalf("intact log: %v", rep.Problem)
	}
	// 12 pulls + 2 record checkpoints + 1 shutdown checkpoint; 1 login + 1 shutdown checkpoint.
	if rep.Streams != 2 || rep.Records != 17 || rep.Checkpoints != 4 || rep.Unsealed != 0 {
		t.Errorf("report = %+v", rep)
	}
	var totals []meta.EgressCount
	store.View(t.Context(), func(tx meta.Tx) error { totals, err = tx.EgressTotals("k1", ""); return err })
	if len(totals) != 1 || totals[0].Bytes != 1200 || totals[0].Artifacts != 12 || totals[0].Attempts != 12 || totals[0].Identity != "sp-1" {
		t.Errorf("egress totals = %+v", totals)
	}
	recs, err := Query(dir, Filter{ResourceID: testRegistry, Operation: "pull", Repository: "app"})
	if err != nil || len(recs) != 12 || recs[3].Properties.Tag != "3" {
		t.Fatalf("query: %d records, %v", len(recs), err)
	}
	if recs, _ := Query(dir, Filter{Result: "401"}); len(recs) != 1 || recs[0].Category != CategoryLogin {
		t.Errorf("query by result: %+v", recs)
	}
	pem, err := os.ReadFile(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := ParsePublicKey(pem); err != nil || !pub.Equal(key.Public()) {
		t.Errorf("exported public key: %v", err)
	}
}

// lines returns the lines of the one hourly file of the repository stream.
func streamFile(t *testing.T, dir string) string {
	t.Helper()
	files, err := StreamFiles(dir, CategoryRepository, testRegistry)
	if err != nil || len(files) != 1 {
		t.Fatalf("stream files: %v %v", files, err)
	}
	return filepath.Join(dir, files[0])
}

func editLines(t *testing.T, path string, edit func(lines [][]byte) [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	lines = edit(lines)
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Tampering is named: one altered byte, one removed record, two swapped
// records, a forged checkpoint.
func TestVerifyNamesTampering(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	fresh := func(t *testing.T) string {
		dir := t.TempDir()
		l := openLog(t, dir, key, nil, func(o *Options) { o.CheckpointRecords = 100 })
		for i := range 8 {
			l.Record(pull(i))
		}
		l.Close()
		return dir
	}
	cases := []struct {
		name      string
		edit      func(lines [][]byte) [][]byte
		kind      string
		seq       uint64
		wantInMsg string
	}{
		{"one byte altered", func(ls [][]byte) [][]byte {
			ls[3] = bytes.Replace(ls[3], []byte(`"tag":"3"`), []byte(`"tag":"9"`), 1)
			return ls
		}, ProblemAltered, 4, "record 4 was altered"},
		{"one byte altered in the last line", func(ls [][]byte) [][]byte {
			n := len(ls) - 1
			ls[n] = bytes.Replace(ls[n], []byte(`"reason":"shutdown"`), []byte(`"reason":"shutdowm"`), 1)
			return ls
		}, ProblemSignature, 9, "signature"},
		{"a record removed", func(ls [][]byte) [][]byte { return append(ls[:4:4], ls[5:]...) }, ProblemRemoved, 4, "records 5 to 5"},
		{"two records swapped", func(ls [][]byte) [][]byte { ls[2], ls[5] = ls[5], ls[2]; return ls }, ProblemMoved, 6, "record 3 should come here"},
		{"a line that is not JSON", func(ls [][]byte) [][]byte { ls[1] = ls[1][:20]; return ls }, ProblemAltered, 2, "not an audit record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fresh(t)
			editLines(t, streamFile(t, dir), c.edit)
			rep := verifyDir(t, dir, pub)
			p := rep.Problem
			if p == nil {
				t.Fatalf("tampering went unseen: %+v", rep)
			}
			if p.Kind != c.kind || p.Seq != c.seq || !strings.Contains(p.Message, c.wantInMsg) || p.Line == 0 {
				t.Errorf("problem = %+v, want kind %s at record %d mentioning %q", p, c.kind, c.seq, c.wantInMsg)
			}
		})
	}
	t.Run("another key", func(t *testing.T) {
		dir := fresh(t)
		if p := verifyDir(t, dir, testKey(t).Public().(ed25519.PublicKey)).Problem; p == nil || p.Kind != ProblemSignature {
			t.Errorf("a checkpoint verified with another key: %+v", p)
		}
	})
}

// A crash is not tampering: the next start cuts the torn line, goes on
// with the chain and says, signed, what may be missing.
func TestRestartAfterCrashIsMarked(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	l := openLog(t, dir, key, nil, func(o *Options) { o.CheckpointRecords = 100 })
	for i := range 3 {
		l.Record(pull(i))
	}
	l.Sync(t.Context())
	// Simulate a crash: the writer stops without sealing, and a write was
	// cut half-way.
	l.closed.Store(true)
	f, err := os.OpenFile(streamFile(t, dir), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-12-03T10:00:00Z","resourceId":"/SUB`)
	f.Close()

	l2 := openLog(t, dir, key, nil, nil)
	l2.Record(pull(4))
	l2.Close()
	l.closeFiles()
	rep := verifyDir(t, dir, key.Public().(ed25519.PublicKey))
	if rep.Problem != nil {
		t.Fatalf("a crash reads as tampering: %v", rep.Problem)
	}
	if rep.Restarts != 1 || !strings.Contains(strings.Join(rep.Notes, "\n"), "may be missing") || !strings.Contains(strings.Join(rep.Notes, "\n"), "unfinished line of 49 bytes") {
		t.Errorf("restart not marked: %+v", rep)
	}
	recs, _ := Query(dir, Filter{Markers: true, Operation: OpRestart})
	if len(recs) != 1 || recs[0].Properties.Restart.AfterSeq != 3 {
		t.Errorf("restart marker: %+v", recs)
	}
}

// A writer that cannot keep up never blocks a request for long and never
// drops silently: what it could not queue becomes a gap marker.
func TestFullQueueLeavesAGapMarker(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	l := openLog(t, dir, key, nil, func(o *Options) { o.Queue = 1; o.Wait = time.Millisecond })
	for i := range 2000 {
		l.Record(pull(i))
	}
	l.Close()
	rep := verifyDir(t, dir, key.Public().(ed25519.PublicKey))
	if rep.Problem != nil {
		t.Fatal(rep.Problem)
	}
	recs, _ := Query(dir, Filter{Markers: true})
	var written, lost int64
	for _, r := range recs {
		switch {
		case r.OperationName == OpPull:
			written++
		case r.Properties.Gap != nil:
			lost += r.Properties.Gap.Count
		}
	}
	if written+lost != 2000 || lost == 0 && rep.Gaps != 0 {
		t.Errorf("written %d + lost %d != 2000 (gaps %d)", written, lost, rep.Gaps)
	}
	t.Logf("written %d, in gap markers %d", written, lost)
}

// Retention removes old hours and keeps the current one.
func TestRetention(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	l := openLog(t, dir, key, nil, func(o *Options) { o.Retention = 24 * time.Hour; o.Now = func() time.Time { return now } })
	old := pull(1)
	old.Time = now.Add(-72 * time.Hour)
	l.Record(old)
	l.Record(pull(2))
	l.Sync(context.Background())
	// The writer applies retention on its first tick, then hourly.
	var files []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if files, _ = StreamFiles(dir, CategoryRepository, testRegistry); len(files) == 1 {
			break
		}
	}
	l.Close()
	if len(files) != 1 || !strings.Contains(files[0], "d=03/h=12") {
		t.Errorf("after retention: %v", files)
	}
}

// A resource id that could name a path outside the log's directory gets
// a stream of its own inside it.
func TestHostileResourceIDsStayInside(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	l := openLog(t, dir, key, nil, nil)
	for _, id := range []string{"/tenants/../../../../tmp/x", "/tenants/a\x00b", "relative/x", "/a//b", "/tenants/..", "/tenants/a\\..\\b"} {
		l.Record(Record{ResourceID: id, Category: CategorySignIn, OperationName: OpLogin, ResultType: ResultFailed})
	}
	l.Close()
	recs, err := Query(dir, Filter{})
	if err != nil || len(recs) != 6 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if !strings.HasPrefix(r.ResourceID, "/providers/Bulkhead/invalidIds/") {
			t.Errorf("resource id %q kept", r.ResourceID)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "tmp")); err == nil {
		t.Error("a record escaped the log's directory")
	}
}

// Many streams never hold more than maxOpenStreams files open, and every
// record still lands in its chain.
func TestOpenStreamsAreBounded(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	l := openLog(t, dir, key, nil, func(o *Options) { o.CheckpointRecords = 1000 })
	n := maxOpenStreams + 50
	for round := range 2 {
		for i := range n {
			r := pull(round)
			r.ResourceID = fmt.Sprintf("%s%d", testRegistry, i)
			l.Record(r)
		}
	}
	l.Sync(t.Context())
	fds, _ := os.ReadDir("/proc/self/fd")
	l.Close()
	if len(fds) > maxOpenStreams+64 {
		t.Errorf("%d open files with %d streams", len(fds), n)
	}
	rep := verifyDir(t, dir, key.Public().(ed25519.PublicKey))
	if rep.Problem != nil || rep.Streams != n || rep.Records != 3*n {
		t.Errorf("report: %+v", rep)
	}
}
