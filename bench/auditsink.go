package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

// soakResult is a long manifest-GET load on a fresh server, with its RSS
// sampled every second.
type soakResult struct {
	label                  string
	m                      measurement
	start, at10, end, peak int64 // VmRSS before the load, 10 s in, at its end, highest sample
	hwm                    int64 // VmHWM over the load
	served                 gets  // manifest GETs answered
	records                recordCount
	audit                  bool
}

// slowResult is the same load on a server whose audit stream is read by
// a slow reader.
type slowResult struct {
	soakResult
	rate    int64  // the reader's bytes per second during the load
	exit    string // how the server ended after SIGTERM
	drained bool   // every reader reached the end of its pipe
}

// manifestPath is the manifest the audit loads GET.
func manifestPath(t *target) string { return "/v2/" + t.repo + "/manifests/" + manifestTag }

// soakRSS starts a fresh server in dir with the extra flags, pushes the
// fixtures and runs the manifest-GET load for o.duration, sampling the
// server's VmRSS every second.
func soakRSS(ctx context.Context, dir, bin, label string, o options, extra ...string) (soakResult, error) {
	r := soakResult{label: label, audit: len(extra) == 0}
	t, err := startBulkheadIn(ctx, dir, label+" (soak)", bin, extra...)
	if t != nil {
		defer t.stop()
	}
	if err != nil {
		return r, fmt.Errorf("%s (soak): %w", label, err)
	}
	if _, err := setupFixtures(ctx, t); err != nil {
		return r, fmt.Errorf("%s (soak): fixtures: %w", label, err)
	}
	if err := loadWithRSS(ctx, o, t, &r); err != nil {
		return r, err
	}
	pause(ctx, 2*time.Second)
	if r.served, _, err = servedGets(ctx, t); err != nil {
		return r, err
	}
	if r.audit {
		err = countDir(filepath.Join(dir, "bulkhead-data", "audit", audit.Container(audit.CategoryRepository)), &r.records)
	}
	return r, err
}

// loadWithRSS runs the manifest-GET load on t for o.duration with t's
// VmRSS sampled every second and its VmHWM reset before, and fills r.
func loadWithRSS(ctx context.Context, o options, t *target, r *soakResult) error {
	pause(ctx, time.Second)
	if err := resetPeakRSS(t.pid()); err != nil {
		return fmt.Errorf("reset VmHWM: %w", err)
	}
	progress("%s: manifest GET for %v, RSS sampled every second", t.name, o.duration)
	series := sampleSeries(t.pid(), time.Second)
	r.m = getLoad(ctx, o, t, manifestPath(t), http.Header{"Accept": {ociManifest}}, 8, -1)
	series.stop()
	if r.m.err != nil {
		return fmt.Errorf("%s: %w", t.name, r.m.err)
	}
	r.start, r.at10, r.end, r.peak = series.first(), series.after(10*time.Second), series.last(), series.max()
	var err error
	r.hwm, err = procStatus(t.pid(), "VmHWM")
	progress("%s: %s; VmRSS %.1f → %.1f MiB (peak %.1f)", t.name, r.m.summary(), float64(r.start)/mib, float64(r.end)/mib, float64(r.peak)/mib)
	return err
}

// slowSinkRun starts a fresh audit-on server whose repository-event
// stream for the registry goes into named pipes instead of files: bench
// creates a FIFO at each hourly file's path before the first record, and
// reads it at sinkRate bytes per second while the manifest-GET load runs,
// as a disk too slow for the load would take the writes. After the load
// the reader speeds up, the server is stopped (its writer drains its
// queue and seals the stream), and every line is counted: each manifest
// GET must be a Pull record or be counted in a gap marker.
func slowSinkRun(ctx context.Context, dir, bin string, o options) (slowResult, error) {
	r := slowResult{soakResult: soakResult{label: "audit on, slow sink", audit: true}, rate: sinkRate}
	t, err := startBulkheadIn(ctx, dir, r.label, bin)
	if t != nil {
		defer t.stop()
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", r.label, err)
	}
	var reg struct {
		ID string `json:"id"`
	}
	path := "/subscriptions/" + t.sub + "/resourceGroups/bench/providers/Microsoft.ContainerRegistry/registries/" + registryName + "?api-version=2025-11-01"
	if err := t.call(ctx, http.MethodGet, path, t.arm, nil, &reg); err != nil {
		return r, err
	}
	sink, err := openSlowSink(filepath.Join(dir, "bulkhead-data", "audit"), reg.ID, time.Now())
	if err != nil {
		return r, err
	}
	defer sink.close()
	if _, err := setupFixtures(ctx, t); err != nil {
		return r, fmt.Errorf("%s: fixtures: %w", r.label, err)
	}
	sink.rate.Store(sinkRate)
	err = loadWithRSS(ctx, o, t, &r.soakResult)
	sink.rate.Store(0)
	if err != nil {
		return r, err
	}
	pause(ctx, 2*time.Second)
	if r.served, _, err = servedGets(ctx, t); err != nil {
		return r, err
	}
	progress("%s: stopping the server; its writer drains into the pipe", r.label)
	t.stop()
	r.exit = "exit status 0"
	if t.werr != nil {
		r.exit = t.werr.Error()
	}
	r.drained = sink.wait(30 * time.Second)
	r.records = sink.total()
	return r, sink.err()
}

