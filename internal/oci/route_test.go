package oci

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

func TestParsePath(t *testing.T) {
	long := "reg/" + strings.Repeat("a", 260)
	cases := []struct {
		path    string
		hostReg string
		want    request
		wantErr error
		nameBad bool
	}{
		{path: "/v2/", want: request{kind: kindBase}},
		{path: "/v2", want: request{kind: kindBase}},
		{path: "/v2/_catalog", want: request{kind: kindCatalog}},
		{path: "/v2/reg1/app/manifests/latest", want: request{kind: kindManifest, registry: "reg1", repo: "app", ref: "latest"}},
		{path: "/v2/reg1/a/b/manifests/c", want: request{kind: kindManifest, registry: "reg1", repo: "a/b", ref: "c"}},
		{path: "/v2/reg1/manifests/manifests/v1", want: request{kind: kindManifest, registry: "reg1", repo: "manifests", ref: "v1"}},
		{path: "/v2/reg1/blobs/blobs/sha256:abc", want: request{kind: kindBlob, registry: "reg1", repo: "blobs", ref: "sha256:abc"}},
		{path: "/v2/reg1/app/blobs/uploads/", want: request{kind: kindUploads, registry: "reg1", repo: "app"}},
		{path: "/v2/reg1/app/blobs/uploads", want: request{kind: kindUploads, registry: "reg1", repo: "app"}},
		{path: "/v2/reg1/app/blobs/uploads/abc-123", want: request{kind: kindUpload, registry: "reg1", repo: "app", ref: "abc-123"}},
		{path: "/v2/reg1/app/tags/list", want: request{kind: kindTags, registry: "reg1", repo: "app"}},
		{path: "/v2/reg1/app/referrers/sha256:abc", want: request{kind: kindReferrers, registry: "reg1", repo: "app", ref: "sha256:abc"}},
		{path: "/v2/app/tags/list", hostReg: "reg1", want: request{kind: kindTags, registry: "reg1", repo: "app"}},
		{path: "/v2/a/b/manifests/c", hostReg: "reg1", want: request{kind: kindManifest, registry: "reg1", repo: "a/b", ref: "c"}},
		{path: "/v2/_catalog", hostReg: "reg1", want: request{kind: kindCatalog, registry: "reg1"}},
		// Names that must be refused.
		{path: "/v2/reg1/../x/manifests/latest", nameBad: true},
		{path: "/v2/reg1/%2F/manifests/latest", nameBad: true},
		{path: "/v2/reg1/App/manifests/latest", nameBad: true},
		{path: "/v2/reg1//x/manifests/latest", nameBad: true},
		{path: "/v2/reg1/-x/manifests/latest", nameBad: true},
		{path: "/v2/onlyregistry/manifests/latest", nameBad: true},
		{path: "/v2/" + long + "/manifests/latest", nameBad: true},
		{path: "/v2/reg1/app/manifests/", wantErr: errdef.ErrNotFound},
		{path: "/v2/reg1/app/unknown", wantErr: errdef.ErrNotFound},
		{path: "/v3/", wantErr: errdef.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			got, err := parsePath(c.path, c.hostReg, c.hostReg != "")
			switch {
			case c.nameBad:
				var ni nameInvalid
				if !errors.As(err, &ni) || toAPIError(err).code != codeNameInvalid {
					t.Fatalf("want NAME_INVALID, got %v", err)
				}
			case c.wantErr != nil:
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("want %v, got %v", c.wantErr, err)
				}
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			case got != c.want:
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	for in, want := range map[string][3]int64{
		"0-99":            {0, 99, 1},
		"bytes 100-199/*": {100, 199, 1},
		"5-4":             {0, 0, 0},
		"-1-5":            {0, 0, 0},
		"abc":             {0, 0, 0},
		"1-":              {0, 0, 0},
	} {
		s, e, ok := parseContentRange(in)
		if ok != (want[2] == 1) || ok && (s != want[0] || e != want[1]) {
			t.Errorf("%q: got %d-%d %v", in, s, e, ok)
		}
	}
}

// Every wire code has a status in the one table.
func TestCodeTable(t *testing.T) {
	for _, c := range []code{codeBlobUnknown, codeBlobUploadInvalid, codeBlobUploadUnknown, codeDigestInvalid, codeManifestBlobUnknown,
		codeManifestInvalid, codeManifestUnknown, codeNameInvalid, codeNameUnknown, codeSizeInvalid, codeUnauthorized, codeDenied,
		codeUnsupported, codeTooManyRequests, codeRangeInvalid, codeUnavailable, codePaginationInvalid} {
		st := codeStatus[c]
		if st < 400 || st > 599 {
			t.Errorf("%s: status %d", c, st)
		}
		if st >= 500 && c != codeUnavailable {
			t.Errorf("%s: client errors must be 4xx, got %d", c, st)
		}
	}
	for _, row := range classTable {
		if ae := toAPIError(row.class); ae.code != row.code {
			t.Errorf("%v: got %s want %s", row.class, ae.code, row.code)
		}
	}
}
