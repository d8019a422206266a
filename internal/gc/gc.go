// Package gc is Bulkhead's online garbage collector for blob bytes. Blobs
// become visible only through link rows (DESIGN.md rule 2), so bytes that
// no link or manifest references in any registry are garbage: left by a
// blob or repository delete, a deleted registry, or an upload committed and
// never linked. The collector runs beside live traffic and never stops the
// registry.
package gc

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
)

// Result counts what one collection did.
type Result struct {
	Scanned      int   // committed blobs looked at
	Deleted      int   // blobs removed
	BytesFreed   int64 // their total size
	Referenced   int   // blobs still linked somewhere
	WithinGrace  int   // unreferenced but committed after the cutoff
	Disappeared  int   // unreferenced but gone or refreshed at delete time
	FirstFailure error // the first per-blob failure; the run goes on past it
}

// Collect deletes every blob that nothing references and that was last
// committed before now - grace.
//
// Safety against a concurrent push of the same content rests on two
// orderings. A commit marks its blob as committed now before the data plane
// links it (content.Collector), so a blob being pushed is within the grace
// period. And each blob's check-and-delete runs inside a metadata write
// transaction, which serializes it with every transaction that creates a
// link, so no link can appear between the check and the delete. (SQLite
// has one writer at a time; a PostgreSQL store must give BlobReferenced
// the same effect with a lock on the digest.)
func Collect(ctx context.Context, store meta.Store, blobs content.Collector, grace time.Duration) (Result, error) {
	cutoff := time.Now().Add(-grace)
	type candidate struct {
		d    digest.Digest
		size int64
	}
	// List first: deleting while walking a directory is allowed, but a
	// short list of old blobs keeps the walk free of metadata round trips.
	var old []candidate
	var r Result
	err := blobs.Blobs(ctx, func(d digest.Digest, size int64, committed time.Time) error {
		r.Scanned++
		if committed.Before(cutoff) {
			old = append(old, candidate{d, size})
		} else {
			r.WithinGrace++
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("listing blobs: %w", err)
	}
	for _, c := range old {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		var referenced, deleted bool
		err := store.Update(ctx, func(tx meta.Tx) error {
			var err error
			if referenced, err = tx.BlobReferenced(c.d); err != nil || referenced {
				return err
			}
			deleted, err = blobs.DeleteIdle(ctx, c.d, cutoff)
			return err
		})
		switch {
		case err != nil:
			if r.FirstFailure == nil {
				r.FirstFailure = fmt.Errorf("blob %s: %w", c.d, err)
			}
		case referenced:
			r.Referenced++
		case deleted:
			r.Deleted++
			r.BytesFreed += c.size
		default:
			r.Disappeared++
		}
	}
	return r, nil
}

// Options configure Run.
type Options struct {
	Store    meta.Store
	Blobs    content.Collector
	Interval time.Duration // between runs; the first run waits one interval
	Grace    time.Duration // how long a committed blob is safe unreferenced
	Log      *slog.Logger
	// Metrics, when set, receives the collector's Prometheus series.
	Metrics prometheus.Registerer
}

// Run collects every Interval until ctx ends.
func Run(ctx context.Context, o Options) {
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bulkhead_gc_runs_total", Help: "Garbage collection runs by outcome (ok, failed).",
	}, []string{"outcome"})
	deleted := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bulkhead_gc_blobs_deleted_total", Help: "Unreferenced blobs deleted by garbage collection.",
	})
	freed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bulkhead_gc_bytes_freed_total", Help: "Bytes of blobs deleted by garbage collection.",
	})
	if o.Metrics != nil {
		o.Metrics.MustRegister(runs, deleted, freed)
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		r, err := Collect(ctx, o.Store, o.Blobs, o.Grace)
		if err == nil {
			err = r.FirstFailure
		}
		deleted.Add(float64(r.Deleted))
		freed.Add(float64(r.BytesFreed))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			runs.WithLabelValues("failed").Inc()
			o.Log.Warn("garbage collection", "err", err, "scanned", r.Scanned, "deleted", r.Deleted)
			continue
		}
		runs.WithLabelValues("ok").Inc()
		o.Log.Info("garbage collection", "scanned", r.Scanned, "deleted", r.Deleted, "bytes_freed", r.BytesFreed,
			"referenced", r.Referenced, "within_grace", r.WithinGrace, "duration_ms", time.Since(start).Milliseconds())
	}
}
