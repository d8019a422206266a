package remote_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/remote"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// source is an in-memory registry that records every request it gets.
type source struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newSource(t *testing.T) *source {
	s := &source{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Clone(r.Context()))
		s.mu.Unlock()
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *source) host() string { return strings.TrimPrefix(s.srv.URL, "http://") }

func (s *source) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.seen...)
}

func (s *source) blobGETs() int {
	n := 0
	for _, r := range s.requests() {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			n++
		}
	}
	return n
}

type world struct {
	store meta.Store
	blobs *fs.Store
	im    *remote.Importer
	tgt   meta.Registry
}

func newWorld(t *testing.T, o remote.Options) *world {
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{store: store, blobs: blobs, im: remote.New(store, blobs, o),
		tgt: meta.Registry{Key: "k-tgt", Name: "tgt", Facts: meta.RegistryFacts{Version: 1, SKU: "Basic"}}}
	if err := store.Update(t.Context(), func(tx meta.Tx) error { return tx.CreateRegistry(w.tgt) }); err != nil {
		t.Fatal(err)
	}
	return w
}

// run imports image from src into the target: Fetch, then Commit in one
// transaction.
func (w *world) run(t *testing.T, src remote.Source, image string, mutate ...func(*remote.Request)) (*remote.Fetched, error) {
	t.Helper()
	img, err := transfer.ParseImage(image, true)
	if err != nil {
		t.Fatal(err)
	}
	req := remote.Request{Source: src, Image: img, Target: w.tgt}
	for _, m := range mutate {
		m(&req)
	}
	f, err := w.im.Fetch(t.Context(), req)
	if err != nil {
		return nil, err
	}
	return f, w.store.Update(t.Context(), func(tx meta.Tx) error {
		_, err := f.Commit(tx, time.Now())
		return err
	})
}

func (w *world) tag(t *testing.T, repo, tag string) digest.Digest {
	t.Helper()
	var d digest.Digest
	w.store.View(t.Context(), func(tx meta.Tx) error {
		d, _ = tx.Tag(w.tgt.Key, repo, tag)
		return nil
	})
	return d
}

func push(t *testing.T, ref string, img v1.Image) digest.Digest {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggremote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return digest.Digest(d.String())
}

