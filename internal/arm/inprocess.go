package arm

import (
	"bytes"
	"context"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
)

// Call is one management request made in process, as a template
// deployment applies a resource: it runs through the same router (api-version
// gate, authorization of its own route's action, handler, write hook) as
// a request from the network, on behalf of the deploying caller.
type Call struct {
	Method string
	// Path is the resource path with its query (?api-version=…).
	Path string
	Body []byte
}

// Result is an in-process call's answer.
type Result struct {
	Status int
	Body   []byte
}

// Dispatcher makes in-process management calls. *Router implements it;
// providers that apply other providers' resources take this interface.
type Dispatcher interface {
	Call(ctx context.Context, base *http.Request, c Call) Result
}

// Call serves c as the caller in ctx (authz.CallerFromContext), on the
// host and scheme of base, so rendered links and login servers match the
// outer request.
func (rt *Router) Call(ctx context.Context, base *http.Request, c Call) Result {
	caller, err := authz.CallerFromContext(ctx)
	if err != nil {
		w := newMemWriter()
		WriteError(w, unauthenticated(err))
		return Result{Status: w.status, Body: w.buf.Bytes()}
	}
	ctx = context.WithValue(ctx, inProcessKey{}, caller)
	r, err := http.NewRequestWithContext(ctx, c.Method, "http://in-process"+c.Path, bytes.NewReader(c.Body))
	if err != nil {
		w := newMemWriter()
		WriteError(w, errInvalidRequestURI(c.Path))
		return Result{Status: w.status, Body: w.buf.Bytes()}
	}
	r.Host, r.TLS = base.Host, base.TLS
	r.Header.Set("Content-Type", "application/json")
	w := newMemWriter()
	rt.ServeHTTP(w, r)
	return Result{Status: w.status, Body: w.buf.Bytes()}
}

// memWriter collects an in-process answer.
type memWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func newMemWriter() *memWriter { return &memWriter{header: http.Header{}} }

func (m *memWriter) Header() http.Header { return m.header }

func (m *memWriter) WriteHeader(status int) {
	if m.status == 0 {
		m.status = status
	}
}

func (m *memWriter) Write(b []byte) (int, error) {
	if m.status == 0 {
		m.status = http.StatusOK
	}
	return m.buf.Write(b)
}
