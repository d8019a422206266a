package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Options configure a Log. Dir and Key are required.
type Options struct {
	// Dir is the log's directory (<data>/audit).
	Dir string
	// Key signs checkpoints and restart markers.
	Key ed25519.PrivateKey
	// Node names this server in chain links (its persisted node id).
	Node string
	// Meta receives the egress totals; nil keeps none.
	Meta meta.Store
	// CheckpointRecords and CheckpointInterval: a stream is sealed after
	// this many records, or this long after its first unsealed one.
	// Defaults 1000 and 1m.
	CheckpointRecords  int
	CheckpointInterval time.Duration
	// Retention is how long hourly files and egress totals are kept; 0
	// keeps them forever.
	Retention time.Duration
	// Queue bounds the records waiting for the writer (default 16384);
	// Wait is how long Record waits for room before it counts the record
	// as lost (default 200ms). Lost records leave a gap marker in their
	// stream, never silence.
	Queue int
	Wait  time.Duration
	// Logger receives write faults; default slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Log is the audit trail's writer. Record is safe for concurrent use and
// never blocks for longer than Options.Wait; one goroutine writes.
type Log struct {
	o       Options
	keyID   string
	in      chan item
	stop    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	closeMu sync.Once

	dropMu  sync.Mutex
	drops   map[string]*dropped // stream → what was lost
	anyDrop atomic.Bool

	// Owned by the writer goroutine.
	streams map[string]*stream
	// byRef finds the stream of a record whose resource id is valid as
	// given, without upper-casing and checking it again for every record.
	byRef  map[streamRef]*stream
	totals map[totalKey]*meta.EgressCount
	failed bool // a write failed; logged once until one succeeds
	enc    *lineEncoder
}

// item is one entry of the queue. It holds the record by value: the
// queue's buffer (about 600 bytes × Queue, 9.5 MiB by default) is
// allocated when the log opens and stays live, which raises the heap goal
// of the whole process and so makes it collect less often. Under a
// manifest-GET load that saves more CPU than the audit trail spends
// (bench -audit, docs/benchmarks.md "Audit": server CPU per manifest GET
// 0.90–0.92× that of --audit=false). Holding records by pointer saves 20 MiB
// of RSS but made it 1.09–1.11×, in extra collections. Change it together
// with the server's GC settings.
type item struct {
	rec   Record
	count *countItem
	sync  chan struct{}
}

// streamRef is a stream as records name it: category and resource id.
type streamRef struct{ category, resourceID string }

// maxStreamRefs bounds byRef; past it the cache starts over.
const maxStreamRefs = 4096

type countItem struct {
	registryKey, channel, identity string
	bytes                          int64
	at                             time.Time
}

type dropped struct {
	category, resourceID string
	gap                  Gap
}

type totalKey struct{ reg, day, channel, identity string }

// Open opens the log in o.Dir, picks up every stream where it left off,
// and marks the streams the last run did not close. Close stops it.
func Open(o Options) (*Log, error) {
	if o.Dir == "" || len(o.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: a directory and an Ed25519 key are required")
	}
	if o.CheckpointRecords <= 0 {
		o.CheckpointRecords = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.Queue <= 0 {
		o.Queue = 16384
	}
	if o.Wait <= 0 {
		o.Wait = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	pub := o.Key.Public().(ed25519.PublicKey)
	if err := writeFileAtomic(filepath.Join(o.Dir, PublicKeyFile), PublicKeyPEM(pub)); err != nil {
		return nil, fmt.Errorf("audit: export the public key: %w", err)
	}
	l := &Log{o: o, keyID: KeyID(pub), in: make(chan item, o.Queue), stop: make(chan struct{}), done: make(chan struct{}),
		drops: map[string]*dropped{}, streams: map[string]*stream{}, byRef: map[streamRef]*stream{}, totals: map[totalKey]*meta.EgressCount{},
		enc: newLineEncoder()}
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, err
	}
	go l.run()
	return l, nil
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.o.Dir }

// PublicKey is the key that verifies this log's checkpoints.
func (l *Log) PublicKey() ed25519.PublicKey { return l.o.Key.Public().(ed25519.PublicKey) }

// Record queues rec. A nil Log keeps nothing. When the writer is more than
// Queue records behind for longer than Wait, the record is counted in its
// stream's gap marker instead.
func (l *Log) Record(rec Record) {
	if l == nil || l.closed.Load() {
		return
	}
	if rec.Time.IsZero() {
		rec.Time = l.o.Now()
	}
	it := item{rec: rec}
	select {
	case l.in <- it:
		return
	default:
	}
	t := time.NewTimer(l.o.Wait)
	defer t.Stop()
	select {
	case l.in <- it:
	case <-t.C:
		l.drop(rec)
	case <-l.stop:
		l.drop(rec)
	}
}

// Count adds bytes that left registryKey by channel to the egress totals
// without a record of their own: the blobs of a pull whose manifest GET
// is the record. A full queue drops the count (totals are counters; the
// records stay complete).
func (l *Log) Count(registryKey, channel, identity string, bytes int64) {
	if l == nil || l.closed.Load() || registryKey == "" || bytes <= 0 {
		return
	}
	select {
	case l.in <- item{count: &countItem{registryKey: registryKey, channel: channel, identity: identity, bytes: bytes, at: l.o.Now()}}:
	default:
	}
}

// Sync waits until everything recorded before it is written to the
// stream files and the egress totals, or ctx ends.
func (l *Log) Sync(ctx context.Context) error {
	if l == nil || l.closed.Load() {
		return nil
	}
	ch := make(chan struct{})
	select {
	case l.in <- item{sync: ch}:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.done:
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.done:
		return nil
	}
}

// Close writes what is queued, seals every stream with a shutdown
// checkpoint (so the next start knows the chain was closed) and stops.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.closeMu.Do(func() {
		l.closed.Store(true)
		close(l.stop)
		<-l.done
	})
	return nil
}

