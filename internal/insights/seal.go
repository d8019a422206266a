package insights

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// A storage account's credential (its shared key or a SAS token) is
// stored as "plain:" or "gcm:" followed by base64: the credential itself,
// or an AES-256-GCM nonce and ciphertext whose additional data is the
// account's id and the credential's kind, so a sealed credential copied
// onto another account does not open.
const (
	sealPlain = "plain:"
	sealGCM   = "gcm:"
	// minSealKey is the shortest seal key accepted.
	minSealKey = 16
)

// newAEAD derives the AES-256-GCM key from the configured one, under a
// label of its own, so the raw key (which Key Vault also derives from)
// is used for nothing else. An empty key gives a nil AEAD: no sealing.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) < minSealKey {
		return nil, fmt.Errorf("insights: the seal key is %d bytes; it needs at least %d", len(key), minSealKey)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("bulkhead storage account credential seal v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealAdditional(accountID, kind string) []byte {
	return []byte(strings.ToLower(accountID) + "\n" + kind)
}

// seal turns a credential into its stored form.
func seal(aead cipher.AEAD, value, accountID, kind string) (string, error) {
	if aead == nil {
		return sealPlain + base64.StdEncoding.EncodeToString([]byte(value)), nil
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(value)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal the credential of %s: %w", accountID, err)
	}
	out := aead.Seal(nonce, nonce, []byte(value), sealAdditional(accountID, kind))
	return sealGCM + base64.StdEncoding.EncodeToString(out), nil
}

// unseal opens a stored credential. Its errors name the account, never
// the credential.
func unseal(aead cipher.AEAD, sealed, accountID, kind string) (string, error) {
	switch {
	case strings.HasPrefix(sealed, sealPlain):
		b, err := base64.StdEncoding.DecodeString(sealed[len(sealPlain):])
		if err != nil {
			return "", fmt.Errorf("storage account %s: the stored credential is damaged", accountID)
		}
		return string(b), nil
	case strings.HasPrefix(sealed, sealGCM):
		if aead == nil {
			return "", fmt.Errorf("storage account %s: the credential is sealed and no seal key is configured", accountID)
		}
		b, err := base64.StdEncoding.DecodeString(sealed[len(sealGCM):])
		if err != nil || len(b) < aead.NonceSize() {
			return "", fmt.Errorf("storage account %s: the stored credential is damaged", accountID)
		}
		n := aead.NonceSize()
		v, err := aead.Open(nil, b[:n], b[n:], sealAdditional(accountID, kind))
		if err != nil {
			return "", fmt.Errorf("storage account %s: the credential does not open with the configured seal key", accountID)
		}
		return string(v), nil
	}
	return "", errors.New("storage account " + accountID + ": the stored credential has an unknown form")
}
