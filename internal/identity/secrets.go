package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// errBadCredentials is the one answer to any credential failure, so that
// callers cannot tell an unknown client from a wrong or expired secret.
var errBadCredentials = fmt.Errorf("invalid client credentials: %w", errdef.ErrUnauthenticated)

const (
	// bcryptCost is the work factor of stored verifiers (about 50 ms).
	bcryptCost = 10
	// hashPrefix marks the verifier format in meta.SecretHash.Hash, so that
	// another scheme can be added later without guessing.
	hashPrefix = "bcrypt$"
	// maxSecretLen is bcrypt's input limit: longer secrets are refused
	// when stored, so longer presented ones can never match.
	maxSecretLen = 72
	// maxClientIDLen bounds the client id before it reaches the store.
	maxClientIDLen = 256
	// dummyHash is a cost-10 bcrypt hash of a string no client sends. An
	// unknown client id is compared against it, so that it costs the same
	// time as a wrong secret and timing does not reveal which ids exist.
	dummyHash = "$2a$10$FODmpQF8L9dJywjK9PZbuOnO7iVtHh44LEHT5gTwZZtaUt0OWMG1i"

	verifiedTTL = 5 * time.Minute
	verifiedMax = 10000
)

// verifiedSecret caches a successful bcrypt check: Basic credentials come
// with every data-plane request, and bcrypt costs tens of milliseconds.
type verifiedSecret struct {
	principal meta.Principal
	expires   time.Time
}

// flight is one bcrypt check in progress; concurrent checks of the same
// credentials (docker pushes layers in parallel) wait for it instead of
// each paying bcrypt.
type flight struct {
	done chan struct{}
	p    meta.Principal
	err  error
}

// NewSecret returns a random 40-character URL-safe secret (240 bits). It
// never starts with '-' or '_': command-line parsers (az login -p) take a
// leading '-' for a flag.
func NewSecret() string {
	b := make([]byte, 30)
	for {
		rand.Read(b)
		if s := base64.RawURLEncoding.EncodeToString(b); s[0] != '-' && s[0] != '_' {
			return s
		}
	}
}

// HashSecret returns the stored verifier for a secret: a bcrypt hash
// (cost 10) in the "bcrypt$<hash>" format. An empty secret, or one longer
// than 72 bytes (bcrypt's limit), is an error wrapping
// errdef.ErrInvalidArgument.
func HashSecret(secret string) (meta.SecretHash, error) {
	if secret == "" || len(secret) > maxSecretLen {
		return meta.SecretHash{}, fmt.Errorf("client secret must be 1 to %d bytes, not %d: %w", maxSecretLen, len(secret), errdef.ErrInvalidArgument)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcryptCost)
	if err != nil {
		return meta.SecretHash{}, err
	}
	hint := secret
	if len(hint) > 3 {
		hint = hint[:3]
	}
	return meta.SecretHash{ID: uuid.NewString(), Hash: hashPrefix + string(h), Hint: hint}, nil
}

// canonicalClientID lower-cases a GUID client id, as Entra treats app ids
// case-insensitively; other ids are used as given.
func canonicalClientID(id string) string {
	if len(id) == 36 {
		if u, err := uuid.Parse(id); err == nil {
			return u.String()
		}
	}
	return id
}

// AddSecret generates a new secret for the principal with clientID, stores
// its verifier next to the existing ones and returns the plain secret,
// which is never stored. An unknown client is errdef.ErrNotFound.
func (s *Service) AddSecret(ctx context.Context, clientID string) (string, error) {
	secret := NewSecret()
	hash, err := HashSecret(secret)
	if err != nil {
		return "", err
	}
	clientID = canonicalClientID(clientID)
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		p, err := tx.PrincipalByClientID(clientID)
		if err != nil {
			return err
		}
		p.Secrets = append(p.Secrets, hash)
		return tx.PutPrincipal(p)
	})
	if err != nil {
		return "", fmt.Errorf("add secret to client %s: %w", clientID, err)
	}
	return secret, nil
}

