package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/archive"
	"github.com/opencontainers/go-digest"
)

// BlobStore is what an archive import needs of the content store: it
// writes the blobs it verifies and reads back manifests that arrived
// before it knew they were manifests.
type BlobStore interface {
	content.Ingester
	content.Provider
}

// ArchiveImport is one import run's work: an archive into a registry.
type ArchiveImport struct {
	Target meta.Registry
	// CatalogDigest, when set, must be the digest of the archive's
	// index.json.
	CatalogDigest digest.Digest
	// OverwriteTags moves tags that exist; without it such an artifact
	// fails (or, with ContinueOnErrors, is skipped).
	OverwriteTags    bool
	ContinueOnErrors bool
	// Size is the archive's size, for progress.
	Size     int64
	Progress func(Progress)
	Now      time.Time
}

// ArchiveResult says what an import run did.
type ArchiveResult struct {
	CatalogDigest digest.Digest
	// Imported names each artifact made visible: "repo:tag", or
	// "repo@digest" for an untagged root.
	Imported []string
	Skipped  []string
	// Blobs counts blobs written; Reused counts blobs the target already
	// held and were not copied again.
	Blobs, Reused int
}

// ImportArchive reads an archive from r into req.Target. Every blob is
// streamed into the content store and verified against its digest as it
// arrives, and every manifest is verified before use; only when the whole
// archive has been read does one transaction make the artifacts visible
// (links, manifests, tags), so a failed or interrupted run leaves no
// partial tag. A blob that the target registry already links in the
// repository that gets it is skipped, not copied again (and when r seeks,
// not even read). Bytes that only exist in the shared store, linked by
// other registries, never count as held: isolation (DESIGN.md rule 2)
// means an archive must carry what it names.
func ImportArchive(ctx context.Context, store meta.Store, blobs BlobStore, r io.Reader, req ArchiveImport) (ArchiveResult, error) {
	var res ArchiveResult
	in := importState{
		manifests: map[digest.Digest]Manifest{},
		verified:  map[digest.Digest]int64{},
		wantRepos: map[digest.Digest]map[string]bool{},
	}
	ar := archive.NewReader(r)
	in.writers = newBlobWriters(ctx, store, blobs, req.Target.Key)
	defer func() { in.writers.cancel(); in.writers.wait() }() // no writer outlives the import
	var p Progress
	p.TotalBytes = req.Size
	report := func() {
		if req.Progress != nil {
			req.Progress(p)
		}
	}
	var sawLayout bool
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		e, err := ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		switch e.Kind {
		case archive.KindLayout:
			b, err := ar.ReadSmall(e, 4<<10)
			if err != nil {
				return res, err
			}
			if err := archive.CheckLayout(b); err != nil {
				return res, err
			}
			sawLayout = true
		case archive.KindIndex:
			b, err := ar.ReadSmall(e, archive.MaxIndexSize)
			if err != nil {
				return res, err
			}
			res.CatalogDigest = digest.FromBytes(b)
			if req.CatalogDigest != "" && req.CatalogDigest != res.CatalogDigest {
				return res, fmt.Errorf("the archive's catalog digest is %s, not %s as the run asked: %w", res.CatalogDigest, req.CatalogDigest, errdef.ErrInvalidArgument)
			}
			if in.roots, err = archive.Roots(b); err != nil {
				return res, err
			}
			for _, root := range in.roots {
				in.want(root.Descriptor.Digest, root.Repository)
				in.mediaTypes(root.Descriptor.Digest, root.Descriptor.MediaType)
			}
		case archive.KindBlob:
			if err := in.writers.failed(); err != nil {
				return res, err
			}
			if err := in.blob(ctx, store, blobs, ar, e, req.Target); err != nil {
				return res, err
			}
		}
		p.Bytes += e.Size
		report()
	}
	if err := in.writers.wait(); err != nil {
		return res, err
	}
	if !sawLayout || in.roots == nil {
		return res, fmt.Errorf("the archive is not a valid OCI layout: it has no %s or no %s: %w", archive.LayoutFile, archive.IndexFile, errdef.ErrInvalidArgument)
	}
	res.Blobs, res.Reused = in.written, in.reused
	p.TotalArtifacts = len(in.roots)
	return res, in.commit(ctx, store, blobs, req, &res, &p, report)
}

