// Package config turns flags and environment variables into one validated,
// read-only Config (STYLE rule 9). Anything that changes at runtime
// (registries, policies, rules) lives in internal/meta, not here.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the server's configuration. The zero value is not valid; use
// Load, which applies defaults and validates.
type Config struct {
	// DataDir holds keys, bootstrap.json and, by default, the metadata
	// database and blobs. Default ./bulkhead-data; env BULKHEAD_DATA.
	DataDir string
	// Meta names the metadata store and its options; see MetaConfig.
	Meta MetaConfig
	// Content names the blob store and its options; see ContentConfig.
	Content ContentConfig
	// Addr is the one listener for both planes. Default 127.0.0.1:5000; env
	// BULKHEAD_ADDR.
	Addr string
	// LoginServerSuffix turns on host mode when set (".cr.example.com"):
	// registry reg1 is served at reg1.cr.example.com.
	LoginServerSuffix string
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert, TLSKey string
	// TLSSelfSigned makes the server mint a CA and a serving certificate in
	// <DataDir>/tls and write the CA to <DataDir>/tls/ca.pem.
	TLSSelfSigned bool
	// LogFormat is "text" (default) or "json".
	LogFormat string
	// LogLevel is debug, info (default), warn or error.
	LogLevel slog.Level
	// UploadTTL is how long an untouched upload lives before cleanup.
	// Default 24h.
	UploadTTL time.Duration
	// TrustedProxies are the peers (CIDRs) whose X-Forwarded-For header
	// names the client for network rules. Default none.
	TrustedProxies []netip.Prefix
	// GCInterval is how often unreferenced blob bytes are collected; 0
	// turns collection off. Default 1h.
	GCInterval time.Duration
	// GCGrace is how long a committed blob may stay unreferenced before
	// collection may delete it. Default 1h.
	GCGrace time.Duration
	// PipelineTriggerInterval is how often import pipelines with a source
	// trigger look for new archives; 0 turns triggers off. Default 1m.
	PipelineTriggerInterval time.Duration
	// Audit turns the audit trail on (default): resource logs, the
	// activity log, the egress totals, in <data>/audit.
	Audit bool
	// AuditRetention is how long local audit records and egress totals
	// are kept; 0 keeps them forever. Default 90 days.
	AuditRetention time.Duration
	// AuditCheckpointRecords and AuditCheckpointInterval: each audit
	// stream is sealed with a signed checkpoint after this many records
	// or this long after its first unsealed one. Defaults 1000 and 1m.
	AuditCheckpointRecords  int
	AuditCheckpointInterval time.Duration
	// BootstrapSecret, when set on first start, becomes the bootstrap
	// principal's secret. Env BULKHEAD_BOOTSTRAP_SECRET only (never a flag, so
	// it does not show in process listings).
	BootstrapSecret string
	// BodyTimeout is how long a request body may go without delivering
	// 32 KiB before its connection is cut; 0 turns the limit off. Default
	// 30s.
	BodyTimeout time.Duration
	// ShutdownTimeout bounds how long SIGINT/SIGTERM waits for in-flight
	// requests. Default 30s.
	ShutdownTimeout time.Duration
	// MinFreeSpace is the free space, in bytes, below which GET /readyz
	// fails for any local volume the server writes to (the data directory,
	// the fs content store, the SQLite database's directory): a push there
	// would soon fail. 0 turns the check off. Default 1 GiB. Flag
	// --min-free-space; env BULKHEAD_MIN_FREE_SPACE.
	MinFreeSpace int64
}

// TLSEnabled reports whether the listener serves TLS.
func (c *Config) TLSEnabled() bool { return c.TLSSelfSigned || c.TLSCert != "" }

// HostMode reports whether registries are addressed by host name.
func (c *Config) HostMode() bool { return c.LoginServerSuffix != "" }

