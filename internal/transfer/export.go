package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/archive"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ExportGate asks the egress gate, inside tx, whether an export run may
// read out of its registry now. It returns the registry and the permit
// for egress.ChannelExportPipelineRun, or the gate's refusal. acr builds
// it, since only acr reads a registry's policy.
type ExportGate func(tx meta.Tx) (meta.Registry, egress.Permit, error)

// Progress is how far a run has come.
type Progress struct {
	Bytes, TotalBytes         int64
	Artifacts, TotalArtifacts int
}

// ExportRequest is one export run's work.
type ExportRequest struct {
	Artifacts []Image
	// ContinueOnErrors skips an artifact that cannot be found instead of
	// failing the run. A refusal of the gate always fails the run.
	ContinueOnErrors bool
	// Progress, when set, is called after each blob.
	Progress func(Progress)
}

// ExportResult says what an export run wrote.
type ExportResult struct {
	// CatalogDigest is the digest of the archive's index.json.
	CatalogDigest digest.Digest
	// Exported names each artifact written, as the request named it.
	Exported []string
	// Skipped says why each skipped artifact was left out.
	Skipped []string
}

type plannedArtifact struct {
	img       Image
	root      archive.Root
	manifests []digest.Digest
	// sizes are the sizes of everything the artifact puts in the
	// archive (manifests and blobs), by digest.
	sizes map[digest.Digest]int64
	blobs []meta.BlobLink
}

// Export writes the archive of req.Artifacts to w. Before each artifact is
// planned, and again before each manifest set and each blob is read out,
// it asks gate in a fresh transaction and reads under the permit it
// returns: if exports are disabled while the run is in flight, the next
// read fails with the gate's refusal and nothing more is written. Blobs
// stream from the content store to w; nothing is held whole.
func Export(ctx context.Context, store meta.Store, blobs content.Provider, gate ExportGate, w io.Writer, req ExportRequest) (ExportResult, error) {
	var res ExportResult
	var plan []plannedArtifact
	var p Progress
	counted := map[digest.Digest]bool{}
	for _, img := range req.Artifacts {
		var pa plannedArtifact
		err := store.View(ctx, func(tx meta.Tx) error {
			reg, permit, err := gate(tx)
			if err != nil {
				return gateError{err}
			}
			pa, err = planArtifact(tx, permit, reg, img)
			return err
		})
		var ge gateError
		if errors.As(err, &ge) {
			return res, ge.err
		}
		if err != nil {
			if req.ContinueOnErrors && (errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrInvalidArgument)) {
				res.Skipped = append(res.Skipped, err.Error())
				continue
			}
			return res, err
		}
		plan = append(plan, pa)
		for d, size := range pa.sizes {
			if !counted[d] {
				counted[d] = true
				p.TotalBytes += size
			}
		}
	}
	if len(plan) == 0 {
		return res, fmt.Errorf("none of the run's artifacts could be exported (%s): %w", strings.Join(res.Skipped, "; "), errdef.ErrNotFound)
	}
	p.TotalArtifacts = len(plan)
	roots := make([]archive.Root, len(plan))
	for i, pa := range plan {
		roots[i] = pa.root
	}
	index, catalog, err := archive.Index(roots)
	if err != nil {
		return res, err
	}
	res.CatalogDigest = catalog
	a, err := archive.NewWriter(w, index)
	if err != nil {
		return res, err
	}
	report := func() {
		if req.Progress != nil {
			req.Progress(p)
		}
	}
	report()
	for _, pa := range plan {
		if err := exportArtifact(ctx, store, blobs, gate, a, pa, &p, report); err != nil {
			return res, err
		}
		p.Artifacts++
		report()
		res.Exported = append(res.Exported, pa.img.String())
	}
	return res, a.Close()
}

// gateError marks a refusal of the gate, which fails a run whatever its
// options say.
type gateError struct{ err error }

func (g gateError) Error() string { return g.err.Error() }

