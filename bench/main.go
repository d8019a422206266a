// Command bench benchmarks Bulkhead side by side with docker-registry
// (CNCF distribution 2.8.2, the Debian package) in one run, on the same
// machine and the same loads, and prints a markdown table with both figures,
// the ratio Bulkhead/peer and a PASS/MISS verdict against the project's
// targets (DESIGN.md: benchmarks compare with a peer and report ratios).
//
// Run it from the repository root:
//
//	go run ./bench                      # 5 s per load, both servers
//	go run ./bench -duration 10s -out /tmp/bench.md
//	go run ./bench -skip-peer           # Bulkhead only; ratios are n/a
//	go run ./bench -transfer            # transfer pipelines and importImage
//	go run ./bench -audit               # the audit trail's cost: audit on against --audit=false
//
// It is a main package, not a test: `go test ./...` never runs it.
// Both servers run at the same time on free 127.0.0.1 ports in a temporary
// directory, but they are loaded one after the other, never concurrently.
// Both are stopped and the directory is removed at the end, on error and on
// SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	duration      time.Duration // how long each timed load runs
	out           string        // optional markdown output file
	skipPeer      bool          // benchmark Bulkhead alone
	peerBin       string        // docker-registry executable
	bulkheadBin   string        // prebuilt Bulkhead binary; built from ./cmd/bulkhead when empty
	wrkBin        string        // wrk executable; the Go client is used when it is missing
	armRegistries int           // when > 0, run only the ARM GET/LIST benchmark with this many registries
	transfer      bool          // run only the transfer benchmark (transfer.go)
	transferMiB   int           // its export and memory-run size; the remote image is a quarter of it
	audit         bool          // run only the audit benchmark (audit.go)
	auditSoak     time.Duration // its long manifest-GET loads (memory, slow sink)
}

func main() {
	os.Exit(run())
}

// run parses the flags and returns the process exit code, so that every
// deferred cleanup in bench has run before the process exits.
func run() int {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "duration of each timed load")
	flag.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	flag.BoolVar(&o.skipPeer, "skip-peer", false, "do not start docker-registry; benchmark Bulkhead only")
	flag.StringVar(&o.peerBin, "peer-bin", "docker-registry", "docker-registry (distribution 2.8.2) executable")
	flag.StringVar(&o.bulkheadBin, "bulkhead-bin", "", "use this Bulkhead binary instead of building ./cmd/bulkhead")
	flag.StringVar(&o.wrkBin, "wrk", "wrk", "wrk executable (falls back to a Go client when missing)")
	flag.IntVar(&o.armRegistries, "arm", 0, "instead of the data-plane loads, benchmark ARM GET and LIST with this many registries (e.g. 10000)")
	flag.BoolVar(&o.transfer, "transfer", false, "instead of the data-plane loads, benchmark export/import pipelines on Azurite and importImage against crane copy")
	flag.IntVar(&o.transferMiB, "transfer-mib", 1024, "with -transfer: MiB exported across 64 artifacts and in the single-layer memory run (a multiple of 64)")
	flag.BoolVar(&o.audit, "audit", false, "instead of the peer comparison, measure the audit trail's cost: audit on against --audit=false, then memory under a long load and a slow sink")
	flag.DurationVar(&o.auditSoak, "audit-soak", time.Minute, "with -audit: duration of the long manifest-GET loads (memory, slow sink)")
	flag.Parse()
	if flag.NArg() > 0 || o.duration < time.Second || o.auditSoak < 10*time.Second || o.transferMiB < 64 || o.transferMiB%64 != 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench [-duration 5s] [-out file.md] [-skip-peer] [-transfer [-transfer-mib 1024]] [-audit [-audit-soak 1m]]; -duration must be at least 1s, -audit-soak 10s, -transfer-mib a multiple of 64")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// bench starts the servers, runs every load against each and reports.
func bench(ctx context.Context, o options) error {
	root, err := os.MkdirTemp("", "bulkhead-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)

	if o.wrkBin != "" {
		if p, err := exec.LookPath(o.wrkBin); err == nil {
			o.wrkBin = p
		} else {
			progress("wrk not found (%v); using the Go client for the wrk loads", err)
			o.wrkBin = ""
		}
	}
	f := collectFacts(o)

	bin, src := o.bulkheadBin, ""
	if bin == "" {
		progress("building ./cmd/bulkhead")
		if bin, src, err = buildBulkhead(ctx, root); err != nil {
			return err
		}
	}
	f.bulkheadBuild = binaryInfo(bin, src)

	if o.transfer {
		return benchTransfer(ctx, root, bin, o, f)
	}
	if o.audit {
		return benchAudit(ctx, root, bin, o, f)
	}
	bh, err := startBulkhead(ctx, root, bin)
	if bh != nil {
		defer bh.stop()
	}
	if err != nil {
		return fmt.Errorf("bulkhead: %w", err)
	}
	if o.armRegistries > 0 {
		return benchARM(ctx, bh, o)
	}
	var peer *target
	if !o.skipPeer {
		peer, err = startPeer(ctx, root, o.peerBin)
		if peer != nil {
			defer peer.stop()
		}
		if err != nil {
			return fmt.Errorf("docker-registry: %w", err)
		}
	}

	res, err := runAll(ctx, o, bh, peer)
	if err != nil {
		return err
	}
	f.loadAvgEnd = loadAverage()
	md := render(f, res, peer != nil)
	fmt.Print("\n" + md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
		progress("wrote %s", o.out)
	}
	return nil
}

// runAll runs the loads in order; for each load Bulkhead goes first, then
// the peer, with a short pause in between so that one server's background
// work (fsync, GC) does not land in the other's window.
func runAll(ctx context.Context, o options, bh, peer *target) (results, error) {
	var res results
	targets := []*target{bh}
	if peer != nil {
		targets = append(targets, peer)
	}
	fix := map[*target]fixtures{}
	for _, t := range targets {
		progress("%s: pushing fixtures (1 MiB, 64 MiB blobs, OCI manifest)", t.name)
		fx, err := setupFixtures(ctx, t)
		if err != nil {
			return res, fmt.Errorf("%s: fixtures: %w", t.name, err)
		}
		fix[t] = fx
	}
	for _, l := range loadTable(o) {
		for i, t := range targets {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			pause(ctx, time.Second)
			progress("%s: %s", t.name, l.name)
			m := l.run(ctx, t, fix[t])
			if m.err != nil {
				progress("%s: %s: error: %v", t.name, l.name, m.err)
			} else {
				progress("%s: %s: %s", t.name, l.name, m.summary())
			}
			res.set(l.id, i == 0, m)
		}
	}
	return res, ctx.Err()
}

// progress prints a timestamped line on stderr, keeping stdout for the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// pause sleeps for d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// commandLine reconstructs the invocation as `go run ./bench …`, since
// os.Args[0] is a temporary path under go run.
func commandLine() string {
	return strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " "))
}
