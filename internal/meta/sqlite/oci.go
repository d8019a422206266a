package sqlite

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Every data-plane statement below names registry_key first: that column
// leads each primary key, and is what keeps one registry's rows out of
// another's answers.

// ensureRepository creates the repository row on first use.
func (t *tx) ensureRepository(registryKey, repo string, at int64) error {
	_, err := t.exec(`INSERT OR IGNORE INTO repositories (registry_key, name, created_at) VALUES (?,?,?)`, registryKey, repo, at)
	if err != nil {
		return fmt.Errorf("repository %s: %w", repo, err)
	}
	return nil
}

// ListRepositories implements meta.Repositories (byte-wise order).
func (t *tx) ListRepositories(registryKey string, p meta.Page) ([]string, error) {
	out, err := t.strings(`SELECT name FROM repositories WHERE registry_key = ? AND name > ? ORDER BY name LIMIT ?`,
		registryKey, p.After, limit(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("repositories: %w", err)
	}
	return out, nil
}

// RepositoryExists implements meta.Repositories.
func (t *tx) RepositoryExists(registryKey, repo string) (bool, error) {
	var n int
	if err := t.tx.QueryRow(`SELECT COUNT(*) FROM repositories WHERE registry_key = ? AND name = ?`, registryKey, repo).Scan(&n); err != nil {
		return false, fmt.Errorf("repository %s: %w", repo, classify(err))
	}
	return n > 0, nil
}

// DeleteRepository implements meta.Repositories. Uploads in progress to the
// repository go too, as they do with DeleteRegistry; their bytes are left
// to the upload sweeper.
func (t *tx) DeleteRepository(registryKey, repo string) error {
	if err := t.execAffect("repository "+repo, `DELETE FROM repositories WHERE registry_key = ? AND name = ?`, registryKey, repo); err != nil {
		return err
	}
	for _, table := range []string{"blob_links", "manifests", "tags", "uploads"} {
		if _, err := t.exec(`DELETE FROM `+table+` WHERE registry_key = ? AND repository = ?`, registryKey, repo); err != nil {
			return fmt.Errorf("repository %s: %s: %w", repo, table, err)
		}
	}
	return nil
}

// LinkBlob implements meta.Blobs. Linking again keeps the first link.
func (t *tx) LinkBlob(l meta.BlobLink) error {
	c, err := nanos(l.CreatedAt)
	if err != nil {
		return fmt.Errorf("blob %s: %w", l.Digest, err)
	}
	if err := t.ensureRepository(l.RegistryKey, l.Repository, c); err != nil {
		return err
	}
	_, err = t.exec(`INSERT OR IGNORE INTO blob_links (registry_key, repository, digest, size, created_at) VALUES (?,?,?,?,?)`,
		l.RegistryKey, l.Repository, l.Digest.String(), l.Size, c)
	if err != nil {
		return fmt.Errorf("blob %s: %w", l.Digest, err)
	}
	return nil
}

// BlobLink implements meta.Blobs.
func (t *tx) BlobLink(registryKey, repo string, d digest.Digest) (meta.BlobLink, error) {
	l := meta.BlobLink{RegistryKey: registryKey, Repository: repo, Digest: d}
	var c int64
	err := t.tx.QueryRow(`SELECT size, created_at FROM blob_links WHERE registry_key = ? AND repository = ? AND digest = ?`,
		registryKey, repo, d.String()).Scan(&l.Size, &c)
	if err != nil {
		return meta.BlobLink{}, fmt.Errorf("blob %s in %s: %w", d, repo, classify(err))
	}
	l.CreatedAt = fromNanos(c)
	return l, nil
}

// UnlinkBlob implements meta.Blobs.
func (t *tx) UnlinkBlob(registryKey, repo string, d digest.Digest) error {
	return t.execAffect("blob "+d.String()+" in "+repo,
		`DELETE FROM blob_links WHERE registry_key = ? AND repository = ? AND digest = ?`, registryKey, repo, d.String())
}

// BlobReferenced implements meta.Blobs, across all registries (both
// lookups use a digest index).
func (t *tx) BlobReferenced(d digest.Digest) (bool, error) {
	var ref bool
	err := t.tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM blob_links WHERE digest = ?) OR EXISTS (SELECT 1 FROM manifests WHERE digest = ?)`,
		d.String(), d.String()).Scan(&ref)
	if err != nil {
		return false, fmt.Errorf("blob %s: %w", d, classify(err))
	}
	return ref, nil
}

// PutManifest implements meta.Manifests. Size is always len(Content); a
// replace keeps the first CreatedAt.
func (t *tx) PutManifest(m meta.Manifest) error {
	c, err := nanos(m.CreatedAt)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", m.Digest, err)
	}
	ann, err := json.Marshal(m.Annotations)
	if err != nil {
		return fmt.Errorf("manifest %s annotations: %w", m.Digest, err)
	}
	if err := t.ensureRepository(m.RegistryKey, m.Repository, c); err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO manifests (registry_key, repository, digest, media_type, size, artifact_type, subject, annotations, content, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (registry_key, repository, digest) DO UPDATE SET media_type = excluded.media_type, size = excluded.size,
		artifact_type = excluded.artifact_type, subject = excluded.subject, annotations = excluded.annotations, content = excluded.content`,
		m.RegistryKey, m.Repository, m.Digest.String(), m.MediaType, int64(len(m.Content)), m.ArtifactType, m.Subject.String(),
		string(ann), nonNil(m.Content), c)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", m.Digest, err)
	}
	return nil
}