type importState struct {
	roots     []archive.Root
	manifests map[digest.Digest]Manifest
	// verified holds the blobs of this archive written (and so verified)
	// into the store, with their sizes.
	verified map[digest.Digest]int64
	// wantRepos says which target repositories will get a digest, as far
	// as the manifests read so far tell.
	wantRepos map[digest.Digest]map[string]bool
	types     map[digest.Digest]string
	// held holds, per digest, the target repositories that already link
	// it, so the archive's copy was skipped.
	held    map[digest.Digest]map[string]bool
	written int
	reused  int
	// manifestBytes counts the manifest bytes held for the commit.
	manifestBytes int64
	// writers store blobs while the archive reads on.
	writers *blobWriters
}

// MaxArchiveManifestBytes bounds the manifests one import holds in memory
// until its commit.
const MaxArchiveManifestBytes = 256 << 20

func (in *importState) keep(d digest.Digest, pm Manifest) error {
	in.manifestBytes += pm.Row.Size
	if in.manifestBytes > MaxArchiveManifestBytes {
		return fmt.Errorf("the archive's manifests take more than %d bytes; split the export into smaller runs: %w", MaxArchiveManifestBytes, errdef.ErrInvalidArgument)
	}
	in.manifests[d] = pm
	return nil
}

func (in *importState) want(d digest.Digest, repo string) {
	if in.wantRepos[d] == nil {
		in.wantRepos[d] = map[string]bool{}
	}
	in.wantRepos[d][repo] = true
}

func (in *importState) mediaTypes(d digest.Digest, mt string) {
	if in.types == nil {
		in.types = map[digest.Digest]string{}
	}
	if _, ok := in.types[d]; !ok {
		in.types[d] = mt
	}
}

