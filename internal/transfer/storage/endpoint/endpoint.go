// Package endpoint opens the storage.Container that a pipeline's storage
// URI names. It is the one place that knows every backend, so it sits
// beside them rather than in package storage, which they import.
package endpoint

import (
	"context"
	"fmt"
	"net/url"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/azblob"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/dir"
)

// Open returns the container that uri names, picked by its scheme:
//
//   - https://account.blob.core.windows.net/container: Azure Blob Storage,
//     authenticated by sas (the SAS token from the pipeline's Key Vault
//     secret, with or without its leading `?`).
//   - http://127.0.0.1:PORT/account/container: the same, without TLS,
//     which azblob accepts for a loopback host only (Azurite on this
//     machine), since a SAS token sent in clear elsewhere could be
//     replayed.
//   - file:///abs/path: a local directory, the Bulkhead extension for
//     removable media; the directory must exist, and sas is ignored.
//
// Anything else wraps errdef.ErrInvalidArgument, with a message that says
// what is accepted. Open sends no request: a bad token shows at the first
// operation, as errdef.ErrDenied.
func Open(_ context.Context, uri, sas string) (storage.Container, error) {
	u, err := url.Parse(uri)
	if err != nil {
		// url's message would quote the URI, and a SAS pasted into it.
		return nil, fmt.Errorf("storage URI is not a URL; want https://account.blob.core.windows.net/container or file:///abs/path: %w", errdef.ErrInvalidArgument)
	}
	switch u.Scheme {
	case "https", "http":
		return azblob.New(uri, sas, azblob.Options{})
	case "file":
		return openDir(u)
	}
	return nil, fmt.Errorf("storage URI scheme %q: want https://account.blob.core.windows.net/container (Azure Blob Storage), http://127.0.0.1:PORT/account/container (Azurite) or file:///abs/path (a local directory): %w", u.Scheme, errdef.ErrInvalidArgument)
}

// openDir takes file:///abs/path (or file://localhost/abs/path), with the
// path percent-decoded.
func openDir(u *url.URL) (storage.Container, error) {
	bad := func(why string) (storage.Container, error) {
		shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, Opaque: u.Opaque} // no query: it may hold a pasted SAS
		return nil, fmt.Errorf("storage URI %s: %s; want file:///abs/path: %w", shown.String(), why, errdef.ErrInvalidArgument)
	}
	switch {
	case u.Opaque != "":
		return bad("not an absolute path")
	case u.Host != "" && u.Host != "localhost":
		return bad(fmt.Sprintf("host %q: only a local directory can be named", u.Host))
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return bad("user info, a query or a fragment is not allowed")
	case u.Path == "":
		return bad("no path")
	}
	return dir.New(u.Path)
}
