package keyvault

import (
	"strings"
	"testing"
)

// Sealed values open only with their key, for their secret and version,
// and errors never quote them; plain values (written before a key was
// set) still open once one is.
func TestSeal(t *testing.T) {
	if _, err := New(Options{SealKey: []byte("short")}); err == nil {
		t.Fatal("a 5-byte seal key was accepted")
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	sealed, _ := New(Options{SealKey: key})
	other, _ := New(Options{SealKey: []byte("fedcba9876543210fedcba9876543210")})
	plain, _ := New(Options{})
	const id, value = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v/secrets/x", "the-value-itself"

	s, err := sealed.seal(value, id, ver)
	if err != nil || !strings.HasPrefix(s, sealGCM) || strings.Contains(s, value) {
		t.Fatalf("seal: %q, %v", s, err)
	}
	if s2, _ := sealed.seal(value, id, ver); s2 == s {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := sealed.unseal(s, strings.ToUpper(id), ver); err != nil || got != value {
		t.Errorf("unseal: %q, %v", got, err)
	}
	for name, open := range map[string]func() (string, error){
		"another secret":  func() (string, error) { return sealed.unseal(s, id+"y", ver) },
		"another version": func() (string, error) { return sealed.unseal(s, id, strings.Repeat("f", 32)) },
		"another key":     func() (string, error) { return other.unseal(s, id, ver) },
		"no key":          func() (string, error) { return plain.unseal(s, id, ver) },
		"damaged":         func() (string, error) { return sealed.unseal(s[:len(s)-4], id, ver) },
		"unknown form":    func() (string, error) { return sealed.unseal("rot13:"+value, id, ver) },
	} {
		if got, err := open(); err == nil || got != "" || strings.Contains(err.Error(), value) {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	p, _ := plain.seal(value, id, ver)
	if got, err := sealed.unseal(p, id, ver); err != nil || got != value {
		t.Errorf("a plain value does not open with a key set: %q, %v", got, err)
	}
}