// Load parses the serve command's arguments and environment, then applies
// EnsureDefaults and Validate. Flags win over environment variables, which
// win over defaults. The returned error lists every problem at once.
func Load(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DataDir, "data", envOr(getenv, "BULKHEAD_DATA", "./bulkhead-data"), "data directory (env BULKHEAD_DATA)")
	fs.StringVar(&c.Meta.Driver, "meta-driver", getenv("BULKHEAD_META_DRIVER"), "metadata store: sqlite (default); postgres is not in this build yet (env BULKHEAD_META_DRIVER)")
	fs.StringVar(&c.Meta.SQLitePath, "meta-sqlite-path", getenv("BULKHEAD_META_SQLITE_PATH"), "sqlite database file (default <data>/meta.db; env BULKHEAD_META_SQLITE_PATH)")
	fs.StringVar(&c.Content.Driver, "content-driver", getenv("BULKHEAD_CONTENT_DRIVER"), "blob store: fs (default); azblob and s3 are not in this build yet (env BULKHEAD_CONTENT_DRIVER)")
	fs.StringVar(&c.Content.FSRoot, "content-fs-root", getenv("BULKHEAD_CONTENT_FS_ROOT"), "fs blob store directory (default <data>/content; env BULKHEAD_CONTENT_FS_ROOT)")
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "BULKHEAD_ADDR", "127.0.0.1:5000"), "listen address for both planes (env BULKHEAD_ADDR)")
	fs.StringVar(&c.LoginServerSuffix, "login-server-suffix", getenv("BULKHEAD_LOGIN_SERVER_SUFFIX"), "turn on host mode: registry r is served at r<suffix>, e.g. .cr.example.com")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate (PEM)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key (PEM)")
	fs.BoolVar(&c.TLSSelfSigned, "tls-self-signed", false, "serve TLS with a self-signed CA written to <data>/tls/ca.pem")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.UploadTTL, "upload-ttl", 24*time.Hour, "how long an abandoned upload is kept")
	proxies := fs.String("trusted-proxy", getenv("BULKHEAD_TRUSTED_PROXY"), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (env BULKHEAD_TRUSTED_PROXY)")
	fs.DurationVar(&c.GCInterval, "gc-interval", time.Hour, "how often unreferenced blob bytes are deleted (0 turns it off)")
	fs.DurationVar(&c.GCGrace, "gc-grace", time.Hour, "how long a committed blob may stay unreferenced before it can be deleted")
	fs.DurationVar(&c.PipelineTriggerInterval, "pipeline-trigger-interval", time.Minute, "how often import pipelines with a source trigger look for new archives (0 turns triggers off)")
	fs.BoolVar(&c.Audit, "audit", envOr(getenv, "BULKHEAD_AUDIT", "true") != "false", "keep the audit trail: resource logs, activity log, egress totals in <data>/audit (env BULKHEAD_AUDIT)")
	retentionDays := fs.Int("audit-retention-days", 90, "how many days local audit records and egress totals are kept (0 keeps them forever)")
	fs.IntVar(&c.AuditCheckpointRecords, "audit-checkpoint-records", 1000, "seal each audit stream with a signed checkpoint after this many records")
	fs.DurationVar(&c.AuditCheckpointInterval, "audit-checkpoint-interval", time.Minute, "seal each audit stream at least this often while it has unsealed records")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", 30*time.Second, "how long a request body may go without delivering 32 KiB before the connection is cut (0: no limit)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown waits for in-flight requests")
	minFree := fs.String("min-free-space", envOr(getenv, "BULKHEAD_MIN_FREE_SPACE", "1GiB"),
		"GET /readyz fails when a local storage volume has less free space than this, e.g. 512MiB or 10GB; 0 turns the check off (env BULKHEAD_MIN_FREE_SPACE)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.BootstrapSecret = getenv("BULKHEAD_BOOTSTRAP_SECRET")
	c.Meta.PostgresDSN = getenv("BULKHEAD_META_POSTGRES_DSN")
	c.EnsureDefaults()

	var errs []error
	c.AuditRetention = time.Duration(*retentionDays) * 24 * time.Hour
	if *retentionDays < 0 || *retentionDays > 36500 {
		errs = append(errs, errors.New("--audit-retention-days must be between 0 and 36500"))
	}
	if c.AuditCheckpointRecords < 1 || c.AuditCheckpointRecords > 1_000_000 {
		errs = append(errs, errors.New("--audit-checkpoint-records must be between 1 and 1000000"))
	}
	if c.AuditCheckpointInterval < time.Second {
		errs = append(errs, errors.New("--audit-checkpoint-interval must be at least 1s"))
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", *level))
	}
	if n, err := parseSize(*minFree); err != nil {
		errs = append(errs, fmt.Errorf("--min-free-space: %w", err))
	} else {
		c.MinFreeSpace = n
	}
	for _, cidr := range strings.Split(*proxies, ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("--trusted-proxy %q: want CIDR ranges such as 10.0.0.0/8", cidr))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate reports every problem in c in one error. It expects
// EnsureDefaults to have run.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("--addr %q: want host:port", c.Addr))
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: the port must be a number from 0 to 65535", c.Addr))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key must be given together"))
	}
	if c.TLSSelfSigned && c.TLSCert != "" {
		errs = append(errs, errors.New("--tls-self-signed and --tls-cert are mutually exclusive"))
	}
	if s := c.LoginServerSuffix; s != "" {
		if !strings.HasPrefix(s, ".") || len(s) < 3 || strings.ContainsAny(s, "/: ") {
			errs = append(errs, fmt.Errorf("--login-server-suffix %q: want a DNS suffix starting with a dot, e.g. .cr.example.com", s))
		}
		c.LoginServerSuffix = strings.ToLower(s)
	}
	if c.UploadTTL <= 0 {
		errs = append(errs, errors.New("--upload-ttl must be positive"))
	}
	if c.GCInterval < 0 {
		errs = append(errs, errors.New("--gc-interval must not be negative"))
	}
	if c.PipelineTriggerInterval < 0 {
		errs = append(errs, errors.New("--pipeline-trigger-interval must not be negative"))
	}
	if c.GCGrace < time.Second {
		errs = append(errs, errors.New("--gc-grace must be at least 1s: it protects pushes in flight"))
	}
	if c.BodyTimeout < 0 {
		errs = append(errs, errors.New("--body-timeout must not be negative"))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("--shutdown-timeout must not be negative"))
	}
	errs = append(errs, c.validateStorage()...)
	return errors.Join(errs...)
}

// PrepareDataDir creates the data directory and checks that it is
// writable, so that a bad --data fails at start with a clear message rather
// than on the first push. It makes DataDir and the storage paths absolute.
func (c *Config) PrepareDataDir() error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", c.DataDir, err)
	}
	probe, err := os.CreateTemp(c.DataDir, ".write-probe-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", c.DataDir, err)
	}
	name := probe.Name()
	probe.Close()
	os.Remove(name)
	for _, p := range []*string{&c.DataDir, &c.Meta.SQLitePath, &c.Content.FSRoot} {
		if abs, err := filepath.Abs(*p); *p != "" && err == nil {
			*p = abs
		}
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
