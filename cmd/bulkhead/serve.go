package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/bulkhead-registry/bulkhead/internal/gc"
	"github.com/bulkhead-registry/bulkhead/internal/identity"
	"github.com/bulkhead-registry/bulkhead/internal/keyvault"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/oci"
	"github.com/bulkhead-registry/bulkhead/internal/server"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/endpoint"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	// Everything that can be checked without writing is checked first, so
	// that a failed start leaves the disk as it was: the configuration
	// (Load), the certificate files, then the listener.
	cert, err := server.LoadTLS(cfg)
	if err != nil {
		return err
	}
	ln, err := server.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := cfg.PrepareDataDir(); err != nil {
		return err
	}
	release, err := lockDirs(cfg)
	if err != nil {
		return err
	}
	defer release()
	if cfg.TLSSelfSigned {
		if cert, err = server.SelfSignedTLS(cfg); err != nil {
			return err
		}
	}

	store, err := openMeta(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open metadata store: %w", err)
	}
	defer store.Close()
	// Registry rows from before typed facts get them once, before any
	// request reads them; a row that fails stays closed (fail-safe facts).
	if err := acr.DeriveFacts(ctx, store); err != nil {
		log.Warn("deriving registry facts", "err", err)
	}
	blobs, err := openContent(cfg)
	if err != nil {
		return fmt.Errorf("open content store: %w", err)
	}
	defer blobs.Close()
	node, err := nodeID(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("node id: %w", err)
	}
	trail, err := openAudit(cfg, store, node, log)
	if err != nil {
		return err
	}
	// The trail closes after the server has drained and the background
	// work has stopped (defers run last-in first-out), so every answered
	// request is in it and its streams end with a shutdown checkpoint.
	defer trail.Close()
	// Background work stops, and is waited for, before the stores close
	// (defers run last-in first-out).
	ctx, stop := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer func() { stop(); background.Wait() }()

	// One sign-in guard for both planes: failures count against one
	// budget whichever endpoint they hit, and secret checks share one
	// bound on CPU.
	guard := signin.New(signin.Options{})
	ids, err := identity.New(store, filepath.Join(cfg.DataDir, "keys"), identity.Options{Guard: guard, TrustedProxies: cfg.TrustedProxies})
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	boot, err := ids.Bootstrap(ctx, cfg.DataDir, cfg.BootstrapSecret)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := ensureOwner(ctx, store, boot); err != nil {
		return fmt.Errorf("bootstrap owner role: %w", err)
	}
	log.Info("bootstrap principal ready", "tenant", boot.TenantID, "subscription", boot.SubscriptionID, "client_id", boot.ClientID,
		"credentials", filepath.Join(cfg.DataDir, "bootstrap.json"))

	data := oci.New(oci.Options{Meta: store, Content: blobs, Tokens: ids, LoginServerSuffix: cfg.LoginServerSuffix, UploadTTL: cfg.UploadTTL,
		TrustedProxies: cfg.TrustedProxies, Guard: guard, Logger: log})
	sealKey, err := dataKey(filepath.Join(cfg.DataDir, "keys", "seal.key"))
	if err != nil {
		return fmt.Errorf("key vault seal key: %w", err)
	}
	vaults, err := keyvault.New(keyvault.Options{Meta: store, SealKey: sealKey})
	if err != nil {
		return fmt.Errorf("key vault: %w", err)
	}
	runs := acr.NewRunner(acr.RunnerOptions{Meta: store, Blobs: blobs, Open: endpoint.Open, Secrets: vaults, Node: node,
		TriggerInterval: triggerInterval(cfg.PipelineTriggerInterval), Audit: recorder(trail), Logger: log})
	mgmt, err := server.Management(server.ManagementOptions{Meta: store, LoginServerSuffix: cfg.LoginServerSuffix, Identity: ids, Logger: log,
		KeyVault: vaults, Runs: runs, Content: blobs, Audit: recorder(trail)})
	if err != nil {
		return fmt.Errorf("management plane: %w", err)
	}
	planes := server.Planes{Data: data, Management: mgmt, IsData: oci.IsDataPlane}
	if trail != nil {
		planes.Audit = trail
	}
	srv := server.New(cfg, log, planes)

	background.Go(func() { sweepUploads(ctx, data, cfg.UploadTTL) })
	background.Go(func() { purgeOperations(ctx, store, log) })
	background.Go(func() { runs.Run(ctx) })
	if cfg.GCInterval > 0 {
		background.Go(func() {
			gc.Run(ctx, gc.Options{Store: store, Blobs: blobs, Interval: cfg.GCInterval, Grace: cfg.GCGrace, Log: log, Metrics: srv.Metrics()})
		})
	}
	return srv.Serve(ctx, ln, cert)
}

