package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

type ociErrors struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

func expectOCIError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if code == "" {
		return
	}
	var e ociErrors
	if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Code != code {
		t.Fatalf("want error code %s, got %s", code, body)
	}
	if e.Errors[0].Message == "" {
		t.Fatalf("error without a message: %s", body)
	}
}

// Bad input gets a clear 4xx in the distribution-spec envelope, never a
// 5xx.
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "bad", "badreg", "Premium")
	p := newPusher(srv)
	const name = "badreg/app"
	layer := []byte("some layer bytes")
	config := []byte(`{}`)

	t.Run("wrong digest on monolithic upload", func(t *testing.T) {
		resp, b, _ := p.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+digestOf([]byte("other")), layer)
		expectOCIError(t, resp, b, 400, "DIGEST_INVALID")
	})
	t.Run("wrong digest on upload PUT", func(t *testing.T) {
		loc, err := p.startUpload(name)
		if err != nil {
			t.Fatal(err)
		}
		resp, b, _ := p.do("PUT", loc+"?digest="+digestOf([]byte("other")), layer)
		expectOCIError(t, resp, b, 400, "DIGEST_INVALID")
	})
	t.Run("malformed digest", func(t *testing.T) {
		resp, b, _ := p.do("GET", "/v2/"+name+"/blobs/sha256:nothex", nil)
		expectOCIError(t, resp, b, 400, "DIGEST_INVALID")
	})
	t.Run("manifest with missing blobs", func(t *testing.T) {
		m := manifestFor(config, layer)
		resp, b, _ := p.do("PUT", "/v2/"+name+"/manifests/v1", m, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		expectOCIError(t, resp, b, 400, "MANIFEST_BLOB_UNKNOWN")
	})
	t.Run("invalid names", func(t *testing.T) {
		for _, n := range []string{"badreg/App", "badreg/a..b", "badreg/-x", "badreg/" + strings.Repeat("a", 300), "badreg"} {
			resp, b, _ := p.do("GET", "/v2/"+n+"/tags/list", nil)
			expectOCIError(t, resp, b, 400, "NAME_INVALID")
		}
	})
	t.Run("unknown registry", func(t *testing.T) {
		resp, b, _ := p.do("GET", "/v2/nosuchreg/app/tags/list", nil)
		expectOCIError(t, resp, b, 404, "NAME_UNKNOWN")
	})
	t.Run("manifest over 4 MiB", func(t *testing.T) {
		big := append([]byte(`{"schemaVersion":2,"annotations":{"x":"`), bytes.Repeat([]byte("a"), 4<<20)...)
		big = append(big, []byte(`"}}`)...)
		resp, b, _ := p.do("PUT", "/v2/"+name+"/manifests/big", big, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		expectOCIError(t, resp, b, 413, "SIZE_INVALID")
	})
	t.Run("content range out of order", func(t *testing.T) {
		loc, err := p.startUpload(name)
		if err != nil {
			t.Fatal(err)
		}
		resp, b, _ := p.do("PATCH", loc, []byte("abcd"), "Content-Range", "0-3")
		if resp.StatusCode != 202 {
			t.Fatalf("first chunk: %d %s", resp.StatusCode, b)
		}
		resp, b, _ = p.do("PATCH", loc, []byte("efgh"), "Content-Range", "8-11")
		expectOCIError(t, resp, b, 416, "")
		resp, b, _ = p.do("PATCH", loc, []byte("efgh"), "Content-Range", "0-3")
		expectOCIError(t, resp, b, 416, "")
	})
	t.Run("unknown upload id", func(t *testing.T) {
		resp, b, _ := p.do("PATCH", "/v2/"+name+"/blobs/uploads/no-such-upload", []byte("x"))
		expectOCIError(t, resp, b, 404, "BLOB_UPLOAD_UNKNOWN")
		resp, b, _ = p.do("GET", "/v2/"+name+"/blobs/uploads/no-such-upload", nil)
		expectOCIError(t, resp, b, 404, "BLOB_UPLOAD_UNKNOWN")
	})
	t.Run("upload used from another repository", func(t *testing.T) {
		loc, err := p.startUpload(name)
		if err != nil {
			t.Fatal(err)
		}
		other := strings.Replace(loc, "/badreg/app/", "/badreg/other/", 1)
		resp, b, _ := p.do("PATCH", other, []byte("x"))
		expectOCIError(t, resp, b, 404, "BLOB_UPLOAD_UNKNOWN")
	})
	t.Run("malformed manifest JSON", func(t *testing.T) {
		resp, b, _ := p.do("PUT", "/v2/"+name+"/manifests/v1", []byte("{not json"), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		expectOCIError(t, resp, b, 400, "MANIFEST_INVALID")
	})
	t.Run("manifest media type mismatch", func(t *testing.T) {
		resp, b, _ := p.do("PUT", "/v2/"+name+"/manifests/v1", manifestFor(config, layer), "Content-Type", "application/vnd.oci.image.index.v1+json")
		expectOCIError(t, resp, b, 400, "MANIFEST_INVALID")
	})
	t.Run("invalid tag", func(t *testing.T) {
		resp, b, _ := p.do("PUT", "/v2/"+name+"/manifests/-bad-tag", manifestFor(config, layer), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		expectOCIError(t, resp, b, 400, "MANIFEST_INVALID")
	})
	t.Run("bad pagination", func(t *testing.T) {
		resp, b, _ := p.do("GET", "/v2/"+name+"/tags/list?n=-1", nil)
		expectOCIError(t, resp, b, 400, "")
	})
	t.Run("authorization header", func(t *testing.T) {
		for _, h := range []string{"", "Basic !!!notbase64", "Basic " + strings.Repeat("A", 20000), "Bearer garbage", "Bearer " + strings.Repeat("x.", 9000), "Negotiate abc", "Basic Og=="} {
			req, _ := http.NewRequest("GET", srv.URL+"/v2/"+name+"/tags/list", nil)
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			resp, err := srv.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e ociErrors
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != 401 || len(e.Errors) == 0 || e.Errors[0].Code != "UNAUTHORIZED" {
				t.Fatalf("%.30q: status %d %+v", h, resp.StatusCode, e)
			}
			if c := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, `Bearer realm="`+srv.URL+`/oauth2/token",service="`) {
				t.Fatalf("challenge %q", c)
			}
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/", nil)
		req.SetBasicAuth(srv.Boot.ClientID, "wrong")
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("method not allowed", func(t *testing.T) {
		resp, b, _ := p.do("POST", "/v2/"+name+"/tags/list", nil)
		expectOCIError(t, resp, b, 405, "UNSUPPORTED")
	})
}

func manifestFor(config, layer []byte) []byte {
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digestOf(layer), "size": len(layer)}},
	})
	return m
}