// blob handles one blob entry: a manifest the archive's index leads to is
// read and parsed; anything else streams into the store, unless every
// repository that will get it already links it in the target.
func (in *importState) blob(ctx context.Context, store meta.Store, blobs BlobStore, ar *archive.Reader, e archive.Entry, target meta.Registry) error {
	if _, isManifest := in.types[e.Digest]; isManifest && e.Size <= MaxManifestSize {
		body, err := ar.ReadSmall(e, MaxManifestSize)
		if err != nil {
			return err
		}
		pm, err := ParseManifest(e.Digest, in.types[e.Digest], body)
		if err != nil {
			return err
		}
		if err := in.keep(e.Digest, pm); err != nil {
			return err
		}
		for repo := range in.wantRepos[e.Digest] {
			in.spread(pm, repo)
		}
		return nil
	}
	if repos := in.wantRepos[e.Digest]; len(repos) > 0 {
		held := true
		err := store.View(ctx, func(tx meta.Tx) error {
			for repo := range repos {
				l, err := tx.BlobLink(target.Key, repo, e.Digest)
				if errors.Is(err, errdef.ErrNotFound) || err == nil && l.Size != e.Size {
					held = false
					return nil
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if held {
			if in.held == nil {
				in.held = map[digest.Digest]map[string]bool{}
			}
			in.held[e.Digest] = repos
			in.reused++
			return nil // the reader skips the entry's bytes
		}
	}
	return in.writers.write(e, ctxReader{ctx, ar}, func() {
		in.verified[e.Digest] = e.Size
		in.written++
	})
}

// spread records what a manifest of repo leads to.
func (in *importState) spread(pm Manifest, repo string) {
	for _, c := range childDigests(pm) {
		in.want(c, repo)
		in.mediaTypes(c, "")
		if child, ok := in.manifests[c]; ok {
			in.spread(child, repo)
		}
	}
	for _, b := range pm.Blobs {
		in.want(b.Digest, repo)
	}
}

// resolved is one root of the archive, ready to be made visible.
type resolved struct {
	root      archive.Root
	manifests []meta.Manifest
	links     []meta.BlobLink
}

// resolve walks a root through the manifests and checks that every blob
// it needs was verified from the archive or is held by the target
// repository already.
func (in *importState) resolve(ctx context.Context, blobs BlobStore, root archive.Root) (resolved, error) {
	rv := resolved{root: root}
	name := root.Repository + "@" + root.Descriptor.Digest.String()
	if root.Tag != "" {
		name = root.Repository + ":" + root.Tag
	}
	seen := map[digest.Digest]bool{}
	queue := []digest.Digest{root.Descriptor.Digest}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		if len(rv.manifests) == MaxImportManifests {
			return rv, fmt.Errorf("the artifact '%s' has more than %d manifests: %w", name, MaxImportManifests, errdef.ErrInvalidArgument)
		}
		pm, ok := in.manifests[d]
		if !ok {
			var err error
			if pm, err = in.readBack(ctx, blobs, d); err != nil {
				return rv, fmt.Errorf("the artifact '%s': %w", name, err)
			}
		}
		m := pm.Row
		m.Repository = root.Repository
		rv.manifests = append(rv.manifests, m)
		queue = append(queue, childDigests(pm)...)
		for _, b := range pm.Blobs {
			if seen[b.Digest] {
				continue
			}
			seen[b.Digest] = true
			size, ok := in.verified[b.Digest]
			if !ok && in.held[b.Digest][root.Repository] {
				size, ok = b.Size, true
			}
			if !ok {
				if foreign(b) {
					continue
				}
				return rv, fmt.Errorf("the archive does not contain the blob %s of the artifact '%s': %w", b.Digest, name, errdef.ErrNotFound)
			}
			if size != b.Size {
				return rv, fmt.Errorf("the artifact '%s' says the blob %s has %d bytes, but it has %d: %w", name, b.Digest, b.Size, size, errdef.ErrInvalidArgument)
			}
			rv.links = append(rv.links, meta.BlobLink{Repository: root.Repository, Digest: b.Digest, Size: size})
		}
	}
	return rv, nil
}

// readBack reads a manifest that the archive held before anything said
// it was one, from the store it was verified into.
func (in *importState) readBack(ctx context.Context, blobs BlobStore, d digest.Digest) (Manifest, error) {
	size, ok := in.verified[d]
	if !ok {
		return Manifest{}, fmt.Errorf("the archive does not contain the manifest %s: %w", d, errdef.ErrNotFound)
	}
	if size > MaxManifestSize {
		return Manifest{}, fmt.Errorf("the manifest %s is larger than %d bytes: %w", d, MaxManifestSize, errdef.ErrInvalidArgument)
	}
	r, _, err := blobs.Open(ctx, d)
	if err != nil {
		return Manifest{}, err
	}
	defer r.Close()
	body, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return Manifest{}, err
	}
	pm, err := ParseManifest(d, in.types[d], body)
	if err != nil {
		return pm, err
	}
	return pm, in.keep(d, pm)
}

// commit resolves every root, then makes them visible in one
// transaction.
func (in *importState) commit(ctx context.Context, store meta.Store, blobs BlobStore, req ArchiveImport, res *ArchiveResult, p *Progress, report func()) error {
	skippable := func(err error) bool {
		return req.ContinueOnErrors && (errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrInvalidArgument) || errors.Is(err, errdef.ErrConflict))
	}
	var ready []resolved
	var skipped []string
	for _, root := range in.roots {
		rv, err := in.resolve(ctx, blobs, root)
		if err != nil {
			if skippable(err) {
				skipped = append(skipped, err.Error())
				continue
			}
			return err
		}
		ready = append(ready, rv)
	}
	key, now := req.Target.Key, req.Now
	err := store.Update(ctx, func(tx meta.Tx) error {
		res.Imported, res.Skipped = nil, append([]string(nil), skipped...)
		if reg, err := tx.RegistryByName(req.Target.Name); errors.Is(err, errdef.ErrNotFound) || err == nil && reg.Key != key {
			return fmt.Errorf("the registry '%s' was deleted during the run: %w", req.Target.Name, errdef.ErrNotFound)
		} else if err != nil {
			return err
		}
		for _, rv := range ready {
			root := rv.root
			if root.Tag != "" && !req.OverwriteTags {
				d, err := tx.Tag(key, root.Repository, root.Tag)
				if err == nil && d != root.Descriptor.Digest {
					err := fmt.Errorf("the tag '%s:%s' already exists in registry '%s'; set the pipeline option OverwriteTags to replace it: %w", root.Repository, root.Tag, req.Target.Name, errdef.ErrConflict)
					if skippable(err) {
						res.Skipped = append(res.Skipped, err.Error())
						continue
					}
					return err
				}
				if err != nil && !errors.Is(err, errdef.ErrNotFound) {
					return err
				}
			}
			for _, l := range rv.links {
				l.RegistryKey, l.CreatedAt = key, now
				if err := tx.LinkBlob(l); err != nil {
					return err
				}
			}
			for i := len(rv.manifests) - 1; i >= 0; i-- { // children before their index
				m := rv.manifests[i]
				m.RegistryKey, m.CreatedAt = key, now
				if err := tx.PutManifest(m); err != nil {
					return err
				}
			}
			name := root.Repository + "@" + root.Descriptor.Digest.String()
			if root.Tag != "" {
				if err := tx.PutTag(key, root.Repository, root.Tag, root.Descriptor.Digest); err != nil {
					return err
				}
				name = root.Repository + ":" + root.Tag
			}
			res.Imported = append(res.Imported, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Artifacts = len(res.Imported)
	report()
	return nil
}

func childDigests(m Manifest) []digest.Digest {
	out := make([]digest.Digest, len(m.Children))
	for i, c := range m.Children {
		out[i] = c.Digest
	}
	return out
}