// slowSink reads named pipes where a server writes audit files.
type slowSink struct {
	paths  []string
	opened []atomic.Bool
	rate   atomic.Int64 // bytes per second; 0 reads as fast as it can
	wg     sync.WaitGroup
	mu     sync.Mutex
	count  recordCount
	first  error
}

// openSlowSink makes a FIFO at the repository-event file of resourceID
// for the hour of now and the two after it, and starts a reader on each.
func openSlowSink(dir, resourceID string, now time.Time) (*slowSink, error) {
	s := &slowSink{}
	for h := range 3 {
		c, name := audit.BlobPath(audit.CategoryRepository, resourceID, now.Add(time.Duration(h)*time.Hour))
		p := filepath.Join(dir, c, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			return nil, fmt.Errorf("mkfifo %s: %w", p, err)
		}
		s.paths = append(s.paths, p)
	}
	s.opened = make([]atomic.Bool, len(s.paths))
	for i, p := range s.paths {
		s.wg.Add(1)
		go s.read(i, p)
	}
	return s, nil
}

// read opens the FIFO (which waits for the server's writer) and counts
// its lines until the writer closes it.
func (s *slowSink) read(i int, p string) {
	defer s.wg.Done()
	f, err := os.OpenFile(p, os.O_RDONLY, 0)
	s.opened[i].Store(true)
	if err != nil {
		s.fail(err)
		return
	}
	defer f.Close()
	var c recordCount
	_, err = c.scan(throttled{f, &s.rate})
	s.mu.Lock()
	s.count.merge(c)
	s.mu.Unlock()
	if err != nil {
		s.fail(err)
	}
}

func (s *slowSink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = err
	}
}

func (s *slowSink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

func (s *slowSink) total() recordCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// wait ends the readers whose FIFO no writer opened (by opening and
// closing its write end), then waits up to d for every reader to reach
// the end of its pipe.
func (s *slowSink) wait(d time.Duration) bool {
	s.rate.Store(0)
	deadline := time.Now().Add(2 * time.Second)
	for i, p := range s.paths {
		for !s.opened[i].Load() {
			f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				f.Close()
				break
			}
			if !errors.Is(err, syscall.ENXIO) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// close is wait with a short limit, for error paths.
func (s *slowSink) close() { s.wait(time.Second) }

// throttled reads from r at most *rate bytes per second (any rate when 0).
type throttled struct {
	r    io.Reader
	rate *atomic.Int64
}

func (t throttled) Read(p []byte) (int, error) {
	rate := t.rate.Load()
	if rate <= 0 {
		return t.r.Read(p)
	}
	n, err := t.r.Read(p[:min(len(p), 4096)])
	time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
	return n, err
}

// merge adds o's counts to c.
func (c *recordCount) merge(o recordCount) {
	c.lines += o.lines
	c.pulls += o.pulls
	c.failedPulls += o.failedPulls
	c.pushes += o.pushes
	c.logins += o.logins
	c.checkpoints += o.checkpoints
	c.restarts += o.restarts
	c.gaps += o.gaps
	c.gapRecords += o.gapRecords
	c.other += o.other
	for k, v := range o.odd {
		if c.odd == nil {
			c.odd = map[string]int64{}
		}
		c.odd[k] += v
	}
}
