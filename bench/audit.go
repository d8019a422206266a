package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

// The audit benchmark's bound (the issue: auditing the data plane costs
// under 5% of manifest-GET throughput and of its p50) and its shape.
const (
	minAuditRatio    = 0.95 // throughput, audit on ÷ audit off
	maxAuditP50Ratio = 1.05 // p50, audit on ÷ audit off
	// auditRounds is a multiple of the three servers, so that each runs
	// first, second and third equally often; six because other work on a
	// shared 2-core machine moves single rounds by 20-30%.
	auditRounds = 6
	// sinkRate is how fast the slow sink reads the audit-on server's
	// stream, in bytes per second: about 60 Pull records (1.1 KB each) a second.
	sinkRate = 64 << 10
)

// auditServer is one server of the audit comparison.
type auditServer struct {
	label string // "audit on", "audit off", "audit off (2)"
	t     *target
	data  string // its data directory
	fx    fixtures
	hwm   int64 // VmHWM over the comparison, bytes
}

// auditLoad is one load of the comparison, run the same way on every server.
type auditLoad struct {
	name  string
	size  int64 // body size for MB/s; -1 for none
	path  func(t *target, fx fixtures) string
	hdr   http.Header
	bytes bool // report MB/s rather than req/s
}

// recordCount is what a stream's lines say: records by operation, and
// the records gap markers stand for.
type recordCount struct {
	lines, pulls, failedPulls, pushes, logins int64
	checkpoints, restarts                     int64
	gaps, gapRecords                          int64
	other                                     int64
	odd                                       map[string]int64 // Pull records by status, other than 200
}

// add counts one line of a stream file.
func (c *recordCount) add(line []byte) {
	var r struct {
		OperationName string `json:"operationName"`
		ResultType    string `json:"resultType"`
		Status        string `json:"resultDescription"`
		Properties    struct {
			Gap *struct {
				Count int64 `json:"count"`
			} `json:"gap"`
		} `json:"properties"`
	}
	c.lines++
	if json.Unmarshal(line, &r) != nil {
		c.other++
		return
	}
	switch r.OperationName {
	case audit.OpPull:
		c.pulls++
		if r.ResultType != audit.ResultSucceeded {
			c.failedPulls++
		}
		if r.Status != "200" {
			if c.odd == nil {
				c.odd = map[string]int64{}
			}
			c.odd[r.Status]++
		}
	case audit.OpPush:
		c.pushes++
	case audit.OpLogin:
		c.logins++
	case audit.OpCheckpoint:
		c.checkpoints++
	case audit.OpRestart:
		c.restarts++
	case audit.OpGap:
		c.gaps++
		if g := r.Properties.Gap; g != nil {
			c.gapRecords += g.Count
		}
	default:
		c.other++
	}
}

