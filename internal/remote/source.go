package remote

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/reference"
)

// Source is a registry outside this service as an import names it
// (ImportImageParameters.source.registryUri, acr-api.md §6.4).
type Source struct {
	// Host is host[:port] in lower case, IPv6 literals in brackets.
	Host string
	// Prefix is a path the uri carried after the host ("host/team"), put
	// before the source image's repository: a path-mode login server
	// such as another Bulkhead's <host>/<registry>. Empty when none.
	Prefix string
	// PlainHTTP allows http:// as well as https://. It is set when the uri
	// says http://, or names a loopback host (localhost, *.localhost, or a
	// loopback IP literal) without saying https://. Anything else is
	// reached over TLS only, redirects included.
	PlainHTTP bool
	// TLSOnly says the uri said https:// explicitly.
	TLSOnly bool
}

// String is the uri as the importer reaches it, for messages.
func (s Source) String() string {
	if s.Prefix != "" {
		return s.Host + "/" + s.Prefix
	}
	return s.Host
}

// maxSourceURI bounds the registryUri; a DNS name is at most 253 bytes.
const maxSourceURI = 512

// ParseSource reads a registryUri: [http:// | https://]host[:port][/path],
// with an optional trailing slash. It accepts a DNS name or an IP literal
// (IPv6 in brackets) and refuses user info, queries, fragments, other
// schemes and paths that are not repository name components; errors wrap
// errdef.ErrInvalidArgument.
func ParseSource(uri string) (Source, error) {
	var s Source
	bad := func(why string) (Source, error) {
		return Source{}, fmt.Errorf("the registryUri %q %s: %w", clip(uri), why, errdef.ErrInvalidArgument)
	}
	if len(uri) > maxSourceURI {
		return bad("is too long")
	}
	rest := strings.TrimSpace(uri)
	if i := strings.Index(rest, "://"); i >= 0 {
		switch strings.ToLower(rest[:i]) {
		case "https":
			s.TLSOnly = true
		case "http":
			s.PlainHTTP = true
		default:
			return bad("has a scheme other than https:// or http://")
		}
		rest = rest[i+3:]
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "@?#\\ \t\r\n") {
		return bad("may hold only a host, a port and a path")
	}
	hostport, path, _ := strings.Cut(rest, "/")
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || p[0] == '0' || p[0] == '+' {
			return bad("has an invalid port")
		}
	} else if strings.Contains(hostport, ":") && !strings.HasPrefix(hostport, "[") {
		return bad("has an invalid host or port")
	}
	host = strings.ToLower(host)
	switch {
	case strings.HasPrefix(host, "[") || strings.Contains(host, ":"):
		inner, bracketed := strings.CutPrefix(host, "[")
		if bracketed {
			inner, bracketed = strings.CutSuffix(inner, "]")
		} else {
			// SplitHostPort took the brackets off.
			bracketed = strings.HasPrefix(hostport, "[")
		}
		a, err := netip.ParseAddr(inner)
		if err != nil || !a.Is6() || a.Zone() != "" || !bracketed {
			return bad("has an invalid IPv6 address (write it in brackets)")
		}
		host = "[" + a.String() + "]"
	case !validHostname(host):
		return bad("has an invalid host name")
	}
	s.Host = host
	if port != "" {
		s.Host += ":" + port
	}
	if path != "" {
		path = strings.ToLower(path)
		if len(path) > 255 || !reference.ValidRepository(path) {
			return bad("has a path that is not a repository name")
		}
		s.Prefix = path
	}
	if !s.TLSOnly && loopbackName(host) {
		s.PlainHTTP = true
	}
	return s, nil
}

// validHostname accepts DNS names (letters, digits, hyphens, dots; labels
// of 1–63) and dotted IPv4 forms; a trailing dot is allowed.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// loopbackName reports a host that names this machine by its written
// form: localhost, *.localhost, or a loopback IP literal (IPv4-mapped
// too). It only decides whether plain HTTP is acceptable; whether a
// request reaches this service is not decided here (any spelling may),
// but by the data plane on arrival (egress.MarkerHeader).
func loopbackName(host string) bool {
	h := strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// clip bounds text quoted back in messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
