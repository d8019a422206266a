// Package identity is Bulkhead's Entra-style token service: tenants,
// subscriptions, service principals with hashed secrets, and RS256 JWTs
// signed by a key kept in the data directory, published as a JWKS.
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
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"golang.org/x/crypto/bcrypt"
)

// Options tune a Service. The zero value is valid.
type Options struct {
	// TokenTTL is the lifetime of tokens from the token endpoint. Default 1h.
	TokenTTL time.Duration
	// Now returns the current time; default time.Now (tests override it).
	Now func() time.Time
}

// Service issues and verifies tokens and principals' secrets.
type Service struct {
	store meta.Store
	key   *rsa.PrivateKey
	kid   string
	ttl   time.Duration
	now   func() time.Time

	mu        sync.Mutex
	verified  map[[32]byte]verifiedSecret // cache of bcrypt successes
	dummyHash []byte                      // compared against for unknown client ids
	tokens    map[[32]byte]Claims         // cache of verified tokens
}

// New loads (or creates on first use) the signing key in keyDir.
func New(store meta.Store, keyDir string, o Options) (*Service, error) {
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key, err := loadOrCreateKey(filepath.Join(keyDir, "signing-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	dummy, err := bcrypt.GenerateFromPassword([]byte(NewSecret()), 10)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:16]),
		ttl: o.TokenTTL, now: o.Now, verified: map[[32]byte]verifiedSecret{}, dummyHash: dummy, tokens: map[[32]byte]Claims{}}, nil
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s: no PEM block", path)
		}
		return x509.ParsePKCS1PrivateKey(block.Bytes)
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

// writeFileAtomic writes a 0600 file via a synced temp file and a rename,
// so readers see the old file or the whole new one.
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
	return os.Rename(tmp.Name(), path)
}