// scan counts every line read from r.
func (c *recordCount) scan(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var n int64
	for {
		line, err := br.ReadBytes('\n')
		n += int64(len(line))
		if len(bytes.TrimSpace(line)) > 0 {
			c.add(line)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// auditM is one load's measurement on one server, with the CPU time the
// server used meanwhile (user + system, from /proc/<pid>/stat).
type auditM struct {
	measurement
	cpu time.Duration
}

// cpuPerOp is the server's CPU time per completed request, in µs.
func (m auditM) cpuPerOp() float64 {
	return float64(m.cpu) / float64(time.Microsecond) / float64(max(1, m.ops))
}

// auditRun is everything the audit benchmark measured.
type auditRun struct {
	servers []*auditServer
	loads   []auditLoad
	m       [][][]auditM // [load][server][round]
	order   [][]int      // [round] the servers in the order they ran
	records recordCount  // the audit-on server's repository events
	served  gets         // manifest GETs it answered (its /metrics)
	blobs   gets         // blob GETs it answered
	soak    []soakResult
	slow    slowResult
}

// benchAudit runs the audit benchmark (-audit): the data-plane loads on a
// server with the audit trail on and on two with it off, in alternating
// rounds; then a long manifest-GET load on fresh servers with their RSS
// sampled; then the same load on a server whose audit stream goes to a
// slow reader (auditsink.go).
func benchAudit(ctx context.Context, root, bin string, o options, f facts) error {
	run := auditRun{loads: []auditLoad{
		{name: "manifest GET by tag, 8 connections (wrk)", size: -1, hdr: http.Header{"Accept": {ociManifest}},
			path: func(t *target, _ fixtures) string { return "/v2/" + t.repo + "/manifests/" + manifestTag }},
		{name: "blob GET 1 MiB, 8 connections (wrk)", size: mib, bytes: true,
			path: func(t *target, fx fixtures) string { return "/v2/" + t.repo + "/blobs/" + fx.blob1MiB }},
	}}
	for i, s := range []struct {
		label string
		extra []string
	}{{"audit on", nil}, {"audit off", []string{"--audit=false"}}, {"audit off (2)", []string{"--audit=false"}}} {
		dir := filepath.Join(root, fmt.Sprintf("audit%d", i))
		t, err := startBulkheadIn(ctx, dir, s.label, bin, s.extra...)
		if t != nil {
			defer t.stop()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.label, err)
		}
		progress("%s: pid %d on %s, data in %s", s.label, t.pid(), t.base.Host, filepath.Join(dir, "bulkhead-data"))
		run.servers = append(run.servers, &auditServer{label: s.label, t: t, data: filepath.Join(dir, "bulkhead-data")})
	}
	for _, s := range run.servers {
		progress("%s: pushing fixtures", s.label)
		fx, err := setupFixtures(ctx, s.t)
		if err != nil {
			return fmt.Errorf("%s: fixtures: %w", s.label, err)
		}
		s.fx = fx
		if err := resetPeakRSS(s.t.pid()); err != nil {
			return fmt.Errorf("%s: reset VmHWM: %w", s.label, err)
		}
	}
	if err := compareAudit(ctx, o, &run); err != nil {
		return err
	}
	for _, s := range run.servers {
		hwm, err := procStatus(s.t.pid(), "VmHWM")
		if err != nil {
			return err
		}
		s.hwm = hwm
	}
	// Requests wrk left in flight finish, and the writer flushes after
	// every batch and every second; wait for both, then read what the
	// server counted and what it wrote.
	on := run.servers[0]
	pause(ctx, 2*time.Second)
	var err error
	if run.served, run.blobs, err = servedGets(ctx, on.t); err != nil {
		return err
	}
	if err := countDir(filepath.Join(on.data, "audit", audit.Container(audit.CategoryRepository)), &run.records); err != nil {
		return err
	}
	progress("audit on: %d Pull records on disk, %d manifest GETs answered", run.records.pulls, run.served.all)
	for _, s := range run.servers {
		s.t.stop()
	}

	soakOpts := o
	soakOpts.duration = o.auditSoak
	for i, s := range []struct {
		label string
		extra []string
	}{{"audit on", nil}, {"audit off", []string{"--audit=false"}}} {
		r, err := soakRSS(ctx, filepath.Join(root, fmt.Sprintf("soak%d", i)), bin, s.label, soakOpts, s.extra...)
		if err != nil {
			return err
		}
		run.soak = append(run.soak, r)
	}
	if run.slow, err = slowSinkRun(ctx, filepath.Join(root, "slow"), bin, soakOpts); err != nil {
		return err
	}

	f.loadAvgEnd = loadAverage()
	md := renderAudit(f, o, run)
	fmt.Print("\n" + md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
		progress("wrote %s", o.out)
	}
	return nil
}

// compareAudit runs every load auditRounds times on every server. Round r
// starts with server r mod 3: each server runs first, second and third
// equally often,
// so that drift (the machine's other work, page cache, GC) spreads evenly.
func compareAudit(ctx context.Context, o options, run *auditRun) error {
	n := len(run.servers)
	for r := range auditRounds {
		var order []int
		for i := range n {
			order = append(order, (r+i)%n)
		}
		run.order = append(run.order, order)
	}
	run.m = make([][][]auditM, len(run.loads))
	for li, l := range run.loads {
		run.m[li] = make([][]auditM, n)
		for r := range auditRounds {
			for _, si := range run.order[r] {
				s := run.servers[si]
				pause(ctx, time.Second)
				if err := ctx.Err(); err != nil {
					return err
				}
				cpu := cpuTime(s.t.pid())
				m := auditM{measurement: getLoad(ctx, o, s.t, l.path(s.t, s.fx), l.hdr, 8, l.size)}
				m.cpu = cpuTime(s.t.pid()) - cpu
				if m.err != nil {
					return fmt.Errorf("%s: %s: %w", s.label, l.name, m.err)
				}
				progress("%s: %s, round %d: %s; server CPU %.1f µs/request", s.label, l.name, r+1, m.summary(), m.cpuPerOp())
				run.m[li][si] = append(run.m[li][si], m)
			}
		}
	}
	return nil
}

// countDir counts the lines of every hourly file under dir.
func countDir(dir string, c *recordCount) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "PT1H.json" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = c.scan(f)
		return err
	})
}

