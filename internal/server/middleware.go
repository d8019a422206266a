package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/network"
	"github.com/bulkhead-registry/bulkhead/internal/oci"
)

type requestIDKey struct{}

// notes recycles audit notes: one per request, each the size of a record.
var notes = sync.Pool{New: func() any { return new(audit.Note) }}

// RequestID returns the request id that the middleware assigned, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// chain is the one middleware chain (STYLE rule 8): normalise the path,
// request id, recover, access log and metrics, then the plane router.
func (s *Server) chain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// az sends ".../Microsoft.ContainerRegistry//registries/...";
		// ServeMux would answer with a redirect az does not follow.
		// Only runs of slashes are collapsed: ".." stays, so the data
		// plane can refuse it as an invalid name.
		for strings.Contains(r.URL.Path, "//") {
			r.URL.Path = strings.ReplaceAll(r.URL.Path, "//", "/")
			r.URL.RawPath = ""
		}
		id := newRequestID()
		note := notes.Get().(*audit.Note)
		*note = audit.Note{RequestID: id, ClientAddr: network.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies).String()}
		ctx := audit.WithNote(context.WithValue(r.Context(), requestIDKey{}, id), note)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")

		rw := &recorder{ResponseWriter: w, status: http.StatusOK}
		var body *requestBody
		if r.Body != nil && r.Body != http.NoBody {
			body = newRequestBody(w, r, s.cfg.BodyTimeout)
			r.Body, rw.body = body, body
		}
		start := time.Now()
		plane := "management"
		if oci.IsDataPlane(r) {
			plane = "data"
		}
		route := routeLabel(r)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic serving request", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(v))
				if !rw.wrote {
					rw.Header().Set("Content-Type", "application/json")
					rw.WriteHeader(http.StatusInternalServerError)
					io.WriteString(rw, `{"error":{"code":"InternalServerError","message":"internal error"}}`)
				}
			}
			elapsed := time.Since(start)
			var bytesIn int64
			if body != nil {
				bytesIn = body.n
			}
			s.metrics.observe(plane, route, r.Method, rw.status, elapsed, bytesIn, rw.n)
			s.log.Log(ctx, logLevel(rw.status, r.Context().Err()), "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rw.status, "duration_ms", float64(elapsed.Microseconds())/1000, "bytes_in", bytesIn, "bytes_out", rw.n, "remote", r.RemoteAddr,
				"principal", note.Principal, "error", note.ErrorCode)
			s.audit(note, r, rw, start, elapsed, bytesIn)
			// Handlers read the note only while they serve (none keeps
			// the request's context past its answer), so it is reused.
			*note = audit.Note{}
			notes.Put(note)
		}()
		next.ServeHTTP(rw, r)
	})
}

// logLevel is the access log's level for an answer: ERROR for a server
// fault, INFO otherwise. A request whose client went away (its context
// cancelled, ctxErr) is INFO whatever was answered: what failed after the
// client hung up is not a fault worth an operator's attention.
func logLevel(status int, ctxErr error) slog.Level {
	if status >= 500 && !errors.Is(ctxErr, context.Canceled) {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// routeLabel names the route for metrics without parsing the path twice in
// depth: data-plane endpoint kind, or the management resource type.
func routeLabel(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/healthz", p == "/metrics":
		return p
	case oci.IsDataPlane(r):
		return oci.RouteLabel(p)
	case strings.Contains(p, "/oauth2/"):
		return "identity/token"
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		switch strings.ToLower(parts[i]) {
		case "registries", "resourcegroups", "subscriptions", "providers", "tenants", "discovery", "metadata":
			if i == len(parts)-1 {
				return "arm/" + strings.ToLower(parts[i])
			}
			return "arm/" + strings.ToLower(parts[i]) + "/{name}"
		}
	}
	return "other"
}

// recorder captures status and bytes written. It implements io.ReaderFrom
// so that http.ServeContent still reaches the connection's sendfile path.
// Before an error answer it drains the request body, so that the client
// sees the answer rather than a reset connection.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
	body   *requestBody
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
		if code >= 400 && w.body != nil {
			w.body.drain()
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	w.wrote = true
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.n += n
	return n, err
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