// planArtifact resolves img in reg and lists what it needs, under a
// permit for an export run.
func planArtifact(tx meta.Tx, permit egress.Permit, reg meta.Registry, img Image) (plannedArtifact, error) {
	pa := plannedArtifact{img: img, sizes: map[digest.Digest]int64{}}
	if err := permit.Covers(reg.Key, egress.ChannelExportPipelineRun); err != nil {
		return pa, err
	}
	root := img.Digest
	if img.Tag != "" {
		d, err := tx.Tag(reg.Key, img.Repository, img.Tag)
		if errors.Is(err, errdef.ErrNotFound) {
			return pa, fmt.Errorf("the artifact '%s' was not found in registry '%s'; name artifacts that exist, as repository:tag or repository@sha256:…, or give the export pipeline the option ContinueOnErrors to skip missing ones: %w", img, reg.Name, errdef.ErrNotFound)
		}
		if err != nil {
			return pa, err
		}
		if root != "" && root != d {
			return pa, fmt.Errorf("the tag of '%s' points to %s: %w", img, d, errdef.ErrInvalidArgument)
		}
		root = d
	}
	manifests, links, err := closure(tx, reg, img.Repository, root)
	if errors.Is(err, errdef.ErrNotFound) && img.Tag == "" {
		err = fmt.Errorf("the artifact '%s' was not found in registry '%s': %w", img, reg.Name, errdef.ErrNotFound)
	}
	if err != nil {
		return pa, err
	}
	for _, m := range manifests {
		if m.Digest.Algorithm() != digest.SHA256 {
			return pa, fmt.Errorf("the artifact '%s' has a %s manifest; archives hold sha256 only: %w", img, m.Digest.Algorithm(), errdef.ErrInvalidArgument)
		}
		pa.manifests = append(pa.manifests, m.Digest)
		pa.sizes[m.Digest] = m.Size
	}
	pa.blobs = links
	for _, l := range links {
		pa.sizes[l.Digest] = l.Size
	}
	m := manifests[0]
	pa.root = archive.Root{Repository: img.Repository, Tag: img.Tag,
		Descriptor: ocispec.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size}}
	return pa, nil
}

// exportArtifact writes one planned artifact: its manifests, then its
// blobs, each read out under a fresh permit.
func exportArtifact(ctx context.Context, store meta.Store, blobs content.Provider, gate ExportGate, a *archive.Writer, pa plannedArtifact, p *Progress, report func()) error {
	var manifests []meta.Manifest
	err := store.View(ctx, func(tx meta.Tx) error {
		reg, permit, err := gate(tx)
		if err != nil {
			return err
		}
		manifests, err = readManifests(tx, permit, reg, pa.img.Repository, pa.manifests)
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range manifests {
		if a.Has(m.Digest) {
			continue
		}
		if err := a.Blob(m.Digest, m.Size, bytesReader(m.Content)); err != nil {
			return err
		}
		p.Bytes += m.Size
	}
	manifests = nil
	for _, b := range pa.blobs {
		if a.Has(b.Digest) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var r io.ReadCloser
		var size int64
		err := store.View(ctx, func(tx meta.Tx) error {
			reg, permit, err := gate(tx)
			if err != nil {
				return err
			}
			r, size, err = openForExport(ctx, tx, permit, reg, pa.img.Repository, b.Digest, blobs)
			return err
		})
		if err != nil {
			return err
		}
		err = a.Blob(b.Digest, size, ctxReader{ctx, r})
		r.Close()
		if err != nil {
			return err
		}
		p.Bytes += size
		report()
	}
	return nil
}

// readManifests reads the manifests of an artifact under a permit.
func readManifests(tx meta.Tx, permit egress.Permit, reg meta.Registry, repo string, ds []digest.Digest) ([]meta.Manifest, error) {
	if err := permit.Covers(reg.Key, egress.ChannelExportPipelineRun); err != nil {
		return nil, err
	}
	out := make([]meta.Manifest, 0, len(ds))
	for _, d := range ds {
		m, err := tx.GetManifest(reg.Key, repo, d)
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, fmt.Errorf("the manifest %s was deleted from '%s/%s' during the run: %w", d, reg.Name, repo, errdef.ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// openForExport opens a blob of a repository under a permit, after
// checking that the repository still links it.
func openForExport(ctx context.Context, tx meta.Tx, permit egress.Permit, reg meta.Registry, repo string, d digest.Digest, blobs content.Provider) (io.ReadCloser, int64, error) {
	if err := permit.Covers(reg.Key, egress.ChannelExportPipelineRun); err != nil {
		return nil, 0, err
	}
	if _, err := tx.BlobLink(reg.Key, repo, d); err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, 0, fmt.Errorf("the blob %s was deleted from '%s/%s' during the run: %w", d, reg.Name, repo, errdef.ErrNotFound)
		}
		return nil, 0, err
	}
	return blobs.Open(ctx, d)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
