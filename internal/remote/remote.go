// Package remote imports images into a registry of this service from a
// registry outside it (importImage with a source.registryUri that is not
// one of ours). It streams every blob into the content store, verifies
// every manifest and blob against its digest, and only then, in one
// metadata transaction, links, stores and tags what it fetched: a failure
// leaves nothing visible (DESIGN.md "Errors").
//
// Nothing here reads a registry of this service, so no egress permit is
// taken: content comes in. Should the source turn out to be this service
// after all (by any road), the importer's transport marks every request
// (egress.MarkerHeader) and the data plane puts it before the egress gate.
// A blob is linked into the target only when the target already links it
// or the importer downloaded and verified it from the source: bytes that
// merely exist in the shared store are never linked on a manifest's word
// (DESIGN.md rule 2).
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggremote "github.com/google/go-containerregistry/pkg/v1/remote"
	ggtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// Options are an Importer's budgets. Zero values take the defaults.
type Options struct {
	// Timeout bounds one whole import, every manifest and blob included.
	// Default 30 minutes.
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed for one request.
	// Default 10.
	MaxRedirects int
	// MaxManifestSize bounds each manifest. Default 4 MiB, ACR's limit.
	MaxManifestSize int64
	// MaxManifests bounds the manifests of one image (an index and its
	// children). Default transfer.MaxImportManifests (50, ACR's limit).
	MaxManifests int
	// Transport is the connection layer beneath the importer's own
	// transport, which marks and budgets every request whatever this is.
	// Default: a new *http.Transport per import, with the proxy from the
	// environment.
	Transport http.RoundTripper
}

// Importer imports images from registries outside the service. It is
// safe for concurrent use.
type Importer struct {
	meta  meta.Store
	blobs content.Ingester
	o     Options
}

// New returns an Importer that writes blobs to blobs and metadata to
// store.
func New(store meta.Store, blobs content.Ingester, o Options) *Importer {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 10
	}
	if o.MaxManifestSize <= 0 {
		o.MaxManifestSize = 4 << 20
	}
	if o.MaxManifests <= 0 {
		o.MaxManifests = transfer.MaxImportManifests
	}
	return &Importer{meta: store, blobs: blobs, o: o}
}

// Request is one import from a registry outside the service, already
// authorized on the target.
type Request struct {
	Source Source
	// Image is the source image; Source.Prefix goes before its
	// repository on the source, not in the target.
	Image transfer.Image
	// Username and Password are source.credentials; never logged, never
	// echoed in an error.
	Username, Password string
	Target             meta.Registry
	TargetTags         []transfer.Image
	Untagged           []string
	// Force overwrites existing target tags (mode Force).
	Force bool
}

type blob struct {
	d    digest.Digest
	size int64
}

// Fetched is an import whose content is in the content store, verified,
// and not yet visible anywhere: Commit makes it visible.
type Fetched struct {
	req        Request
	tags       []transfer.Image
	untagged   []string
	root       digest.Digest
	manifests  []meta.Manifest
	blobs      []blob
	present    map[digest.Digest]bool // already linked in a target repository
	Downloaded int                    // blobs fetched from the source
}

