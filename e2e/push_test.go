package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// pusher is a minimal distribution-spec client using Basic credentials,
// for tests that need control over each request.
type pusher struct {
	base, user, pass string
	client           *http.Client
}

func newPusher(srv *testserver.Server) *pusher {
	return &pusher{base: srv.URL, user: srv.Boot.ClientID, pass: srv.Boot.ClientSecret, client: srv.Client}
}

func (p *pusher) do(method, path string, body []byte, hdr ...string) (*http.Response, []byte, error) {
	url := path
	if !strings.HasPrefix(path, "http") {
		url = p.base + path
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth(p.user, p.pass)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func digestOf(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// startUpload opens an upload session and returns its Location.
func (p *pusher) startUpload(name string) (string, error) {
	resp, b, err := p.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST upload: %d %s", resp.StatusCode, b)
	}
	return resp.Header.Get("Location"), nil
}

// pushChunked uploads blob in chunks of chunk bytes.
func (p *pusher) pushChunked(name string, blob []byte, chunk int) error {
	loc, err := p.startUpload(name)
	if err != nil {
		return err
	}
	for off := 0; off < len(blob); off += chunk {
		end := min(off+chunk, len(blob))
		resp, b, err := p.do("PATCH", loc, blob[off:end], "Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, end-1))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("PATCH: %d %s", resp.StatusCode, b)
		}
		loc = resp.Header.Get("Location")
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	resp, b, err := p.do("PUT", loc+sep+"digest="+digestOf(blob), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT: %d %s", resp.StatusCode, b)
	}
	return nil
}

// pushImage pushes config+layer blobs and a manifest tagged tag, returning
// the manifest digest.
func (p *pusher) pushImage(name, tag string, layer []byte) (string, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	for _, b := range [][]byte{config, layer} {
		if err := p.pushChunked(name, b, 64<<10); err != nil {
			return "", err
		}
	}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digestOf(layer), "size": len(layer)}},
	})
	resp, b, err := p.do("PUT", "/v2/"+name+"/manifests/"+tag, m, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("PUT manifest: %d %s", resp.StatusCode, b)
	}
	return digestOf(m), nil
}
