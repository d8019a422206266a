package oci

import (
	"net/http"
	"slices"

	"github.com/bulkhead-registry/bulkhead/internal/egress"
)

// route is one data-plane route: an endpoint and a method, the token
// action the caller needs on the addressed repository, and whether
// content can leave the registry through it. The dispatcher answers only
// what this table lists (anything else is 405 with the Allow the table
// gives) and asks for the action it names, so the table is the plane as
// built; TestRoutes in package server walks it with the management
// plane's.
type route struct {
	kind   kind
	method string
	// action is "pull", "push" or "delete" on the repository; access
	// explains a route that needs no repository action instead.
	action, access string
	// channel is the egress channel, or "" with noContent saying why the
	// route moves no content out of the registry.
	channel   egress.Channel
	noContent string
}

// Why routes move no content out; pulls name the channel they use, which
// the network gate decides for every request.
const (
	inbound  = "brings content in (push); nothing leaves"
	metadata = "lists names or digests, never artifact content"
	deleting = "deletes content; nothing leaves"
	baseOnly = "answers {} to check the API version and credentials"
)

var routes = []route{
	{kind: kindBase, method: http.MethodGet, access: "any authenticated caller (the API version check)", noContent: baseOnly},
	{kind: kindBase, method: http.MethodHead, access: "any authenticated caller (the API version check)", noContent: baseOnly},
	{kind: kindCatalog, method: http.MethodGet, access: "filtered to the repositories the caller may pull (registry:catalog:* for tokens)", noContent: metadata},
	{kind: kindTags, method: http.MethodGet, action: "pull", noContent: metadata},
	{kind: kindManifest, method: http.MethodGet, action: "pull", channel: egress.ChannelPublicPull},
	{kind: kindManifest, method: http.MethodHead, action: "pull", noContent: "answers headers only"},
	{kind: kindManifest, method: http.MethodPut, action: "push", noContent: inbound},
	{kind: kindManifest, method: http.MethodDelete, action: "delete", noContent: deleting},
	{kind: kindBlob, method: http.MethodGet, action: "pull", channel: egress.ChannelPublicPull},
	{kind: kindBlob, method: http.MethodHead, action: "pull", noContent: "answers headers only"},
	{kind: kindBlob, method: http.MethodDelete, action: "delete", noContent: deleting},
	{kind: kindUploads, method: http.MethodPost, action: "push", channel: egress.ChannelCrossRegistryMount},
	{kind: kindUpload, method: http.MethodGet, action: "pull", noContent: "reports an upload's progress"},
	{kind: kindUpload, method: http.MethodPatch, action: "push", noContent: inbound},
	{kind: kindUpload, method: http.MethodPut, action: "push", noContent: inbound},
	// Whoever may open an upload session may cancel it: podman and regctl
	// cancel the session a refused mount hands them, often with a
	// push-only token. Only committed content needs "delete".
	{kind: kindUpload, method: http.MethodDelete, action: "push", noContent: "cancels an upload; committed content is untouched"},
	{kind: kindReferrers, method: http.MethodGet, action: "pull", noContent: metadata},
}

// kindPatterns spell each endpoint for listings (path mode).
var kindPatterns = map[kind]string{
	kindBase: "/v2/", kindCatalog: "/v2/_catalog", kindTags: "/v2/<registry>/<name>/tags/list",
	kindManifest: "/v2/<registry>/<name>/manifests/<reference>", kindBlob: "/v2/<registry>/<name>/blobs/<digest>",
	kindUploads: "/v2/<registry>/<name>/blobs/uploads/", kindUpload: "/v2/<registry>/<name>/blobs/uploads/<id>",
	kindReferrers: "/v2/<registry>/<name>/referrers/<digest>",
}

// lookupRoute finds the route of (k, method).
func lookupRoute(k kind, method string) (route, bool) {
	for _, r := range routes {
		if r.kind == k && r.method == method {
			return r, true
		}
	}
	return route{}, false
}

// allowedMethods lists the methods an endpoint supports, for 405 answers.
func allowedMethods(k kind) []string {
	var out []string
	for _, r := range routes {
		if r.kind == k && !slices.Contains(out, r.method) {
			out = append(out, r.method)
		}
	}
	return out
}

// RouteInfo describes one data-plane route for listings and checks.
type RouteInfo struct {
	Method, Pattern string
	// Action is the repository action needed ("" when Access explains why
	// none applies).
	Action, Access string
	// Channel is the egress channel ("" when NoContent says why none).
	Channel, NoContent string
}

// Routes lists the data plane's routes as the dispatcher serves them,
// including the token endpoints.
func Routes() []RouteInfo {
	out := []RouteInfo{
		{Method: "GET", Pattern: "/oauth2/token", Access: "anonymous: the Docker token endpoint checks the credentials it is given",
			NoContent: "issues access tokens for the addressed registry"},
		{Method: "POST", Pattern: "/oauth2/token", Access: "anonymous: the OAuth2 token endpoint checks the credentials it is given",
			NoContent: "issues access tokens for the addressed registry"},
		{Method: "POST", Pattern: "/oauth2/exchange", Access: "anonymous: exchanges an Entra token it verifies for a refresh token",
			NoContent: "issues refresh tokens for the addressed registry"},
	}
	for _, r := range routes {
		out = append(out, RouteInfo{Method: r.method, Pattern: kindPatterns[r.kind], Action: r.action, Access: r.access,
			Channel: string(r.channel), NoContent: r.noContent})
	}
	return out
}