func src(t *testing.T, uri string) remote.Source {
	s, err := remote.ParseSource(uri)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func kindOf(err error) remote.Kind {
	var e *remote.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// An image by tag and by digest, and an index with all its children,
// arrive verified; every request carries the marker; a blob the target
// already links is not fetched again; NoForce and Force behave as the
// local import does.
func TestImportFromRemote(t *testing.T) {
	s := newSource(t)
	w := newWorld(t, remote.Options{})
	img, _ := random.Image(2048, 2)
	d := push(t, s.host()+"/team/app:v1", img)
	pushed := len(s.requests())
	f, err := w.run(t, src(t, s.host()), "team/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.tag(t, "team/app", "v1"); got != d || f.Downloaded != 3 {
		t.Fatalf("tag %s (want %s), downloaded %d", got, d, f.Downloaded)
	}
	for _, r := range s.requests()[pushed:] {
		if r.Header.Get(egress.MarkerHeader) != string(egress.ChannelImportSource) {
			t.Errorf("%s %s without the marker", r.Method, r.URL)
		}
	}
	layers, _ := img.Layers()
	l0, _ := layers[0].Digest()
	if _, err := w.blobs.Stat(t.Context(), digest.Digest(l0.String())); err != nil {
		t.Errorf("layer not in the store: %v", err)
	}

	// Again by digest into another repository of the same registry: the
	// blobs are fetched again (that repository links none of them)...
	before := s.blobGETs()
	if _, err := w.run(t, src(t, s.host()), "team/app@"+d.String(), func(r *remote.Request) { r.Untagged = []string{"other"} }); err != nil {
		t.Fatal(err)
	}
	if s.blobGETs()-before != 3 {
		t.Errorf("blob GETs into a new repository: %d", s.blobGETs()-before)
	}
	// ... and into the first one, where they are linked: not at all.
	before = s.blobGETs()
	if _, err := w.run(t, src(t, s.host()), "team/app@"+d.String(), func(r *remote.Request) { r.Untagged = []string{"team/app"} }); err != nil {
		t.Fatal(err)
	}
	if n := s.blobGETs() - before; n != 0 {
		t.Errorf("%d blob GETs for blobs the target repository links", n)
	}

	// NoForce refuses an existing tag before fetching; Force moves it.
	img2, _ := random.Image(512, 1)
	d2 := push(t, s.host()+"/team/app:v2", img2)
	before = s.blobGETs()
	_, err = w.run(t, src(t, s.host()), "team/app:v2", func(r *remote.Request) { r.TargetTags = []transfer.Image{{Repository: "team/app", Tag: "v1"}} })
	if !errors.Is(err, errdef.ErrConflict) || s.blobGETs() != before {
		t.Errorf("NoForce over an existing tag: %v (%d blob GETs)", err, s.blobGETs()-before)
	}
	if _, err := w.run(t, src(t, s.host()), "team/app:v2", func(r *remote.Request) {
		r.TargetTags, r.Force = []transfer.Image{{Repository: "team/app", Tag: "v1"}}, true
	}); err != nil || w.tag(t, "team/app", "v1") != d2 {
		t.Errorf("Force: %v, tag %s", err, w.tag(t, "team/app", "v1"))
	}

	// An index with all its children, through a path prefix.
	idx, _ := random.Index(256, 1, 3)
	r, _ := name.ParseReference(s.host() + "/pre/fix/multi:all")
	if err := ggremote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	f, err = w.run(t, src(t, "http://"+s.host()+"/pre/fix"), "multi:all")
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var count int
	w.store.View(t.Context(), func(tx meta.Tx) error {
		for _, c := range im.Manifests {
			if _, err := tx.GetManifest(w.tgt.Key, "multi", digest.Digest(c.Digest.String())); err == nil {
				count++
			}
		}
		return nil
	})
	if count != 3 || f.Downloaded != 6 {
		t.Errorf("index children stored: %d, downloaded %d", count, f.Downloaded)
	}
	// The manifest budget: one index of three children is four.
	small := newWorld(t, remote.Options{MaxManifests: 3})
	if _, err := small.run(t, src(t, "http://"+s.host()+"/pre/fix"), "multi:all"); !errors.Is(err, errdef.ErrInvalidArgument) || !strings.Contains(err.Error(), "more than 3 manifests") {
		t.Errorf("manifest budget: %v", err)
	}
	if small.tag(t, "multi", "all") != "" {
		t.Error("a refused import left a tag")
	}
}

// The source's failures are typed, credentials never appear in them, and
// a failed import leaves nothing visible.
func TestImportFailures(t *testing.T) {
	s := newSource(t)
	w := newWorld(t, remote.Options{MaxRedirects: 3, MaxManifestSize: 1 << 10})
	img, _ := random.Image(64, 1)
	push(t, s.host()+"/app:v1", img)
	// A source that redirects every request to the next hop, forever.
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, loop.URL+r.URL.Path+"x", http.StatusTemporaryRedirect)
	}))
	defer loop.Close()
	// A source whose manifest is larger than the budget.
	big, _ := random.Image(64, 40)
	push(t, s.host()+"/big:v1", big)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedHost := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	withCreds := func(r *remote.Request) { r.Username, r.Password = "user", "s3cr3t-pass" }
	for _, c := range []struct {
		name, uri, image string
		kind             remote.Kind
	}{
		{"no such tag", s.host(), "app:nope", remote.NotFound},
		{"no such repository", s.host(), "nothing/here:v1", remote.NotFound},
		{"no such digest", s.host(), "app@sha256:" + strings.Repeat("0", 64), remote.NotFound},
		{"nothing listens", closedHost, "app:v1", remote.Unreachable},
		{"no such host", "nosuchhost.invalid", "app:v1", remote.Unreachable},
		{"TLS asked of a plain server", "https://" + s.host(), "app:v1", remote.Unreachable},
		{"redirect loop", strings.TrimPrefix(loop.URL, "http://"), "app:v1", remote.Invalid},
		{"manifest over budget", s.host(), "big:v1", remote.Invalid},
	} {
		_, err := w.run(t, src(t, c.uri), c.image, withCreds)
		if kindOf(err) != c.kind {
			t.Errorf("%s: %v (kind %d), want kind %d", c.name, err, kindOf(err), c.kind)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error echoes the password: %v", c.name, err)
		}
	}
	var n int
	w.store.View(t.Context(), func(tx meta.Tx) error {
		tags, _ := tx.ListTags(w.tgt.Key, "app", meta.Page{})
		n = len(tags)
		return nil
	})
	if n != 0 {
		t.Errorf("failed imports left %d tags", n)
	}
}

