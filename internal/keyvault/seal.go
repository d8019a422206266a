package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sealed values are "plain:" or "gcm:" followed by base64: the value
// itself, or an AES-256-GCM nonce and ciphertext whose additional data is
// the secret's id and version, so a sealed value copied onto another
// secret (or another version) does not open.
const (
	sealPlain = "plain:"
	sealGCM   = "gcm:"
)

// minSealKey is the shortest SealKey New accepts.
const minSealKey = 16

// newAEAD derives the AES-256-GCM key from the configured key, so any
// key of at least minSealKey bytes works and the raw key is used for
// nothing else.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) < minSealKey {
		return nil, fmt.Errorf("keyvault: the seal key is %d bytes; it needs at least %d", len(key), minSealKey)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("bulkhead keyvault secret seal v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// additional binds a sealed value to its secret and version.
func additional(secretID, version string) []byte {
	return []byte(strings.ToLower(secretID) + "\n" + version)
}

// seal turns a value into its stored form.
func (p *Provider) seal(value, secretID, version string) (string, error) {
	if p.aead == nil {
		return sealPlain + base64.StdEncoding.EncodeToString([]byte(value)), nil
	}
	nonce := make([]byte, p.aead.NonceSize(), p.aead.NonceSize()+len(value)+p.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret %s: %w", secretID, err)
	}
	out := p.aead.Seal(nonce, nonce, []byte(value), additional(secretID, version))
	return sealGCM + base64.StdEncoding.EncodeToString(out), nil
}

// unseal opens a stored value. Its errors name the secret, never the
// value.
func (p *Provider) unseal(sealed, secretID, version string) (string, error) {
	switch {
	case strings.HasPrefix(sealed, sealPlain):
		b, err := base64.StdEncoding.DecodeString(sealed[len(sealPlain):])
		if err != nil {
			return "", fmt.Errorf("secret %s: the stored value is damaged", secretID)
		}
		return string(b), nil
	case strings.HasPrefix(sealed, sealGCM):
		if p.aead == nil {
			return "", fmt.Errorf("secret %s is sealed and no seal key is configured", secretID)
		}
		b, err := base64.StdEncoding.DecodeString(sealed[len(sealGCM):])
		if err != nil || len(b) < p.aead.NonceSize() {
			return "", fmt.Errorf("secret %s: the stored value is damaged", secretID)
		}
		n := p.aead.NonceSize()
		v, err := p.aead.Open(nil, b[:n], b[n:], additional(secretID, version))
		if err != nil {
			return "", fmt.Errorf("secret %s does not open with the configured seal key", secretID)
		}
		return string(v), nil
	}
	return "", errors.New("secret " + secretID + ": the stored value has an unknown form")
}

// newVersion is a secret version: 32 random hex digits, as Key Vault's.
func newVersion() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secret version: %w", err)
	}
	return hex.EncodeToString(b), nil
}