// Fetch reads the image (an index with all its children) from the source,
// streams the blobs the target does not already link into the content
// store, and verifies everything against its digest. It runs outside any
// transaction and may take long (Options.Timeout bounds it). Errors:
// *Error for the source's failures (all of the user's or the source's
// making), errdef.ErrConflict when a target tag exists and Force is off,
// errdef.ErrInvalidArgument when the image has too many manifests, and
// store errors as they are.
func (im *Importer) Fetch(ctx context.Context, req Request) (*Fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, im.o.Timeout)
	defer cancel()
	f := &Fetched{req: req, present: map[digest.Digest]bool{}}
	f.tags, f.untagged = transfer.Destinations(req.Image, req.TargetTags, req.Untagged)
	// NoForce fails before anything is copied; Commit checks again.
	if err := im.meta.View(ctx, func(tx meta.Tx) error {
		return transfer.CheckTags(tx, req.Target, f.tags, req.Force)
	}); err != nil {
		return nil, err
	}
	s := newScrubber(req.Username, req.Password)
	var nameOpts []name.Option
	if req.Source.PlainHTTP {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(req.Source.Host, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("the registryUri '%s' is not a registry name: %w", req.Source, errdef.ErrInvalidArgument)
	}
	path := req.Image.Repository
	if req.Source.Prefix != "" {
		path = req.Source.Prefix + "/" + path
	}
	repo := reg.Repo(path)
	tr := newTransport(im.o.Transport, req.Source.PlainHTTP, im.o.MaxRedirects, im.o.MaxManifestSize)
	defer tr.CloseIdleConnections()
	var auth authn.Authenticator = authn.Anonymous
	if req.Username != "" || req.Password != "" {
		auth = &authn.Basic{Username: req.Username, Password: req.Password}
	}
	puller, err := ggremote.NewPuller(ggremote.WithTransport(tr), ggremote.WithAuth(auth), ggremote.WithContext(ctx),
		ggremote.WithUserAgent("bulkhead-import"), ggremote.WithJobs(1),
		ggremote.WithRetryBackoff(ggremote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}))
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("'%s'", req.Image)
	if err := im.manifests(ctx, f, puller, repo, what, s); err != nil {
		return nil, err
	}
	if err := im.meta.View(ctx, func(tx meta.Tx) error {
		for _, b := range f.blobs {
			ok, err := linkedInTarget(tx, req.Target.Key, transfer.Repositories(f.tags, f.untagged), b.d)
			if err != nil {
				return err
			}
			f.present[b.d] = ok
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Blobs are fetched with a plain GET on the authenticated transport
	// and verified once, by the store's commit (the library's layer reader
	// would hash every byte a second time).
	blobRT, err := ggtransport.NewWithContext(ctx, repo.Registry, auth, tr, []string{repo.Scope(ggtransport.PullScope)})
	if err != nil {
		return nil, im.classify(ctx, err, req.Source, what, s)
	}
	client := &http.Client{Transport: blobRT, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
		if len(via) > im.o.MaxRedirects {
			return fmt.Errorf("more than %d redirects", im.o.MaxRedirects)
		}
		return nil
	}}
	// A few blobs at once, as clients pull: one blob's download, hash
	// and fsync do not wait for another's.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(downloadJobs)
	var downloaded atomic.Int64
	for _, b := range f.blobs {
		if f.present[b.d] {
			continue
		}
		g.Go(func() error {
			if err := im.download(gctx, client, req.Source, req.Target.Key, repo, b, s); err != nil {
				return err
			}
			downloaded.Add(1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	f.Downloaded = int(downloaded.Load())
	return f, nil
}

// downloadJobs bounds the blobs one import downloads at once.
const downloadJobs = 4

// manifests fetches the root manifest and, for an index, every child,
// breadth first, and collects the blobs they need.
func (im *Importer) manifests(ctx context.Context, f *Fetched, puller *ggremote.Puller, repo name.Repository, what string, s scrubber) error {
	img := f.req.Image
	var ref name.Reference = repo.Tag(img.Tag)
	if img.Tag == "" {
		ref = repo.Digest(img.Digest.String())
	}
	desc, err := puller.Get(ctx, ref)
	if err != nil {
		return im.classify(ctx, err, f.req.Source, what, s)
	}
	root := img.Digest
	if img.Tag != "" {
		root = digest.FromBytes(desc.Manifest)
		if img.Digest != "" && img.Digest != root && img.Digest.Algorithm().FromBytes(desc.Manifest) != img.Digest {
			return &Error{Kind: Invalid, Message: fmt.Sprintf("The source tag '%s' points to %s, not %s.", img.Tag, root, img.Digest)}
		}
		if img.Digest != "" {
			root = img.Digest
		}
	}
	f.root = root
	sizes := map[digest.Digest]int64{}
	seen := map[digest.Digest]bool{}
	queue := []digest.Digest{root}
	first := true
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		if len(f.manifests) == im.o.MaxManifests {
			return fmt.Errorf("the image has more than %d manifests, the most one import may copy: %w", im.o.MaxManifests, errdef.ErrInvalidArgument)
		}
		body, mediaType := desc.Manifest, string(desc.MediaType)
		if !first {
			child, err := puller.Get(ctx, repo.Digest(d.String()))
			if err != nil {
				return im.classify(ctx, err, f.req.Source, fmt.Sprintf("the manifest %s of %s", d, what), s)
			}
			body, mediaType = child.Manifest, string(child.MediaType)
			if want, ok := sizes[d]; ok && want != int64(len(body)) {
				return &Error{Kind: Invalid, Message: fmt.Sprintf("The source manifest %s has %d bytes, not the %d its index says.", d, len(body), want)}
			}
		}
		first = false
		if int64(len(body)) > im.o.MaxManifestSize {
			return im.classify(ctx, errManifestTooLarge, f.req.Source, what, s)
		}
		doc, err := transfer.ParseManifest(d, mediaType, body)
		if err != nil {
			return &Error{Kind: Invalid, Message: s.clean("The source " + strings.TrimPrefix(errors.Unwrap(err).Error(), "the "))}
		}
		f.manifests = append(f.manifests, doc.Row)
		for _, c := range doc.Children {
			sizes[c.Digest] = c.Size
			queue = append(queue, c.Digest)
		}
		for _, b := range doc.Blobs {
			if transfer.Foreign(b.MediaType) {
				continue // fetched by clients from their URLs, never stored
			}
			if err := f.addBlob(b.Digest, b.Size); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *Fetched) addBlob(d digest.Digest, size int64) error {
	for _, b := range f.blobs {
		if b.d == d {
			if b.size != size {
				return &Error{Kind: Invalid, Message: fmt.Sprintf("The source image names the blob %s with two sizes (%d and %d).", d, b.size, size)}
			}
			return nil
		}
	}
	f.blobs = append(f.blobs, blob{d: d, size: size})
	return nil
}

// linkedInTarget reports whether one of the target repositories links d.
func linkedInTarget(tx meta.Tx, key string, repos []string, d digest.Digest) (bool, error) {
	for _, r := range repos {
		_, err := tx.BlobLink(key, r, d)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, errdef.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// download streams one blob from the source into the content store; the
// store's Commit verifies its size and digest. An abandoned upload is
// aborted; a committed but never linked blob is left to garbage
// collection.
func (im *Importer) download(ctx context.Context, client *http.Client, src Source, targetKey string, repo name.Repository, b blob, s scrubber) error {
	what := fmt.Sprintf("the blob %s", b.d)
	u := url.URL{Scheme: repo.Registry.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/" + b.d.String()}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return im.classify(ctx, err, src, what, s)
	}
	defer resp.Body.Close()
	if err := ggtransport.CheckError(resp, http.StatusOK); err != nil {
		return im.classify(ctx, err, src, what, s)
	}
	body := &readErr{r: resp.Body}
	err = transfer.WriteBlob(ctx, im.meta, im.blobs, targetKey, b.d, b.size, body)
	switch {
	case err == nil:
		return nil
	case body.err != nil:
		return im.classify(ctx, body.err, src, what, s)
	case errors.Is(err, errdef.ErrInvalidArgument):
		return &Error{Kind: Invalid, Message: fmt.Sprintf("The source registry served %s with other content or another size than the manifest names.", what)}
	}
	return err
}

// readErr remembers a read failure, so that a failed copy can tell the
// source's fault from the store's.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
