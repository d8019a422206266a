package config

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// env is a fake environment for Load.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func load(t *testing.T, e env, args ...string) (*Config, error) {
	t.Helper()
	return Load(args, e.get, io.Discard)
}

func TestStorageDefaults(t *testing.T) {
	data := t.TempDir()
	c, err := load(t, nil, "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	want := MetaConfig{Driver: MetaSQLite, SQLitePath: filepath.Join(data, "meta.db")}
	if c.Meta != want {
		t.Errorf("Meta = %+v, want %+v", c.Meta, want)
	}
	wantContent := ContentConfig{Driver: ContentFS, FSRoot: filepath.Join(data, "content")}
	if c.Content != wantContent {
		t.Errorf("Content = %+v, want %+v", c.Content, wantContent)
	}
}

// The default layout follows --data, and PrepareDataDir turns a relative
// data directory and the paths under it into absolute ones.
func TestStorageDefaultsFollowDataDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c, err := load(t, env{"BULKHEAD_DATA": "rel"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PrepareDataDir(); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("rel")
	if c.DataDir != abs || c.Meta.SQLitePath != filepath.Join(abs, "meta.db") || c.Content.FSRoot != filepath.Join(abs, "content") {
		t.Errorf("got data %q, sqlite %q, fs %q; want all under %q", c.DataDir, c.Meta.SQLitePath, c.Content.FSRoot, abs)
	}
}

func TestStorageFromEnv(t *testing.T) {
	data := t.TempDir()
	c, err := load(t, env{
		"BULKHEAD_DATA":             data,
		"BULKHEAD_META_DRIVER":      "SQLite", // names match without regard to case
		"BULKHEAD_META_SQLITE_PATH": "/srv/meta/bulkhead.db",
		"BULKHEAD_CONTENT_DRIVER":   "fs",
		"BULKHEAD_CONTENT_FS_ROOT":  "/srv/blobs",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta != (MetaConfig{Driver: MetaSQLite, SQLitePath: "/srv/meta/bulkhead.db"}) ||
		c.Content != (ContentConfig{Driver: ContentFS, FSRoot: "/srv/blobs"}) {
		t.Errorf("got %+v %+v", c.Meta, c.Content)
	}
}

func TestStorageFlagsWinOverEnv(t *testing.T) {
	c, err := load(t, env{"BULKHEAD_CONTENT_FS_ROOT": "/from/env", "BULKHEAD_META_DRIVER": "postgres"},
		"--data", t.TempDir(), "--content-fs-root", "/from/flag", "--meta-driver", "sqlite", "--meta-sqlite-path", "/flag/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	if c.Content.FSRoot != "/from/flag" || c.Meta.Driver != MetaSQLite || c.Meta.SQLitePath != "/flag/meta.db" {
		t.Errorf("got %+v %+v", c.Meta, c.Content)
	}
}

// Load refuses bad storage options; each case names the words the message
// must contain.
func TestStorageRefused(t *testing.T) {
	cases := []struct {
		name string
		env  env
		args []string
		want []string
	}{
		{"unknown meta driver", nil, []string{"--meta-driver", "mysql"},
			[]string{`--meta-driver "mysql": unknown driver`, "sqlite", "postgres"}},
		{"unknown content driver", env{"BULKHEAD_CONTENT_DRIVER": "nfs"}, nil,
			[]string{`--content-driver "nfs": unknown driver`, "fs, azblob, s3", "not available in this build yet: azblob, s3"}},
		{"postgres not built", nil, []string{"--meta-driver", "postgres"},
			[]string{`--meta-driver "postgres"`, "not available in this build yet", "use sqlite"}},
		{"azblob not built", nil, []string{"--content-driver", "azblob"},
			[]string{`--content-driver "azblob"`, "not available in this build yet", "use fs"}},
		{"s3 not built", env{"BULKHEAD_CONTENT_DRIVER": "S3"}, nil,
			[]string{`--content-driver "s3"`, "not available in this build yet"}},
		{"dsn without postgres", env{"BULKHEAD_META_POSTGRES_DSN": "postgres://u:p@db/bulkhead"}, nil,
			[]string{"BULKHEAD_META_POSTGRES_DSN is set, but it applies only to --meta-driver postgres"}},
		{"sqlite path for another driver", nil, []string{"--meta-driver", "postgres", "--meta-sqlite-path", "/x.db"},
			[]string{"not available in this build yet", "--meta-sqlite-path is set, but it applies only to --meta-driver sqlite"}},
		{"fs root for another driver", nil, []string{"--content-driver", "s3", "--content-fs-root", "/blobs"},
			[]string{"not available in this build yet", "--content-fs-root is set, but it applies only to --content-driver fs"}},
		{"every problem at once", nil, []string{"--meta-driver", "postgres", "--content-driver", "nfs", "--log-format", "xml"},
			[]string{`--meta-driver "postgres"`, `--content-driver "nfs"`, "--log-format"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.env, append([]string{"--data", t.TempDir()}, c.args...)...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// EnsureDefaults keeps what is set and fills only the chosen driver's
// options; Validate refuses a Config whose store has no path.
func TestEnsureDefaultsAndValidate(t *testing.T) {
	c := &Config{DataDir: "/d", Meta: MetaConfig{SQLitePath: "/m.db"}}
	c.EnsureDefaults()
	c.EnsureDefaults() // idempotent
	if c.Meta != (MetaConfig{Driver: MetaSQLite, SQLitePath: "/m.db"}) || c.Content != (ContentConfig{Driver: ContentFS, FSRoot: "/d/content"}) {
		t.Errorf("got %+v %+v", c.Meta, c.Content)
	}
	c = &Config{Content: ContentConfig{Driver: ContentS3}}
	c.EnsureDefaults()
	if c.Content.FSRoot != "" {
		t.Errorf("fs root %q filled for the s3 driver", c.Content.FSRoot)
	}
	err := (&Config{Meta: MetaConfig{Driver: MetaSQLite}, Content: ContentConfig{Driver: ContentFS}}).Validate()
	if err == nil || !strings.Contains(err.Error(), "--meta-sqlite-path must not be empty") || !strings.Contains(err.Error(), "--content-fs-root must not be empty") {
		t.Errorf("Validate without paths: %v", err)
	}
}
