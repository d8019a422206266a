// Package server owns the listener, TLS, the one middleware chain and the
// split of requests into the data plane and the management plane.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Planes are the handlers the server routes to. The management handler
// is the ARM router, which authenticates every route that is not
// anonymous (the token service) itself.
type Planes struct {
	Data       http.Handler
	Management http.Handler
	// IsData reports whether a request belongs to the data plane.
	IsData func(r *http.Request) bool
	// Audit receives the records the handlers ask for in their notes;
	// nil keeps none.
	Audit interface {
		Record(audit.Record)
		Count(registryKey, channel, identity string, bytes int64)
	}
}

// Server is a configured, not yet listening server.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	planes  Planes
	metrics *metrics
	ready   atomic.Bool
	handler http.Handler
}

// Metrics is the registry behind GET /metrics, for components outside
// the server to add their series to.
func (s *Server) Metrics() prometheus.Registerer { return s.metrics.reg }

// New builds the server's handler tree.
func New(cfg *config.Config, log *slog.Logger, planes Planes) *Server {
	s := &Server{cfg: cfg, log: log, planes: planes, metrics: newMetrics()}
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	// Readiness, unlike liveness, also fails while a local storage volume
	// is below --min-free-space: a load balancer should send pushes
	// elsewhere, and an operator should hear about it before pushes fail.
	vols := volumes(cfg)
	root.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready: not serving", http.StatusServiceUnavailable)
			return
		}
		if err := lowSpace(vols, cfg.MinFreeSpace); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.metrics.reg.MustRegister(newSpaceCollector(vols))
	root.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	root.Handle("/", planes.Management)
	s.handler = s.chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if planes.IsData(r) {
			planes.Data.ServeHTTP(w, r)
			return
		}
		root.ServeHTTP(w, r)
	}))
	return s
}

// Handler returns the full handler (for tests that serve it themselves).
func (s *Server) Handler() http.Handler { return s.handler }

// LogWrites is the management router's write hook: one log line per
// write with who did what to which resource and how it ended, and, when
// rec is set, its activity log record with the properties it changed.
// Documents are not logged; the activity log keeps what changed in them.
func LogWrites(log *slog.Logger, rec audit.Recorder) func(ctx context.Context, e arm.WriteEvent) {
	return func(ctx context.Context, e arm.WriteEvent) {
		attrs := []any{"request_id", e.RequestID, "caller", e.Caller.ClientID, "object_id", e.Caller.ObjectID, "method", e.Method,
			"action", e.Action, "resource", e.ResourceID, "status", e.Status}
		if e.Error != nil {
			attrs = append(attrs, "error", e.Error.Code)
		}
		log.InfoContext(ctx, "management write", attrs...)
		if rec != nil {
			if r, ok := activityRecord(ctx, e); ok {
				rec.Record(r)
			}
		}
	}
}

// activityRecord is the activity log's record of a write: in the stream
// of the resource's subscription, as Azure keeps activity logs.
func activityRecord(ctx context.Context, e arm.WriteEvent) (audit.Record, bool) {
	id, err := arm.ParseExtensionID(e.ResourceID) // a diagnostic setting is an extension resource
	if err != nil || id.Subscription == "" {
		return audit.Record{}, false
	}
	n := audit.NoteFrom(ctx)
	r := audit.Record{Time: e.Time, ResourceID: "/subscriptions/" + id.Subscription, Category: audit.CategoryAdministrative,
		OperationName: e.Action, ResultType: audit.ResultSucceeded, ResultDescription: strconv.Itoa(e.Status),
		Identity: e.Caller.ObjectID, CorrelationID: e.RequestID, CallerIPAddress: n.ClientAddr,
		Properties: audit.Properties{Action: e.Action, Method: e.Method, StatusCode: e.Status, Caller: e.Caller.ClientID,
			UserTenantID: e.Caller.TenantID, Target: e.ResourceID}}
	if e.Error != nil {
		r.ResultType, r.Properties.ErrorCode, r.Properties.Message = audit.ResultFailed, e.Error.Code, e.Error.Message
	} else {
		r.Properties.Changes = audit.Diff(e.Before, e.After)
	}
	return r, true
}

// Listen opens the listener with a clear error when the port is taken.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: the address is already in use; choose another with --addr or BULKHEAD_ADDR", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves on ln until ctx is cancelled, then drains in-flight
// requests for up to cfg.ShutdownTimeout. With a certificate (LoadTLS,
// SelfSignedTLS) it serves TLS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, cert *tls.Certificate) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if cert != nil {
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.ready.Store(true)
	s.log.Info("serving", "addr", ln.Addr().String(), "scheme", scheme, "data", s.cfg.DataDir, "host_mode", s.cfg.HostMode())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// LoadTLS loads the --tls-cert/--tls-key pair, so that a bad file fails
// the start before anything is written; it returns nil when TLS is off or
// self-signed.
func LoadTLS(cfg *config.Config) (*tls.Certificate, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
	}
	return &c, nil
}

// SelfSignedTLS mints (or reuses) the --tls-self-signed serving
// certificate under <data>/tls, covering the listener's and the login
// servers' names.
func SelfSignedTLS(cfg *config.Config) (*tls.Certificate, error) {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(cfg.Addr); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		hosts = append(hosts, h)
	}
	if sfx := cfg.LoginServerSuffix; sfx != "" {
		hosts = append(hosts, "*"+sfx, strings.TrimPrefix(sfx, "."))
	}
	c, err := selfSigned(filepath.Join(cfg.DataDir, "tls"), dedupe(hosts))
	if err != nil {
		return nil, fmt.Errorf("self-signed TLS: %w", err)
	}
	return &c, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range in {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
