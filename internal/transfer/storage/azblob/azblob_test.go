package azblob

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/testserver"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/storagetest"
)

// counting is a transport that counts the response bytes read, and the
// requests by method.
type counting struct {
	read atomic.Int64
	puts atomic.Int64
	gets atomic.Int64
}

func (c *counting) Do(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPut:
		c.puts.Add(1)
	case http.MethodGet:
		c.gets.Add(1)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

var fastRetry = policy.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}

func TestSuite(t *testing.T) {
	az := testserver.StartAzurite(t)
	storagetest.Run(t, func(t *testing.T) storage.Container {
		uri, token := az.NewContainer(t)
		// Small blocks, so that the suite's objects take many of them.
		c, err := New(uri, "?"+token, Options{BlockSize: 1 << 20, Concurrency: 3, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// TestDefaultBlocks runs the suite with the default block size and
// concurrency, as pipelines use them.
func TestDefaultBlocks(t *testing.T) {
	az := testserver.StartAzurite(t)
	storagetest.Run(t, func(t *testing.T) storage.Container {
		uri, token := az.NewContainer(t)
		c, err := New(uri, token, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// TestSeekSkipsBytes checks that tar's Seek over entries is not paid in
// downloaded bytes.
func TestSeekSkipsBytes(t *testing.T) {
	ctx := context.Background()
	az := testserver.StartAzurite(t)
	uri, token := az.NewContainer(t)
	tr := &counting{}
	c, err := New(uri, token, Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range 4 {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprint(i), Size: 4 << 20, Mode: 0o644})
		tw.Write(bytes.Repeat([]byte{byte(i)}, 4<<20))
	}
	tw.WriteHeader(&tar.Header{Name: "index.json", Size: 2, Mode: 0o644})
	tw.Write([]byte("{}"))
	tw.Close()
	w, _ := c.Create(ctx, "a.tar")
	w.Write(buf.Bytes())
	if _, err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	o, err := c.Open(ctx, "a.tar")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	tr.read.Store(0)
	r := tar.NewReader(o)
	for {
		h, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "index.json" {
			break
		}
	}
	if b, _ := io.ReadAll(r); string(b) != "{}" {
		t.Fatalf("index.json = %q", b)
	}
	if n := tr.read.Load(); n > 1<<20 {
		t.Errorf("downloaded %d bytes to read the last entry of a 16 MiB archive", n)
	}
}

// TestBlocksInFlight checks that a writer stages blocks while the caller
// writes (not all at Commit), and that a small object is one request.
func TestBlocksInFlight(t *testing.T) {
	ctx := context.Background()
	az := testserver.StartAzurite(t)
	uri, token := az.NewContainer(t)
	tr := &counting{}
	c, err := New(uri, token, Options{BlockSize: 1 << 20, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := c.Create(ctx, "small")
	w.Write([]byte("tiny"))
	if _, err := w.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := tr.puts.Load(); n != 1 {
		t.Errorf("a small object took %d PUTs, want 1", n)
	}
	tr.puts.Store(0)
	w, _ = c.Create(ctx, "big")
	chunk := bytes.Repeat([]byte("z"), 1<<20)
	for range 6 {
		w.Write(chunk)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tr.puts.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := tr.puts.Load(); n < 4 {
		t.Errorf("%d blocks staged before Commit, want at least 4 of 6", n)
	}
	if _, err := c.Stat(ctx, "big"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Stat of a staged, uncommitted blob: %v", err)
	}
	info, err := w.Commit(ctx, nil)
	if err != nil || info.Size != 6<<20 {
		t.Fatalf("Commit: %+v %v", info, err)
	}
}

// TestDenied checks that a refused SAS token is errdef.ErrDenied, says so,
// and that no error text carries the token or its signature.
func TestDenied(t *testing.T) {
	ctx := context.Background()
	az := testserver.StartAzurite(t)
	uri, good := az.NewContainer(t)
	name := uri[strings.LastIndex(uri, "/")+1:]
	readOnly := az.ContainerSAS(t, name, sas.ContainerPermissions{Read: true}, time.Now().Add(time.Hour))
	expired := az.ContainerSAS(t, name, sas.ContainerPermissions{Read: true, Write: true, List: true}, time.Now().Add(-time.Minute))
	forged := strings.Replace(good, "sig=", "sig=AAAA", 1)
	for what, token := range map[string]string{"read-only": readOnly, "expired": expired, "forged": forged} {
		c, err := New(uri, token, Options{Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		_, err = c.List(ctx)
		errs = append(errs, err)
		w, _ := c.Create(ctx, "x")
		w.Write([]byte("data"))
		_, err = w.Commit(ctx, nil)
		errs = append(errs, err)
		errs = append(errs, c.Delete(ctx, "x"))
		for i, err := range errs {
			if !errors.Is(err, errdef.ErrDenied) || !strings.Contains(err.Error(), "SAS token was refused") {
				t.Errorf("%s token, op %d: %v, want denied with a SAS message", what, i, err)
			}
			checkNoSecret(t, err, token)
			t.Logf("%s token, op %d: %v", what, i, err)
		}
	}
}

// TestStageRefused checks that a refused block stage fails the writer
// (in Write or at the latest in Commit) rather than hanging it.
func TestStageRefused(t *testing.T) {
	ctx := context.Background()
	az := testserver.StartAzurite(t)
	uri, _ := az.NewContainer(t)
	name := uri[strings.LastIndex(uri, "/")+1:]
	token := az.ContainerSAS(t, name, sas.ContainerPermissions{Read: true, List: true}, time.Now().Add(time.Hour))
	c, err := New(uri, token, Options{BlockSize: 1 << 20, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := c.Create(ctx, "refused")
	var werr error
	for i := 0; i < 8 && werr == nil; i++ {
		_, werr = w.Write(bytes.Repeat([]byte{1}, 1<<20))
	}
	_, cerr := w.Commit(ctx, nil)
	if !errors.Is(cerr, errdef.ErrDenied) || (werr != nil && !errors.Is(werr, errdef.ErrDenied)) {
		t.Errorf("Write: %v; Commit: %v; want denied", werr, cerr)
	}
	checkNoSecret(t, cerr, token)
}

// TestUnreachable checks the error of a storage endpoint that does not
// answer: unavailable, and no secret in the text.
func TestUnreachable(t *testing.T) {
	token := "sv=2023-01-03&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=c2VjcmV0c2lnbmF0dXJl"
	c, err := New("http://"+testserver.FreeAddr(t)+"/devstoreaccount1/gone", token, Options{Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Stat(context.Background(), "x")
	if !errors.Is(err, errdef.ErrUnavailable) {
		t.Errorf("Stat on a closed port: %v, want unavailable", err)
	}
	checkNoSecret(t, err, token)
	t.Log(err)
	_, err = c.List(context.Background())
	checkNoSecret(t, err, token)
}

func checkNoSecret(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%v %+v %#v", err, err, err)
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg += e.Error()
	}
	if strings.Contains(msg, "sig=") || strings.Contains(msg, token) || strings.Contains(msg, "?s") {
		t.Errorf("error text carries the SAS token: %s", msg)
	}
}

func TestNew(t *testing.T) {
	const token = "sv=1&sig=abc"
	ok := []string{
		"https://acct.blob.core.windows.net/container",
		"https://acct.blob.core.windows.net/container/",
		"http://127.0.0.1:10000/devstoreaccount1/c1-x",
		"http://localhost:10000/devstoreaccount1/abc",
		"http://[::1]:10000/devstoreaccount1/abc",
		"https://10.0.0.5/acct/$root",
	}
	for _, u := range ok {
		if _, err := New(u, token, Options{}); err != nil {
			t.Errorf("New(%q) = %v", u, err)
		}
	}
	bad := []string{
		"http://acct.blob.core.windows.net/container",
		"http://10.0.0.5:10000/devstoreaccount1/abc",
		"ftp://acct/container",
		"https://acct.blob.core.windows.net",
		"https://acct.blob.core.windows.net/",
		"https://acct.blob.core.windows.net/Upper",
		"https://acct.blob.core.windows.net/a--b",
		"https://acct.blob.core.windows.net/container/blob/more",
		"https://acct.blob.core.windows.net/container?sv=1&sig=secret",
		"https://user:pw@acct.blob.core.windows.net/container",
		"https://acct.blob.core.windows.net/container#frag",
		"https:///container",
		"::not a url?sig=secret",
	}
	for _, u := range bad {
		_, err := New(u, token, Options{})
		if !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("New(%q) = %v, want invalid argument", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%q) echoes the query: %v", u, err)
		}
	}
	for _, s := range []string{"", "?", "sv=1", "%zz&sig=secret"} {
		_, err := New(ok[0], s, Options{})
		if !errors.Is(err, errdef.ErrInvalidArgument) || strings.Contains(err.Error(), "secret") {
			t.Errorf("New with SAS %q = %v, want invalid argument without the token", s, err)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"a", "run/1.tar.gz", ".hidden", "a..b", "x y", "ünïcode", "a/b/c", strings.Repeat("a", MaxName)} {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a.", "a./b", `a\b`, "a\x00b", "a\u0085b", "\xff", strings.Repeat("a", MaxName+1), strings.Repeat("a/", 254) + "a"} {
		if err := CheckName(n); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("CheckName(%q) = %v, want invalid", n, err)
		}
	}
}

// FuzzNameAzblob checks that a name CheckName accepts is a relative path
// of plain segments that the SDK's escaping keeps one blob, below the
// container.
func FuzzNameAzblob(f *testing.F) {
	for _, s := range []string{"a", "a/b", "..", "a/../b", "/x", "a\\b", "a.", "%2e%2e", "a?b#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := CheckName(name)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidArgument) {
				t.Fatalf("CheckName(%q) = %v, not an invalid argument", name, err)
			}
			return
		}
		if len(name) > MaxName || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("accepted %q", name)
		}
		for seg := range strings.SplitSeq(name, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.HasSuffix(seg, ".") {
				t.Fatalf("accepted %q with segment %q", name, seg)
			}
		}
	})
}

// TestNames checks that names with slashes and characters URLs escape
// round-trip as given.
func TestNames(t *testing.T) {
	ctx := context.Background()
	az := testserver.StartAzurite(t)
	uri, token := az.NewContainer(t)
	c, err := New(uri, token, Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a/b/c.tar", "100% sure", "q?x=1#frag", "ünï cödé", "plus+and&amp", ".hidden", "semi;colon", "%2e%2e"}
	for _, n := range names {
		w, err := c.Create(ctx, n)
		if err != nil {
			t.Fatalf("Create %q: %v", n, err)
		}
		w.Write([]byte(n))
		if _, err := w.Commit(ctx, nil); err != nil {
			t.Fatalf("Commit %q: %v", n, err)
		}
	}
	l, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, i := range l {
		got[i.Name] = true
	}
	for _, n := range names {
		if !got[n] {
			t.Errorf("List lacks %q: %v", n, got)
		}
		o, err := c.Open(ctx, n)
		if err != nil {
			t.Errorf("Open %q: %v", n, err)
			continue
		}
		b, _ := io.ReadAll(o)
		o.Close()
		if string(b) != n {
			t.Errorf("%q holds %q", n, b)
		}
	}
	if len(l) != len(names) {
		t.Errorf("List has %d blobs, want %d", len(l), len(names))
	}
}

// BenchmarkUpload compares a writer with the SDK's own streaming upload
// of the same bytes, at the same block size and concurrency, on Azurite.
// Report the ratio of the two MB/s figures.
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	az := testserver.StartAzurite(b)
	uri, token := az.NewContainer(b)
	c, err := New(uri, token, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	b.Run("bulkhead", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			w, err := c.Create(ctx, fmt.Sprintf("ours-%d", i))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if _, err := w.Commit(ctx, map[string]string{"category": "acr-transfer-blob"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			bb := c.client.NewBlockBlobClient(fmt.Sprintf("sdk-%d", i))
			if _, err := bb.UploadStream(ctx, bytes.NewReader(data), &blockblob.UploadStreamOptions{BlockSize: DefaultBlockSize, Concurrency: DefaultConcurrency}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