// A manifest that names a blob which exists in the shared store (pushed
// to another registry) but which the source does not serve is refused:
// bytes on disk are never linked on a manifest's word.
func TestImportNeverLinksForeignBytes(t *testing.T) {
	s := newSource(t)
	w := newWorld(t, remote.Options{})
	img, _ := random.Image(128, 1)
	push(t, s.host()+"/app:v1", img)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	secret := digest.Digest(ld.String())
	// The same bytes now live in the store (as if another registry had
	// them), and the source forgets them.
	rc, _ := layers[0].Compressed()
	wr, _ := w.blobs.Writer(t.Context(), "other-registry-upload")
	io.Copy(wr, rc)
	size, _ := layers[0].Size()
	if err := wr.Commit(t.Context(), size, secret); err != nil {
		t.Fatal(err)
	}
	del, _ := http.NewRequest("DELETE", s.srv.URL+"/v2/app/blobs/"+secret.String(), nil)
	if resp, err := http.DefaultClient.Do(del); err != nil || resp.StatusCode/100 != 2 {
		t.Skipf("the in-memory registry cannot delete blobs: %v %v", err, resp)
	}
	_, err := w.run(t, src(t, s.host()), "app:v1")
	if kindOf(err) != remote.NotFound {
		t.Fatalf("import of an image whose blob the source lacks: %v", err)
	}
	w.store.View(t.Context(), func(tx meta.Tx) error {
		if _, err := tx.BlobLink(w.tgt.Key, "app", secret); err == nil {
			t.Error("the blob was linked from the shared store")
		}
		return nil
	})
}

// A source that redirects to another server: both hops carry the marker,
// since the importer's transport stamps each request it sends.
func TestMarkerOnEveryHop(t *testing.T) {
	s := newSource(t)
	w := newWorld(t, remote.Options{})
	img, _ := random.Image(64, 1)
	push(t, s.host()+"/app:v1", img)
	pushed := len(s.requests())
	var mu sync.Mutex
	var unmarked []string
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Header.Get(egress.MarkerHeader) == "" {
			unmarked = append(unmarked, r.URL.Path)
		}
		mu.Unlock()
		http.Redirect(rw, r, s.srv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	if _, err := w.run(t, src(t, strings.TrimPrefix(front.URL, "http://")), "app:v1"); err != nil {
		t.Fatal(err)
	}
	got := s.requests()[pushed:]
	if len(got) == 0 || len(unmarked) > 0 {
		t.Fatalf("%d requests reached the source; unmarked at the front: %v", len(got), unmarked)
	}
	for _, r := range got {
		if r.Header.Get(egress.MarkerHeader) == "" {
			t.Errorf("redirected %s %s without the marker", r.Method, r.URL)
		}
	}
}
