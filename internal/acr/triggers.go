package acr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// pollTriggers starts an import run for every new archive in the source
// of each import pipeline whose source trigger is enabled. An archive
// version (name and ETag) is imported once: the run and a marker are
// written in one transaction, and the marker outlives the run.
func (r *Runner) pollTriggers(ctx context.Context) {
	var pipelines []meta.Resource
	err := r.o.Meta.View(ctx, func(tx meta.Tx) (err error) {
		pipelines, err = tx.ListResources("", ImportPipelineType, meta.Page{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.o.Logger.Error("listing import pipelines", "err", err)
		}
		return
	}
	for _, res := range pipelines {
		var pl Pipeline
		if json.Unmarshal(res.Document, &pl) != nil || pl.Properties == nil || !triggerEnabled(pl.Properties.Trigger) {
			continue
		}
		if err := r.pollPipeline(ctx, res.ID, pl); err != nil && ctx.Err() == nil {
			r.o.Logger.Warn("import pipeline trigger", "pipeline", res.ID, "err", err)
		}
	}
}

func triggerEnabled(raw json.RawMessage) bool {
	var t struct {
		SourceTrigger *struct {
			Status string `json:"status"`
		} `json:"sourceTrigger"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &t) != nil || t.SourceTrigger == nil {
		return true // ACR's default is Enabled
	}
	return !strings.EqualFold(t.SourceTrigger.Status, "Disabled")
}

func (r *Runner) pollPipeline(ctx context.Context, pipelineID string, pl Pipeline) error {
	container, err := r.container(ctx, pl.Properties.Source)
	if err != nil {
		return err
	}
	objects, err := container.List(ctx)
	if err != nil {
		return err
	}
	pid, err := arm.ParseID(pipelineID)
	if err != nil {
		return err
	}
	regID, _ := pid.Parent()
	now := r.o.Now().UTC()
	started := false
	for _, o := range objects {
		if o.Metadata["category"] != transferBlobMD || now.Sub(o.LastModified) > triggerMaxAge {
			continue
		}
		sum := sha256.Sum256([]byte(strings.ToLower(pipelineID) + "\x00" + o.Name + "\x00" + o.ETag))
		key := hex.EncodeToString(sum[:])
		marker := pipelineID + "/bulkheadTriggeredBlobs/" + key[:32]
		runName := "trigger" + key[:32]
		runID := regID.Child("pipelineRuns", runName).String()
		err := r.o.Meta.Update(ctx, func(tx meta.Tx) error {
			started = false
			if _, err := tx.GetResource(marker); err == nil {
				return nil
			} else if !errors.Is(err, errdef.ErrNotFound) {
				return err
			}
			row, _, err := loadRegistry(tx, regID.Subscription, regID.ResourceGroup, regID.Names[0])
			if err != nil {
				return err
			}
			if _, err := tx.GetResource(pipelineID); err != nil {
				return err // deleted since the listing
			}
			props := &PipelineRunProperties{Request: &PipelineRunRequest{PipelineResourceID: ptr(pipelineID),
				Source: &RunBlobEndpoint{Type: ptr("AzureStorageBlob"), Name: ptr(o.Name)}}}
			run := newRun(runID, runName, props, pl, false, now)
			ts := o.LastModified.UTC()
			run.Properties.Response.Trigger = &RunTrigger{SourceTrigger: &struct {
				Timestamp *time.Time `json:"timestamp,omitempty"`
			}{Timestamp: &ts}}
			run.State = runState{Registry: row.Key}
			doc, _ := json.Marshal(map[string]any{"blob": o.Name, "etag": o.ETag, "run": runID})
			if err := tx.PutResource(meta.Resource{ID: marker, Type: triggerType, Document: doc, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			started = true
			return tx.PutResource(meta.Resource{ID: runID, Type: PipelineRunType, Document: mustJSON(run), CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			return err
		}
		if started {
			r.o.Logger.Info("import pipeline triggered", "pipeline", pipelineID, "blob", o.Name, "run", runName)
			r.Wake()
		}
	}
	return nil
}
