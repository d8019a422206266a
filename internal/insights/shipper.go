package insights

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Shipper defaults.
const (
	// DefaultMaxChunk is the most one append carries, and so the most the
	// shipper holds in memory: Azure's AppendBlock limit (4 MiB).
	DefaultMaxChunk   = 4 << 20
	defaultInterval   = time.Second
	defaultTimeout    = 30 * time.Second
	defaultMaxBackoff = time.Minute
	// finishedAfter is how long after its hour ends a stream file is
	// taken as finished once copied to its end: the audit log may still
	// write a late record of the hour into it just after.
	finishedAfter = 2 * time.Hour
	// sweepEvery is how many passes go by between sweeps of the cursors
	// of deleted settings.
	sweepEvery = 60
)

// ShipperOptions configure a Shipper. Meta and AuditDir are required.
type ShipperOptions struct {
	// Meta holds the diagnostic settings and storage accounts.
	Meta meta.Store
	// AuditDir is the audit log's directory, whose streams are copied.
	AuditDir string
	// StorageDir is where local storage accounts live (<data>/storage).
	StorageDir string
	// CursorDir keeps the cursors; default <AuditDir>/cursors.
	CursorDir string
	// SealKey opens sealed credentials: the provider's SealKey.
	SealKey []byte
	// Interval is the time between passes; default 1s. Wake starts one
	// at once.
	Interval time.Duration
	// MaxChunk bounds one append and the shipper's buffer; default and
	// maximum DefaultMaxChunk.
	MaxChunk int
	// Timeout bounds each request to a remote destination; default 30s.
	Timeout time.Duration
	// MaxBackoff caps the wait before a failing destination is tried
	// again (it doubles from Interval); default 1 min.
	MaxBackoff time.Duration
	// Transport sends requests to remote destinations; default azcore's.
	Transport policy.Transporter
	// PublicKey is the audit log's public key (PEM), written beside the
	// records in each destination; nil writes none.
	PublicKey []byte
	// Logger receives a warning when a destination starts failing and a
	// note when it recovers; default slog.Default().
	Logger *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// ShipperStats describe the work done so far.
type ShipperStats struct {
	// Buffer is the size of the shipper's one buffer: all it holds of
	// the records it copies.
	Buffer int
	// Appends and Bytes count successful appends and their bytes.
	Appends, Bytes int64
	// Failures counts failed passes over a destination.
	Failures int64
}

// Shipper copies the streams that diagnostic settings name to their
// storage accounts (package doc). Run it once per data directory; its
// methods other than Run, Ship and Wake are for tests.
type Shipper struct {
	o      ShipperOptions
	aead   cipher.AEAD
	wake   chan struct{}
	buf    []byte
	probe  []byte
	cursor map[string]*cursor
	dests  map[string]*destState
	keys   map[string]bool // destinations (account|container) given the public key
	passes int
	stats  struct{ appends, bytes, failures atomic.Int64 }
}

// NewShipper returns a shipper; it fails only on a bad SealKey.
func NewShipper(o ShipperOptions) (*Shipper, error) {
	if o.CursorDir == "" {
		o.CursorDir = filepath.Join(o.AuditDir, "cursors")
	}
	if o.Interval <= 0 {
		o.Interval = defaultInterval
	}
	if o.MaxChunk <= 0 || o.MaxChunk > DefaultMaxChunk {
		o.MaxChunk = DefaultMaxChunk
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	aead, err := newAEAD(o.SealKey)
	if err != nil {
		return nil, err
	}
	return &Shipper{o: o, aead: aead, wake: make(chan struct{}, 1), buf: make([]byte, o.MaxChunk), probe: make([]byte, 64<<10),
		cursor: map[string]*cursor{}, dests: map[string]*destState{}, keys: map[string]bool{}}, nil
}

// Run ships every Interval, or at once after Wake, until ctx ends.
func (s *Shipper) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	failing := false
	for {
		err := s.Ship(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.o.Logger.Warn("diagnostic logs: reading the settings failed; retrying every pass", "err", err)
			failing = true
		case err == nil:
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Wake asks Run for a pass now.
func (s *Shipper) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters so far.
func (s *Shipper) Stats() ShipperStats {
	return ShipperStats{Buffer: len(s.buf), Appends: s.stats.appends.Load(), Bytes: s.stats.bytes.Load(), Failures: s.stats.failures.Load()}
}

// job is one enabled category of one setting.
type job struct {
	key, setting, category, registry string
	start                            streamStart
	account                          string // the storage account's id
	acc                              storedAccount
}

// Ship runs one pass: for every setting and enabled category, it copies
// the stream's new whole lines to the destination, skipping destinations
// that are failing until their backoff ends. Only reading the settings
// fails it; a destination's failure is logged once and retried later.
// Ship is not safe for concurrent use (Run calls it from one goroutine).
func (s *Shipper) Ship(ctx context.Context) error {
	jobs, err := s.plan(ctx)
	if err != nil {
		return err
	}
	// A destination's outcome is its first failure in the pass, else
	// success: a job with nothing to copy proves nothing about it.
	type outcome struct {
		j   job
		err error
	}
	now := s.o.Now()
	outcomes := map[*destState]*outcome{}
	var order []*destState
	for _, j := range jobs {
		d := s.destFor(j)
		o := outcomes[d]
		if now.Before(d.next) || o != nil && o.err != nil {
			continue
		}
		err := d.err
		if err == nil {
			err = s.shipJob(ctx, j, d.dest)
		}
		if ctx.Err() != nil {
			return nil
		}
		if o == nil {
			order = append(order, d)
		}
		if o == nil || err != nil {
			outcomes[d] = &outcome{j, err}
		}
	}
	for _, d := range order {
		d.report(s, outcomes[d].j, outcomes[d].err, now)
	}
	s.passes++
	if s.passes%sweepEvery == 1 {
		live := map[string]bool{}
		for _, j := range jobs {
			live[j.key] = true
		}
		for k := range s.cursor {
			if !live[k] {
				delete(s.cursor, k)
			}
		}
		if err := dropCursors(s.o.CursorDir, live); err != nil {
			s.o.Logger.Warn("diagnostic logs: removing the cursors of deleted settings failed", "err", err)
		}
	}
	return nil
}

// plan reads the settings and their accounts.
func (s *Shipper) plan(ctx context.Context) ([]job, error) {
	var jobs []job
	err := s.o.Meta.View(ctx, func(tx meta.Tx) error {
		jobs = jobs[:0]
		rows, err := tx.ListResources("", SettingType, meta.Page{})
		if err != nil {
			return err
		}
		for _, row := range rows {
			var st storedSetting
			id, err := arm.ParseExtensionID(row.ID)
			if err != nil || id.Extends == nil || json.Unmarshal(row.Document, &st) != nil || st.Setting.Properties == nil {
				continue // not a registry's setting: nothing here writes one
			}
			accID := deref(st.Setting.Properties.StorageAccountID)
			res, err := tx.GetResource(accID)
			var acc storedAccount
			if err != nil || !strings.EqualFold(res.Type, AccountType) || json.Unmarshal(res.Document, &acc) != nil {
				continue // the account was deleted: nothing to write to
			}
			for cat, start := range st.Starts {
				jobs = append(jobs, job{key: cursorKey(row.ID, cat, start.Epoch), setting: row.ID, category: cat,
					registry: id.Extends.String(), start: start, account: accID, acc: acc})
			}
		}
		return nil
	})
	return jobs, err
}

// destState is one storage account as the shipper sees it: its client,
// and whether it is failing.
type destState struct {
	dest        destination
	fingerprint string
	err         error // building the client failed
	failing     bool
	since, next time.Time
	backoff     time.Duration
}

// destFor returns the destination of a job's account, building it anew
// when the account's endpoint or credential changed.
func (s *Shipper) destFor(j job) *destState {
	key := strings.ToLower(j.account)
	fp := j.acc.Endpoint + "\n" + j.acc.CredentialKind + "\n" + j.acc.Sealed
	if d, ok := s.dests[key]; ok && d.fingerprint == fp {
		return d
	}
	d := &destState{fingerprint: fp}
	s.dests[key] = d
	if j.acc.Endpoint == "" {
		d.dest = localDest{dir: filepath.Join(s.o.StorageDir, deref(j.acc.Account.Name))}
		if s.o.StorageDir == "" {
			d.err = errors.New("local storage accounts are not served: no storage directory is configured")
		}
		return d
	}
	cred := ""
	if j.acc.CredentialKind != "" {
		if cred, d.err = unseal(s.aead, j.acc.Sealed, j.account, j.acc.CredentialKind); d.err != nil {
			return d
		}
	}
	d.dest, d.err = newRemoteDest(j.acc.Endpoint, j.acc.CredentialKind, cred, s.o.Transport, s.o.Timeout)
	return d
}

// report records the outcome of a job on its destination: the first
// failure of an outage is logged, then the destination is skipped for a
// backoff that doubles up to MaxBackoff; the first success after it is
// logged too.
func (d *destState) report(s *Shipper, j job, err error, now time.Time) {
	if err == nil {
		if d.failing {
			s.o.Logger.Info("diagnostic logs: destination recovered; shipping catches up", "storage_account", j.account,
				"down_for", now.Sub(d.since).Round(time.Second).String())
		}
		d.failing, d.backoff, d.next = false, 0, time.Time{}
		return
	}
	s.stats.failures.Add(1)
	if !d.failing {
		s.o.Logger.Warn("diagnostic logs: the destination fails; records stay in the audit log and ship once it recovers",
			"storage_account", j.account, "setting", j.setting, "category", j.category, "err", err.Error())
		d.failing, d.since = true, now
	}
	d.backoff = min(max(d.backoff*2, s.o.Interval), s.o.MaxBackoff)
	d.next = now.Add(d.backoff)
}

func (s *Shipper) loadCursor(j job) (*cursor, error) {
	if c, ok := s.cursor[j.key]; ok {
		return c, nil
	}
	c, err := loadCursor(s.o.CursorDir, j.key)
	if err != nil {
		return nil, err
	}
	c.Setting, c.Category, c.Epoch = j.setting, j.category, j.start.Epoch
	s.cursor[j.key] = c
	return c, nil
}

// errBehind wraps the failures of one job, naming it.
func errBehind(j job, err error) error {
	return fmt.Errorf("setting %s, category %s: %w", j.setting, j.category, err)
}
