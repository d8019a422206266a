package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Transfer targets (docs/benchmarks.md, "Transfer").
const (
	minTransferRatio = 0.8 // export/import MB/s ÷ raw azblob upload/download MB/s
	minRemoteRatio   = 1.0 // crane copy time ÷ importImage time
	transferRounds   = 3
	exportArtifacts  = 64
	remoteLayers     = 4
)

// phase is one timed operation: its wall time, the payload it moved and
// the CPU time each process involved used meanwhile.
type phase struct {
	wall  time.Duration
	bytes int64
	cpu   map[string]time.Duration // by process: Bulkhead, Azurite, client, docker-registry
}

// mbps is the phase's payload rate in 10^6 bytes per second.
func (p phase) mbps() float64 { return float64(p.bytes) / p.wall.Seconds() / 1e6 }

// transferRun is everything the transfer benchmark measured.
type transferRun struct {
	archiveBytes, remoteBytes, giantBytes int64
	export, upload, imp, download         []phase // one per round
	remote, crane                         []phase
	giantExport, giantImport              phase
	exportRSS, importRSS                  int64
	rssNote                               string
	azuriteVersion, craneVersion          string
}

// procs names the processes whose CPU time a phase records.
type procs map[string]int

// timed runs f and records its wall time, what it moved and the CPU time
// of every process in ps. f returns the payload bytes and, when a child
// process did the client's work, that child's CPU time.
func timed(ps procs, f func() (int64, time.Duration, error)) (phase, error) {
	before := map[string]time.Duration{}
	for name, pid := range ps {
		before[name] = cpuTime(pid)
	}
	begin := time.Now()
	n, child, err := f()
	p := phase{wall: time.Since(begin), bytes: n, cpu: map[string]time.Duration{}}
	for name, pid := range ps {
		p.cpu[name] = cpuTime(pid) - before[name]
	}
	if child > 0 {
		p.cpu["client"] = child
	}
	return p, err
}

// cpuTime is the user+system CPU time of pid so far (0 when unknown),
// from /proc/<pid>/stat in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var u, s int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &s)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// benchTransfer runs the transfer benchmark (-transfer): export to and
// import from Azure Blob (Azurite) against raw azblob transfers of the
// same bytes, importImage from a docker-registry against crane copy, and
// Bulkhead's peak RSS while exporting and importing a 1 GiB layer.
func benchTransfer(ctx context.Context, root, bin string, o options, f facts) error {
	total := int64(o.transferMiB) * mib
	var run transferRun
	out, _ := exec.Command("azurite-blob", "--version").Output()
	run.azuriteVersion = strings.TrimSpace(string(out))

	az, err := startAzurite(ctx, root, "azurite-blob")
	if az != nil {
		defer az.stop()
	}
	if err != nil {
		return fmt.Errorf("azurite: %w", err)
	}
	bh, err := startTransferBulkhead(ctx, filepath.Join(root, "bh1"), bin)
	if bh != nil {
		defer bh.stop()
	}
	if err != nil {
		return fmt.Errorf("bulkhead: %w", err)
	}
	if err := azureRounds(ctx, root, bin, bh, az, total, &run); err != nil {
		return err
	}

	peer, err := startPeer(ctx, root, o.peerBin)
	if peer != nil {
		defer peer.stop()
	}
	if err != nil {
		return fmt.Errorf("docker-registry: %w", err)
	}
	cr, err := buildCrane(ctx, root, bh)
	if err != nil {
		return err
	}
	run.craneVersion = cr.version()
	if err := remoteRounds(ctx, bh, peer, cr, total/4, &run); err != nil {
		return err
	}
	peer.stop()
	bh.stop()

	// A fresh server for the memory figures.
	bh2, err := startTransferBulkhead(ctx, filepath.Join(root, "bh2"), bin)
	if bh2 != nil {
		defer bh2.stop()
	}
	if err != nil {
		return fmt.Errorf("bulkhead (memory): %w", err)
	}
	if err := giantTransfer(ctx, bh2, az, total, &run); err != nil {
		return err
	}
	f.loadAvgEnd = loadAverage()
	md := renderTransfer(f, o, run)
	fmt.Print("\n" + md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
		progress("wrote %s", o.out)
	}
	return nil
}

