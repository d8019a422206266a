package sqlite

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
)

func (t *tx) ensureRepository(registryKey, repo string, at int64) error {
	_, err := t.exec(`INSERT OR IGNORE INTO repositories (registry_key, name, created_at) VALUES (?,?,?)`, registryKey, repo, at)
	return err
}

func (t *tx) ListRepositories(registryKey string, p meta.Page) ([]string, error) {
	return t.strings(`SELECT name FROM repositories WHERE registry_key = ? AND name > ? ORDER BY name LIMIT ?`, registryKey, p.After, limit(p))
}

func (t *tx) RepositoryExists(registryKey, repo string) (bool, error) {
	var one int
	err := classify(t.tx.QueryRow(`SELECT 1 FROM repositories WHERE registry_key = ? AND name = ?`, registryKey, repo).Scan(&one))
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (t *tx) DeleteRepository(registryKey, repo string) error {
	if err := t.execAffect("repository "+repo, `DELETE FROM repositories WHERE registry_key = ? AND name = ?`, registryKey, repo); err != nil {
		return err
	}
	for _, table := range []string{"blob_links", "manifests", "tags", "uploads"} {
		if _, err := t.exec(`DELETE FROM `+table+` WHERE registry_key = ? AND repository = ?`, registryKey, repo); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) LinkBlob(l meta.BlobLink) error {
	if err := t.ensureRepository(l.RegistryKey, l.Repository, ts(l.CreatedAt)); err != nil {
		return err
	}
	_, err := t.exec(`INSERT OR IGNORE INTO blob_links (registry_key, repository, digest, size, created_at) VALUES (?,?,?,?,?)`,
		l.RegistryKey, l.Repository, l.Digest.String(), l.Size, ts(l.CreatedAt))
	return err
}

func (t *tx) BlobLink(registryKey, repo string, d digest.Digest) (meta.BlobLink, error) {
	l := meta.BlobLink{RegistryKey: registryKey, Repository: repo, Digest: d}
	var c int64
	err := t.tx.QueryRow(`SELECT size, created_at FROM blob_links WHERE registry_key = ? AND repository = ? AND digest = ?`,
		registryKey, repo, d.String()).Scan(&l.Size, &c)
	if err != nil {
		return l, fmt.Errorf("blob %s: %w", d, classify(err))
	}
	l.CreatedAt = fromTS(c)
	return l, nil
}

func (t *tx) UnlinkBlob(registryKey, repo string, d digest.Digest) error {
	return t.execAffect("blob "+d.String(), `DELETE FROM blob_links WHERE registry_key = ? AND repository = ? AND digest = ?`, registryKey, repo, d.String())
}

func (t *tx) BlobReferenced(d digest.Digest) (bool, error) {
	var one int
	err := classify(t.tx.QueryRow(`SELECT 1 WHERE EXISTS (SELECT 1 FROM blob_links WHERE digest = ?) OR EXISTS (SELECT 1 FROM manifests WHERE digest = ?)`,
		d.String(), d.String()).Scan(&one))
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) PutManifest(m meta.Manifest) error {
	if err := t.ensureRepository(m.RegistryKey, m.Repository, ts(m.CreatedAt)); err != nil {
		return err
	}
	ann, err := json.Marshal(m.Annotations)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO manifests (registry_key, repository, digest, media_type, size, artifact_type, subject, annotations, content, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (registry_key, repository, digest) DO UPDATE SET media_type = excluded.media_type, size = excluded.size,
		artifact_type = excluded.artifact_type, subject = excluded.subject, annotations = excluded.annotations, content = excluded.content`,
		m.RegistryKey, m.Repository, m.Digest.String(), m.MediaType, int64(len(m.Content)), m.ArtifactType, m.Subject.String(), string(ann), m.Content, ts(m.CreatedAt))
	return err
}

const manifestCols = `digest, media_type, size, artifact_type, subject, annotations, created_at`

func scanManifest(row interface{ Scan(...any) error }, registryKey, repo string, content *[]byte) (meta.Manifest, error) {
	m := meta.Manifest{RegistryKey: registryKey, Repository: repo}
	var dg, subject, ann string
	var c int64
	dest := []any{&dg, &m.MediaType, &m.Size, &m.ArtifactType, &subject, &ann, &c}
	if content != nil {
		dest = append(dest, content)
	}
	if err := row.Scan(dest...); err != nil {
		return m, classify(err)
	}
	m.Digest, m.Subject, m.CreatedAt = digest.Digest(dg), digest.Digest(subject), fromTS(c)
	if ann != "" && ann != "null" {
		if err := json.Unmarshal([]byte(ann), &m.Annotations); err != nil {
			return m, err
		}
	}
	return m, nil
}

func (t *tx) GetManifest(registryKey, repo string, d digest.Digest) (meta.Manifest, error) {
	var content []byte
	m, err := scanManifest(t.tx.QueryRow(`SELECT `+manifestCols+`, content FROM manifests WHERE registry_key = ? AND repository = ? AND digest = ?`,
		registryKey, repo, d.String()), registryKey, repo, &content)
	if err != nil {
		return m, fmt.Errorf("manifest %s: %w", d, err)
	}
	m.Content = content
	return m, nil
}

func (t *tx) DeleteManifest(registryKey, repo string, d digest.Digest) error {
	if err := t.execAffect("manifest "+d.String(), `DELETE FROM manifests WHERE registry_key = ? AND repository = ? AND digest = ?`, registryKey, repo, d.String()); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM tags WHERE registry_key = ? AND repository = ? AND digest = ?`, registryKey, repo, d.String())
	return err
}

func (t *tx) Referrers(registryKey, repo string, subject digest.Digest, artifactType string) ([]meta.Manifest, error) {
	rows, err := t.tx.Query(`SELECT `+manifestCols+` FROM manifests WHERE registry_key = ? AND repository = ? AND subject = ?
		AND (? = '' OR artifact_type = ?) ORDER BY digest`, registryKey, repo, subject.String(), artifactType, artifactType)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []meta.Manifest
	for rows.Next() {
		m, err := scanManifest(rows, registryKey, repo, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, classify(rows.Err())
}

func (t *tx) PutTag(registryKey, repo, tag string, d digest.Digest) error {
	_, err := t.exec(`INSERT INTO tags (registry_key, repository, tag, digest, updated_at) VALUES (?,?,?,?,strftime('%s','now'))
		ON CONFLICT (registry_key, repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
		registryKey, repo, tag, d.String())
	return err
}

func (t *tx) Tag(registryKey, repo, tag string) (digest.Digest, error) {
	var d string
	if err := t.tx.QueryRow(`SELECT digest FROM tags WHERE registry_key = ? AND repository = ? AND tag = ?`, registryKey, repo, tag).Scan(&d); err != nil {
		return "", fmt.Errorf("tag %s: %w", tag, classify(err))
	}
	return digest.Digest(d), nil
}

func (t *tx) DeleteTag(registryKey, repo, tag string) error {
	return t.execAffect("tag "+tag, `DELETE FROM tags WHERE registry_key = ? AND repository = ? AND tag = ?`, registryKey, repo, tag)
}

func (t *tx) ListTags(registryKey, repo string, p meta.Page) ([]string, error) {
	return t.strings(`SELECT tag FROM tags WHERE registry_key = ? AND repository = ? AND tag > ? ORDER BY tag LIMIT ?`, registryKey, repo, p.After, limit(p))
}

func (t *tx) PutUpload(u meta.Upload) error {
	_, err := t.exec(`INSERT INTO uploads (id, registry_key, repository, started_at, updated_at) VALUES (?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at`, u.ID, u.RegistryKey, u.Repository, ts(u.StartedAt), ts(u.UpdatedAt))
	return err
}

func scanUpload(row interface{ Scan(...any) error }) (meta.Upload, error) {
	var u meta.Upload
	var s, up int64
	err := row.Scan(&u.ID, &u.RegistryKey, &u.Repository, &s, &up)
	u.StartedAt, u.UpdatedAt = fromTS(s), fromTS(up)
	return u, classify(err)
}

func (t *tx) GetUpload(id string) (meta.Upload, error) {
	u, err := scanUpload(t.tx.QueryRow(`SELECT id, registry_key, repository, started_at, updated_at FROM uploads WHERE id = ?`, id))
	if err != nil {
		return u, fmt.Errorf("upload %s: %w", id, err)
	}
	return u, nil
}

func (t *tx) DeleteUpload(id string) error {
	return t.execAffect("upload "+id, `DELETE FROM uploads WHERE id = ?`, id)
}

func (t *tx) StaleUploads(cutoff time.Time, n int) ([]meta.Upload, error) {
	rows, err := t.tx.Query(`SELECT id, registry_key, repository, started_at, updated_at FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?`,
		ts(cutoff), limit(meta.Page{Limit: n}))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []meta.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, classify(rows.Err())
}

func (t *tx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.tx.Query(q, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, classify(err)
		}
		out = append(out, s)
	}
	return out, classify(rows.Err())
}
