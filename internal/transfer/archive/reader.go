package archive

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Kind is what an archive entry holds.
type Kind int

// Entry kinds.
const (
	KindLayout Kind = iota + 1
	KindIndex
	KindBlob
)

// Entry is one file of an archive. Its bytes are read from the Reader
// until the next call to Next.
type Entry struct {
	Kind   Kind
	Digest digest.Digest // KindBlob only
	Size   int64
}

// Reader walks an archive's entries. Directory entries are skipped;
// anything that is not a regular file under the layout's names is
// refused.
type Reader struct {
	tr      *tar.Reader
	entries int
	seen    map[string]bool
}

// NewReader reads the archive in r. When r also seeks, skipping an entry
// that the caller does not read seeks past it instead of reading it.
func NewReader(r io.Reader) *Reader {
	return &Reader{tr: tar.NewReader(r), seen: map[string]bool{}}
}

// Next advances to the next entry; io.EOF after the last one.
func (a *Reader) Next() (Entry, error) {
	for {
		h, err := a.tr.Next()
		if errors.Is(err, io.EOF) {
			return Entry{}, io.EOF
		}
		if err != nil {
			return Entry{}, invalid("the tar stream is damaged: %v", err)
		}
		a.entries++
		if a.entries > MaxEntries {
			return Entry{}, invalid("more than %d entries", MaxEntries)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if h.Typeflag == tar.TypeDir {
			if name == "blobs" || name == "blobs/sha256" {
				continue
			}
			return Entry{}, invalid("unexpected directory %q", h.Name)
		}
		if h.Typeflag != tar.TypeReg {
			return Entry{}, invalid("entry %q is not a regular file", h.Name)
		}
		if a.seen[name] {
			return Entry{}, invalid("entry %q appears twice", h.Name)
		}
		a.seen[name] = true
		switch {
		case name == LayoutFile:
			if h.Size > maxLayout {
				return Entry{}, invalid("%s is %d bytes", LayoutFile, h.Size)
			}
			return Entry{Kind: KindLayout, Size: h.Size}, nil
		case name == IndexFile:
			if h.Size > MaxIndexSize {
				return Entry{}, invalid("%s is larger than %d bytes", IndexFile, MaxIndexSize)
			}
			return Entry{Kind: KindIndex, Size: h.Size}, nil
		case strings.HasPrefix(name, blobPrefix):
			d := digest.NewDigestFromEncoded(digest.SHA256, name[len(blobPrefix):])
			if d.Validate() != nil {
				return Entry{}, invalid("entry %q is not named by a sha256 digest", h.Name)
			}
			return Entry{Kind: KindBlob, Digest: d, Size: h.Size}, nil
		}
		return Entry{}, invalid("unexpected entry %q", h.Name)
	}
}

// Read reads from the current entry.
func (a *Reader) Read(p []byte) (int, error) { return a.tr.Read(p) }

// ReadSmall reads the whole current entry, which must be at most limit
// bytes (index.json, oci-layout, manifests).
func (a *Reader) ReadSmall(e Entry, limit int64) ([]byte, error) {
	if e.Size > limit {
		return nil, invalid("entry of %d bytes, more than %d", e.Size, limit)
	}
	b := make([]byte, e.Size)
	if _, err := io.ReadFull(a.tr, b); err != nil {
		return nil, invalid("entry cut short: %v", err)
	}
	return b, nil
}

// CheckLayout validates the oci-layout file.
func CheckLayout(b []byte) error {
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &l); err != nil || l.Version != "1.0.0" {
		return invalid("%s does not say imageLayoutVersion 1.0.0", LayoutFile)
	}
	return nil
}