// setupExport creates registry reg, the Key Vault secret with the
// container's SAS and an export pipeline of reg, and returns the Key
// Vault URI and the pipeline's id.
func setupExport(ctx context.Context, bh *bulkhead, az *azurite, reg string) (kvURI, pipeline string, err error) {
	if err = bh.createRegistry(ctx, reg); err != nil {
		return
	}
	if kvURI, err = bh.storeSAS(ctx, az.sasToken); err != nil {
		return
	}
	pipeline, err = bh.createPipeline(ctx, reg, "export", true, az.container, kvURI)
	return
}

// azureRounds pushes exportArtifacts images of total/exportArtifacts bytes
// each (one layer), then alternates, transferRounds times, an export run
// of all of them with a raw upload of as many bytes, and an import run of
// the archive into a registry of a fresh server with a raw download of it.
func azureRounds(ctx context.Context, root, bin string, bh *bulkhead, az *azurite, total int64, run *transferRun) error {
	_, exportID, err := setupExport(ctx, bh, az, "source")
	if err != nil {
		return err
	}
	layer := total / exportArtifacts
	progress("Bulkhead: pushing %d images of %d MiB", exportArtifacts, layer/mib)
	block := randomBytes(mib)
	var artifacts []string
	for i := range exportArtifacts {
		repo, tag := fmt.Sprintf("app%d", i%8), fmt.Sprintf("v%d", i/8)
		if _, err := pushImage(ctx, bh.repo("source", repo), tag, block, []int64{layer}); err != nil {
			return err
		}
		artifacts = append(artifacts, repo+":"+tag)
	}
	ps := procs{"Bulkhead": bh.pid(), "Azurite": az.proc.pid(), "client": os.Getpid()}
	const archive = "export.tar"
	for r := range transferRounds {
		var exp, up phase
		steps := []func() error{
			func() (err error) {
				exp, err = timed(ps, func() (int64, time.Duration, error) {
					_, err := bh.runPipeline(ctx, "source", fmt.Sprintf("export%d", r), exportID, true, archive, artifacts)
					return 0, 0, err
				})
				if err == nil {
					exp.bytes, err = az.size(ctx, archive)
					run.archiveBytes = exp.bytes
				}
				delete(exp.cpu, "client") // bench only polls
				progress("export run %d: %d bytes in %v: %.1f MB/s", r, exp.bytes, exp.wall.Round(time.Millisecond), exp.mbps())
				return err
			},
			func() (err error) {
				up, err = timed(ps, func() (int64, time.Duration, error) {
					return run.archiveBytes, 0, az.rawUpload(ctx, "raw.tar", run.archiveBytes)
				})
				progress("raw upload %d: %d bytes in %v: %.1f MB/s", r, up.bytes, up.wall.Round(time.Millisecond), up.mbps())
				return err
			},
		}
		if err := alternate(ctx, r, steps); err != nil {
			return err
		}
		run.export, run.upload = append(run.export, exp), append(run.upload, up)
	}
	for r := range transferRounds {
		// A fresh server per round: in one that already stores the blobs
		// (the exporting one, or an earlier round's), the content store
		// would find each blob stored and skip its fsync.
		imp, down, err := importRound(ctx, filepath.Join(root, fmt.Sprintf("import%d", r)), bin, az, r, archive, run)
		if err != nil {
			return err
		}
		run.imp, run.download = append(run.imp, imp), append(run.download, down)
	}
	return nil
}