var (
	requestsTotal = regexp.MustCompile(`(?m)^bulkhead_http_requests_total\{([^}]*)\} ([0-9.e+]+)$`)
	statusLabel   = regexp.MustCompile(`code="(\d+)"`)
)

// gets counts GET answers: all of them, and those that were not 200
// by status.
type gets struct {
	all, not200 int64
	codes       string // "499×2", the statuses other than 200
}

// servedGets reads the server's /metrics: how many manifest and blob GETs
// it answered.
func servedGets(ctx context.Context, t *target) (manifests, blobs gets, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url("/metrics"), nil)
	resp, err := t.client.Do(req)
	if err != nil {
		return manifests, blobs, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return manifests, blobs, fmt.Errorf("GET /metrics: %s (%v)", resp.Status, err)
	}
	for _, m := range requestsTotal.FindAllStringSubmatch(string(b), -1) {
		labels, v := m[1], m[2]
		if !strings.Contains(labels, `method="GET"`) {
			continue
		}
		f, _ := strconv.ParseFloat(v, 64)
		var g *gets
		switch {
		case strings.Contains(labels, `route="v2/manifests"`):
			g = &manifests
		case strings.Contains(labels, `route="v2/blobs"`):
			g = &blobs
		default:
			continue
		}
		g.all += int64(f)
		if code := statusLabel.FindStringSubmatch(labels); code != nil && code[1] != "200" {
			g.not200 += int64(f)
			g.codes = strings.TrimPrefix(g.codes+fmt.Sprintf(", %s×%d", code[1], int64(f)), ", ")
		}
	}
	return manifests, blobs, nil
}

// rssSeries samples a process's VmRSS every period until stop is called.
type rssSeries struct {
	mu      sync.Mutex
	at      []time.Duration
	rss     []int64
	stopped chan struct{}
	done    chan struct{}
}

// sampleSeries starts sampling pid's VmRSS every period, the first sample
// at once.
func sampleSeries(pid int, period time.Duration) *rssSeries {
	s := &rssSeries{stopped: make(chan struct{}), done: make(chan struct{})}
	begin := time.Now()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				s.mu.Lock()
				s.at, s.rss = append(s.at, time.Since(begin)), append(s.rss, v)
				s.mu.Unlock()
			}
			select {
			case <-s.stopped:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling, taking one last sample.
func (s *rssSeries) stop() {
	close(s.stopped)
	<-s.done
}

// first, last and max are the first, last and highest samples, in bytes.
func (s *rssSeries) first() int64 { return s.rss[0] }
func (s *rssSeries) last() int64  { return s.rss[len(s.rss)-1] }
func (s *rssSeries) max() int64 {
	var m int64
	for _, v := range s.rss {
		m = max(m, v)
	}
	return m
}

// after returns the first sample taken at or after d.
func (s *rssSeries) after(d time.Duration) int64 {
	for i, t := range s.at {
		if t >= d {
			return s.rss[i]
		}
	}
	return s.last()
}
