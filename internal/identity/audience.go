package identity

import (
	"net/url"
	"slices"
	"strings"
)

// Audiences. Every token names the one resource it was issued for (aud),
// and our signing key is published (JWKS) so that other services can
// verify Bulkhead's tokens. So a token the token service minted for one
// of them (Graph, an app that trusts our key) is a valid signature with
// someone else's audience, and must never open the management plane nor
// become a registry refresh token: each plane checks aud, as Azure does.

// armAudiences are the resource ids by which Azure Resource Manager is
// known; ARM takes a token whose aud is exactly one of them and lists them
// in its InvalidAuthenticationTokenAudience message. The Azure SDKs ask
// for these.
var armAudiences = []string{
	"https://management.core.windows.net/", "https://management.core.windows.net",
	"https://management.azure.com/", "https://management.azure.com",
}

// acrAudiences are ACR's own Entra resource, for which az asks when a
// registry's azureADAuthenticationAsArmPolicy is disabled (az-cli.md §2);
// such a token may be exchanged, and is no management token.
var acrAudiences = []string{"https://containerregistry.azure.net", "https://containerregistry.azure.net/"}

// ForManagement reports whether c is an Entra-style token (no grant_type,
// an object id) for the management plane: its aud is one of ARM's
// resource ids, or this service's own address as the client named it
// when it asked for the token. az asks for the --endpoint-resource-manager
// it registered (https://H/, az-cli.md §2) and bulkhead's CLI for its
// endpoint. "Own address" is the issuer's host, which the token service
// wrote from the Host the token was requested through, with no path: az's
// Graph resource https://H/graph/ is another service. The scheme is not
// compared, so a server behind a TLS-terminating proxy still matches.
func (c Claims) ForManagement() bool {
	if c.GrantType != "" || c.ObjectID == "" {
		return false
	}
	for _, aud := range c.Audience {
		if slices.Contains(armAudiences, aud) || c.ownAddress(aud) {
			return true
		}
	}
	return false
}

// ForExchange reports whether c may be exchanged for a registry refresh
// token (/oauth2/exchange): a management token, which az sends, or an
// Entra-style token for ACR's resource.
func (c Claims) ForExchange() bool {
	if c.ForManagement() {
		return true
	}
	if c.GrantType != "" || c.ObjectID == "" {
		return false
	}
	for _, aud := range c.Audience {
		if slices.Contains(acrAudiences, aud) {
			return true
		}
	}
	return false
}

// ownAddress reports whether aud is http(s)://<the issuer's host>[/].
func (c Claims) ownAddress(aud string) bool {
	iss, err := url.Parse(c.Issuer)
	if err != nil || iss.Host == "" {
		return false
	}
	a, err := url.Parse(aud)
	if err != nil || a.Scheme != "https" && a.Scheme != "http" || a.Path != "" && a.Path != "/" ||
		a.User != nil || a.RawQuery != "" || a.Fragment != "" || a.Opaque != "" {
		return false
	}
	return strings.EqualFold(a.Host, iss.Host)
}