func (l *Log) drop(rec Record) {
	key := StreamName(rec.Category, rec.ResourceID)
	l.dropMu.Lock()
	d := l.drops[key]
	if d == nil {
		d = &dropped{category: rec.Category, resourceID: rec.ResourceID, gap: Gap{From: rec.Time}}
		l.drops[key] = d
	}
	d.gap.Count++
	d.gap.To = rec.Time
	l.dropMu.Unlock()
	l.anyDrop.Store(true)
}

// batchRest is how long the writer rests after each batch before it
// takes the next: records wait in the queue meanwhile (filling it at this
// pace would take millions of records a second), and a record reaches its
// file at most this much later than it would have.
const batchRest = 5 * time.Millisecond

// run is the writer: it takes records in batches, writes each batch to
// its streams' files with one flush, seals streams, writes the egress
// totals every second and applies retention every hour.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	rest := time.NewTimer(batchRest)
	rest.Stop()
	lastRetention := time.Time{}
	var syncs []chan struct{}
	for {
		select {
		case it := <-l.in:
			syncs = l.take(it, syncs)
			n := 1
			for ; n <= 4096; n++ {
				select {
				case it := <-l.in:
					syncs = l.take(it, syncs)
					continue
				default:
				}
				break
			}
			l.writeGaps()
			l.flush()
			if len(syncs) > 0 {
				l.flushTotals()
				for _, ch := range syncs {
					close(ch)
				}
				syncs = syncs[:0]
			}
			// Under a steady load the writer would otherwise wake for
			// every record and write each with a write(2) of its own. A
			// writer that is behind (a batch of a quarter of the queue,
			// or a queue too small to wait in) does not rest.
			if n < cap(l.in)/4 {
				rest.Reset(batchRest)
				select {
				case <-rest.C:
				case <-l.stop:
				}
			}
		case <-tick.C:
			now := l.o.Now()
			l.writeGaps()
			l.sealDue(now)
			l.flush()
			l.flushTotals()
			if now.Sub(lastRetention) >= time.Hour {
				lastRetention = now
				l.applyRetention(now)
			}
		case <-l.stop:
			for {
				select {
				case it := <-l.in:
					syncs = l.take(it, syncs)
					continue
				default:
				}
				break
			}
			l.writeGaps()
			l.sealAll(reasonShutdown)
			l.flush()
			l.flushTotals()
			l.closeFiles()
			for _, ch := range syncs {
				close(ch)
			}
			return
		}
	}
}

