package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// RouterOptions configure a Router. Store and Authenticate are required.
type RouterOptions struct {
	// Store is where role assignments are read to authorize callers.
	Store meta.Store
	// Authenticate establishes the caller of a request that is not
	// anonymous. Its error is answered 401 in the ARM envelope (an *Error
	// keeps its code).
	Authenticate func(r *http.Request) (authz.Caller, error)
	// OnWrite, when set, sees every management write (any method but GET
	// and HEAD) once it has been answered: the audit capability writes the
	// activity log from it.
	OnWrite func(ctx context.Context, e WriteEvent)
	// Logger receives server faults; default slog.Default().
	Logger *slog.Logger
}

// WriteEvent is one answered management write, as the write hook sees it.
// Documents are the provider's own values; secrets are never in them.
type WriteEvent struct {
	Time       time.Time
	RequestID  string
	Caller     authz.Caller
	Method     string
	Action     string // the route's RBAC action
	ResourceID string // the route's scope, e.g. the registry's id
	Status     int
	Error      *Error // nil when the write succeeded
	Before     any    // the resource before the write (nil when new)
	After      any    // the resource after the write (nil when deleted)
}

// Router is the management plane's one router (DESIGN.md "The front
// door"). It canonicalises paths, answers unknown routes, authenticates,
// gates api-versions, reads the body under MaxBody, authorizes the
// route's action, calls the handler, writes its answer or error, and
// reports writes to the hook. It is safe for concurrent use.
type Router struct {
	opts      RouterOptions
	mux       *http.ServeMux
	tables    []Table
	canonical map[string]string // lower-case literal segment → canonical
	names     map[string]bool   // lower-case literal segments followed by a name
}

// NewRouter builds the router over tables. It refuses tables that
// CheckRoutes refuses, so an undeclared route never serves.
func NewRouter(o RouterOptions, tables ...Table) (*Router, error) {
	if err := CheckRoutes(tables...); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	rt := &Router{opts: o, mux: http.NewServeMux(), tables: tables, canonical: map[string]string{}, names: map[string]bool{}}
	for ti := range tables {
		t := &tables[ti]
		for i := range t.Routes {
			route := &t.Routes[i]
			rt.learn(route.Pattern)
			rt.mux.HandleFunc(route.Method+" "+route.Pattern, func(w http.ResponseWriter, r *http.Request) {
				rt.serve(w, r, t, route)
			})
		}
	}
	return rt, nil
}

// learn records a pattern's literal segments for CanonicalPath.
func (rt *Router) learn(pattern string) {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			if i > 0 && !strings.HasPrefix(segs[i-1], "{") {
				rt.names[strings.ToLower(segs[i-1])] = true
			}
			continue
		}
		rt.canonical[strings.ToLower(s)] = s
	}
}

// RouteInfo describes one declared route, for listings and checks.
type RouteInfo struct {
	Table, Method, Pattern, Versions, Action, Access, Egress string
}

// Routes lists the routes as built, table by table.
func (rt *Router) Routes() []RouteInfo {
	var out []RouteInfo
	for _, t := range rt.tables {
		for _, r := range t.Routes {
			out = append(out, RouteInfo{Table: t.Name, Method: r.Method, Pattern: r.Pattern, Versions: r.Versions.String(),
				Action: r.Action, Access: r.Access.String(), Egress: r.Egress.String()})
		}
	}
	return out
}

// CanonicalPath collapses repeated slashes (az sends
// "Microsoft.ContainerRegistry//registries"), drops a trailing slash and
// fixes the casing of the literal segments the routes declare; a segment
// that follows a collection keyword is a name and keeps its casing.
func (rt *Router) CanonicalPath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if i > 0 && rt.names[strings.ToLower(parts[i-1])] {
			continue
		}
		if c, ok := rt.canonical[strings.ToLower(s)]; ok {
			parts[i] = c
		}
	}
	return strings.Join(parts, "/")
}

