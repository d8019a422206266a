package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

// renderAudit formats the audit benchmark's facts and tables as markdown.
func renderAudit(f facts, o options, r auditRun) string {
	var b strings.Builder
	secs := max(1, int(math.Round(o.duration.Seconds())))
	fmt.Fprintf(&b, "## Audit run of %s\n\n", f.date)
	fmt.Fprintf(&b, "- Command: `%s`\n", f.command)
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s, Linux %s; load average %s at start, %s at end\n",
		f.cpus, f.cpuModel, f.mem, f.kernel, f.loadAvg, f.loadAvgEnd)
	fmt.Fprintf(&b, "- Go: %s (bench); Bulkhead %s\n", f.goVersion, f.bulkheadBuild)
	b.WriteString("- Servers: the same binary three times, each with its own data directory under the temp directory: **audit on** (default flags: " +
		"checkpoint every 1000 records or 1 min), **audit off** (`--audit=false`) and a second **audit off** for the noise column\n")
	gc := "default (GOGC and GOMEMLIMIT unset)"
	if v, w := os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"); v != "" || w != "" {
		gc = fmt.Sprintf("GOGC=%q GOMEMLIMIT=%q, inherited by every server", v, w)
	}
	fmt.Fprintf(&b, "- Go GC settings: %s\n", gc)
	if f.wrk != "" {
		fmt.Fprintf(&b, "- Loads: %s, `wrk -t2 -c8 -d%ds --timeout 10s --latency -H 'Authorization: Bearer <token>' <url>` (the data-plane token of the main benchmark)\n", f.wrk, secs)
	} else {
		b.WriteString("- Loads: wrk not found; the Go client with 8 connections\n")
	}
	fmt.Fprintf(&b, "- %d rounds per load, one load at a time; round r starts with server r mod 3, so each server runs first, second and third equally often; figures are medians of the rounds\n", auditRounds)
	fmt.Fprintf(&b, "- Bound: audit on ÷ audit off ≥ %.2f× on throughput and ≤ %.2f× on p50. Server CPU µs/request: user + system CPU time of the server process during the load (/proc/<pid>/stat, 10 ms ticks) ÷ requests wrk completed, for information\n\n", minAuditRatio, maxAuditP50Ratio)

	b.WriteString("| Load | Metric | audit on | audit off | audit off (2) | on ÷ off | off (2) ÷ off (noise) | Bound | Result |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|---|---|\n")
	pass, fail := 0, 0
	for li, l := range r.loads {
		rate, unit := func(m auditM) float64 { return m.opsPerSec }, "req/s"
		if l.bytes {
			rate, unit = func(m auditM) float64 { return m.mbPerSec }, "MB/s"
		}
		for _, row := range []struct {
			metric string
			value  func(auditM) float64
			bound  string
			ok     func(ratio float64) bool
		}{
			{unit, rate, fmt.Sprintf("≥ %.2f×", minAuditRatio), func(x float64) bool { return x >= minAuditRatio }},
			{"p50 ms", func(m auditM) float64 { return ms(m.p50) }, fmt.Sprintf("≤ %.2f×", maxAuditP50Ratio), func(x float64) bool { return x <= maxAuditP50Ratio }},
			{"p99 ms", func(m auditM) float64 { return ms(m.p99) }, "—", nil},
			{"server CPU µs/request", auditM.cpuPerOp, "—", nil},
		} {
			v := make([]float64, len(r.servers))
			for si := range r.servers {
				var xs []float64
				for _, m := range r.m[li][si] {
					xs = append(xs, row.value(m))
				}
				v[si] = median(xs)
			}
			ratio, noise := v[0]/v[1], v[2]/v[1]
			verdict := "—"
			if row.ok != nil {
				verdict = passIf(row.ok(ratio))
				if verdict == "PASS" {
					pass++
				} else {
					fail++
					verdict = "FAIL"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.3f× | %.3f× | %s | %s |\n",
				l.name, row.metric, fig(v[0]), fig(v[1]), fig(v[2]), ratio, noise, row.bound, verdict)
		}
	}
	b.WriteString("| manifest PUT (push) small, 4 connections | — | skipped | | | | | | — |\n")
	hw := func(i int) float64 { return float64(r.servers[i].hwm) / mib }
	fmt.Fprintf(&b, "| peak RSS over the loads (VmHWM, reset after seeding) | MiB | %.1f | %.1f | %.1f | %.3f× | %.3f× | — | — |\n",
		hw(0), hw(1), hw(2), hw(0)/hw(1), hw(2)/hw(1))
	fmt.Fprintf(&b, "\nBound: %d PASS, %d FAIL. The manifest-PUT load is skipped: the harness has no manifest-PUT load (its pushes are blob uploads, which are not audit records).\n\n", pass, fail)

	rc := r.records
	var wrkManifests, wrkBlobs int
	for _, m := range r.m[0][0] {
		wrkManifests += m.ops
	}
	for _, m := range r.m[1][0] {
		wrkBlobs += m.ops
	}
	fmt.Fprintf(&b, "Audit records the audit-on server wrote during the comparison (lines of `<data>/audit/%s/**/PT1H.json`): "+
		"**%d Pull** (%d of them failed; statuses other than 200: %s), %d Push, %d checkpoints, %d gap markers (standing for %d records), %d restart markers, %d other. "+
		"Its /metrics counts %d manifest GETs answered (%d not with 200%s; wrk completed %d; the rest are the bench's checks and requests in flight when wrk stopped): %s. "+
		"Its %d blob GETs (wrk completed %d) are no records of their own; they count as egress bytes in the per-day totals, which bench does not read.\n\n",
		audit.Container(audit.CategoryRepository), rc.pulls, rc.failedPulls, oddStatuses(rc.odd), rc.pushes, rc.checkpoints, rc.gaps, rc.gapRecords, rc.restarts, rc.other,
		r.served.all, r.served.not200, codes(r.served), wrkManifests, completeness(rc, r.served), r.blobs.all, wrkBlobs)

	b.WriteString("Every round (in the order the servers ran):\n\n")
	b.WriteString("| Load | Round | Order | audit on | audit off | audit off (2) | p50 on ms | p50 off ms | p50 off (2) ms | CPU µs/req on | off | off (2) |\n")
	b.WriteString("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for li, l := range r.loads {
		for rd := range auditRounds {
			var order []string
			for _, si := range r.order[rd] {
				order = append(order, strings.TrimPrefix(r.servers[si].label, "audit "))
			}
			val := func(si int) string {
				m := r.m[li][si][rd]
				if l.bytes {
					return fig(m.mbPerSec) + " MB/s"
				}
				return fig(m.opsPerSec) + " req/s"
			}
			p50 := func(si int) string { return fmt.Sprintf("%.3f", ms(r.m[li][si][rd].p50)) }
			cpu := func(si int) string { return fmt.Sprintf("%.1f", r.m[li][si][rd].cpuPerOp()) }
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l.name, rd+1, strings.Join(order, ", "),
				val(0), val(1), val(2), p50(0), p50(1), p50(2), cpu(0), cpu(1), cpu(2))
		}
	}

	fmt.Fprintf(&b, "\n### Memory under a long load and a slow sink\n\n")
	fmt.Fprintf(&b, "Fresh servers; manifest GET by tag, 8 connections, %v each; VmRSS sampled every second; VmHWM reset before the load. "+
		"In the slow-sink run the audit-on server's repository-event files are named pipes (FIFOs) that bench reads at %d KiB/s "+
		"(about 60 records a second) during the load, as a disk too slow for the load would take the writes; "+
		"after the load the reader speeds up and the server is stopped, so that its writer drains its queue.\n\n", o.auditSoak, sinkRate>>10)
	b.WriteString("| Server | req/s | p50 ms | p99 ms | VmRSS before | after 10 s | at end | highest sample | VmHWM | manifest GETs answered (not 200) | Pull records | gap markers (records) |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	rows := append([]soakResult{}, r.soak...)
	rows = append(rows, r.slow.soakResult)
	for _, s := range rows {
		pulls, gaps := "—", "—"
		if s.audit {
			pulls, gaps = fmt.Sprint(s.records.pulls), fmt.Sprintf("%d (%d)", s.records.gaps, s.records.gapRecords)
		}
		mi := func(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/mib) }
		fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f | %s | %s | %s | %s | %s | %d (%d) | %s | %s |\n", s.label, fig(s.m.opsPerSec), ms(s.m.p50), ms(s.m.p99),
			mi(s.start), mi(s.at10), mi(s.end), mi(s.peak), mi(s.hwm), s.served.all, s.served.not200, pulls, gaps)
	}
	sl := r.slow
	fmt.Fprintf(&b, "\nSlow sink: %d lines reached the pipes (%d Pull, %d Push, %d checkpoints, %d gap markers standing for %d records); "+
		"against %d manifest GETs answered: %s. The server ended with %s after SIGTERM; readers reached the end of every pipe: %v.\n",
		sl.records.lines, sl.records.pulls, sl.records.pushes, sl.records.checkpoints, sl.records.gaps, sl.records.gapRecords,
		sl.served.all, completeness(sl.records, sl.served), sl.exit, sl.drained)
	return b.String()
}

