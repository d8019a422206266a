package oci

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// tokenPrincipal prefixes the principal id of a repository-scoped token:
// token:<registry key>:<token name>. The key is never reused, so the
// token's access tokens die with its registry.
const tokenPrincipal = "token:"

// token reports the registry key and name of a token caller.
func (c caller) token() (key, name string, ok bool) {
	rest, ok := strings.CutPrefix(c.principalID, tokenPrincipal)
	if !ok {
		return "", "", false
	}
	key, name, ok = strings.Cut(rest, ":")
	return key, name, ok
}

// boundTo is the registry key of a caller that exists only inside one
// registry (its admin user or one of its tokens).
func (c caller) boundTo() (string, bool) {
	if key, ok := c.admin(); ok {
		return key, true
	}
	key, _, ok := c.token()
	return key, ok
}

// tokenChecks caches successful bcrypt checks of token passwords, keyed by
// an HMAC of the token's stamp and the password: a changed token, scope map
// or password set changes the stamp, so nothing stale is trusted.
type tokenChecks struct {
	once sync.Once
	key  []byte
	mu   sync.Mutex
	ok   map[string]time.Time
}

const tokenCheckTTL = 5 * time.Minute

func (t *tokenChecks) id(stamp, password string) string {
	t.once.Do(func() {
		t.key = make([]byte, 32)
		rand.Read(t.key)
		t.ok = map[string]time.Time{}
	})
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(stamp + "\x00" + password))
	return hex.EncodeToString(m.Sum(nil))
}

func (t *tokenChecks) known(id string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.ok[id]
	return ok && now.Before(exp)
}

func (t *tokenChecks) remember(id string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ok) > 10000 {
		for k, exp := range t.ok {
			if !now.Before(exp) || len(t.ok) > 10000 {
				delete(t.ok, k)
			}
		}
	}
	t.ok[id] = now.Add(tokenCheckTTL)
}

// tokenUser checks Basic credentials as a repository-scoped token of the
// registry the request addresses (by host, path or token scope), or, for
// a request that names none (docker login's GET /v2/ in path mode), of
// any registry with a token of that name. ok is false when no such token
// exists.
func (s *Service) tokenUser(r *http.Request, user, pass string) (caller, bool, error) {
	if !authz.ValidTokenName(user) {
		return caller{}, false, nil // a service principal's client id, or nobody's
	}
	// The candidates are read in one transaction; their bcrypt checks run
	// after it, in the guard's bounded slots, so that no read transaction
	// waits on them.
	type candidate struct {
		key    string
		in     authz.TokenSignIn
		hashes map[string]string
	}
	var found bool
	var cands []candidate
	err := s.meta.View(r.Context(), func(tx meta.Tx) error {
		regs, err := s.tokenRegistries(tx, r, user)
		if err != nil {
			return err
		}
		for _, reg := range regs {
			in, hashes, err := authz.LoadTokenSignIn(tx, reg.ResourceID, user)
			if errors.Is(err, errdef.ErrNotFound) {
				continue
			}
			found = true
			if errors.Is(err, errdef.ErrUnauthenticated) {
				continue // disabled
			}
			if err != nil {
				return err
			}
			cands = append(cands, candidate{key: reg.Key, in: in, hashes: hashes})
		}
		return nil
	})
	if err != nil {
		return caller{}, true, err
	}
	now := time.Now()
	for _, c := range cands {
		id := s.tokenChecks.id(c.in.Stamp, pass)
		if !s.tokenChecks.known(id, now) {
			var match bool
			if err := s.guard.Check(r.Context(), func() { match = authz.CheckTokenPassword(c.in, c.hashes, pass, now) == nil }); err != nil {
				return caller{}, true, err
			}
			if !match {
				continue
			}
			s.tokenChecks.remember(id, now)
		}
		return caller{principalID: tokenPrincipal + c.key + ":" + c.in.Token.Name}, true, nil
	}
	if found {
		return caller{}, true, errors.Join(errors.New("invalid token credentials"), errdef.ErrUnauthenticated)
	}
	return caller{}, false, nil
}

// tokenRegistries lists the registries whose token user may be.
func (s *Service) tokenRegistries(tx meta.Tx, r *http.Request, user string) ([]meta.Registry, error) {
	var names []string
	switch host, path := s.hostRegistry(r), r.URL.Path; {
	case host != "":
		names = []string{host}
	case path == "/oauth2/token":
		scopes := r.URL.Query()["scope"]
		for _, sc := range r.PostForm["scope"] {
			scopes = append(scopes, strings.Fields(sc)...)
		}
		for _, sc := range scopes {
			if rest, ok := strings.CutPrefix(sc, "repository:"); ok {
				if reg, _, ok := strings.Cut(rest, "/"); ok {
					names = append(names, reg)
				}
			}
		}
	case strings.HasPrefix(path, "/v2/") && !strings.HasPrefix(path, "/v2/_catalog"):
		if reg, _, _ := strings.Cut(strings.TrimPrefix(path, "/v2/"), "/"); reg != "" {
			names = []string{reg}
		}
	}
	var regs []meta.Registry
	if len(names) == 0 {
		rows, err := tx.ListResources("", authz.TokenType, meta.Page{Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			reg, tok, ok := strings.Cut(row.ID, "/tokens/")
			if ok && strings.EqualFold(tok, user) {
				names = append(names, reg[strings.LastIndex(reg, "/")+1:])
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n = strings.ToLower(n); seen[n] {
			continue
		}
		seen[n] = true
		reg, err := tx.RegistryByName(n)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		regs = append(regs, reg)
	}
	return regs, nil
}
