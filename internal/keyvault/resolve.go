package keyvault

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// SecretRef is a parsed keyVaultUri: the secret it names and, when it
// names one, the version (32 lower-case hex digits).
type SecretRef struct {
	Vault   string
	Secret  string
	Version string
}

var versionRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// ParseSecretURI parses a pipeline's keyVaultUri,
// https://{vault}.vault.azure.net/secrets/{secret}[/{version}], as Azure
// accepts it: the host in any casing, an optional :443 and trailing
// slash. Anything else (another scheme or domain, user info, a query or
// fragment, a bad name) is an error wrapping errdef.ErrInvalidArgument. The
// error quotes the URI without its query, which may hold a credential.
func ParseSecretURI(uri string) (SecretRef, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return SecretRef{}, errURI("", "it is not a URL")
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	bad := func(why string) (SecretRef, error) { return SecretRef{}, errURI(shown, why) }
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return bad("the scheme must be https")
	case u.User != nil:
		return bad("it must not carry user information")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "":
		return bad("it must not have a query or fragment")
	}
	host := strings.ToLower(u.Host)
	if h, port, ok := strings.Cut(host, ":"); ok {
		if port != "443" {
			return bad("the port, if any, must be 443")
		}
		host = h
	}
	vault, ok := strings.CutSuffix(host, DNSSuffix)
	if !ok || !validVaultName(vault) {
		return bad("the host must be {vault}" + DNSSuffix + " with a valid vault name")
	}
	segs := strings.Split(strings.TrimPrefix(strings.TrimSuffix(u.EscapedPath(), "/"), "/"), "/")
	if len(segs) < 2 || len(segs) > 3 || !strings.EqualFold(segs[0], "secrets") {
		return bad("the path must be /secrets/{name} or /secrets/{name}/{version}")
	}
	ref := SecretRef{Vault: vault, Secret: segs[1]}
	if !secretNameRE.MatchString(ref.Secret) {
		return bad("the secret name must be 1-127 alphanumeric characters or hyphens")
	}
	if len(segs) == 3 {
		if !versionRE.MatchString(segs[2]) {
			return bad("the secret version must be 32 hexadecimal digits")
		}
		ref.Version = strings.ToLower(segs[2])
	}
	return ref, nil
}

// Secret resolves a pipeline's keyVaultUri to the secret's value (the SAS
// token of its storage container). It checks no caller: the server calls
// it on behalf of a pipeline, as ACR uses the pipeline's managed identity.
// A URI it cannot parse wraps errdef.ErrInvalidArgument; a missing vault
// or secret, a version other than the current one, and a secret that is
// disabled, expired or not yet valid wrap errdef.ErrNotFound. Errors name
// the vault and secret, never the value.
func (p *Provider) Secret(ctx context.Context, keyVaultURI string) (string, error) {
	ref, err := ParseSecretURI(keyVaultURI)
	if err != nil {
		return "", err
	}
	var s storedSecret
	err = p.meta.View(ctx, func(tx meta.Tx) error {
		row, _, err := vaultByName(tx, ref.Vault)
		if err != nil {
			return err
		}
		vaultID, err := arm.ParseID(row.ID)
		if err != nil {
			return err
		}
		_, err = loadSecret(tx, vaultID.Child("secrets", ref.Secret), &s)
		return err
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return "", errResolve(ref.Vault, ref.Secret, "no such vault or secret")
	case err != nil:
		return "", err
	}
	if ref.Version != "" && ref.Version != s.Version {
		return "", errResolve(ref.Vault, ref.Secret, "version "+ref.Version+" is not the secret's current version")
	}
	if why := p.unusable(s.Secret.Properties); why != "" {
		return "", errResolve(ref.Vault, ref.Secret, why)
	}
	return p.unseal(s.Sealed, deref(s.Secret.ID), s.Version)
}

// unusable says why a secret cannot be read now ("" when it can): Key
// Vault refuses disabled secrets, and those outside nbf..exp.
func (p *Provider) unusable(props *SecretProperties) string {
	if props == nil || props.Attributes == nil {
		return ""
	}
	a, now := props.Attributes, p.now().Unix()
	switch {
	case a.Enabled != nil && !*a.Enabled:
		return "the secret is disabled"
	case a.NotBefore != nil && now < *a.NotBefore:
		return "the secret is not valid yet (nbf)"
	case a.Expires != nil && now >= *a.Expires:
		return "the secret has expired (exp)"
	}
	return ""
}
