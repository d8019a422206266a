// Package oci implements the OCI distribution-spec v1.1 data plane
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md)
// for many isolated registries, in path mode (/v2/<registry>/<repo>/...) and
// host mode (<registry><suffix>/v2/<repo>/...).
package oci

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// Tokens is what the data plane needs from the token service.
type Tokens interface {
	VerifySecret(ctx context.Context, clientID, secret string) (meta.Principal, error)
	Issue(c identity.Claims) (string, time.Time, error)
	Verify(token string, audiences ...string) (identity.Claims, error)
}

// Options configure a Service. Meta, Content and Tokens are required.
type Options struct {
	Meta    meta.Store
	Content content.Store
	Tokens  Tokens
	// LoginServerSuffix turns on host mode for Hosts that end in it.
	LoginServerSuffix string
	// UploadTTL is how long an untouched upload is kept. Default 24h.
	UploadTTL time.Duration
	// TokenTTL is the lifetime of data-plane access tokens. Default 1h
	// (matching ACR's 60-minute access tokens).
	TokenTTL time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// network rules decide where a request comes from.
	TrustedProxies []netip.Prefix
	// Guard throttles failed Basic sign-ins and bounds concurrent secret
	// checks; share the token service's. Default: one of its own.
	Guard  *signin.Guard
	Logger *slog.Logger
}

// Service serves the data plane.
type Service struct {
	meta      meta.Store
	blobs     content.Store
	tokens    Tokens
	suffix    string
	uploadTTL time.Duration
	tokenTTL  time.Duration
	trusted   []netip.Prefix
	guard     *signin.Guard
	log       *slog.Logger
	bufs      sync.Pool // *[]byte copy buffers
	// tokenChecks caches repository-token password checks.
	tokenChecks tokenChecks
}