// VerifySecret checks a principal's client secret and returns the
// principal, with Secrets left nil: verifiers do not leave this package.
// Every credential failure (unknown client, wrong or expired secret)
// returns the same error wrapping errdef.ErrUnauthenticated; a store
// failure returns that error instead (not ErrUnauthenticated), and a
// bcrypt comparison shed by the sign-in guard a *signin.Throttled.
//
// Successes are cached in memory for up to five minutes (never past the
// secret's expiry), so a secret removed from the store keeps working on
// this node for at most that long. Safe for concurrent use; concurrent
// checks of the same credentials share one bcrypt comparison, which runs
// in one of the guard's bounded slots. VerifySecret does not throttle
// failures: the sign-in endpoints do (signin.Guard.Attempt), since they
// know the client's address.
func (s *Service) VerifySecret(ctx context.Context, clientID, secret string) (meta.Principal, error) {
	if clientID == "" || secret == "" || len(clientID) > maxClientIDLen || len(secret) > maxSecretLen {
		return meta.Principal{}, errBadCredentials
	}
	clientID = canonicalClientID(clientID)
	mac := hmac.New(sha256.New, s.cacheKey)
	mac.Write([]byte(clientID + "\x00" + secret))
	var key [32]byte
	mac.Sum(key[:0])

	for {
		s.mu.Lock()
		if v, ok := s.verified[key]; ok && s.now().Before(v.expires) {
			s.mu.Unlock()
			return v.principal, nil
		}
		f, ok := s.flights[key]
		if !ok {
			break // with s.mu held: this caller leads
		}
		s.mu.Unlock()
		select {
		case <-f.done:
			// The leader's client went away: that ends its check, not
			// this one's, which tries again.
			if ctxEnded(f.err) && ctx.Err() == nil {
				continue
			}
			return f.p, f.err
		case <-ctx.Done():
			return meta.Principal{}, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	s.flights[key] = f
	s.mu.Unlock()

	var until time.Time
	f.p, until, f.err = s.checkSecret(ctx, clientID, secret)
	s.mu.Lock()
	delete(s.flights, key)
	if f.err == nil {
		s.remember(key, f.p, until)
	}
	s.mu.Unlock()
	close(f.done)
	return f.p, f.err
}

func ctxEnded(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// checkSecret does the uncached check, a store lookup and bcrypt (in one
// of the guard's slots), and returns how long the success may be cached.
func (s *Service) checkSecret(ctx context.Context, clientID, secret string) (meta.Principal, time.Time, error) {
	var p meta.Principal
	err := s.store.View(ctx, func(tx meta.Tx) (err error) {
		p, err = tx.PrincipalByClientID(clientID)
		return err
	})
	if errors.Is(err, errdef.ErrNotFound) {
		// As costly as a wrong secret, so that timing does not tell
		// which client ids exist.
		if err := s.guard.Check(ctx, func() { bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(secret)) }); err != nil {
			return meta.Principal{}, time.Time{}, err
		}
		return meta.Principal{}, time.Time{}, errBadCredentials
	}
	if err != nil {
		return meta.Principal{}, time.Time{}, fmt.Errorf("look up client: %w", err)
	}
	now := s.now()
	match := -1
	err = s.guard.Check(ctx, func() {
		for i, sh := range p.Secrets {
			if !sh.ExpiresAt.IsZero() && !now.Before(sh.ExpiresAt) {
				continue
			}
			h, ok := strings.CutPrefix(sh.Hash, hashPrefix)
			if ok && bcrypt.CompareHashAndPassword([]byte(h), []byte(secret)) == nil {
				match = i
				return
			}
		}
	})
	if err != nil {
		return meta.Principal{}, time.Time{}, err
	}
	if match < 0 {
		return meta.Principal{}, time.Time{}, errBadCredentials
	}
	until := now.Add(verifiedTTL)
	if exp := p.Secrets[match].ExpiresAt; !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	p.Secrets = nil
	return p, until, nil
}

// remember caches a verified secret until the given time; s.mu must be
// held. When full, it drops expired entries and then arbitrary ones: the
// cache only saves work, losing an entry costs one bcrypt.
func (s *Service) remember(key [32]byte, p meta.Principal, until time.Time) {
	now := s.now()
	if len(s.verified) >= verifiedMax {
		for k, v := range s.verified {
			if !now.Before(v.expires) || len(s.verified) >= verifiedMax {
				delete(s.verified, k)
			}
		}
	}
	s.verified[key] = verifiedSecret{principal: p, expires: until}
}
