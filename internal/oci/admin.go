package oci

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// adminPrincipal prefixes the principal id of a registry's admin user. The
// rest is the registry's internal key, which is never reused, so an admin
// token cannot outlive its registry into a new one of the same name. Real
// principals are GUIDs and never carry this prefix.
const adminPrincipal = "admin:"

// adminCredentialsSuffix and adminDocument mirror how the management plane
// keeps a registry's admin passwords (listCredentials returns them, so
// they are stored retrievable, as in ACR).
const adminCredentialsSuffix = "/adminCredentials/default"

type adminDocument struct {
	Passwords []string `json:"passwords"`
}

// admin reports the registry key whose admin user the caller is.
func (c caller) admin() (string, bool) {
	return strings.CutPrefix(c.principalID, adminPrincipal)
}

// adminUser checks Basic credentials against the admin user of the
// registry named user. ok is false when they are not that admin user's
// (no such registry, admin user disabled, another password), so they are
// then tried as a token's or a service principal's.
func (s *Service) adminUser(ctx context.Context, user, pass string) (c caller, ok bool, err error) {
	if !isRegistryName(user) {
		return caller{}, false, nil
	}
	var reg meta.Registry
	var passwords []string
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		if reg, err = tx.RegistryByName(user); err != nil {
			return err
		}
		if !reg.Facts.AdminUserEnabled {
			return nil // also when the facts are not derived yet: fail closed
		}
		res, err := tx.GetResource(reg.ResourceID + adminCredentialsSuffix)
		if err != nil {
			return err
		}
		var creds adminDocument
		if err := json.Unmarshal(res.Document, &creds); err != nil {
			return fmt.Errorf("admin credentials of %s: %w", reg.Name, err)
		}
		passwords = creds.Passwords
		return nil
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return caller{}, false, nil // no such registry, or no passwords yet
	}
	if err != nil {
		return caller{}, true, err
	}
	match := 0
	for _, p := range passwords {
		if p != "" {
			match |= subtle.ConstantTimeCompare([]byte(p), []byte(pass))
		}
	}
	if match != 1 {
		// Not the admin user: a token may have the registry's name.
		return caller{}, false, nil
	}
	return caller{principalID: adminPrincipal + reg.Key}, true, nil
}

// isRegistryName is the registry naming rule: 5 to 50 ASCII alphanumerics.
// Service principal client ids (GUIDs) never match it.
func isRegistryName(s string) bool {
	if len(s) < 5 || len(s) > 50 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// permits is the one permission rule of the data plane for a caller
// without a token grant: a registry's admin user may do everything in that
// registry and nothing elsewhere; a repository-scoped token what its scope
// map allows on repo ("" for the registry as a whole) in its registry;
// everyone else needs an RBAC role.
func permits(tx meta.Tx, who caller, reg meta.Registry, repo, action string) error {
	if key, ok := who.admin(); ok {
		if key == reg.Key {
			return nil
		}
		return fmt.Errorf("the admin user of another registry: %w", errdef.ErrDenied)
	}
	if key, name, ok := who.token(); ok {
		if key != reg.Key {
			return fmt.Errorf("a token of another registry: %w", errdef.ErrDenied)
		}
		_, scope, _, err := authz.TokenScope(tx, reg.ResourceID, name)
		if err != nil {
			return fmt.Errorf("token %s: %v: %w", name, err, errdef.ErrDenied)
		}
		if authz.ScopeAllows(scope.Properties.Actions, repo, scopeFor[action]) {
			return nil
		}
		return fmt.Errorf("token %s may not %s on %q: %w", name, scopeFor[action], repo, errdef.ErrDenied)
	}
	return authz.Check(tx, who.principalID, reg.ResourceID, action)
}

// scopeFor maps a data-plane RBAC action to the scope map action a token
// needs for it.
var scopeFor = map[string]string{
	authz.ActionPull:   authz.ScopeContentRead,
	authz.ActionPush:   authz.ScopeContentWrite,
	authz.ActionDelete: authz.ScopeContentDelete,
}
