package acr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
	"github.com/opencontainers/go-digest"
)

// container opens a pipeline endpoint's storage, with the SAS token from
// its Key Vault secret (a local directory needs none).
func (r *Runner) container(ctx context.Context, ep *PipelineEndpoint) (storage.Container, error) {
	if ep == nil || deref(ep.URI) == "" {
		return nil, fmt.Errorf("the pipeline has no storage uri: %w", errdef.ErrInvalidArgument)
	}
	uri := deref(ep.URI)
	var sas string
	if !strings.HasPrefix(strings.ToLower(uri), "file:") {
		if r.o.Secrets == nil {
			return nil, fmt.Errorf("this server resolves no Key Vault secrets: %w", errdef.ErrFailedPrecondition)
		}
		var err error
		sas, err = r.o.Secrets.Secret(ctx, deref(ep.KeyVaultURI))
		if err != nil {
			return nil, fmt.Errorf("the pipeline's keyVaultUri '%s' could not be read (%v); create the secret with the container's SAS token, e.g. PUT …/providers/Microsoft.KeyVault/vaults/{vault}/secrets/{secret} with properties.value", deref(ep.KeyVaultURI), err)
		}
	}
	c, err := r.o.Open(ctx, uri, sas)
	if err != nil {
		return nil, fmt.Errorf("the pipeline's storage '%s' could not be opened: %w", uri, err)
	}
	return c, nil
}

// export runs an export run: the archive streams into a new blob that is
// committed only at the end, after one more question to the gate.
func (r *Runner) export(ctx context.Context, run storedRun, pl Pipeline, progress func(transfer.Progress)) (outcome, error) {
	var out outcome
	req := run.Properties.Request
	var arts []transfer.Image
	for _, a := range req.Artifacts {
		img, err := transfer.ParseImage(a, true)
		if err != nil {
			return out, err
		}
		arts = append(arts, img)
	}
	container, err := r.container(ctx, pl.Properties.Target)
	if err != nil {
		return out, err
	}
	name := deref(req.Target.Name)
	if !hasOption(pl, "OverwriteBlobs") {
		if _, err := container.Stat(ctx, name); err == nil {
			return out, fmt.Errorf("the blob '%s' already exists in '%s'; name another blob, or give the export pipeline the option OverwriteBlobs", name, deref(pl.Properties.Target.URI))
		} else if !errors.Is(err, errdef.ErrNotFound) {
			return out, err
		}
	}
	gate := r.exportGate(run)
	w, err := container.Create(ctx, name)
	if err != nil {
		return out, err
	}
	res, err := transfer.Export(ctx, r.o.Meta, r.o.Blobs, gate, w, transfer.ExportRequest{Artifacts: arts, ContinueOnErrors: hasOption(pl, "ContinueOnErrors"),
		Progress: func(p transfer.Progress) { out.progress = p; progress(p) }})
	if err == nil {
		// The last question before the archive becomes visible.
		err = r.o.Meta.View(ctx, func(tx meta.Tx) error { _, _, err := gate(tx); return err })
	}
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return out, err
	}
	if _, err := w.Commit(ctx, map[string]string{"category": transferBlobMD, "catalogdigest": res.CatalogDigest.String()}); err != nil {
		return out, err
	}
	out.artifacts, out.catalog = res.Exported, res.CatalogDigest
	if len(res.Skipped) > 0 {
		r.o.Logger.Warn("pipeline run skipped artifacts", "run", deref(run.ID), "skipped", res.Skipped)
	}
	return out, nil
}

// exportGate asks the egress gate, in the caller's transaction, whether
// the run's registry may still export: the same registry (not one
// re-created under its name), the pipeline still there, and the policy.
func (r *Runner) exportGate(run storedRun) transfer.ExportGate {
	runID, _ := arm.ParseID(deref(run.ID))
	pipelineID := deref(run.Properties.Request.PipelineResourceID)
	return func(tx meta.Tx) (meta.Registry, egress.Permit, error) {
		row, reg, err := loadRegistry(tx, runID.Subscription, runID.ResourceGroup, runID.Names[0])
		if err == nil && row.Key != run.State.Registry {
			err = fmt.Errorf("the registry '%s' was deleted during the run: %w", runID.Names[0], errdef.ErrNotFound)
		}
		if err != nil {
			return row, egress.Permit{}, err
		}
		// The policy first: a run that meets a disabled registry reports
		// the gate's reason, even though its pipeline had to go first.
		permit, err := egress.Check(egressSource(row, reg), egress.ChannelExportPipelineRun)
		if err != nil {
			return row, permit, err
		}
		if _, err := tx.GetResource(pipelineID); errors.Is(err, errdef.ErrNotFound) {
			return row, egress.Permit{}, fmt.Errorf("the export pipeline '%s' was deleted during the run, so the run stopped and committed nothing", pipelineID)
		} else if err != nil {
			return row, egress.Permit{}, err
		}
		return row, permit, nil
	}
}

// importRun runs an import run: the archive is read, verified and
// committed into the run's registry in one transaction.
func (r *Runner) importRun(ctx context.Context, run storedRun, pl Pipeline, progress func(transfer.Progress)) (outcome, error) {
	var out outcome
	req := run.Properties.Request
	container, err := r.container(ctx, pl.Properties.Source)
	if err != nil {
		return out, err
	}
	name := deref(req.Source.Name)
	obj, err := container.Open(ctx, name)
	if errors.Is(err, errdef.ErrNotFound) {
		return out, fmt.Errorf("the blob '%s' was not found in '%s'; check request.source.name", name, deref(pl.Properties.Source.URI))
	}
	if err != nil {
		return out, err
	}
	defer obj.Close()
	runID, _ := arm.ParseID(deref(run.ID))
	var target meta.Registry
	err = r.o.Meta.View(ctx, func(tx meta.Tx) error {
		target, _, err = loadRegistry(tx, runID.Subscription, runID.ResourceGroup, runID.Names[0])
		return err
	})
	if err != nil {
		return out, err
	}
	var want digest.Digest
	if c := deref(req.CatalogDigest); c != "" {
		want = digest.Digest(c)
	}
	res, err := transfer.ImportArchive(ctx, r.o.Meta, r.o.Blobs, obj, transfer.ArchiveImport{Target: target, CatalogDigest: want,
		OverwriteTags: hasOption(pl, "OverwriteTags"), ContinueOnErrors: hasOption(pl, "ContinueOnErrors"), Size: obj.Info().Size,
		Progress: func(p transfer.Progress) { out.progress = p; progress(p) }, Now: r.o.Now().UTC()})
	out.catalog = res.CatalogDigest
	if err != nil {
		return out, err
	}
	out.artifacts = res.Imported
	out.progress.Bytes = out.progress.TotalBytes
	if hasOption(pl, "DeleteSourceBlobOnSuccess") {
		if err := container.Delete(ctx, name); err != nil && !errors.Is(err, errdef.ErrNotFound) {
			r.o.Logger.Warn("deleting an imported archive", "blob", name, "err", err)
		}
	}
	return out, nil
}
