package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/dir"
)

// openMeta opens the metadata store cfg.Meta names: an explicit switch,
// no registration (STYLE rule 10). config.Validate refuses unknown drivers
// and those not in this build, so the default case is a wiring bug.
func openMeta(ctx context.Context, cfg *config.Config) (meta.Store, error) {
	switch cfg.Meta.Driver {
	case config.MetaSQLite:
		s, err := sqlite.Open(ctx, cfg.Meta.SQLitePath)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("metadata driver %q is not wired into this binary", cfg.Meta.Driver)
	}
}

// blobStore is what serve needs of a content driver. Collector is an
// optional capability of content stores in general, but garbage collection
// runs online in every deployment (DESIGN.md, Storage), so a driver wired
// here must have it, and one without it does not compile.
type blobStore interface {
	content.Store
	content.Collector
}

// openContent opens the blob store cfg.Content names, like openMeta.
func openContent(cfg *config.Config) (blobStore, error) {
	switch cfg.Content.Driver {
	case config.ContentFS:
		s, err := fs.New(cfg.Content.FSRoot)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("content driver %q is not wired into this binary", cfg.Content.Driver)
	}
}

// openContainer opens the storage container of a pipeline endpoint: an
// explicit switch on the URI's scheme, like openContent. sas is the
// token from the pipeline's Key Vault secret; a local directory needs
// none.
func openContainer(_ context.Context, uri, sas string) (storage.Container, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("the storage uri is not a URL: %w", errdef.ErrInvalidArgument)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("a file:// storage uri names a local directory (file:///abs/path), not host %q: %w", u.Host, errdef.ErrInvalidArgument)
		}
		return dir.New(u.Path)
	default:
		return nil, fmt.Errorf("storage uri scheme %q: use https://<account>.blob.core.windows.net/<container> or file:///<directory>: %w", u.Scheme, errdef.ErrInvalidArgument)
	}
}
