package oci

import (
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// The data plane names what each request did in the request's audit note
// (audit.Note); the server's middleware times it, measures it and writes
// the record. Repository events are ACR's: a manifest GET is a Pull, a
// manifest PUT a Push, a DELETE by digest a Delete and by tag an Untag.
// A blob GET is no record of its own; its bytes count as the pull's
// egress.

// auditIdentity names the caller as the audit trail does: a principal's
// object id, a token's name, or the admin user's name (the registry's).
func (c caller) auditIdentity(reg meta.Registry) (identity, typ string) {
	if _, name, ok := c.token(); ok {
		return name, audit.IdentityToken
	}
	if _, ok := c.admin(); ok {
		return reg.Name, audit.IdentityAdminUser
	}
	if c.principalID == "" {
		return "", audit.IdentityAnonymous
	}
	return c.principalID, audit.IdentityServicePrincipal
}

// operation is the repository event of a request, "" when it is none.
func operation(q request, method string) string {
	if q.kind != kindManifest {
		return ""
	}
	switch method {
	case http.MethodGet:
		return audit.OpPull
	case http.MethodPut:
		return audit.OpPush
	case http.MethodDelete:
		if isDigestRef(q.ref) {
			return audit.OpDelete
		}
		return audit.OpUntag
	}
	return ""
}

// noteRegistry fills in the note once the registry is known: where the
// request comes from, and, for a repository event or a blob GET, what the
// record or the egress count will say. marked is an import through the
// data plane (egress.MarkerHeader).
func (s *Service) noteRegistry(r *http.Request, c *call, marked bool) {
	n := audit.NoteFrom(r.Context())
	id, typ := c.caller.auditIdentity(c.reg)
	n.Principal = id
	addr := s.clientAddr(r)
	channel, where := audit.EgressPullPublic, "public"
	if network.Private(c.reg, addr) {
		channel, where = audit.EgressPullPrivate, "private"
	}
	if marked {
		channel = audit.EgressImportSource
	}
	op := operation(c.req, r.Method)
	if op == "" && !(c.req.kind == kindBlob && r.Method == http.MethodGet) {
		return
	}
	n.Rec = audit.Record{
		ResourceID: c.reg.ResourceID, RegistryKey: c.reg.Key, Category: audit.CategoryRepository, OperationName: op,
		CallerIPAddress: n.ClientAddr, Identity: id,
		Properties: audit.Properties{LoginServer: LoginServer(c.reg.Name, s.suffix, r.Host), Repository: c.req.repo,
			IdentityType: typ, Network: where, UserTenantID: c.caller.tenantID},
	}
	if c.req.kind == kindManifest && !isDigestRef(c.req.ref) {
		n.Rec.Properties.Tag = c.req.ref
	} else if c.req.kind == kindManifest {
		n.Rec.Properties.Digest = c.req.ref
	}
	if op == "" {
		n.CountChannel = channel
		return
	}
	n.Want = true
	if op == audit.OpPull {
		n.Rec.Egress = &audit.Egress{Channel: channel}
	}
}

// noteRefusal records a request the network rules or the egress gate
// refused, whatever it tried: every refusal is an audit record, with the
// route that was tried, and counts as a refused attempt to take content
// out of the registry.
func (s *Service) noteRefusal(r *http.Request, c *call, by string) {
	n := audit.NoteFrom(r.Context())
	id, typ := c.caller.auditIdentity(c.reg)
	op := operation(c.req, r.Method)
	if op == "" {
		op = audit.OpPull
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			op = audit.OpPush
		}
	}
	n.Principal = id
	n.Want, n.CountChannel = true, ""
	n.Rec = audit.Record{
		ResourceID: c.reg.ResourceID, RegistryKey: c.reg.Key, Category: audit.CategoryRepository, OperationName: op,
		CallerIPAddress: n.ClientAddr, Identity: id,
		Properties: audit.Properties{LoginServer: LoginServer(c.reg.Name, s.suffix, r.Host), Repository: c.req.repo,
			IdentityType: typ, Network: "public", RefusedBy: by, Route: r.Method + " " + r.URL.Path, UserTenantID: c.caller.tenantID},
		Egress: &audit.Egress{Channel: audit.EgressRefused},
	}
}

// noteLogin records a sign-in: at the token endpoints always, and on
// other routes when the credentials presented were refused. reg is the
// registry the request addresses (zero when it names none).
func (s *Service) noteLogin(r *http.Request, reg meta.Registry, who caller, user string) {
	n := audit.NoteFrom(r.Context())
	id, typ := who.auditIdentity(reg)
	if id == "" {
		id = user
	}
	n.Principal = id
	resource := reg.ResourceID
	if resource == "" {
		resource = serviceResource
	}
	n.Want, n.CountChannel = true, ""
	n.Rec = audit.Record{ResourceID: resource, RegistryKey: reg.Key, Category: audit.CategoryLogin, OperationName: audit.OpLogin,
		CallerIPAddress: n.ClientAddr, Identity: id,
		Properties: audit.Properties{LoginServer: r.Host, IdentityType: typ, Route: r.Method + " " + r.URL.Path, UserTenantID: who.tenantID}}
	if reg.Name != "" {
		n.Rec.Properties.LoginServer = LoginServer(reg.Name, s.suffix, r.Host)
	}
}

// serviceResource is the stream of sign-ins that name no registry (a
// path-mode token request without a scope, a sign-in to an unknown
// registry).
const serviceResource = "/providers/Microsoft.ContainerRegistry/loginServers/default"

// isDigestRef tells a digest reference from a tag: a tag has no colon.
func isDigestRef(ref string) bool { return strings.Contains(ref, ":") }

// registryForLogin is the registry a sign-in addresses, by name; zero
// when it names none or none of that name exists.
func (s *Service) registryForLogin(r *http.Request, name string) meta.Registry {
	var reg meta.Registry
	if name == "" {
		return reg
	}
	s.meta.View(r.Context(), func(tx meta.Tx) error {
		var err error
		reg, err = tx.RegistryByName(name)
		return err
	})
	return reg
}

// scopeRegistry is the registry a token request is for: the host's in
// host mode, else the first repository scope's.
func scopeRegistry(hostReg string, scopes []string) string {
	if hostReg != "" {
		return hostReg
	}
	for _, sc := range scopes {
		if rest, ok := strings.CutPrefix(sc, "repository:"); ok {
			if reg, _, ok := strings.Cut(rest, "/"); ok {
				return reg
			}
		}
	}
	return ""
}

// basicUser is the user name of a request's Basic credentials, if any.
func basicUser(r *http.Request) string {
	user, _, _ := r.BasicAuth()
	if len(user) > 256 {
		user = user[:256]
	}
	return user
}