// ServeHTTP routes one management request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = rt.CanonicalPath(r.URL.Path)
	r.URL.RawPath = ""
	SetRequestIDs(w, r)
	if _, pattern := rt.mux.Handler(r); pattern == "" {
		WriteError(w, errUnknownRoute(r.Method, r.URL.Path))
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// inProcessKey carries the caller of an in-process call (Router.Call);
// unexported, so only this package can set it.
type inProcessKey struct{}

func (rt *Router) serve(w http.ResponseWriter, r *http.Request, t *Table, route *Route) {
	handle := route.Handle
	pv, previewing := previewOf(r)
	if previewing {
		if route.Preview == nil {
			pv.unsupported = true
			WriteError(w, errNoPreview(r.Method, r.URL.Path))
			return
		}
		handle = route.Preview
	}
	q := &Request{HTTP: r, route: route, store: rt.opts.Store}
	resp, err := rt.prepare(w, r, q)
	if err == nil {
		ctx := r.Context()
		if q.Caller.ObjectID != "" {
			ctx = authz.WithPrincipal(ctx, q.Caller)
			q.HTTP = r.WithContext(ctx)
		}
		resp, err = handle(ctx, q)
	}
	status := rt.answer(w, r, t, resp, err)
	if n := audit.NoteFrom(r.Context()); !previewing && (q.Caller.ObjectID != "" || err != nil) {
		if q.Caller.ObjectID != "" {
			n.Principal = q.Caller.ObjectID
		}
		if err != nil {
			n.ErrorCode = ToError(err).Code
		}
	}
	if rt.opts.OnWrite != nil && !previewing && r.Method != http.MethodGet && r.Method != http.MethodHead && q.Caller.ObjectID != "" {
		e := WriteEvent{Time: time.Now().UTC(), RequestID: w.Header().Get(HeaderRequestID), Caller: q.Caller, Method: r.Method,
			Action: route.Action, ResourceID: q.ID.String(), Status: status}
		if err != nil {
			e.Error = ToError(err)
		} else if resp != nil {
			e.Before, e.After = resp.Before, resp.After
		}
		rt.opts.OnWrite(r.Context(), e)
	}
}

// prepare runs everything before the handler: authentication, the
// api-version gate, the scope, the body and authorization.
func (rt *Router) prepare(w http.ResponseWriter, r *http.Request, q *Request) (*Response, error) {
	route := q.route
	if route.Access.kind != accessAnonymous {
		c, ok := r.Context().Value(inProcessKey{}).(authz.Caller)
		if !ok {
			var err error
			if c, err = rt.opts.Authenticate(r); err != nil {
				return nil, unauthenticated(err)
			}
		}
		q.Caller = c
	}
	v, err := route.Versions.Check(r)
	if err != nil {
		return nil, err
	}
	q.Version = v
	if scope := scopeOf(route.Pattern, r.URL.Path); strings.HasPrefix(scope, "/subscriptions/") {
		if q.ID, err = ParseExtensionID(scope); err != nil {
			return nil, err
		}
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if q.body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody)); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge()
			}
			return nil, invalidContent("the request content could not be read")
		}
	}
	tenanted := q.Caller.ObjectID != "" && q.ID.Subscription != ""
	if route.Access.kind == accessScope || tenanted {
		err := rt.opts.Store.View(r.Context(), func(tx meta.Tx) error {
			if tenanted {
				if err := checkTenant(tx, r, q.Caller, q.ID.Subscription); err != nil {
					return err
				}
			}
			if route.Access.kind != accessScope {
				return nil
			}
			err := q.authorize(tx, q.ID.String(), route.Action)
			if errors.Is(err, errdef.ErrDenied) && q.ID.Subscription != "" && !subscriptionExists(tx, q.ID.Subscription) {
				// ARM looks the subscription up before it authorizes.
				return errSubscriptionNotFound(q.ID.Subscription)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// subscriptionExists reports whether sub is a subscription of the service;
// asked only after a refusal, so the common path pays nothing for it.
func subscriptionExists(tx meta.Tx, sub string) bool {
	subs, err := tx.ListSubscriptions()
	if err != nil {
		return true // keep the refusal
	}
	for _, s := range subs {
		if strings.EqualFold(s.ID, sub) {
			return true
		}
	}
	return false
}

// scopeOf is the request path cut after the segment that matched the
// pattern's last wildcard: the resource the route acts on.
func scopeOf(pattern, path string) string {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	last := -1
	for i, s := range ps {
		if strings.HasPrefix(s, "{") {
			last = i
		}
	}
	if last < 0 {
		return ""
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if last >= len(segs) {
		return ""
	}
	return "/" + strings.Join(segs[:last+1], "/")
}

func unauthenticated(err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return errAuthenticationFailed(err)
}

// answer writes the handler's response or error and returns the status.
func (rt *Router) answer(w http.ResponseWriter, r *http.Request, t *Table, resp *Response, err error) int {
	if err != nil {
		if r.Method == http.MethodHead {
			status := ToError(err).Status
			w.WriteHeader(status)
			return status
		}
		// A table with its own envelope owns its headers too: the token
		// service's 401 invalid_client is no Bearer challenge.
		var status int
		if t.WriteError != nil {
			status = t.WriteError(w, err)
		} else {
			ae := ToError(err)
			if ae.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
			}
			if ae.Status == http.StatusUnauthorized {
				challenge := ae.Challenge
				if challenge == "" {
					challenge = `Bearer authorization_uri="", error="invalid_token"`
				}
				w.Header().Set("WWW-Authenticate", challenge)
			}
			status = WriteError(w, err).Status
		}
		if status >= http.StatusInternalServerError {
			rt.opts.Logger.ErrorContext(r.Context(), "management request failed", "method", r.Method, "path", r.URL.Path,
				"request_id", w.Header().Get(HeaderRequestID), "err", err)
		}
		return status
	}
	if resp == nil {
		resp = &Response{Status: http.StatusOK}
	}
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if resp.AsyncOperation != "" {
		SetAsyncHeaders(w, r, resp.AsyncOperation)
	}
	if resp.LocationOperation != "" {
		SetLocationHeaders(w, r, resp.LocationOperation)
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case r.Method == http.MethodHead || resp.Body == nil && resp.Raw == nil:
		w.WriteHeader(status)
	case resp.Raw != nil:
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		w.Write(resp.Raw)
	default:
		WriteJSON(w, status, resp.Body)
	}
	return status
}

// Request is a management request parsed once (STYLE rule 7): handlers
// read the api-version, the caller, the resource id and the body from it
// and never parse the path again.
type Request struct {
	// HTTP is the request, for its host (login servers, links) and query.
	HTTP *http.Request
	// Version is the api-version the request passed the gate with,
	// lower-cased ("" on routes that take any).
	Version string
	// ID is the resource the route acts on: the path up to its last
	// wildcard, parsed (zero for routes outside /subscriptions).
	ID ID
	// Caller is the authenticated principal (zero on anonymous routes).
	Caller authz.Caller
	route  *Route
	body   []byte
	store  meta.Store
}

// Value returns a path wildcard's value, for routes whose names do not
// form a resource id (the token service's tenant).
func (q *Request) Value(name string) string { return q.HTTP.PathValue(name) }

// Body returns the request body (at most MaxBody bytes).
func (q *Request) Body() []byte { return q.body }

// Decode decodes the JSON body into v. Property names match
// case-insensitively (encoding/json v1, which ARM clients rely on:
// exportPolicy.Status=disabled). An empty or malformed body, or a value of
// the wrong type or enum, is 400 InvalidRequestContent.
func (q *Request) Decode(v any) error {
	if len(bytes.TrimSpace(q.body)) == 0 {
		return invalidContent("the request content is empty")
	}
	if err := json.Unmarshal(q.body, v); err != nil {
		return invalidContent(err.Error())
	}
	return nil
}

// Allowed reports, inside tx, whether the caller may perform the route's
// action at scope: the per-item filter of PerItem routes.
func (q *Request) Allowed(tx meta.Tx, scope string) (bool, error) {
	err := q.authorize(tx, scope, q.route.Action)
	if errors.Is(err, errdef.ErrDenied) {
		return false, nil
	}
	return err == nil, err
}

// Authorize checks, inside tx, another action at another scope (a linked
// scope, such as an import's source registry).
func (q *Request) Authorize(tx meta.Tx, scope, action string) error {
	return q.authorize(tx, scope, action)
}

func (q *Request) authorize(tx meta.Tx, scope, action string) error {
	if q.Caller.ObjectID == "" {
		return fmt.Errorf("no authenticated caller: %w", errdef.ErrUnauthenticated)
	}
	err := authz.Check(tx, q.Caller.ObjectID, scope, action)
	if errors.Is(err, errdef.ErrDenied) {
		return AuthorizationFailed(q.Caller.ClientID, q.Caller.ObjectID, action, scope)
	}
	return err
}

// Response is a handler's answer.
type Response struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Body is written as JSON; nil writes none.
	Body any
	// Raw is a body already encoded as JSON; it wins over Body.
	Raw []byte
	// Header holds extra response headers.
	Header http.Header
	// AsyncOperation is an operation-status path: the answer carries
	// Azure-AsyncOperation (PUT, PATCH).
	AsyncOperation string
	// LocationOperation is an operation-status path: the answer carries
	// the Location of its result (DELETE, POST actions answered 202).
	LocationOperation string
	// Before and After are the resource before and after a write, for the
	// write hook.
	Before, After any
}

// OK answers 200 with body.
func OK(body any) *Response { return &Response{Status: http.StatusOK, Body: body} }

// Deleted answers a DELETE that ran as an operation recorded at opPath:
// 204 when err says there was nothing to delete, err itself when it is
// another failure, else 202 with a Location that is already done.
func Deleted(opPath string, before any, err error) (*Response, error) {
	if errors.Is(err, errdef.ErrNotFound) {
		return &Response{Status: http.StatusNoContent}, nil
	}
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusAccepted, LocationOperation: opPath, Before: before}, nil
}

// DeleteDocument deletes the generic resource id in one transaction and
// answers as ARM does for a resource deleted without an operation record:
// 200 (with the old document for the write hook), or 204 when there was
// none.
func DeleteDocument(ctx context.Context, store meta.Store, id string) (*Response, error) {
	var before json.RawMessage
	err := store.Update(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(id)
		if err != nil {
			return err
		}
		before = res.Document
		return tx.DeleteResource(id)
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return &Response{Status: http.StatusNoContent}, nil
	case err != nil:
		return nil, err
	}
	return &Response{Status: http.StatusOK, Before: before}, nil
}
