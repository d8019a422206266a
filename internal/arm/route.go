package arm

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
)

// Route is one management route, declared in its provider's Table. The
// router refuses a route that does not say which RBAC action it needs and
// whether it can move content out of a registry (DESIGN.md "The front
// door"), so neither can be forgotten.
type Route struct {
	// Method is GET, HEAD, PUT, PATCH, POST or DELETE.
	Method string
	// Pattern is the path as a Go 1.22 ServeMux pattern with canonical
	// casing, e.g. "/subscriptions/{sub}/resourceGroups/{rg}".
	Pattern string
	// Versions is the api-version gate; AnyAPIVersion accepts any (or
	// none), for routes ARM serves without one.
	Versions Versions
	// Action is the RBAC action the caller needs at the route's scope
	// (the path up to its last wildcard), e.g.
	// "Microsoft.ContainerRegistry/registries/write".
	Action string
	// Access says how Action is enforced; the zero value is AtScope.
	Access Access
	// Egress is the channel by which the route can move content out of a
	// registry, or MovesNoContent with the reason it cannot.
	Egress Egress
	// Handle serves the route.
	Handle Handler
	// Preview, when set, answers the request as Handle would (the same
	// status, body and errors) but writes nothing: it is how a what-if
	// learns the document a PUT would produce (Router.Preview). A route
	// without one is predicted by its caller. A handler whose only effects
	// are its store transactions can preview itself by running on
	// PreviewStore.
	Preview Handler
}

// Handler serves one parsed request. It returns the answer, or an error
// that the route's table writes in its envelope: handlers never choose a
// status for an error.
type Handler func(ctx context.Context, q *Request) (*Response, error)

// Table is one provider's routes.
type Table struct {
	// Name names the table in listings and errors, e.g.
	// "Microsoft.ContainerRegistry".
	Name   string
	Routes []Route
	// WriteError writes a handler's error in the provider's envelope and
	// returns the status it chose; nil means the ARM envelope (WriteError).
	// It writes the whole answer, headers included: the router adds no
	// WWW-Authenticate challenge to a table's own 401s.
	WriteError func(w http.ResponseWriter, err error) int
}

type accessKind int

const (
	accessScope accessKind = iota
	accessPerItem
	accessAnyCaller
	accessAnonymous
)

// Access says how a route's Action is enforced.
type Access struct {
	kind   accessKind
	reason string
}

// AtScope checks Action at the route's scope before the handler runs. It
// is the zero Access.
func AtScope() Access { return Access{} }

// PerItem leaves the check to the handler, which filters what it returns
// item by item with Request.Allowed (lists, where ARM shows each caller
// what it may read).
func PerItem(reason string) Access { return Access{kind: accessPerItem, reason: reason} }

// AnyCaller lets every authenticated caller in, for routes that reveal
// nothing scoped (tenants, operations catalogue, provider metadata).
func AnyCaller(reason string) Access { return Access{kind: accessAnyCaller, reason: reason} }

// Anonymous serves callers without a token (the token service itself).
func Anonymous(reason string) Access { return Access{kind: accessAnonymous, reason: reason} }

// String describes the access for route listings.
func (a Access) String() string {
	switch a.kind {
	case accessPerItem:
		return "per item: " + a.reason
	case accessAnyCaller:
		return "any caller: " + a.reason
	case accessAnonymous:
		return "anonymous: " + a.reason
	}
	return "at scope"
}

// Egress says whether a route can move content out of a registry.
type Egress struct {
	channel egress.Channel
	none    string
}

// Moves declares the egress channel a route uses; its handler must get a
// permit from the gate for it.
func Moves(ch egress.Channel) Egress { return Egress{channel: ch} }

// MovesNoContent declares that a route cannot move artifact content out
// of any registry, and why.
func MovesNoContent(reason string) Egress { return Egress{none: reason} }

// Channel is the declared channel, "" for a route that moves no content.
func (e Egress) Channel() egress.Channel { return e.channel }

// String describes the egress declaration for route listings.
func (e Egress) String() string {
	if e.channel != "" {
		return "channel " + string(e.channel)
	}
	return "no content: " + e.none
}

var methods = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "PATCH": true, "POST": true, "DELETE": true}

// CheckRoutes is the default-deny rule over route tables: every route has
// a method, a pattern, a handler, an api-version gate, an action (unless
// its access says why none is needed, with a reason) and an egress
// declaration naming a known channel or a reason. It reports every
// problem at once.
func CheckRoutes(tables ...Table) error {
	var problems []string
	seen := map[string]string{}
	known := map[egress.Channel]bool{}
	for _, ch := range egress.Channels() {
		known[ch] = true
	}
	for _, t := range tables {
		for _, rt := range t.Routes {
			name := t.Name + ": " + rt.Method + " " + rt.Pattern
			bad := func(format string, args ...any) { problems = append(problems, name+": "+fmt.Sprintf(format, args...)) }
			if !methods[rt.Method] {
				bad("method %q is not an ARM method", rt.Method)
			}
			if !strings.HasPrefix(rt.Pattern, "/") {
				bad("the pattern must start with '/'")
			}
			if rt.Handle == nil {
				bad("no handler")
			}
			if !rt.Versions.declared() {
				bad("no api-version gate (use AnyAPIVersion to accept any)")
			}
			switch a := rt.Access; {
			case a.kind == accessScope && rt.Action == "":
				bad("declares no RBAC action")
			case a.kind == accessPerItem && rt.Action == "":
				bad("filters per item but declares no RBAC action")
			case a.kind != accessScope && strings.TrimSpace(a.reason) == "":
				bad("its access (%s) gives no reason", a)
			case a.kind == accessAnonymous && rt.Action != "":
				bad("anonymous routes cannot check an action")
			case a.kind == accessScope && (!strings.HasPrefix(rt.Pattern, "/subscriptions/{") || !strings.Contains(rt.Pattern, "}")):
				bad("checks its action at scope but names no resource under /subscriptions to check it at")
			}
			switch e := rt.Egress; {
			case e.channel == "" && strings.TrimSpace(e.none) == "":
				bad("declares no egress channel and no reason why it moves no content")
			case e.channel != "" && !known[e.channel]:
				bad("egress channel %q is not one of the gate's", e.channel)
			}
			key := rt.Method + " " + strings.ToLower(rt.Pattern)
			if other, dup := seen[key]; dup {
				bad("declared twice (also in %s)", other)
			}
			seen[key] = t.Name
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("route tables: %s", strings.Join(problems, "; "))
	}
	return nil
}
