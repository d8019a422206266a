package main

import (
	"debug/buildinfo"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Targets (docs/benchmarks.md).
const (
	minRatio      = 1.5  // Bulkhead/peer on every throughput figure
	minPullMBps   = 1500 // 1 MiB pull, payload MB/s (1.5 GB/s)
	maxGiantRSSMi = 100  // peak RSS while pushing 1 GiB, MiB
)

// facts describe the machine and the software measured.
type facts struct {
	date, command, goVersion, cpuModel, mem, kernel, loadAvg string
	loadAvgEnd                                               string
	cpus                                                     int
	duration                                                 time.Duration
	peer, wrk, bulkheadBuild                                 string
}

// collectFacts gathers what the report's header states.
func collectFacts(o options) facts {
	f := facts{
		date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		command:   commandLine(),
		goVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		cpus:      runtime.NumCPU(),
		duration:  o.duration,
		cpuModel:  firstField("/proc/cpuinfo", "model name"),
		kernel:    strings.TrimSpace(readString("/proc/sys/kernel/osrelease")),
		loadAvg:   loadAverage(),
	}
	var kb int64
	if _, err := fmt.Sscanf(firstField("/proc/meminfo", "MemTotal"), "%d kB", &kb); err == nil {
		f.mem = fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
	}
	if !o.skipPeer {
		out, _ := exec.Command(o.peerBin, "--version").CombinedOutput()
		f.peer = strings.TrimSpace(string(out))
	}
	if o.wrkBin != "" {
		out, _ := exec.Command(o.wrkBin, "--version").CombinedOutput() // exits 1 after printing
		line, _, _ := strings.Cut(string(out), "\n")
		line, _, _ = strings.Cut(line, " Copyright")
		f.wrk = strings.TrimSpace(line)
	}
	return f
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	return strings.Join(first(strings.Fields(readString("/proc/loadavg")), 3), " ")
}

// readString returns a file's content, or "" when it cannot be read.
func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// firstField returns the value of the first "key: value" line of a /proc file.
func firstField(path, key string) string {
	for _, line := range strings.Split(readString(path), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// binaryInfo describes how the Bulkhead binary was built: Go version and
// VCS revision from its embedded build info or, when the build did not
// stamp one (GOFLAGS=-buildvcs=false) and bench built it, from git in dir.
func binaryInfo(bin, dir string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown build (" + err.Error() + ")"
	}
	s := "built with " + bi.GoVersion
	var rev, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value[:min(12, len(kv.Value))]
		case "vcs.modified":
			modified = kv.Value
		}
	}
	if rev == "" && dir != "" {
		if out, err := exec.Command("git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output(); err == nil {
			rev = strings.TrimSpace(string(out))
			if st, err := exec.Command("git", "-C", dir, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
				modified = "true"
			}
		}
	}
	if rev != "" {
		s += " from commit " + rev
		if modified == "true" {
			s += " + uncommitted changes"
		}
	}
	return s
}

// results holds every measurement: [load][0 Bulkhead, 1 peer].
type results struct {
	m   [numLoads][2]measurement
	ran [numLoads][2]bool
}

// set records m for a load on Bulkhead (bulkhead) or the peer.
func (r *results) set(id loadID, bulkhead bool, m measurement) {
	i := 1
	if bulkhead {
		i = 0
	}
	r.m[id][i], r.ran[id][i] = m, true
}

// kind says how a row's figures are formatted and judged.
type kind int

const (
	rate    kind = iota // higher is better; target ≥ minRatio × peer
	latency             // lower is better; target p50 ≤ peer
	info                // no target
	memory              // peak RSS; target < maxGiantRSSMi (Bulkhead only)
)

// row is one line of the table.
type row struct {
	load, metric string
	kind         kind
	value        func(measurement) float64
	absMin       float64 // extra absolute floor for rate rows; 0 for none
}

