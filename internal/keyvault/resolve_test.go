package keyvault

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

const ver = "0123456789abcdef0123456789abcdef"

func TestParseSecretURI(t *testing.T) {
	good := map[string]SecretRef{
		"https://pipes.vault.azure.net/secrets/sas":                               {Vault: "pipes", Secret: "sas"},
		"https://pipes.vault.azure.net/secrets/sas/":                              {Vault: "pipes", Secret: "sas"},
		"HTTPS://Pipes.VAULT.azure.net/SECRETS/Sas":                               {Vault: "pipes", Secret: "Sas"},
		"https://pipes.vault.azure.net:443/secrets/sas":                           {Vault: "pipes", Secret: "sas"},
		"https://pipes.vault.azure.net/secrets/sas/" + ver:                        {Vault: "pipes", Secret: "sas", Version: ver},
		"https://pipes.vault.azure.net/secrets/sas/" + strings.ToUpper(ver) + "/": {Vault: "pipes", Secret: "sas", Version: ver},
		"https://a-b-c.vault.azure.net/secrets/" + strings.Repeat("z", 127):       {Vault: "a-b-c", Secret: strings.Repeat("z", 127)},
	}
	for uri, want := range good {
		got, err := ParseSecretURI(uri)
		if err != nil || got != want {
			t.Errorf("ParseSecretURI(%q) = %+v, %v; want %+v", uri, got, err, want)
		}
	}
	bad := []string{
		"", "pipes", "http://pipes.vault.azure.net/secrets/sas", "https://pipes.vault.azure.net",
		"https://pipes.vault.azure.net/", "https://pipes.vault.azure.net/secrets", "https://pipes.vault.azure.net/secrets/",
		"https://pipes.vault.azure.net/keys/sas", "https://pipes.vault.azure.net/secrets/sas/" + ver + "/x",
		"https://pipes.vault.azure.net/secrets/sas/v1", "https://pipes.vault.azure.net/secrets/s_a", "https://pipes.vault.azure.net/secrets/s%2Fa",
		"https://pipes.vault.azure.net/secrets//sas", "https://pipes.vault.azure.net:8443/secrets/sas", "https://u:p@pipes.vault.azure.net/secrets/sas",
		"https://pipes.vault.azure.net/secrets/sas?sig=abc", "https://pipes.vault.azure.net/secrets/sas#x", "https://pipes.vault.azure.cn/secrets/sas",
		"https://vault.azure.net/secrets/sas", "https://p.vault.azure.net/secrets/sas", "https://pi--pes.vault.azure.net/secrets/sas",
		"https://evil.com/pipes.vault.azure.net/secrets/sas", "https://pipes.vault.azure.net.evil.com/secrets/sas",
		"https://pipes.vault.azure.net/secrets/" + strings.Repeat("z", 128), " https://pipes.vault.azure.net/secrets/sas",
	}
	for _, uri := range bad {
		if got, err := ParseSecretURI(uri); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("ParseSecretURI(%q) = %+v, %v; want invalid argument", uri, got, err)
		}
	}
	// The error quotes the URI without its query, which may hold a credential.
	if _, err := ParseSecretURI("https://pipes.vault.azure.net/secrets/sas?sig=TOPSECRET"); err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("the error quotes the query: %v", err)
	}
}

// FuzzParseSecretURI: the parser never panics, refuses with
// ErrInvalidArgument only, never quotes a query, and what it accepts
// names valid names and formats back to a URI that parses the same.
func FuzzParseSecretURI(f *testing.F) {
	for _, s := range []string{
		"https://pipes.vault.azure.net/secrets/sas", "https://pipes.vault.azure.net/secrets/sas/" + ver,
		"HTTPS://P.VAULT.AZURE.NET:443/Secrets/x/", "https://pipes.vault.azure.net/secrets/sas?sig=1", "http://[::1]:443/secrets/a",
		"https://a%2Fb.vault.azure.net/secrets/a", "https://pipes.vault.azure.net/secrets/%00", "::", "", "000000040?000000040",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		ref, err := ParseSecretURI(uri)
		if err != nil {
			if !errors.Is(err, errdef.ErrInvalidArgument) {
				t.Fatalf("ParseSecretURI(%q): %v is not invalid argument", uri, err)
			}
			if _, q, ok := strings.Cut(uri, "?"); ok && q != "" && strings.Contains(err.Error(), "?"+q) {
				t.Fatalf("ParseSecretURI(%q): the error quotes the query: %v", uri, err)
			}
			return
		}
		if !validVaultName(ref.Vault) || !secretNameRE.MatchString(ref.Secret) || ref.Version != "" && !versionRE.MatchString(ref.Version) ||
			ref.Vault != strings.ToLower(ref.Vault) || ref.Version != strings.ToLower(ref.Version) {
			t.Fatalf("ParseSecretURI(%q) accepted %+v", uri, ref)
		}
		again, err := ParseSecretURI(SecretURI(ref.Vault, ref.Secret, ref.Version))
		if err != nil || again != ref {
			t.Fatalf("ParseSecretURI(%q) = %+v, but its URI parses to %+v, %v", uri, ref, again, err)
		}
	})
}
