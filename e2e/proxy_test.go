package e2e

import (
	"net"
	"net/http"
	"net/http/httputil"
	"testing"
)

// resolverProxy stands in for DNS in host-mode tests: *.cr.test names do
// not resolve on the test machines, so clients are pointed at this HTTP
// forward proxy (HTTP_PROXY) and it sends every request to the server's
// loopback address unchanged, Host header included. The server sees
// exactly what a client that resolved <registry><suffix> would send.
func resolverProxy(t *testing.T, target string) string {
	t.Helper()
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme = "http"
		pr.Out.URL.Host = target
		pr.Out.Host = pr.In.Host
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
