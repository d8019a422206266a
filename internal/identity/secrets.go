package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// errBadCredentials is the one answer to any credential failure, so that
// callers cannot tell an unknown client from a wrong secret.
var errBadCredentials = fmt.Errorf("invalid client credentials: %w", errdef.ErrUnauthenticated)

// verifiedSecret caches a successful bcrypt check: Basic credentials come
// with every data-plane request, and bcrypt costs tens of milliseconds.
type verifiedSecret struct {
	principal meta.Principal
	expires   time.Time
}

const (
	verifiedTTL = 5 * time.Minute
	verifiedMax = 10000
)

// NewSecret returns a random 40-character URL-safe secret. It never starts
// with '-', which command-line parsers (az login -p) take for a flag.
func NewSecret() string {
	b := make([]byte, 30)
	for {
		rand.Read(b)
		if s := base64.RawURLEncoding.EncodeToString(b); s[0] != '-' && s[0] != '_' {
			return s
		}
	}
}

// HashSecret returns the stored verifier for a secret.
func HashSecret(secret string) (meta.SecretHash, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(secret), 10)
	if err != nil {
		return meta.SecretHash{}, err
	}
	hint := secret
	if len(hint) > 3 {
		hint = hint[:3]
	}
	return meta.SecretHash{ID: uuid.NewString(), Hash: "bcrypt$" + string(h), Hint: hint}, nil
}

// VerifySecret checks a principal's client secret. Every failure returns
// the same error wrapping errdef.ErrUnauthenticated.
func (s *Service) VerifySecret(ctx context.Context, clientID, secret string) (meta.Principal, error) {
	if clientID == "" || secret == "" || len(clientID) > 256 || len(secret) > 256 {
		return meta.Principal{}, errBadCredentials
	}
	key := sha256.Sum256([]byte(clientID + "\x00" + secret))
	now := s.now()
	s.mu.Lock()
	v, ok := s.verified[key]
	s.mu.Unlock()
	if ok && now.Before(v.expires) {
		return v.principal, nil
	}
	var p meta.Principal
	if err := s.store.View(ctx, func(tx meta.Tx) (err error) {
		p, err = tx.PrincipalByClientID(clientID)
		return err
	}); err != nil {
		// Spend the same time as a real check so timing does not reveal
		// which client ids exist.
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(secret))
		return meta.Principal{}, errBadCredentials
	}
	for _, sh := range p.Secrets {
		if !sh.ExpiresAt.IsZero() && now.After(sh.ExpiresAt) {
			continue
		}
		h, ok := strings.CutPrefix(sh.Hash, "bcrypt$")
		if ok && bcrypt.CompareHashAndPassword([]byte(h), []byte(secret)) == nil {
			s.remember(key, p, now)
			return p, nil
		}
	}
	return meta.Principal{}, errBadCredentials
}

func (s *Service) remember(key [32]byte, p meta.Principal, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.verified) >= verifiedMax {
		for k, v := range s.verified {
			if now.After(v.expires) || len(s.verified) >= verifiedMax {
				delete(s.verified, k)
			}
		}
	}
	s.verified[key] = verifiedSecret{principal: p, expires: now.Add(verifiedTTL)}
}