// importRound starts a fresh server in dir, creates a registry with an
// import pipeline on the container, and times an import run of archive
// into it against a raw download of archive, in round r's order.
func importRound(ctx context.Context, dir, bin string, az *azurite, r int, archive string, run *transferRun) (imp, down phase, err error) {
	bh, err := startTransferBulkhead(ctx, dir, bin)
	if bh != nil {
		defer bh.stop()
	}
	if err != nil {
		return imp, down, fmt.Errorf("bulkhead (import): %w", err)
	}
	const reg = "imported"
	if err := bh.createRegistry(ctx, reg); err != nil {
		return imp, down, err
	}
	kvURI, err := bh.storeSAS(ctx, az.sasToken)
	if err != nil {
		return imp, down, err
	}
	importID, err := bh.createPipeline(ctx, reg, "import", false, az.container, kvURI)
	if err != nil {
		return imp, down, err
	}
	ps := procs{"Bulkhead": bh.pid(), "Azurite": az.proc.pid(), "client": os.Getpid()}
	steps := []func() error{
		func() (err error) {
			imp, err = timed(ps, func() (int64, time.Duration, error) {
				_, err := bh.runPipeline(ctx, reg, fmt.Sprintf("import%d", r), importID, false, archive, nil)
				return run.archiveBytes, 0, err
			})
			delete(imp.cpu, "client")
			progress("import run %d: %d bytes in %v: %.1f MB/s", r, imp.bytes, imp.wall.Round(time.Millisecond), imp.mbps())
			return err
		},
		func() (err error) {
			down, err = timed(ps, func() (int64, time.Duration, error) {
				n, err := az.rawDownload(ctx, archive)
				return n, 0, err
			})
			progress("raw download %d: %d bytes in %v: %.1f MB/s", r, down.bytes, down.wall.Round(time.Millisecond), down.mbps())
			return err
		},
	}
	return imp, down, alternate(ctx, r, steps)
}