// New returns a data-plane Service.
func New(o Options) *Service {
	s := &Service{meta: o.Meta, blobs: o.Content, tokens: o.Tokens, suffix: strings.ToLower(o.LoginServerSuffix),
		uploadTTL: o.UploadTTL, tokenTTL: o.TokenTTL, trusted: o.TrustedProxies, guard: o.Guard, log: o.Logger}
	if s.guard == nil {
		s.guard = signin.New(signin.Options{})
	}
	if s.uploadTTL <= 0 {
		s.uploadTTL = 24 * time.Hour
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = time.Hour
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// clientAddr is where the request comes from, for network rules.
func (s *Service) clientAddr(r *http.Request) netip.Addr {
	return network.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.trusted)
}

// IsDataPlane reports whether r belongs to this plane, so the server can
// split planes before routing.
func IsDataPlane(r *http.Request) bool {
	p := r.URL.Path
	return p == "/v2" || strings.HasPrefix(p, "/v2/") || p == "/oauth2/token" || p == "/oauth2/exchange"
}

// hostRegistry returns the registry addressed by the Host header in host
// mode, or "" when the request is in path mode.
func (s *Service) hostRegistry(r *http.Request) string {
	if s.suffix == "" {
		return ""
	}
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, ok := strings.CutSuffix(host, s.suffix)
	if !ok || name == "" || strings.Contains(name, ".") {
		return ""
	}
	return name
}

// LoginServer returns the login server of registry name as clients must
// spell it: <name><suffix> in host mode, <host>/<name> in path mode.
func LoginServer(name, suffix, host string) string {
	if suffix != "" {
		return strings.ToLower(name) + suffix
	}
	return host + "/" + strings.ToLower(name)
}

// call is the per-request state built by ServeHTTP once and handed to the
// endpoint handlers.
type call struct {
	req      request
	reg      meta.Registry // zero for base and path-mode catalog
	hostMode bool
	caller   caller
}

// name is the repository name as the client spells it.
func (c *call) name() string { return c.req.name(c.hostMode) }

// ServeHTTP is the data plane's one dispatcher: parse the path, authenticate,
// resolve the registry, authorize, then call the endpoint handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	hostReg := s.hostRegistry(r)
	hostMode := hostReg != ""
	switch r.URL.Path {
	case "/oauth2/token":
		s.serveToken(w, r, hostReg)
		return
	case "/oauth2/exchange":
		s.serveExchange(w, r, hostReg)
		return
	}
	q, err := parsePath(r.URL.Path, hostReg, hostMode)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			writeError(w, r, fail(codeNameUnknown, "unknown endpoint "+r.URL.Path))
			return
		}
		writeError(w, r, err)
		return
	}
	c := &call{req: q, hostMode: hostMode}
	rt, ok := lookupRoute(q.kind, r.Method)
	if !ok {
		w.Header().Set("Allow", strings.Join(allowedMethods(q.kind), ", "))
		writeError(w, r, fail(codeUnsupported, fmt.Sprintf("method %s not allowed here", r.Method)))
		return
	}
	c.caller, err = s.authenticate(r)
	if err != nil {
		if r.Header.Get("Authorization") != "" {
			// Every refused sign-in is recorded: wrong credentials, a
			// throttled guess, a token for another audience.
			s.noteLogin(r, s.registryForLogin(r, q.registry), caller{}, basicUser(r))
		}
		s.challenge(w, r, c, rt, err)
		return
	}
	marked := importMarked(r)
	if q.registry != "" && (q.kind != kindBase && q.kind != kindCatalog || hostMode) {
		if err := s.meta.View(r.Context(), func(tx meta.Tx) error {
			if c.reg, err = tx.RegistryByName(q.registry); err != nil {
				return err
			}
			if marked {
				if err := importSource(c.reg); err != nil {
					return err
				}
			}
			return network.Check(c.reg, s.clientAddr(r))
		}); err != nil {
			if errors.Is(err, errdef.ErrNotFound) {
				err = fail(codeNameUnknown, fmt.Sprintf("registry %q does not exist", q.registry), err)
			}
			var denied *network.Denied
			if errors.As(err, &denied) {
				s.noteRefusal(r, c, "networkRules")
				err = fail(codeDenied, denied.Error(), err)
			}
			var refused *egress.Refusal
			if errors.As(err, &refused) {
				s.noteRefusal(r, c, "egressGate")
				err = fail(codeDenied, refused.Message, err)
			}
			s.answerError(w, r, err)
			return
		}
	} else if marked && q.kind == kindCatalog {
		// An import reads one image of one registry; the service-wide
		// catalog is no part of that.
		writeError(w, r, fail(codeDenied, "an import from a registry outside this service reached its catalog; importing from this service goes through its registries' egress gate", errdef.ErrDenied))
		return
	}
	if c.reg.Key != "" {
		s.noteRegistry(r, c, marked)
	} else {
		audit.NoteFrom(r.Context()).Principal, _ = c.caller.auditIdentity(c.reg)
	}
	if q.kind == kindBase && r.Header.Get("Authorization") != "" {
		s.noteLogin(r, c.reg, c.caller, "")
	}
	if err := s.authorize(r, c, rt); err != nil {
		s.challenge(w, r, c, rt, err)
		return
	}
	switch q.kind {
	case kindBase:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
		return
	case kindCatalog:
		err = s.catalog(w, r, c)
	case kindTags:
		err = s.listTags(w, r, c)
	case kindManifest:
		err = s.manifest(w, r, c)
	case kindBlob:
		err = s.blob(w, r, c)
	case kindUploads:
		err = s.startUpload(w, r, c)
	case kindUpload:
		err = s.upload(w, r, c)
	case kindReferrers:
		err = s.referrers(w, r, c)
	}
	if err != nil {
		s.answerError(w, r, err)
	}
}

// importMarked reports whether r carries egress.MarkerHeader, with any
// value: one of this service's importers sent it (or someone who chose to
// be judged as one), so the registry it reads from is the source of an
// import into a registry of this service, whatever road the request took
// to get here.
func importMarked(r *http.Request) bool {
	return len(r.Header.Values(egress.MarkerHeader)) > 0
}

// importSource asks the egress gate whether reg may be the source of an
// import (DESIGN.md rule 1), from the facts on its row. The answer is a
// refusal or nil; the data plane moves the bytes itself, so the permit is
// not needed past the question. The target is not known here (the marker
// carries no claim a forger could use), so an import within one registry
// by a road around its names is judged as leaving it.
func importSource(reg meta.Registry) error {
	src, err := egress.RegistrySource(reg)
	if err != nil {
		return err
	}
	_, err = egress.Check(src, egress.ChannelImportSource)
	return err
}

// answerError writes err and logs a server fault. A request whose client
// went away is answered 499 (toAPIError) and not logged here: the access
// log records it.
func (s *Service) answerError(w http.ResponseWriter, r *http.Request, err error) {
	if ae := writeError(w, r, err); ae.status >= 500 {
		s.log.ErrorContext(r.Context(), "data plane failure", "path", r.URL.Path, "err", err)
	}
}
