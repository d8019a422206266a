package main

import (
	"context"
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/content/fs"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
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
