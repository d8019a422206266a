package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Metadata drivers (MetaConfig.Driver).
const (
	// MetaSQLite is the default single-node store (internal/meta/sqlite).
	MetaSQLite = "sqlite"
	// MetaPostgres is the scale-out store. It is declared so that
	// configuration can name it, but it is not in this build yet: Validate
	// refuses it.
	MetaPostgres = "postgres"
)

// Content drivers (ContentConfig.Driver).
const (
	// ContentFS is the default blob store on a local file system
	// (internal/content/fs).
	ContentFS = "fs"
	// ContentAzBlob (Azure Blob Storage) and ContentS3 are the scale-out
	// blob stores. They are declared but not in this build yet: Validate
	// refuses them.
	ContentAzBlob = "azblob"
	ContentS3     = "s3"
)

// MetaConfig names the metadata store and carries its options. Only the
// options of the chosen driver may be set.
type MetaConfig struct {
	// Driver is MetaSQLite (default) or MetaPostgres (not in this build
	// yet). Flag --meta-driver; env BULKHEAD_META_DRIVER.
	Driver string
	// SQLitePath is the sqlite driver's database file. Default
	// <DataDir>/meta.db. Flag --meta-sqlite-path; env
	// BULKHEAD_META_SQLITE_PATH.
	SQLitePath string
	// PostgresDSN is the postgres driver's connection string. Env
	// BULKHEAD_META_POSTGRES_DSN only (never a flag: it may hold a password,
	// which would show in process listings).
	PostgresDSN string
}

// ContentConfig names the blob store and carries its options. Only the
// options of the chosen driver may be set.
type ContentConfig struct {
	// Driver is ContentFS (default), ContentAzBlob or ContentS3 (the last
	// two not in this build yet). Flag --content-driver; env
	// BULKHEAD_CONTENT_DRIVER.
	Driver string
	// FSRoot is the fs driver's directory. Default <DataDir>/content. Flag
	// --content-fs-root; env BULKHEAD_CONTENT_FS_ROOT.
	FSRoot string
}

// driver is a storage driver name that configuration accepts.
type driver struct {
	name  string
	built bool // false: declared for the scale-out design, not in this build yet
}

func metaDrivers() []driver {
	return []driver{{MetaSQLite, true}, {MetaPostgres, false}}
}

func contentDrivers() []driver {
	return []driver{{ContentFS, true}, {ContentAzBlob, false}, {ContentS3, false}}
}

// EnsureDefaults fills what is left empty: the sqlite metadata driver at
// <DataDir>/meta.db and the fs content driver at <DataDir>/content, the
// layout Bulkhead has always used. It fills a path only for the chosen
// driver, so that Validate can refuse an option given for another one.
// Driver names are matched without regard to case.
func (c *Config) EnsureDefaults() {
	c.Meta.Driver = strings.ToLower(strings.TrimSpace(c.Meta.Driver))
	if c.Meta.Driver == "" {
		c.Meta.Driver = MetaSQLite
	}
	if c.Meta.Driver == MetaSQLite && c.Meta.SQLitePath == "" && c.DataDir != "" {
		c.Meta.SQLitePath = filepath.Join(c.DataDir, "meta.db")
	}
	c.Content.Driver = strings.ToLower(strings.TrimSpace(c.Content.Driver))
	if c.Content.Driver == "" {
		c.Content.Driver = ContentFS
	}
	if c.Content.Driver == ContentFS && c.Content.FSRoot == "" && c.DataDir != "" {
		c.Content.FSRoot = filepath.Join(c.DataDir, "content")
	}
}

// validateStorage lists the problems with the storage options.
func (c *Config) validateStorage() []error {
	var errs []error
	if err := checkDriver("--meta-driver", c.Meta.Driver, metaDrivers()); err != nil {
		errs = append(errs, err)
	}
	if err := checkDriver("--content-driver", c.Content.Driver, contentDrivers()); err != nil {
		errs = append(errs, err)
	}
	for _, o := range []struct {
		set, forThis bool
		name, needs  string
	}{
		{c.Meta.SQLitePath != "", c.Meta.Driver == MetaSQLite, "--meta-sqlite-path", "--meta-driver " + MetaSQLite},
		{c.Meta.PostgresDSN != "", c.Meta.Driver == MetaPostgres, "BULKHEAD_META_POSTGRES_DSN", "--meta-driver " + MetaPostgres},
		{c.Content.FSRoot != "", c.Content.Driver == ContentFS, "--content-fs-root", "--content-driver " + ContentFS},
	} {
		if o.set && !o.forThis {
			errs = append(errs, fmt.Errorf("%s is set, but it applies only to %s", o.name, o.needs))
		}
	}
	if c.Meta.Driver == MetaSQLite && c.Meta.SQLitePath == "" {
		errs = append(errs, errors.New("--meta-sqlite-path must not be empty"))
	}
	if c.Content.Driver == ContentFS && c.Content.FSRoot == "" {
		errs = append(errs, errors.New("--content-fs-root must not be empty"))
	}
	return errs
}

// checkDriver refuses a name that is not declared, and one that is
// declared but not in this build, naming the choices either way.
func checkDriver(flag, name string, known []driver) error {
	var all, built, later []string
	found, isBuilt := false, false
	for _, d := range known {
		all = append(all, d.name)
		if d.built {
			built = append(built, d.name)
		} else {
			later = append(later, d.name)
		}
		if d.name == name {
			found, isBuilt = true, d.built
		}
	}
	choices := "known drivers: " + strings.Join(all, ", ")
	if len(later) > 0 {
		choices += " (not available in this build yet: " + strings.Join(later, ", ") + ")"
	}
	switch {
	case !found:
		return fmt.Errorf("%s %q: unknown driver; %s", flag, name, choices)
	case !isBuilt:
		return fmt.Errorf("%s %q: this driver is not available in this build yet; use %s", flag, name, strings.Join(built, " or "))
	}
	return nil
}