const manifestCols = `digest, media_type, size, artifact_type, subject, annotations, created_at`

// scanManifest reads manifestCols, plus content when withContent.
func scanManifest(row scanner, registryKey, repo string, withContent bool) (meta.Manifest, error) {
	m := meta.Manifest{RegistryKey: registryKey, Repository: repo}
	var dg, subject, ann string
	var c int64
	dest := []any{&dg, &m.MediaType, &m.Size, &m.ArtifactType, &subject, &ann, &c}
	if withContent {
		dest = append(dest, &m.Content)
	}
	if err := row.Scan(dest...); err != nil {
		return meta.Manifest{}, classify(err)
	}
	m.Digest, m.Subject, m.CreatedAt = digest.Digest(dg), digest.Digest(subject), fromNanos(c)
	if withContent && m.Content == nil {
		m.Content = []byte{}
	}
	if err := json.Unmarshal([]byte(ann), &m.Annotations); err != nil {
		return meta.Manifest{}, fmt.Errorf("manifest %s annotations: %w", dg, err)
	}
	return m, nil
}

// GetManifest implements meta.Manifests.
func (t *tx) GetManifest(registryKey, repo string, d digest.Digest) (meta.Manifest, error) {
	row := t.tx.QueryRow(`SELECT `+manifestCols+`, content FROM manifests WHERE registry_key = ? AND repository = ? AND digest = ?`,
		registryKey, repo, d.String())
	m, err := scanManifest(row, registryKey, repo, true)
	if err != nil {
		return m, fmt.Errorf("manifest %s in %s: %w", d, repo, err)
	}
	return m, nil
}

