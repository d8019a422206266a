package insights

import (
	"encoding/base64"
	"net"
	"net/url"
	"strings"
)

// checkEndpoint checks a blob endpoint and returns it without a trailing
// slash ("" stays "": a local account). It is
// https://account.blob.core.windows.net (any host), or path-style
// scheme://host/account as Azurite serves it. Plain http is accepted only
// for a loopback host: elsewhere it would send the credential in clear.
func checkEndpoint(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	bad := func(why string) (string, error) { return "", errExtension(propEndpoint, why) }
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return bad("not a URL")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return bad("http (without TLS) is allowed only for a loopback host such as Azurite's; use https")
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("the scheme must be https (or http for a loopback host)")
	case u.Host == "":
		return bad("the URL has no host")
	case u.User != nil:
		return bad("user info is not allowed; give the credential in bulkheadAccountKey or bulkheadSasToken")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("a query is not allowed; give a SAS token in bulkheadSasToken")
	case u.Fragment != "":
		return bad("a fragment is not allowed")
	}
	path := strings.Trim(u.Path, "/")
	if strings.Contains(path, "/") {
		return bad("the path may hold at most the account name (path-style, as Azurite's http://127.0.0.1:10000/devstoreaccount1)")
	}
	if path == "" && endpointAccount(u) == "" {
		return bad("the host names no account (want https://<account>.blob.core.windows.net or path-style http://127.0.0.1:10000/<account>)")
	}
	u.Path = "/" + path
	if path == "" {
		u.Path = ""
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// endpointAccount is the account name a shared key signs for: the path's
// one segment (path-style), else the first label of a non-IP host.
func endpointAccount(u *url.URL) string {
	if p := strings.Trim(u.Path, "/"); p != "" {
		return p
	}
	h := u.Hostname()
	if net.ParseIP(h) != nil {
		return ""
	}
	first, _, _ := strings.Cut(h, ".")
	return first
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkKey checks a shared key: base64, of an endpoint that names its
// account. Messages never quote the key.
func checkKey(key, endpoint string) error {
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(b) < 16 {
		return errExtension(propKey, "an account key is the base64 of at least 16 bytes, as Azure shows it")
	}
	u, _ := url.Parse(endpoint)
	if endpointAccount(u) == "" {
		return errExtension(propEndpoint, "a shared key needs the account name in the endpoint")
	}
	return nil
}

// checkSAS checks a SAS token's shape: a query string with a signature.
// Messages never quote the token.
func checkSAS(sas string) error {
	v, err := url.ParseQuery(strings.TrimPrefix(sas, "?"))
	if err != nil || v.Get("sig") == "" {
		return errExtension(propSAS, "a SAS token is a query string with a signature (sv=…&sig=…), without the URL")
	}
	return nil
}