// lockDirs locks the data directory, and the blob directory when it lies
// elsewhere: two servers on one blob directory with different metadata
// would collect each other's blobs.
func lockDirs(cfg *config.Config) (release func(), err error) {
	releaseData, err := lockDir(cfg.DataDir, "data directory")
	if err != nil {
		return nil, err
	}
	root := cfg.Content.FSRoot
	if cfg.Content.Driver != config.ContentFS || root == "" || strings.HasPrefix(root, cfg.DataDir+string(filepath.Separator)) {
		return releaseData, nil
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		releaseData()
		return nil, fmt.Errorf("blob directory %s: %w", root, err)
	}
	releaseRoot, err := lockDir(root, "blob directory")
	if err != nil {
		releaseData()
		return nil, err
	}
	return func() { releaseRoot(); releaseData() }, nil
}

// ensureOwner gives the bootstrap principal the Owner role on its
// subscription (idempotent: the assignment id is fixed).
func ensureOwner(ctx context.Context, store meta.Store, boot identity.Bootstrap) error {
	const assignmentID = "00000000-0000-0000-0000-0000000b0075"
	scope := "/subscriptions/" + boot.SubscriptionID
	return store.Update(ctx, func(tx meta.Tx) error {
		return tx.PutResource(authz.NewAssignment(assignmentID, scope, authz.OwnerRoleID, boot.ObjectID))
	})
}

// purgeOperations deletes ARM operation records past their retention,
// once at start and then hourly, so they do not pile up forever.
func purgeOperations(ctx context.Context, store meta.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := arm.PurgeOperations(ctx, store, time.Now().Add(-arm.OperationRetention))
		if err != nil && ctx.Err() == nil {
			log.Warn("purging operation records", "err", err)
		} else if n > 0 {
			log.Info("purged operation records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepUploads removes abandoned uploads periodically.
func sweepUploads(ctx context.Context, data *oci.Service, ttl time.Duration) {
	every := min(ttl/4, 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			data.SweepUploads(ctx)
		}
	}
}

// openAudit opens the audit trail in <data>/audit, signed with the key in
// <data>/keys/audit.key; nil when --audit=false.
func openAudit(cfg *config.Config, store meta.Store, node string, log *slog.Logger) (*audit.Log, error) {
	if !cfg.Audit {
		log.Warn("the audit trail is off (--audit=false): no resource logs, activity log or egress report")
		return nil, nil
	}
	key, err := audit.LoadKey(filepath.Join(cfg.DataDir, "keys", "audit.key"))
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	trail, err := audit.Open(audit.Options{Dir: filepath.Join(cfg.DataDir, "audit"), Key: key, Node: node, Meta: store,
		CheckpointRecords: cfg.AuditCheckpointRecords, CheckpointInterval: cfg.AuditCheckpointInterval, Retention: cfg.AuditRetention, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("audit trail ready", "dir", trail.Dir(), "public_key", filepath.Join(trail.Dir(), audit.PublicKeyFile), "key_id", audit.KeyID(trail.PublicKey()))
	return trail, nil
}

// recorder is trail as a Recorder, or nil when there is none (a nil
// *audit.Log in an interface would not compare equal to nil).
func recorder(trail *audit.Log) audit.Recorder {
	if trail == nil {
		return nil
	}
	return trail
}
