package remote

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
)

// Failures the transport itself decides; classify turns them into
// import errors.
var (
	errPlainHTTP        = errors.New("plain HTTP is not allowed for this source")
	errTooManyRedirects = errors.New("too many redirects")
	errManifestTooLarge = errors.New("manifest too large")
)

// transport is the only way the importer reaches the network: every
// request it sends, redirected hops and token requests included, goes
// through RoundTrip, which stamps egress.MarkerHeader on it. Should any
// hop land on this service (by an alias, a numeric address, a DNS name,
// a redirect or a forwarding proxy), the data plane recognizes the request
// as an import reading from the registry it addresses and asks the egress
// gate, so no road around the import's own source check reads a
// registry's content without the gate's permit. It also keeps the
// import's budgets: redirects per request, manifest size, TLS unless the
// source allows plain HTTP.
type transport struct {
	base         http.RoundTripper
	plainHTTP    bool
	maxRedirects int
	maxManifest  int64
}

// newTransport is the importer's one transport constructor. base is the
// connection layer (nil: a fresh *http.Transport with the proxy from the
// environment, closed with the import).
func newTransport(base http.RoundTripper, plainHTTP bool, maxRedirects int, maxManifest int64) *transport {
	if base == nil {
		base = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			ExpectContinueTimeout: time.Second,
		}
	}
	return &transport{base: base, plainHTTP: plainHTTP, maxRedirects: maxRedirects, maxManifest: maxManifest}
}

// RoundTrip implements http.RoundTripper. It does not modify req (it
// sends a clone).
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close() // a RoundTripper closes the body, even on error
	}
	if req.URL.Scheme != "https" && !(t.plainHTTP && req.URL.Scheme == "http") {
		return nil, fmt.Errorf("%s %s://%s: %w", req.Method, req.URL.Scheme, req.URL.Host, errPlainHTTP)
	}
	// http.Client sets Response on each request it makes to follow a
	// redirect, so the chain of Responses counts the hops so far.
	hops := 0
	for r := req.Response; r != nil && r.Request != nil; r = r.Request.Response {
		hops++
	}
	if hops > t.maxRedirects {
		return nil, fmt.Errorf("after %d redirects: %w", t.maxRedirects, errTooManyRedirects)
	}
	out := req.Clone(req.Context())
	out.Header.Del(egress.MarkerHeader)
	out.Header.Set(egress.MarkerHeader, string(egress.ChannelImportSource))
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	// A manifest stays a manifest through redirects: cap by the path of
	// the request the chain started with.
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if req.Method == http.MethodGet && strings.Contains(first.URL.Path, "/manifests/") {
		resp.Body = &capped{r: resp.Body, left: t.maxManifest}
	}
	return resp, nil
}

// CloseIdleConnections releases the base transport's idle connections.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// capped fails a body longer than its budget instead of truncating it.
type capped struct {
	r    io.ReadCloser
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errManifestTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errManifestTooLarge
	}
	return n, err
}

func (c *capped) Close() error { return c.r.Close() }
