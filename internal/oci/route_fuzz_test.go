package oci

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// specName is the repository name grammar of distribution-spec v1.1.1
// ("Pulling manifests": <name>), spelled here from the spec rather than
// taken from package reference, so that the parser is checked against the
// spec and not against itself.
var specName = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// maxParseAllocs bounds the allocations of one parsePath call, whatever
// the path: the parser may not do work that grows with the number of
// components or separators it is given (a request path is up to 64 KiB).
const maxParseAllocs = 16

// kindSuffix rebuilds the tail of a canonical path of q.
func kindSuffix(q request) string {
	switch q.kind {
	case kindTags:
		return "/tags/list"
	case kindManifest:
		return "/manifests/" + q.ref
	case kindBlob:
		return "/blobs/" + q.ref
	case kindUploads:
		return "/blobs/uploads/"
	case kindUpload:
		return "/blobs/uploads/" + q.ref
	case kindReferrers:
		return "/referrers/" + q.ref
	}
	return ""
}

// FuzzParsePath feeds arbitrary paths to the data plane's one path parser
// in path mode and host mode. It must not panic, its work must not grow
// with the input, and whatever it accepts must be a spec-valid name within
// the length limit that the same canonical path parses back to.
func FuzzParsePath(f *testing.F) {
	for _, seed := range []string{
		"/v2/", "/v2", "/v2/_catalog", "/v3/", "", "/", "v2/", "/v2//", "/v2/_catalog/",
		"/v2/reg1/app/manifests/latest", "/v2/reg1/a/b/manifests/c", "/v2/reg1/manifests/manifests/v1",
		"/v2/reg1/blobs/blobs/sha256:abc", "/v2/reg1/app/blobs/uploads/", "/v2/reg1/app/blobs/uploads",
		"/v2/reg1/app/blobs/uploads/abc-123", "/v2/reg1/app/tags/list", "/v2/reg1/app/referrers/sha256:abc",
		"/v2/reg1/app/blobs/uploads/x/manifests/y", "/v2/reg1/x/blobs/uploads", "/v2/app/tags/list",
		"/v2/reg1/../x/manifests/latest", "/v2/reg1/%2F/manifests/latest", "/v2/reg1/App/manifests/latest",
		"/v2/reg1//x/manifests/latest", "/v2/reg1/-x/manifests/latest", "/v2/onlyregistry/manifests/latest",
		"/v2/reg1/a__b/c.d/e---f/manifests/t", "/v2/reg1/a___b/manifests/t", "/v2/reg1/a./manifests/t",
		"/v2/reg1/app/manifests/", "/v2/reg1/app/unknown", "/v2//manifests/x", "/v2/manifests/x",
		"/v2/reg1/app/manifests/a/b", "/v2/reg1/app/tags/list/tags/list", "/v2/reg1/app/blobs/",
		"/v2/reg1/é/manifests/t", "/v2/reg1/app\x00/manifests/t", "/v2/reg1/app/manifests/\x00",
		"/v2/" + strings.Repeat("a/", 127) + "a/manifests/t",
		"/v2/reg/" + strings.Repeat("a", 250) + "/tags/list",
		"/v2/" + strings.Repeat("manifests/", 200) + "manifests/x",
		"/v2/" + strings.Repeat("/blobs/uploads/", 100),
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, path string, hostMode bool) {
		hostReg := ""
		if hostMode {
			hostReg = "reg1"
		}
		q, err := parsePath(path, hostReg, hostMode)
		if allocs := testing.AllocsPerRun(1, func() { parsePath(path, hostReg, hostMode) }); allocs > maxParseAllocs {
			t.Errorf("%d allocations for a %d-byte path, want at most %d", int(allocs), len(path), maxParseAllocs)
		}
		if err != nil {
			// The dispatcher answers an unknown endpoint 404 and a bad
			// name 400 NAME_INVALID; nothing else may come out.
			var ni nameInvalid
			if !errors.As(err, &ni) && !errors.Is(err, errdef.ErrNotFound) {
				t.Fatalf("%q: refusal %v is neither a bad name nor an unknown endpoint", path, err)
			}
			return
		}
		checkAccepted(t, path, hostReg, hostMode, q)
	})
}

// checkAccepted asserts what an accepted request promises its handlers.
func checkAccepted(t *testing.T, path, hostReg string, hostMode bool, q request) {
	t.Helper()
	if q.kind < kindBase || q.kind > kindReferrers {
		t.Fatalf("%q: unknown kind %d", path, q.kind)
	}
	if q.kind == kindBase || q.kind == kindCatalog {
		if q != (request{kind: q.kind, registry: hostReg}) {
			t.Fatalf("%q: base or catalog with %+v", path, q)
		}
		return
	}
	name := q.name(hostMode)
	if !specName.MatchString(name) || len(name) > maxNameLen {
		t.Fatalf("%q: accepted name %q (%d bytes) breaks the spec's grammar or the %d-byte limit", path, name, len(name), maxNameLen)
	}
	if hostMode && q.registry != hostReg || !hostMode && (q.registry == "" || strings.Contains(q.registry, "/")) || q.repo == "" {
		t.Fatalf("%q: registry %q, repository %q", path, q.registry, q.repo)
	}
	hasRef := q.kind != kindTags && q.kind != kindUploads
	if hasRef != (q.ref != "") || strings.Contains(q.ref, "/") {
		t.Fatalf("%q: %v has reference %q", path, q.kind, q.ref)
	}
	// GET /v2/<name>/blobs/uploads is the uploads endpoint, never the blob
	// "uploads" (which is no digest): the one path that does not round-trip.
	if q.kind == kindBlob && q.ref == "uploads" {
		return
	}
	canon := "/v2/" + name + kindSuffix(q)
	if again, err := parsePath(canon, hostReg, hostMode); err != nil || again != q {
		t.Fatalf("%q parsed as %+v, but its canonical form %q parses as %+v, %v", path, q, canon, again, err)
	}
}