func (l *Log) take(it item, syncs []chan struct{}) []chan struct{} {
	switch {
	case it.sync != nil:
		return append(syncs, it.sync)
	case it.count != nil:
		c := it.count
		l.addTotal(c.registryKey, c.at, c.channel, c.identity, c.bytes, 0, 0)
	default:
		l.write(&it.rec)
	}
	return syncs
}

// write appends rec to its stream and counts its egress. The writer owns
// rec from here on.
func (l *Log) write(rec *Record) {
	if rec.Level == "" {
		rec.Level = "Informational"
		if rec.ResultType == ResultFailed {
			rec.Level = "Error"
		}
	}
	rec.Time = rec.Time.UTC()
	ref := streamRef{rec.Category, rec.ResourceID}
	s := l.byRef[ref]
	if s == nil {
		rec.ResourceID = safeResourceID(rec.ResourceID)
		s = l.stream(rec.Category, rec.ResourceID)
		if rec.ResourceID == ref.resourceID {
			if len(l.byRef) >= maxStreamRefs {
				clear(l.byRef)
			}
			l.byRef[ref] = s
		}
	}
	l.fault(s.append(l, rec))
	if rec.Egress != nil && rec.RegistryKey != "" {
		l.addTotal(rec.RegistryKey, rec.Time, rec.Egress.Channel, rec.Identity, rec.Egress.Bytes, rec.Egress.Artifacts, 1)
	}
	if s.unsealed >= l.o.CheckpointRecords {
		l.fault(s.seal(l, reasonRecords))
	}
}

func (l *Log) addTotal(reg string, at time.Time, channel, identity string, bytes, artifacts, attempts int64) {
	k := totalKey{reg: reg, day: at.UTC().Format(time.DateOnly), channel: channel, identity: identity}
	c := l.totals[k]
	if c == nil {
		c = &meta.EgressCount{RegistryKey: reg, Day: k.day, Channel: channel, Identity: identity}
		l.totals[k] = c
	}
	c.Bytes += bytes
	c.Artifacts += artifacts
	c.Attempts += attempts
}

// flushTotals writes the pending egress totals in one transaction. A
// failure keeps them pending for the next second.
func (l *Log) flushTotals() {
	if len(l.totals) == 0 || l.o.Meta == nil {
		clear(l.totals)
		return
	}
	counts := make([]meta.EgressCount, 0, len(l.totals))
	for _, c := range l.totals {
		counts = append(counts, *c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.o.Meta.Update(ctx, func(tx meta.Tx) error { return tx.AddEgress(counts) }); err != nil {
		l.o.Logger.Warn("audit: egress totals not written yet; will retry", "err", err)
		return
	}
	clear(l.totals)
}

// writeGaps turns the records Record could not queue into gap markers.
func (l *Log) writeGaps() {
	if !l.anyDrop.Swap(false) {
		return
	}
	l.dropMu.Lock()
	drops := l.drops
	l.drops = map[string]*dropped{}
	l.dropMu.Unlock()
	for _, d := range drops {
		g := d.gap
		l.write(&Record{Time: l.o.Now(), ResourceID: d.resourceID, Category: d.category, OperationName: OpGap, ResultType: ResultFailed,
			Properties: Properties{Gap: &g, Message: fmt.Sprintf("%d records produced between %s and %s were not written: the audit writer was behind",
				g.Count, g.From.UTC().Format(time.RFC3339Nano), g.To.UTC().Format(time.RFC3339Nano))}})
	}
}

func (l *Log) sealDue(now time.Time) {
	for _, s := range l.streams {
		if s.unsealed > 0 && now.Sub(s.firstUnsealed) >= l.o.CheckpointInterval {
			l.fault(s.seal(l, reasonInterval))
		}
	}
}

func (l *Log) sealAll(reason string) {
	for _, s := range l.streams {
		if s.unsealed > 0 || !s.closedClean {
			l.fault(s.seal(l, reason))
		}
	}
}

func (l *Log) flush() {
	for _, s := range l.streams {
		l.fault(s.flush())
	}
}

func (l *Log) closeFiles() {
	for _, s := range l.streams {
		l.fault(s.close())
	}
}

// fault logs a write failure once per run of failures: the records stay
// unwritten, and the next start's restart marker says so.
func (l *Log) fault(err error) {
	if err == nil {
		return
	}
	if !l.failed {
		l.o.Logger.Error("audit: writing the audit log failed", "err", err)
	}
	l.failed = true
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