// rowsFor lists the rows each load reports.
func rowsFor(id loadID) []row {
	ops := func(m measurement) float64 { return m.opsPerSec }
	mbs := func(m measurement) float64 { return m.mbPerSec }
	p50 := func(m measurement) float64 { return ms(m.p50) }
	p99 := func(m measurement) float64 { return ms(m.p99) }
	rss := func(m measurement) float64 { return float64(m.peakRSS) / mib }
	switch id {
	case pushSmall, pushLarge:
		name := map[loadID]string{pushSmall: "push 1 MiB, 4 writers", pushLarge: "push 16 MiB, 4 writers"}[id]
		return []row{{name, "ops/s", rate, ops, 0}, {name, "MB/s", rate, mbs, 0}, {name, "p50 ms", latency, p50, 0}, {name, "p99 ms", info, p99, 0}}
	case pullSmall:
		name := "pull 1 MiB, 8 readers (wrk)"
		return []row{{name, "req/s", rate, ops, 0}, {name, "MB/s", rate, mbs, minPullMBps}, {name, "p50 ms", latency, p50, 0}, {name, "p99 ms", info, p99, 0}}
	case pullHuge:
		name := "pull 64 MiB, 1 reader"
		return []row{{name, "MB/s", rate, mbs, 0}, {name, "p50 ms", latency, p50, 0}, {name, "p99 ms", info, p99, 0}}
	case pullHugeDiscard:
		name := "pull 64 MiB, 1 reader, body dropped in the kernel"
		return []row{{name, "MB/s", rate, mbs, 0}, {name, "p50 ms", latency, p50, 0}, {name, "p99 ms", info, p99, 0}}
	case manifestGet:
		name := "GET manifest by tag, 8 readers (wrk)"
		return []row{{name, "req/s", rate, ops, 0}, {name, "p50 ms", latency, p50, 0}, {name, "p99 ms", info, p99, 0}}
	case pushGiant:
		name := "push 1 GiB (64 MiB PATCHes)"
		return []row{{name, "peak RSS MiB", memory, rss, 0}, {name, "MB/s", info, mbs, 0}}
	}
	return nil
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// render formats the facts, the table and its notes as markdown.
func render(f facts, r results, withPeer bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Run of %s\n\n", f.date)
	fmt.Fprintf(&b, "- Command: `%s` (each timed load runs %v)\n", f.command, f.duration)
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s, Linux %s; load average %s at start, %s at end\n",
		f.cpus, f.cpuModel, f.mem, f.kernel, f.loadAvg, f.loadAvgEnd)
	fmt.Fprintf(&b, "- Go: %s (bench); Bulkhead %s\n", f.goVersion, f.bulkheadBuild)
	if withPeer {
		fmt.Fprintf(&b, "- Peer: %s, filesystem storage, in-memory blob descriptor cache, no auth (toolchain.md §2a)\n", f.peer)
	} else {
		fmt.Fprintf(&b, "- Peer: skipped (-skip-peer); ratios and relative targets are n/a\n")
	}
	if f.wrk != "" {
		fmt.Fprintf(&b, "- GET loads marked (wrk): %s, `wrk -t2 -c8 -d%ds --timeout 10s --latency -H 'Authorization: Bearer <token>' <url>`; other loads: Go net/http client\n",
			f.wrk, max(1, int(math.Round(f.duration.Seconds()))))
	} else {
		fmt.Fprintf(&b, "- wrk not found: every load used the Go net/http client\n")
	}
	fmt.Fprintf(&b, "- Targets: ≥%.1f× peer on every throughput figure, p50 ≤ peer, 1 MiB pull ≥ %.1f GB/s, 1 GiB push peak RSS < %d MiB\n\n",
		minRatio, float64(minPullMBps)/1000, maxGiantRSSMi)

	b.WriteString("| Load | Metric | Bulkhead | docker-registry 2.8.2 | Bulkhead/peer | Target | Result |\n")
	b.WriteString("|---|---|--:|--:|--:|---|---|\n")
	var notes []string
	pass, miss := 0, 0
	for id := range numLoads {
		bh, peer := r.m[id][0], r.m[id][1]
		hasPeer := withPeer && r.ran[id][1] && peer.err == nil
		for _, rw := range rowsFor(id) {
			bv, pv := cell(rw, bh, r.ran[id][0]), "—"
			if withPeer {
				pv = cell(rw, peer, r.ran[id][1])
			}
			ratio := "—"
			if hasPeer && bh.err == nil && rw.kind != info && rw.value(peer) > 0 {
				ratio = fmt.Sprintf("%.2f×", rw.value(bh)/rw.value(peer))
			}
			target, verdict := judge(rw, bh, peer, bh.err == nil && r.ran[id][0], hasPeer)
			switch verdict {
			case "PASS":
				pass++
			case "MISS":
				miss++
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", rw.load, rw.metric, bv, pv, ratio, target, verdict)
		}
		for i, who := range []string{"Bulkhead", "docker-registry"} {
			m := r.m[id][i]
			if m.err != nil {
				notes = append(notes, fmt.Sprintf("%s, %s: **error**: %s", rowsFor(id)[0].load, who, firstLine(m.err.Error())))
			} else if m.note != "" && r.ran[id][i] {
				notes = append(notes, fmt.Sprintf("%s, %s: %s", rowsFor(id)[0].load, who, m.note))
			}
		}
	}
	fmt.Fprintf(&b, "\nTargets: %d PASS, %d MISS.\n", pass, miss)
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

// cell formats one figure, or says why there is none.
func cell(rw row, m measurement, ran bool) string {
	switch {
	case !ran:
		return "—"
	case m.err != nil:
		return "error"
	}
	v := rw.value(m)
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	if v >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// judge states a row's target and whether Bulkhead met it.
func judge(rw row, bh, peer measurement, bhOK, hasPeer bool) (target, verdict string) {
	switch rw.kind {
	case info:
		return "—", "—"
	case memory:
		target = fmt.Sprintf("Bulkhead < %d MiB", maxGiantRSSMi)
		if !bhOK {
			return target, "MISS"
		}
		return target, passIf(rw.value(bh) < maxGiantRSSMi)
	case latency:
		target = "≤ peer"
		if !bhOK {
			return target, "MISS"
		}
		if !hasPeer {
			return target, "n/a"
		}
		return target, passIf(rw.value(bh) <= rw.value(peer))
	}
	target = fmt.Sprintf("≥ %.1f× peer", minRatio)
	if rw.absMin > 0 {
		target += fmt.Sprintf(", ≥ %.0f MB/s", rw.absMin)
	}
	if !bhOK {
		return target, "MISS"
	}
	ok := rw.value(bh) >= rw.absMin
	if !hasPeer {
		if rw.absMin > 0 && !ok {
			return target, "MISS"
		}
		return target, "n/a"
	}
	return target, passIf(ok && rw.value(bh) >= minRatio*rw.value(peer))
}

// passIf maps a condition to PASS or MISS.
func passIf(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// first returns up to n leading elements of s.
func first(s []string, n int) []string { return s[:min(n, len(s))] }

// firstLine cuts s at its first newline (wrk and server logs follow it).
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
