package acr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
)

// SecretResolver reads the Key Vault secret a pipeline names (its SAS
// token).
type SecretResolver interface {
	Secret(ctx context.Context, keyVaultURI string) (string, error)
}

// RunnerOptions configure the pipeline runner. Meta, Blobs and Open are
// required.
type RunnerOptions struct {
	Meta  meta.Store
	Blobs transfer.BlobStore
	// Open opens a pipeline's storage container (storage.Open).
	Open func(ctx context.Context, uri, sas string) (storage.Container, error)
	// Secrets resolves keyVaultUri; nil refuses pipelines that need one.
	Secrets SecretResolver
	// Node names this server across restarts (stable per data
	// directory): runs it held when it stopped are failed when it starts
	// again, without waiting for their leases to lapse.
	Node string
	// TriggerInterval is how often import pipelines with a source
	// trigger look for new archives; default one minute, < 0 never.
	TriggerInterval time.Duration
	// Concurrency bounds the runs in flight on this node; default 4.
	Concurrency int
	// Audit receives each run's repository event; nil keeps none.
	Audit  audit.Recorder
	Logger *slog.Logger
	Now    func() time.Time
}

// Lease timing: a runner renews its claim on a run every second with the
// run's progress; a claim not renewed for leaseTTL belongs to a runner
// that died, and the run is failed.
const (
	leaseTTL       = 30 * time.Second
	renewEvery     = time.Second
	scheduleEvery  = time.Second
	triggerMaxAge  = 60 * 24 * time.Hour // ACR: blobs modified within 60 days
	transferBlobMD = "acr-transfer-blob"
	triggerType    = ImportPipelineType + "/bulkheadTriggeredBlobs"
)

// Runner runs pipeline runs: it claims runs waiting in the store, runs
// each under a lease, and fails runs whose runner died. Any number of
// runners may share a store; each run is claimed by exactly one.
type Runner struct {
	o      RunnerOptions
	owner  string
	wake   chan struct{}
	sem    chan struct{}
	mu     sync.Mutex
	active map[string]activeRun // by lower-case run id
	wg     sync.WaitGroup
}

// NewRunner returns a runner; Run starts it.
func NewRunner(o RunnerOptions) *Runner {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.TriggerInterval == 0 {
		o.TriggerInterval = time.Minute
	}
	if o.Node == "" {
		o.Node = uuid.NewString()
	}
	return &Runner{o: o, owner: o.Node + "/" + uuid.NewString(), wake: make(chan struct{}, 1),
		sem: make(chan struct{}, o.Concurrency), active: map[string]activeRun{}}
}

// activeRun is a run in flight here: the claim it runs under (a run
// deleted and created again under its name is another claim) and how to
// stop it.
type activeRun struct {
	claim  string
	cancel context.CancelFunc
}

// Wake says a run is waiting.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Cancel stops the run with this id if it runs here under claim (the
// owner its record names), and not a run created again under its name.
func (r *Runner) Cancel(id, claim string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.active[strings.ToLower(id)]; ok && a.claim == claim {
		a.cancel()
	}
}