// oddStatuses formats Pull records by status, "499×2", or "none".
func oddStatuses(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, v))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// codes is ": 499×2" when some GETs were not answered 200.
func codes(g gets) string {
	if g.codes == "" {
		return ""
	}
	return ": " + g.codes
}

// completeness says whether every manifest GET answered is a Pull record
// or is counted in a gap marker.
func completeness(c recordCount, served gets) string {
	got := c.pulls + c.gapRecords
	switch {
	case got == served.all:
		return fmt.Sprintf("every one is a record or counted in a gap marker (%d + %d = %d)", c.pulls, c.gapRecords, served.all)
	case got > served.all:
		return fmt.Sprintf("%d more records than GETs (%d + %d)", got-served.all, c.pulls, c.gapRecords)
	case served.all-got <= served.not200:
		return fmt.Sprintf("%d GETs have no record (%d + %d of %d); %d were not answered 200%s: requests wrk abandoned as it stopped",
			served.all-got, c.pulls, c.gapRecords, served.all, served.not200, codes(served))
	}
	return fmt.Sprintf("**%d GETs have no record** (%d + %d of %d; %d not answered 200)", served.all-got, c.pulls, c.gapRecords, served.all, served.not200)
}

// fig formats a figure with three significant digits or more.
func fig(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
