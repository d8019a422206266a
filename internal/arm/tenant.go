package arm

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// checkTenant refuses a caller whose token belongs to another tenant than
// the subscription the request addresses, before authorization looks at
// its roles: ARM's 401 InvalidAuthenticationTokenTenant, whose challenge
// names the authority to ask instead. A subscription that does not exist
// passes here and is refused where it is looked up (SubscriptionNotFound).
func checkTenant(tx meta.Tx, r *http.Request, c authz.Caller, sub string) error {
	subs, err := tx.ListSubscriptions()
	if err != nil {
		return err
	}
	for _, s := range subs {
		if !strings.EqualFold(s.ID, sub) {
			continue
		}
		if c.TenantID != "" && strings.EqualFold(s.TenantID, c.TenantID) {
			return nil
		}
		return errWrongTenant(r, c.TenantID, s.TenantID)
	}
	return nil
}

// errWrongTenant is ARM's answer, in its words, to a token of tenant have
// for a subscription of tenant want.
func errWrongTenant(r *http.Request, have, want string) error {
	authority := BaseURL(r) + "/" + want
	e := Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
		"The access token is from the wrong issuer: tenant '%.64s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) '%s' to get the token.",
		have, want, authority)
	e.Challenge = fmt.Sprintf(`Bearer authorization_uri="%s", error="invalid_token", error_description="The access token is from the wrong issuer."`, authority)
	return e.WithCause(errdef.ErrUnauthenticated)
}