// Run schedules runs until ctx ends, then waits for the runs in flight,
// which stop at once: their archives are not committed and their
// records say they were interrupted.
func (r *Runner) Run(ctx context.Context) {
	defer r.wg.Wait()
	tick := time.NewTicker(scheduleEvery)
	defer tick.Stop()
	var lastPoll time.Time
	for {
		if err := r.schedule(ctx); err != nil && ctx.Err() == nil {
			r.o.Logger.Error("scheduling pipeline runs", "err", err)
		}
		if r.o.TriggerInterval > 0 && time.Since(lastPoll) >= r.o.TriggerInterval {
			lastPoll = time.Now()
			r.pollTriggers(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.wake:
		}
	}
}

// schedule claims waiting runs and fails runs whose runner died.
func (r *Runner) schedule(ctx context.Context) error {
	var waiting, dead []string
	now := r.o.Now().UTC()
	err := r.o.Meta.View(ctx, func(tx meta.Tx) error {
		runs, err := tx.ListResources("", PipelineRunType, meta.Page{})
		for _, res := range runs {
			run, err := decodeRun(res.Document)
			if err != nil || !run.running() {
				continue
			}
			switch {
			case run.State.Owner == "":
				waiting = append(waiting, res.ID)
			case strings.HasPrefix(run.State.Owner, r.owner+"/"):
			case strings.HasPrefix(run.State.Owner, r.o.Node+"/") || now.After(run.State.LeaseUntil):
				dead = append(dead, res.ID)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range dead {
		err := r.finish(ctx, id, "", nil, errInterrupted)
		if err != nil {
			return err
		}
	}
	for _, id := range waiting {
		select {
		case r.sem <- struct{}{}:
		default:
			return nil // every slot is busy; the next tick tries again
		}
		claim, err := r.claim(ctx, id)
		if err != nil || claim == "" {
			<-r.sem
			if err != nil {
				return err
			}
			continue
		}
		runCtx, cancel := context.WithCancel(ctx)
		key := strings.ToLower(id)
		r.mu.Lock()
		r.active[key] = activeRun{claim: claim, cancel: cancel}
		r.mu.Unlock()
		r.wg.Go(func() {
			defer func() {
				r.mu.Lock()
				if r.active[key].claim == claim {
					delete(r.active, key)
				}
				r.mu.Unlock()
				cancel()
				<-r.sem
			}()
			r.execute(runCtx, id, claim)
		})
	}
	return nil
}

var errInterrupted = errors.New("the run was interrupted: the server running it stopped before it finished. Nothing it wrote is visible (no archive was committed and no tag was moved); create the run again, with a new forceUpdateTag")

// claim takes a waiting run for this runner and returns the claim, ""
// when another runner was first. The claim ("<node>/<incarnation>/<id>")
// is the run's owner while it runs here.
func (r *Runner) claim(ctx context.Context, id string) (string, error) {
	claim := r.owner + "/" + uuid.NewString()
	claimed := false
	err := r.o.Meta.Update(ctx, func(tx meta.Tx) error {
		claimed = false
		res, err := tx.GetResource(id)
		if errors.Is(err, errdef.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		run, err := decodeRun(res.Document)
		if err != nil || !run.running() || run.State.Owner != "" {
			return err
		}
		run.State.Owner, run.State.LeaseUntil = claim, r.o.Now().UTC().Add(leaseTTL)
		res.Document, res.UpdatedAt = mustJSON(run), r.o.Now().UTC()
		claimed = true
		return tx.PutResource(res)
	})
	if err != nil || !claimed {
		return "", err
	}
	return claim, nil
}

// outcome is what a finished run reports.
type outcome struct {
	artifacts []string
	catalog   digest.Digest
	progress  transfer.Progress
}

// execute runs one claimed run to its end.
func (r *Runner) execute(ctx context.Context, id, claim string) {
	started := r.o.Now().UTC()
	var run storedRun
	var pipeline Pipeline
	err := r.o.Meta.View(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(id)
		if err != nil {
			return err
		}
		if run, err = decodeRun(res.Document); err != nil {
			return err
		}
		pres, err := tx.GetResource(deref(run.Properties.Request.PipelineResourceID))
		if errors.Is(err, errdef.ErrNotFound) {
			return fmt.Errorf("the pipeline '%s' of the run no longer exists: %w", deref(run.Properties.Request.PipelineResourceID), errdef.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(pres.Document, &pipeline)
	})
	if errors.Is(err, errdef.ErrNotFound) && run.ID == nil {
		return // deleted before it started
	}
	export := strings.Contains(strings.ToLower(deref(run.Properties.Request.PipelineResourceID)), "/exportpipelines/")
	if err != nil && export {
		// A locked registry's runs report the lock, not the pipeline that
		// had to be deleted before it.
		if gerr := r.o.Meta.View(ctx, func(tx meta.Tx) error { _, _, err := r.exportGate(run)(tx); return err }); gerr != nil {
			err = gerr
		}
	}
	var mu sync.Mutex
	var prog transfer.Progress
	progress := func(p transfer.Progress) {
		mu.Lock()
		prog = p
		mu.Unlock()
	}
	var out outcome
	if err == nil {
		stopRenew := r.renew(ctx, id, claim, func() transfer.Progress {
			mu.Lock()
			defer mu.Unlock()
			return prog
		})
		if export {
			out, err = r.export(ctx, run, pipeline, progress)
		} else {
			out, err = r.importRun(ctx, run, pipeline, progress)
		}
		stopRenew()
	}
	if ctx.Err() != nil && err != nil {
		err = errInterrupted
	}
	fctx := context.WithoutCancel(ctx)
	if ferr := r.finish(fctx, id, claim, &out, err); ferr != nil {
		r.o.Logger.Error("recording the end of a pipeline run", "run", id, "err", ferr)
	}
	r.recordRun(id, run, export, &out, err, started)
}

// renew writes the run's progress and renews its lease every second
// until stopped; if the run is deleted or taken from this runner, it
// cancels the run's context.
func (r *Runner) renew(ctx context.Context, id, claim string, progress func() transfer.Progress) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(renewEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			lost := false
			err := r.o.Meta.Update(ctx, func(tx meta.Tx) error {
				lost = false
				res, err := tx.GetResource(id)
				if errors.Is(err, errdef.ErrNotFound) {
					lost = true
					return nil
				}
				if err != nil {
					return err
				}
				run, err := decodeRun(res.Document)
				if err != nil {
					return err
				}
				if run.State.Owner != claim || !run.running() {
					lost = true
					return nil
				}
				run.State.LeaseUntil = r.o.Now().UTC().Add(leaseTTL)
				run.Properties.Response.Progress = progressOf(progress(), false)
				res.Document, res.UpdatedAt = mustJSON(run), r.o.Now().UTC()
				return tx.PutResource(res)
			})
			if lost {
				r.Cancel(id, claim)
				return
			}
			if err != nil && ctx.Err() == nil {
				r.o.Logger.Warn("renewing a pipeline run", "run", id, "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func progressOf(p transfer.Progress, done bool) *RunProgress {
	pct := 0
	switch {
	case done:
		pct = 100
	case p.TotalBytes > 0:
		pct = int(p.Bytes * 100 / p.TotalBytes)
		if pct > 99 {
			pct = 99
		}
	}
	return &RunProgress{Percentage: ptr(fmt.Sprint(pct)), Bytes: p.Bytes, TotalBytes: p.TotalBytes, Artifacts: p.Artifacts, TotalArtifacts: p.TotalArtifacts}
}

// finish records a run's end, if owner still holds it ("" for a run
// whose runner died), and ends its operation.
func (r *Runner) finish(ctx context.Context, id, owner string, out *outcome, failure error) error {
	now := r.o.Now().UTC()
	return r.o.Meta.Update(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(id)
		if errors.Is(err, errdef.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		run, err := decodeRun(res.Document)
		if err != nil {
			return err
		}
		if !run.running() || owner != "" && run.State.Owner != owner {
			return nil
		}
		resp := run.Properties.Response
		resp.FinishTime = &now
		status := runSucceeded
		var opErr error
		if out != nil {
			resp.Progress = progressOf(out.progress, failure == nil)
			resp.ImportedArtifacts = out.artifacts
			if out.catalog != "" {
				resp.CatalogDigest = ptr(out.catalog.String())
			}
		}
		if failure != nil {
			status = runFailed
			msg := runMessage(failure)
			resp.ErrorMessage = &msg
			opErr = fail("PipelineRunFailed", "%s", msg)
		}
		resp.Status, run.Properties.ProvisioningState = &status, &status
		run.State.Owner = ""
		res.Document, res.UpdatedAt = mustJSON(run), now
		if err := tx.PutResource(res); err != nil {
			return err
		}
		if run.State.Operation != "" {
			return arm.FinishOperation(tx, run.State.Operation, now, opErr)
		}
		return nil
	})
}

// runMessage is the pipelineRunErrorMessage for err: what went wrong and
// what to do. Gate refusals carry their own advice.
func runMessage(err error) string {
	var refusal *egress.Refusal
	if errors.As(err, &refusal) {
		return refusal.Message
	}
	msg := err.Error()
	for _, class := range []error{errdef.ErrNotFound, errdef.ErrInvalidArgument, errdef.ErrConflict, errdef.ErrDenied, errdef.ErrFailedPrecondition} {
		msg = strings.TrimSuffix(msg, ": "+class.Error())
	}
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

func hasOption(pl Pipeline, o PipelineOption) bool {
	if pl.Properties == nil {
		return false
	}
	for _, x := range pl.Properties.Options {
		if strings.EqualFold(string(x), string(o)) {
			return true
		}
	}
	return false
}
