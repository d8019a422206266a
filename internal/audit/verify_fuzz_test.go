package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"testing"
)

// memSource is a copy held in memory: one file.
type memSource []byte

func (m memSource) List(context.Context) ([]string, error) {
	return []string{"insights-logs-x/resourceId=/R/y=2026/m=12/d=03/h=10/m=00/PT1H.json"}, nil
}

func (m memSource) Open(context.Context, string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m)), nil
}

// FuzzVerify: whatever a copy holds, the verifier answers (a report or an
// error) without panicking, within its line budget.
func FuzzVerify(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	dir := f.TempDir()
	l, err := Open(Options{Dir: dir, Key: key, Node: "n", CheckpointRecords: 2})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 5 {
		l.Record(pull(i))
	}
	l.Close()
	files, _ := DirSource(dir).List(context.Background())
	for _, name := range files {
		rc, _ := DirSource(dir).Open(context.Background(), name)
		b, _ := io.ReadAll(rc)
		rc.Close()
		f.Add(b)
	}
	f.Add([]byte("{}\n{\"bulkheadChain\":{\"stream\":\"s\",\"seq\":1}}\n"))
	f.Add([]byte(`{"bulkheadChain":{"stream":"s","seq":3},"properties":{"checkpoint":{"seq":2,"signature":"!!"}}}`))
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Verify(context.Background(), memSource(b), pub)
		if err == nil && rep.Problem == nil && rep.Records == 0 && len(bytes.TrimSpace(b)) > 0 {
			t.Fatalf("non-empty copy with no records and no problem: %q", b)
		}
	})
}