// alternate runs the two steps of round r, Bulkhead's first in even
// rounds and the baseline's first in odd ones, with a 1 s pause before
// each so that one's background work does not land in the other's time.
func alternate(ctx context.Context, r int, steps []func() error) error {
	if r%2 == 1 {
		steps = []func() error{steps[1], steps[0]}
	}
	for _, s := range steps {
		pause(ctx, time.Second)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// remoteRounds pushes 2×transferRounds images of size bytes in
// remoteLayers layers each to the docker-registry, then alternates,
// transferRounds times, importImage of one into a new registry with crane
// copy of another into another new registry. Every copy has an image of
// its own: Bulkhead's content store is shared by its registries, and a
// blob it already stores is committed without an fsync.
func remoteRounds(ctx context.Context, bh *bulkhead, peer *target, cr *crane, size int64, run *transferRun) error {
	layer := size / remoteLayers
	progress("docker-registry: pushing %d images of %d × %d MiB", 2*transferRounds, remoteLayers, layer/mib)
	var layers []int64
	for range remoteLayers {
		layers = append(layers, layer)
	}
	block := randomBytes(mib)
	var want []string
	for i := range 2 * transferRounds {
		d, err := pushImage(ctx, peer, fmt.Sprintf("big%d", i), block, layers)
		if err != nil {
			return err
		}
		want = append(want, d)
	}
	run.remoteBytes = layer * remoteLayers
	ps := procs{"Bulkhead": bh.pid(), "docker-registry": peer.pid()}
	for r := range transferRounds {
		regI, regC := fmt.Sprintf("remote%d", r), fmt.Sprintf("crane%d", r)
		for _, reg := range []string{regI, regC} {
			if err := bh.createRegistry(ctx, reg); err != nil {
				return err
			}
		}
		tagI, tagC := fmt.Sprintf("big%d", 2*r), fmt.Sprintf("big%d", 2*r+1)
		var imp, cp phase
		steps := []func() error{
			func() (err error) {
				imp, err = timed(ps, func() (int64, time.Duration, error) {
					_, err := bh.importImage(ctx, regI, peer.base.Host, peer.repo+":"+tagI, "app:"+tagI)
					return run.remoteBytes, 0, err
				})
				progress("importImage %d: %v", r, imp.wall.Round(time.Millisecond))
				if err == nil {
					err = checkDigest(ctx, bh.repo(regI, "app"), tagI, want[2*r])
				}
				return err
			},
			func() (err error) {
				cp, err = timed(ps, func() (int64, time.Duration, error) {
					_, cpu, err := cr.copy(ctx, peer.base.Host+"/"+peer.repo+":"+tagC, bh.base.Host+"/"+regC+"/app:"+tagC)
					return run.remoteBytes, cpu, err
				})
				progress("crane copy %d: %v", r, cp.wall.Round(time.Millisecond))
				if err == nil {
					err = checkDigest(ctx, bh.repo(regC, "app"), tagC, want[2*r+1])
				}
				return err
			},
		}
		if err := alternate(ctx, r, steps); err != nil {
			return err
		}
		run.remote, run.crane = append(run.remote, imp), append(run.crane, cp)
	}
	return nil
}

// checkDigest fails unless t's repository tags tag with the digest want.
func checkDigest(ctx context.Context, t *target, tag, want string) error {
	got, err := manifestDigest(ctx, t, tag)
	if err == nil && got != want {
		err = fmt.Errorf("%s:%s is %s, want %s", t.repo, tag, got, want)
	}
	return err
}

// giantTransfer pushes a single-layer image of size bytes to a fresh
// server, exports it to Azurite and imports it into another registry,
// and records the server's peak RSS during the export and the import:
// VmHWM after a reset through clear_refs, or the highest VmRSS sampled
// every 10 ms if the reset is refused.
func giantTransfer(ctx context.Context, bh *bulkhead, az *azurite, size int64, run *transferRun) error {
	kvURI, exportID, err := setupExport(ctx, bh, az, "giant")
	if err != nil {
		return err
	}
	if err := bh.createRegistry(ctx, "giantimport"); err != nil {
		return err
	}
	importID, err := bh.createPipeline(ctx, "giantimport", "import", false, az.container, kvURI)
	if err != nil {
		return err
	}
	progress("Bulkhead (fresh): pushing a %d MiB single-layer image", size/mib)
	if _, err := pushImage(ctx, bh.repo("giant", "app"), "v1", randomBytes(mib), []int64{size}); err != nil {
		return err
	}
	ps := procs{"Bulkhead": bh.pid(), "Azurite": az.proc.pid()}
	peak := func(f func() (int64, time.Duration, error)) (phase, int64, error) {
		pid := bh.pid()
		resetErr := resetPeakRSS(pid)
		stop, sampled := sampleRSS(pid, 10*time.Millisecond)
		p, err := timed(ps, f)
		stop()
		if err != nil {
			return p, 0, err
		}
		if resetErr != nil {
			run.rssNote = fmt.Sprintf("max VmRSS sampled every 10 ms (VmHWM reset refused: %v)", resetErr)
			return p, sampled(), nil
		}
		run.rssNote = "VmHWM of the server process, reset (clear_refs 5) before each run"
		hwm, err := procStatus(pid, "VmHWM")
		return p, hwm, err
	}
	pause(ctx, time.Second)
	run.giantExport, run.exportRSS, err = peak(func() (int64, time.Duration, error) {
		_, err := bh.runPipeline(ctx, "giant", "giantexport", exportID, true, "giant.tar", []string{"app:v1"})
		return 0, 0, err
	})
	if err != nil {
		return err
	}
	if run.giantExport.bytes, err = az.size(ctx, "giant.tar"); err != nil {
		return err
	}
	run.giantBytes = run.giantExport.bytes
	progress("export of %d bytes: %.1f MB/s, peak RSS %.1f MiB", run.giantBytes, run.giantExport.mbps(), float64(run.exportRSS)/mib)
	pause(ctx, time.Second)
	run.giantImport, run.importRSS, err = peak(func() (int64, time.Duration, error) {
		_, err := bh.runPipeline(ctx, "giantimport", "giantimport", importID, false, "giant.tar", nil)
		return run.giantBytes, 0, err
	})
	if err != nil {
		return err
	}
	progress("import of %d bytes: %.1f MB/s, peak RSS %.1f MiB", run.giantBytes, run.giantImport.mbps(), float64(run.importRSS)/mib)
	return nil
}

// median is the middle value of xs (the mean of the two middle ones for
// an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
