// Package archive writes and reads the archive a transfer pipeline moves:
// an OCI image layout (oci-layout, index.json, blobs/sha256/…) in one tar
// stream. Writing streams every blob straight from its reader to the tar
// writer; reading walks the tar entries in order. Neither holds a blob in
// memory, and neither stages the archive on local disk.
//
// Bulkhead writes oci-layout and index.json first, then every manifest,
// then configs and layers, so an importer knows what an archive holds
// before its first layer arrives, and can skip layers it already has. The
// reader accepts any order, as OCI layouts from other tools may use.
package archive

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// File names in the layout.
const (
	LayoutFile = "oci-layout"
	IndexFile  = "index.json"
	blobPrefix = "blobs/sha256/"
)

// Annotations on index.json's descriptors.
const (
	// AnnotationRefName is the OCI annotation naming a root: "repo:tag".
	AnnotationRefName = ocispec.AnnotationRefName
	// AnnotationRepository names the repository of a root, tagged or not
	// (a Bulkhead extension: ref.name cannot carry an untagged root).
	AnnotationRepository = "io.bulkhead.transfer.repository"
)

// Budgets of the reader: an archive is untrusted input.
const (
	// MaxIndexSize bounds index.json and every manifest (ACR's manifest
	// limit).
	MaxIndexSize = 4 << 20
	// MaxRoots bounds the artifacts one archive may name.
	MaxRoots = 10_000
	// MaxEntries bounds the tar entries of one archive.
	MaxEntries = 1_000_000
	maxLayout  = 4 << 10
)

// Root is one artifact an archive names: a manifest or index, in a
// repository, with its tag when it has one.
type Root struct {
	Repository string
	Tag        string
	Descriptor ocispec.Descriptor
}

// Index builds index.json for roots, and returns it with its digest, which
// a pipeline run reports as its catalogDigest.
func Index(roots []Root) ([]byte, digest.Digest, error) {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	for _, r := range roots {
		d := r.Descriptor
		d.Annotations = map[string]string{AnnotationRepository: r.Repository}
		if r.Tag != "" {
			d.Annotations[AnnotationRefName] = r.Repository + ":" + r.Tag
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, "", err
	}
	return b, digest.FromBytes(b), nil
}

// Roots reads the roots index.json names.
func Roots(index []byte) ([]Root, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, invalid("index.json is not valid JSON: %v", err)
	}
	if idx.SchemaVersion != 2 {
		return nil, invalid("index.json has schemaVersion %d, want 2", idx.SchemaVersion)
	}
	if len(idx.Manifests) > MaxRoots {
		return nil, invalid("index.json names %d artifacts, more than the %d an archive may hold", len(idx.Manifests), MaxRoots)
	}
	roots := make([]Root, 0, len(idx.Manifests))
	for i, d := range idx.Manifests {
		if err := d.Digest.Validate(); err != nil || d.Digest.Algorithm() != digest.SHA256 || d.Size < 0 || d.Size > MaxIndexSize {
			return nil, invalid("index.json entry %d has an invalid descriptor", i)
		}
		r := Root{Descriptor: d, Repository: d.Annotations[AnnotationRepository]}
		if ref := d.Annotations[AnnotationRefName]; ref != "" {
			colon := strings.LastIndex(ref, ":")
			if colon <= 0 || strings.Contains(ref[colon:], "/") {
				return nil, invalid("index.json entry %d: ref.name %q is not repository:tag", i, ref)
			}
			repo, tag := ref[:colon], ref[colon+1:]
			if r.Repository != "" && r.Repository != repo {
				return nil, invalid("index.json entry %d names two repositories, %q and %q", i, r.Repository, repo)
			}
			r.Repository, r.Tag = repo, tag
		}
		if r.Repository == "" {
			return nil, invalid("index.json entry %d names no repository (annotation %s or %s)", i, AnnotationRefName, AnnotationRepository)
		}
		roots = append(roots, r)
	}
	return roots, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("the archive is not a valid OCI layout: "+format+": %w", append(args, errdef.ErrInvalidArgument)...)
}

// Writer writes an archive.
type Writer struct {
	tw      *tar.Writer
	written map[digest.Digest]bool
}

// epoch is every entry's modification time, so that the same content
// makes the same archive.
var epoch = time.Unix(0, 0).UTC()

// NewWriter starts an archive on w: oci-layout, then index.json.
func NewWriter(w io.Writer, index []byte) (*Writer, error) {
	a := &Writer{tw: tar.NewWriter(w), written: map[digest.Digest]bool{}}
	if err := a.file(LayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return nil, err
	}
	if err := a.file(IndexFile, index); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Writer) header(name string, size int64) error {
	return a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o444, ModTime: epoch, Format: tar.FormatPAX})
}

func (a *Writer) file(name string, b []byte) error {
	if err := a.header(name, int64(len(b))); err != nil {
		return err
	}
	_, err := a.tw.Write(b)
	return err
}

// Has reports whether the blob d is in the archive already.
func (a *Writer) Has(d digest.Digest) bool { return a.written[d] }

// Blob writes the blob d of size bytes from r. A blob already written is
// skipped (r is not read). The bytes are not hashed again here: the
// content store verified them when they arrived, and every importer
// verifies each blob against its name before it becomes visible, so a
// damaged store fails at the import rather than costing every export a
// second SHA-256 pass.
func (a *Writer) Blob(d digest.Digest, size int64, r io.Reader) error {
	if a.written[d] {
		return nil
	}
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("blob %s: only sha256 blobs can be archived: %w", d, errdef.ErrInvalidArgument)
	}
	if err := a.header(blobPrefix+d.Encoded(), size); err != nil {
		return err
	}
	n, err := io.Copy(a.tw, io.LimitReader(r, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("blob %s: got %d of %d bytes", d, n, size)
	}
	a.written[d] = true
	return nil
}

// Close finishes the tar stream (it does not close the underlying writer).
func (a *Writer) Close() error { return a.tw.Close() }
