package audit

import (
	"testing"
)

// BenchmarkRecord is the cost of one record through the queue and the
// writer: encoding, hashing, the chain and the buffered write.
func BenchmarkRecord(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Key: testKey(&testing.T{}), Node: "n"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := pull(1)
	r.Properties.UserAgent = "go-containerregistry/v0.20.3"
	r.Properties.LoginServer = "127.0.0.1:5000/reg1"
	r.Properties.Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r.CorrelationID = "0123456789abcdef0123456789abcdef"
	b.ReportAllocs()
	for b.Loop() {
		l.Record(r)
	}
	l.Sync(b.Context())
}
