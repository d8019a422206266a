// Package identity is Bulkhead's Entra-style token service: tenants,
// subscriptions, service principals with hashed secrets, and RS256 JWTs
// signed by a key kept in the data directory, published as a JWKS.
//
// A Service is safe for concurrent use. Everything it keeps in memory (the
// verified-secret and verified-token caches) can be rebuilt from the store
// and the key file, so several nodes may share one store (DESIGN.md,
// scale-out) as long as they share the key directory too.
package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// Options tune a Service. The zero value is valid.
type Options struct {
	// TokenTTL is the lifetime of tokens from the token endpoint. Default 1h.
	TokenTTL time.Duration
	// Now returns the current time; default time.Now (tests override it).
	Now func() time.Time
	// Guard throttles failed sign-ins at the token endpoint and bounds
	// concurrent secret checks; share one with the data plane so that both
	// count against one budget. Default: a Guard of its own, with
	// signin's default limits.
	Guard *signin.Guard
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// the token endpoint decides where a sign-in comes from.
	TrustedProxies []netip.Prefix
}

// keyFile is the signing key's file name inside the key directory.
const keyFile = "signing-key.pem"

// Service issues and verifies tokens and principals' secrets.
type Service struct {
	store meta.Store
	key   *rsa.PrivateKey
	kid   string
	ttl   time.Duration
	now   func() time.Time
	// guard throttles failed sign-ins and bounds bcrypt work; trusted are
	// the proxies whose X-Forwarded-For names the client.
	guard   *signin.Guard
	trusted []netip.Prefix

	// cacheKey keys the verified-secret cache with an HMAC rather than a bare
	// hash, so a memory dump does not give an offline oracle for secrets.
	cacheKey []byte

	mu       sync.Mutex
	verified map[[32]byte]verifiedSecret // bcrypt successes, see secrets.go
	flights  map[[32]byte]*flight        // bcrypt checks in progress
	tokens   map[[32]byte]Claims         // verified tokens, see tokens.go
}

// New returns a Service over store. It loads the RSA signing key from
// <keyDir>/signing-key.pem, creating the directory (0700) and a new
// RSA-2048 key (0600, written atomically) on first use. A key file that
// exists but cannot be parsed is an error, never silently replaced: that
// would invalidate every token clients have cached.
func New(store meta.Store, keyDir string, o Options) (*Service, error) {
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key, err := loadOrCreateKey(filepath.Join(keyDir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	kid, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if o.Guard == nil {
		o.Guard = signin.New(signin.Options{})
	}
	cacheKey := make([]byte, 32)
	rand.Read(cacheKey)
	return &Service{store: store, key: key, kid: kid, ttl: o.TokenTTL, now: o.Now, cacheKey: cacheKey, guard: o.Guard, trusted: o.TrustedProxies,
		verified: map[[32]byte]verifiedSecret{}, flights: map[[32]byte]*flight{}, tokens: map[[32]byte]Claims{}}, nil
}

// KeyID returns the kid of the signing key: base64url of the first 16
// bytes of the SHA-256 of the public key's PKIX DER.
func (s *Service) KeyID() string { return s.kid }

func keyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return parseKey(path, b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := writeFileAtomic(path, data); err != nil {
		return nil, err
	}
	return key, nil
}

func parseKey(path string, b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%s: RSA key of %d bits; at least 2048 required", path, key.N.BitLen())
	}
	return key, nil
}

// writeFileAtomic writes a 0600 file via a synced temp file and a rename,
// then syncs the directory, so that after it returns the new file survives
// a crash, and readers only ever see the old file or the whole new one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return renameDurable(tmp.Name(), path)
}

// renameDurable renames and syncs the parent directory, which makes the
// rename itself durable.
func renameDurable(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(to))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