// DeleteManifest implements meta.Manifests.
func (t *tx) DeleteManifest(registryKey, repo string, d digest.Digest) error {
	if err := t.execAffect("manifest "+d.String()+" in "+repo,
		`DELETE FROM manifests WHERE registry_key = ? AND repository = ? AND digest = ?`, registryKey, repo, d.String()); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM tags WHERE registry_key = ? AND repository = ? AND digest = ?`, registryKey, repo, d.String()); err != nil {
		return fmt.Errorf("tags of manifest %s: %w", d, err)
	}
	return nil
}

// Referrers implements meta.Manifests; it reads the (registry_key,
// repository, subject) index and never loads Content.
func (t *tx) Referrers(registryKey, repo string, subject digest.Digest, artifactType string) ([]meta.Manifest, error) {
	if subject == "" {
		return nil, nil // manifests without a subject store '' and refer to nothing
	}
	rows, err := t.tx.Query(`SELECT `+manifestCols+` FROM manifests
		WHERE registry_key = ? AND repository = ? AND subject = ? AND (? = '' OR artifact_type = ?) ORDER BY digest`,
		registryKey, repo, subject.String(), artifactType, artifactType)
	out, err := collect(rows, err, func(row scanner) (meta.Manifest, error) {
		return scanManifest(row, registryKey, repo, false)
	})
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", subject, err)
	}
	return out, nil
}

// PutTag implements meta.Tags.
func (t *tx) PutTag(registryKey, repo, tag string, d digest.Digest) error {
	_, err := t.exec(`INSERT INTO tags (registry_key, repository, tag, digest, updated_at) VALUES (?,?,?,?,?)
		ON CONFLICT (registry_key, repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
		registryKey, repo, tag, d.String(), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	return nil
}

// Tag implements meta.Tags.
func (t *tx) Tag(registryKey, repo, tag string) (digest.Digest, error) {
	var d string
	if err := t.tx.QueryRow(`SELECT digest FROM tags WHERE registry_key = ? AND repository = ? AND tag = ?`,
		registryKey, repo, tag).Scan(&d); err != nil {
		return "", fmt.Errorf("tag %s in %s: %w", tag, repo, classify(err))
	}
	return digest.Digest(d), nil
}

// DeleteTag implements meta.Tags.
func (t *tx) DeleteTag(registryKey, repo, tag string) error {
	return t.execAffect("tag "+tag+" in "+repo,
		`DELETE FROM tags WHERE registry_key = ? AND repository = ? AND tag = ?`, registryKey, repo, tag)
}

// ListTags implements meta.Tags (byte-wise order).
func (t *tx) ListTags(registryKey, repo string, p meta.Page) ([]string, error) {
	out, err := t.strings(`SELECT tag FROM tags WHERE registry_key = ? AND repository = ? AND tag > ? ORDER BY tag LIMIT ?`,
		registryKey, repo, p.After, limit(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", repo, err)
	}
	return out, nil
}

const uploadCols = `id, registry_key, repository, started_at, updated_at`

func scanUpload(row scanner) (meta.Upload, error) {
	var u meta.Upload
	var s, up int64
	if err := row.Scan(&u.ID, &u.RegistryKey, &u.Repository, &s, &up); err != nil {
		return meta.Upload{}, classify(err)
	}
	u.StartedAt, u.UpdatedAt = fromNanos(s), fromNanos(up)
	return u, nil
}

// PutUpload implements meta.Uploads. An update moves only UpdatedAt: an
// upload never changes repository.
func (t *tx) PutUpload(u meta.Upload) error {
	s, err := nanos(u.StartedAt)
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.ID, err)
	}
	up, err := nanos(u.UpdatedAt)
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.ID, err)
	}
	_, err = t.exec(`INSERT INTO uploads (`+uploadCols+`) VALUES (?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at`, u.ID, u.RegistryKey, u.Repository, s, up)
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.ID, err)
	}
	return nil
}

// GetUpload implements meta.Uploads.
func (t *tx) GetUpload(id string) (meta.Upload, error) {
	u, err := scanUpload(t.tx.QueryRow(`SELECT `+uploadCols+` FROM uploads WHERE id = ?`, id))
	if err != nil {
		return u, fmt.Errorf("upload %s: %w", id, err)
	}
	return u, nil
}

// DeleteUpload implements meta.Uploads.
func (t *tx) DeleteUpload(id string) error {
	return t.execAffect("upload "+id, `DELETE FROM uploads WHERE id = ?`, id)
}

// StaleUploads implements meta.Uploads; limit <= 0 means no limit. Ties on
// UpdatedAt are broken by id so the order is stable.
func (t *tx) StaleUploads(cutoff time.Time, n int) ([]meta.Upload, error) {
	c, err := nanos(cutoff)
	if err != nil {
		return nil, fmt.Errorf("stale uploads: %w", err)
	}
	rows, err := t.tx.Query(`SELECT `+uploadCols+` FROM uploads WHERE updated_at < ? ORDER BY updated_at, id LIMIT ?`, c, limit(n))
	out, err := collect(rows, err, scanUpload)
	if err != nil {
		return nil, fmt.Errorf("stale uploads: %w", err)
	}
	return out, nil
}
