package remote

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/google/go-containerregistry/pkg/name"
)

// Whatever the uri, ParseSource answers a Source or an invalid argument,
// never panics, and a Source it accepts is one the registry library
// accepts and that a URL carries back unchanged as its host: nothing in
// it can smuggle user info, a path or a query into the requests.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"docker.io", "https://ghcr.io/", "http://h:5000/a/b", "[::1]:1", "127.0.0.1:5001", "user@h", "h?q", "h:99999",
		"[::ffff:127.0.0.1]:80", "2130706433", "0x7f.1:5000", "h/../x", "H:1/A", "[fe80::1%25eth0]", "h\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		s, err := ParseSource(uri)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidArgument) {
				t.Fatalf("ParseSource(%q): %v is not an invalid argument", uri, err)
			}
			return
		}
		if s.Host == "" || s.Host != strings.ToLower(s.Host) || s.PlainHTTP && s.TLSOnly {
			t.Fatalf("ParseSource(%q) = %+v", uri, s)
		}
		u, err := url.Parse("https://" + s.Host + "/v2/")
		if err != nil || u.Host != s.Host || u.User != nil || u.Path != "/v2/" || u.RawQuery != "" {
			t.Fatalf("ParseSource(%q) = %+v does not make a clean URL: %v %+v", uri, s, err, u)
		}
		if _, err := name.NewRegistry(s.Host); err != nil {
			t.Fatalf("ParseSource(%q) = %+v, which the registry library refuses: %v", uri, s, err)
		}
		if s.Prefix != "" {
			if _, err := name.NewRepository(s.Host + "/" + s.Prefix + "/app"); err != nil {
				t.Fatalf("ParseSource(%q) prefix %q: %v", uri, s.Prefix, err)
			}
		}
	})
}
