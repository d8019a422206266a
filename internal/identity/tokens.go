package identity

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/golang-jwt/jwt/v5"
)

// Access is one grant in a data-plane token (Docker token spec "access"
// claim): a resource type, a name and the actions allowed on it.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Claims are the claims of every token Bulkhead signs. Entra-style tokens
// carry tid/oid/appid; data-plane tokens also carry grant_type and access.
type Claims struct {
	jwt.RegisteredClaims
	TenantID  string   `json:"tid,omitempty"`
	ObjectID  string   `json:"oid,omitempty"`
	AppID     string   `json:"appid,omitempty"`
	GrantType string   `json:"grant_type,omitempty"`
	Access    []Access `json:"access,omitempty"`
}

// Issue signs claims with the service key (RS256, kid header) and returns
// the token and its expiry. A missing iat gets now and a missing exp gets
// now plus the token lifetime; the caller sets everything else (iss, aud,
// sub, …).
func (s *Service) Issue(c Claims) (string, time.Time, error) {
	now := s.now()
	if c.IssuedAt == nil {
		c.IssuedAt = jwt.NewNumericDate(now)
	}
	if c.ExpiresAt == nil {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(s.ttl))
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", time.Time{}, err
	}
	return signed, c.ExpiresAt.Time, nil
}

// Verify checks a token's signature (RS256 with our key only), its
// lifetime (exp is required; one minute of skew on exp and nbf), and, when
// audiences are given, that its audience is one of them. It does not check
// the issuer, which names the host the token was requested through. Errors
// wrap errdef.ErrUnauthenticated. Verified tokens are cached until they
// expire, so repeated checks of one token skip the RSA work.
func (s *Service) Verify(token string, audiences ...string) (Claims, error) {
	var c Claims
	if len(token) > 16<<10 {
		return c, fmt.Errorf("token too long: %w", errdef.ErrUnauthenticated)
	}
	// Data-plane clients send the same token on every request; an RSA
	// verification costs more than the rest of a small request.
	key := sha256.Sum256([]byte(token))
	if c, ok := s.cachedToken(key); ok {
		if len(audiences) > 0 && !audienceMatches(c.Audience, audiences) {
			return Claims{}, fmt.Errorf("token audience %v not accepted: %w", c.Audience, errdef.ErrUnauthenticated)
		}
		return c, nil
	}
	_, err := jwt.ParseWithClaims(token, &c, s.keyFunc,
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithLeeway(time.Minute), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	if err != nil {
		return Claims{}, fmt.Errorf("invalid token: %v: %w", err, errdef.ErrUnauthenticated)
	}
	s.rememberToken(key, c)
	if len(audiences) > 0 && !audienceMatches(c.Audience, audiences) {
		return Claims{}, fmt.Errorf("token audience %v not accepted: %w", c.Audience, errdef.ErrUnauthenticated)
	}
	return c, nil
}

// keyFunc returns our public key. Only RS256 reaches it (WithValidMethods
// rejects none, HS256 and the rest before), and a kid, when present, must
// be ours.
func (s *Service) keyFunc(t *jwt.Token) (any, error) {
	if kid, ok := t.Header["kid"]; ok && kid != s.kid {
		return nil, fmt.Errorf("unknown key id %v", kid)
	}
	return &s.key.PublicKey, nil
}

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 10000

func (s *Service) cachedToken(key [32]byte) (Claims, bool) {
	s.mu.Lock()
	c, ok := s.tokens[key]
	s.mu.Unlock()
	// Re-check expiry on every hit: a cached token stays valid only for its
	// own lifetime.
	if !ok || c.ExpiresAt == nil || !s.now().Before(c.ExpiresAt.Time.Add(time.Minute)) {
		return Claims{}, false
	}
	return c, true
}

func (s *Service) rememberToken(key [32]byte, c Claims) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) >= maxCachedTokens {
		now := s.now()
		for k, v := range s.tokens {
			if len(s.tokens) < maxCachedTokens/2 && !now.After(v.ExpiresAt.Time) {
				break
			}
			delete(s.tokens, k)
		}
	}
	s.tokens[key] = c
}

func audienceMatches(have jwt.ClaimStrings, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// jwk is one key of the JWKS document.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func publicJWK(pub *rsa.PublicKey, kid string) jwk {
	return jwk{Kty: "RSA", Use: "sig", Kid: kid, Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}
