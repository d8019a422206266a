package identity

import (
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
)

// maxAuthorization bounds the Authorization header the management plane
// reads; Verify refuses longer tokens anyway.
const maxAuthorization = 16 << 10

// AuthenticateARM is the management plane's authentication: the request
// must carry "Authorization: Bearer <token>" with a token from this
// service's token endpoint. A missing, oversized or non-Bearer header is
// ARM's 401 AuthenticationFailed; a token that does not verify, or a
// data-plane token (one with a grant_type or without an object id), is
// 401 InvalidAuthenticationToken; a token for another audience
// (Claims.ForManagement) is 401 InvalidAuthenticationTokenAudience. All
// are *arm.Error values wrapping errdef.ErrUnauthenticated, so arm's
// router answers with their codes. The token's tenant is checked by the
// router against the subscription addressed. Safe for concurrent use.
func (s *Service) AuthenticateARM(r *http.Request) (authz.Caller, error) {
	h := r.Header.Get("Authorization")
	kind, tok, _ := strings.Cut(h, " ")
	if h == "" || len(h) > maxAuthorization || !strings.EqualFold(kind, "bearer") {
		return authz.Caller{}, errNoBearer()
	}
	claims, err := s.Verify(strings.TrimSpace(tok))
	if err != nil || claims.GrantType != "" || claims.ObjectID == "" {
		return authz.Caller{}, errInvalidToken()
	}
	if !claims.ForManagement() {
		return authz.Caller{}, errWrongAudience(r, claims)
	}
	return claims.Caller(), nil
}
