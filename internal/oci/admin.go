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
// registry named user. ok is false when user names no registry, so the
// credentials are then tried as a service principal's. A registry whose
// admin user is disabled, or a wrong password, fails authentication.
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
		var doc struct {
			Properties struct {
				AdminUserEnabled bool `json:"adminUserEnabled"`
			} `json:"properties"`
		}
		if json.Unmarshal(reg.Document, &doc) != nil || !doc.Properties.AdminUserEnabled {
			return nil
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
	if errors.Is(err, errdef.ErrNotFound) && reg.Key == "" {
		return caller{}, false, nil // not a registry name
	}
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return caller{}, true, err
	}
	match := 0
	for _, p := range passwords {
		if p != "" {
			match |= subtle.ConstantTimeCompare([]byte(p), []byte(pass))
		}
	}
	if match != 1 {
		return caller{}, true, fmt.Errorf("invalid admin credentials for %s: %w", reg.Name, errdef.ErrUnauthenticated)
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
// registry and nothing elsewhere; everyone else needs an RBAC role.
func permits(tx meta.Tx, who caller, reg meta.Registry, action string) error {
	if key, ok := who.admin(); ok {
		if key == reg.Key {
			return nil
		}
		return fmt.Errorf("the admin user of another registry: %w", errdef.ErrDenied)
	}
	return authz.Check(tx, who.principalID, reg.ResourceID, action)
}
