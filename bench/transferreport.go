package main

import (
	"fmt"
	"strings"
)

// renderTransfer formats the transfer benchmark's facts, summary table
// and per-round figures as markdown.
func renderTransfer(f facts, o options, r transferRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Transfer run of %s\n\n", f.date)
	fmt.Fprintf(&b, "- Command: `%s`\n", f.command)
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s, Linux %s; load average %s at start, %s at end\n",
		f.cpus, f.cpuModel, f.mem, f.kernel, f.loadAvg, f.loadAvgEnd)
	fmt.Fprintf(&b, "- Go: %s (bench); Bulkhead %s\n", f.goVersion, f.bulkheadBuild)
	fmt.Fprintf(&b, "- Azure Blob: Azurite %s (`azurite-blob --loose --skipApiVersionCheck`, data on local disk); raw transfers with the azblob SDK, %d MiB blocks, %d at a time\n",
		r.azuriteVersion, serverBlockSize/mib, serverConcurrency)
	fmt.Fprintf(&b, "- Remote source: %s, filesystem storage, no auth; crane %s (`go build` of go.mod's pinned tool), `crane copy --insecure`, default jobs (GOMAXPROCS)\n",
		f.peer, r.craneVersion)
	fmt.Fprintf(&b, "- Sizes: export %d artifacts of %d MiB (archive %.1f MiB); remote images %d layers of %d MiB; memory run one %d MiB layer (archive %.1f MiB)\n",
		exportArtifacts, int64(o.transferMiB)*mib/exportArtifacts/mib, float64(r.archiveBytes)/mib, remoteLayers, r.remoteBytes/remoteLayers/mib,
		o.transferMiB, float64(r.giantBytes)/mib)
	fmt.Fprintf(&b, "- %d rounds of each comparison, alternating which side goes first; figures are medians. Each import run goes to a fresh server, each remote copy (importImage or crane) copies an image of its own, so no blob is already stored\n\n",
		transferRounds)

	mb := func(ps []phase) float64 {
		var xs []float64
		for _, p := range ps {
			xs = append(xs, p.mbps())
		}
		return median(xs)
	}
	secs := func(ps []phase) float64 {
		var xs []float64
		for _, p := range ps {
			xs = append(xs, p.wall.Seconds())
		}
		return median(xs)
	}
	b.WriteString("| Load | Bulkhead | Baseline | Ratio | Target | Result |\n")
	b.WriteString("|---|--:|--:|--:|---|---|\n")
	pass, miss := 0, 0
	verdict := func(ok bool) string {
		if ok {
			pass++
			return "PASS"
		}
		miss++
		return "MISS"
	}
	ratioRow := func(load, unit string, bh, base float64, baseName string, ratio float64, target string, ok bool) {
		prec := 1
		if unit == "s" {
			prec = 2
		}
		fmt.Fprintf(&b, "| %s | %.*f %s | %.*f %s (%s) | %.2f× | %s | %s |\n", load, prec, bh, unit, prec, base, unit, baseName, ratio, target, verdict(ok))
	}
	e, u := mb(r.export), mb(r.upload)
	ratioRow(fmt.Sprintf("export %d artifacts to Azure Blob (pipeline run)", exportArtifacts), "MB/s", e, u, "raw UploadStream", e/u,
		fmt.Sprintf("≥ %.1f× raw upload", minTransferRatio), e/u >= minTransferRatio)
	// The target puts both directions against a raw upload of the
	// same bytes. A raw download that discards what it reads is shown too,
	// for information: an import must also hash, write and fsync every
	// byte, which a discarding download never does.
	i, d := mb(r.imp), mb(r.download)
	ratioRow("import that archive into a new registry (pipeline run)", "MB/s", i, u, "raw UploadStream", i/u,
		fmt.Sprintf("≥ %.1f× raw upload", minTransferRatio), i/u >= minTransferRatio)
	fmt.Fprintf(&b, "| the same import against a raw DownloadStream that discards the bytes | %.1f MB/s | %.1f MB/s | %.2f× | (information) | — |\n", i, d, i/d)
	ri, rc := secs(r.remote), secs(r.crane)
	ratioRow(fmt.Sprintf("remote import of %d MiB, %d layers (importImage)", r.remoteBytes/mib, remoteLayers), "s", ri, rc, "crane copy", rc/ri,
		fmt.Sprintf("crane time ÷ importImage time ≥ %.1f×", minRemoteRatio), rc/ri >= minRemoteRatio)
	for _, m := range []struct {
		what string
		rss  int64
		p    phase
	}{{"export", r.exportRSS, r.giantExport}, {"import", r.importRSS, r.giantImport}} {
		fmt.Fprintf(&b, "| peak server RSS, %s of a %d MiB single-layer image | %.1f MiB (%.1f MB/s) | — | — | < %d MiB | %s |\n",
			m.what, o.transferMiB, float64(m.rss)/mib, m.p.mbps(), maxGiantRSSMi, verdict(m.rss < maxGiantRSSMi*mib))
	}
	fmt.Fprintf(&b, "\nTargets: %d PASS, %d MISS. Peak RSS: %s.\n\n", pass, miss, r.rssNote)

	b.WriteString("Every round (CPU seconds used during the operation, from /proc/<pid>/stat; \"client\" is bench for the raw transfers and crane for crane copy):\n\n")
	b.WriteString("| Load | Round | Seconds | MB/s | CPU s Bulkhead | CPU s Azurite | CPU s docker-registry | CPU s client |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, l := range []struct {
		name string
		ps   []phase
	}{
		{"export run", r.export}, {"raw upload", r.upload}, {"import run", r.imp}, {"raw download", r.download},
		{"importImage", r.remote}, {"crane copy", r.crane},
		{"memory: export run", []phase{r.giantExport}}, {"memory: import run", []phase{r.giantImport}},
	} {
		for n, p := range l.ps {
			fmt.Fprintf(&b, "| %s | %d | %.2f | %.1f | %s | %s | %s | %s |\n", l.name, n+1, p.wall.Seconds(), p.mbps(),
				cpuCell(p, "Bulkhead"), cpuCell(p, "Azurite"), cpuCell(p, "docker-registry"), cpuCell(p, "client"))
		}
	}
	return b.String()
}

// cpuCell is one process's CPU seconds in a phase, or — when it took no
// part.
func cpuCell(p phase, name string) string {
	c, ok := p.cpu[name]
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f", c.Seconds())
}
