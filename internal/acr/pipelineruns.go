package acr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/opencontainers/go-digest"
)

// PipelineRunType is the ARM type of pipeline runs.
const PipelineRunType = RegistryType + "/pipelineRuns"

// Run statuses (response.status) and provisioning states.
const (
	runRunning   = "Running"
	runSucceeded = "Succeeded"
	runFailed    = "Failed"
)

// MaxRunArtifacts bounds the artifacts one export run may name.
const MaxRunArtifacts = 1000

// PipelineRun is a pipeline run (acr-api.md §6.3).
type PipelineRun struct {
	ID         *string                `json:"id,omitempty"`
	Name       *string                `json:"name,omitempty"`
	Type       *string                `json:"type,omitempty"`
	SystemData *SystemData            `json:"systemData,omitempty"`
	Properties *PipelineRunProperties `json:"properties,omitempty"`
}

// PipelineRunProperties are a run's properties.
type PipelineRunProperties struct {
	ProvisioningState *string              `json:"provisioningState,omitempty"`
	Request           *PipelineRunRequest  `json:"request,omitempty"`
	Response          *PipelineRunResponse `json:"response,omitempty"`
	ForceUpdateTag    *string              `json:"forceUpdateTag,omitempty"`
}

// PipelineRunRequest is what a run was asked to do.
type PipelineRunRequest struct {
	PipelineResourceID *string          `json:"pipelineResourceId,omitempty"`
	Artifacts          []string         `json:"artifacts,omitempty"`
	Source             *RunBlobEndpoint `json:"source,omitempty"`
	Target             *RunBlobEndpoint `json:"target,omitempty"`
	CatalogDigest      *string          `json:"catalogDigest,omitempty"`
}

// RunBlobEndpoint names the archive of a run.
type RunBlobEndpoint struct {
	Type *string `json:"type,omitempty"`
	Name *string `json:"name,omitempty"`
}

// PipelineRunResponse is what a run did (read-only).
type PipelineRunResponse struct {
	Status            *string           `json:"status,omitempty"`
	ImportedArtifacts []string          `json:"importedArtifacts,omitempty"`
	Progress          *RunProgress      `json:"progress,omitempty"`
	StartTime         *time.Time        `json:"startTime,omitempty"`
	FinishTime        *time.Time        `json:"finishTime,omitempty"`
	Source            *PipelineEndpoint `json:"source,omitempty"`
	Target            *PipelineEndpoint `json:"target,omitempty"`
	CatalogDigest     *string           `json:"catalogDigest,omitempty"`
	Trigger           *RunTrigger       `json:"trigger,omitempty"`
	ErrorMessage      *string           `json:"pipelineRunErrorMessage,omitempty"`
}

// RunProgress is ACR's percentage, with bytes and artifacts as a Bulkhead
// extension (for progress bars).
type RunProgress struct {
	Percentage     *string `json:"percentage,omitempty"`
	Bytes          int64   `json:"bytes"`
	TotalBytes     int64   `json:"totalBytes"`
	Artifacts      int     `json:"artifacts"`
	TotalArtifacts int     `json:"totalArtifacts"`
}

// RunTrigger says what started a triggered import run.
type RunTrigger struct {
	SourceTrigger *struct {
		Timestamp *time.Time `json:"timestamp,omitempty"`
	} `json:"sourceTrigger,omitempty"`
}

// runState is the bookkeeping a stored run carries beside its ARM
// document; it is never served.
type runState struct {
	// Owner is the runner working on the run ("node/incarnation"), ""
	// while it waits for one.
	Owner string `json:"owner,omitempty"`
	// LeaseUntil is when Owner's claim lapses unless renewed.
	LeaseUntil time.Time `json:"leaseUntil"`
	// Operation is the status path of the run's ARM operation.
	Operation string `json:"operation,omitempty"`
	// Registry is the key of the run's registry.
	Registry string `json:"registry"`
}

// storedRun is a run as stored: the document plus its state.
type storedRun struct {
	PipelineRun
	State runState `json:"bulkheadRunState"`
}

func decodeRun(doc []byte) (storedRun, error) {
	var r storedRun
	if err := json.Unmarshal(doc, &r); err != nil {
		return r, err
	}
	if r.Properties == nil {
		r.Properties = &PipelineRunProperties{}
	}
	if r.Properties.Response == nil {
		r.Properties.Response = &PipelineRunResponse{}
	}
	return r, nil
}

// public is the run as ARM serves it.
func (r storedRun) public() PipelineRun { return r.PipelineRun }

func (r storedRun) running() bool { return deref(r.Properties.Response.Status) == runRunning }

func runNotFound(name string) error {
	return fail("ResourceNotFound", "The Resource '%s/%s' was not found.", PipelineRunType, name).WithCause(errdef.ErrNotFound)
}

// putPipelineRun creates a run as a long-running operation: the run is
// stored Running, and a runner picks it up. An export run asks the gate
// first, in the transaction that stores it.
func (p *Provider) putPipelineRun(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	name := q.ID.Name()
	if !registryNameRE.MatchString(name) {
		return nil, fail("InvalidResourceName", "Resource name '%s' is invalid: pipeline run names may contain alphanumeric characters only and must be between 5 and 50 characters.", name).WithCause(errdef.ErrInvalidArgument)
	}
	var in PipelineRun
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if in.Properties == nil || in.Properties.Request == nil {
		return nil, errPipelineInvalid("properties.request is required.")
	}
	req := in.Properties.Request
	if req.PipelineResourceID == nil || *req.PipelineResourceID == "" {
		return nil, errPipelineInvalid("properties.request.pipelineResourceId is required.")
	}
	regID, _ := q.ID.Parent()
	pid, err := arm.ParseID(*req.PipelineResourceID)
	pidParent, _ := pid.Parent()
	if err != nil || len(pid.Names) != 2 || !pidParent.Equal(regID) ||
		!strings.EqualFold(pid.Types[1], exportKind.segment) && !strings.EqualFold(pid.Types[1], importKind.segment) {
		return nil, errPipelineInvalid(fmt.Sprintf("properties.request.pipelineResourceId '%s' must name an export or import pipeline of the registry '%s'.", *req.PipelineResourceID, q.ID.Names[0]))
	}
	export := strings.EqualFold(pid.Types[1], exportKind.segment)
	if err := validateRunRequest(req, export); err != nil {
		return nil, err
	}
	id := q.ID.String()
	now := p.now().UTC()
	status := http.StatusCreated
	var out storedRun
	var before any
	var unchanged bool
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		row, reg, err := loadRegistry(tx, q.ID.Subscription, q.ID.ResourceGroup, q.ID.Names[0])
		if err != nil {
			return err
		}
		pipeline, err := tx.GetResource(pid.String())
		if errors.Is(err, errdef.ErrNotFound) {
			return fail("ResourceNotFound", "The pipeline '%s' was not found.", *req.PipelineResourceID).WithCause(errdef.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var pl Pipeline
		if err := json.Unmarshal(pipeline.Document, &pl); err != nil {
			return err
		}
		if export {
			if _, err := egress.Check(egressSource(row, reg), egress.ChannelExportPipelineRun); err != nil {
				return asARM(err)
			}
		}
		if old, err := tx.GetResource(id); err == nil {
			prev, err := decodeRun(old.Document)
			if err != nil {
				return err
			}
			status, before = http.StatusOK, prev.public()
			if deref(prev.Properties.ForceUpdateTag) == deref(in.Properties.ForceUpdateTag) && reflect.DeepEqual(prev.Properties.Request, req) {
				out, unchanged = prev, true
				return nil // nothing changed: ARM answers with the run as it is
			}
			if prev.running() {
				return fail("Conflict", "The pipeline run '%s' is still running; wait for it to finish or delete it first.", name)
			}
		} else if !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		op, err := arm.StartOperation(tx, q.ID.Subscription, providerNamespace, arm.NormLocation(deref(reg.Location)), now)
		if err != nil {
			return err
		}
		out = newRun(id, name, in.Properties, pl, export, now)
		out.State = runState{Operation: op, Registry: row.Key}
		return tx.PutResource(meta.Resource{ID: id, Type: PipelineRunType, Document: mustJSON(out), CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	if unchanged {
		return &arm.Response{Status: http.StatusOK, Body: out.public()}, nil
	}
	if p.runs != nil {
		p.runs.Wake()
	}
	return &arm.Response{Status: status, Body: out.public(), AsyncOperation: out.State.Operation, Before: before, After: out.public()}, nil
}

// newRun is a run as created: Running, waiting for a runner.
func newRun(id, name string, props *PipelineRunProperties, pl Pipeline, export bool, now time.Time) storedRun {
	r := storedRun{PipelineRun: PipelineRun{ID: ptr(id), Name: ptr(name), Type: ptr(PipelineRunType),
		SystemData: &SystemData{CreatedAt: now, LastModifiedAt: now, CreatedByType: "Application", LastModifiedByType: "Application"},
		Properties: &PipelineRunProperties{ProvisioningState: ptr("Creating"), Request: props.Request, ForceUpdateTag: props.ForceUpdateTag}}}
	resp := &PipelineRunResponse{Status: ptr(runRunning), StartTime: &now, Progress: &RunProgress{Percentage: ptr("0")}}
	if pp := pl.Properties; pp != nil {
		if export {
			resp.Target = pp.Target
		} else {
			resp.Source = pp.Source
		}
	}
	r.Properties.Response = resp
	return r
}

func validateRunRequest(req *PipelineRunRequest, export bool) error {
	if export {
		if req.Source != nil {
			return errPipelineInvalid("properties.request.source is for import runs; an export run names its blob in properties.request.target.name.")
		}
		if req.Target == nil || deref(req.Target.Name) == "" {
			return errPipelineInvalid("properties.request.target.name is required: the name of the blob the run writes.")
		}
		if len(req.Artifacts) == 0 {
			return errPipelineInvalid("properties.request.artifacts is required: the artifacts to export, as 'repository:tag' or 'repository@sha256:…'.")
		}
		if len(req.Artifacts) > MaxRunArtifacts {
			return errPipelineInvalid(fmt.Sprintf("properties.request.artifacts names %d artifacts; one run exports at most %d.", len(req.Artifacts), MaxRunArtifacts))
		}
		for _, a := range req.Artifacts {
			if _, err := transfer.ParseImage(a, true); err != nil {
				return errPipelineInvalid(fmt.Sprintf("properties.request.artifacts entry '%s' is not 'repository', 'repository:tag' or 'repository@sha256:…'.", a))
			}
		}
		fixType(req.Target)
	} else {
		if req.Target != nil || len(req.Artifacts) > 0 {
			return errPipelineInvalid("an import run takes properties.request.source.name (the blob to import); target and artifacts are for export runs.")
		}
		if req.Source == nil || deref(req.Source.Name) == "" {
			return errPipelineInvalid("properties.request.source.name is required: the name of the blob to import.")
		}
		fixType(req.Source)
	}
	if req.CatalogDigest != nil && *req.CatalogDigest != "" {
		if _, err := archiveDigest(*req.CatalogDigest); err != nil {
			return errPipelineInvalid(fmt.Sprintf("properties.request.catalogDigest '%s' is not a sha256 digest.", *req.CatalogDigest))
		}
	}
	return nil
}

func fixType(e *RunBlobEndpoint) {
	if e.Type == nil {
		e.Type = ptr("AzureStorageBlob")
	}
}

func archiveDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err == nil && d.Algorithm() != digest.SHA256 {
		err = fmt.Errorf("not sha256")
	}
	return d, err
}

func (p *Provider) getPipelineRun(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var run storedRun
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(q.ID.String())
		if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(res.Type, PipelineRunType) {
			return runNotFound(q.ID.Name())
		}
		if err != nil {
			return err
		}
		run, err = decodeRun(res.Document)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(run.public()), nil
}

func (p *Provider) listPipelineRuns(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []PipelineRun{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if _, _, err := loadRegistry(tx, q.ID.Subscription, q.ID.ResourceGroup, q.ID.Name()); err != nil {
			return err
		}
		res, err := tx.ListResources(q.ID.String(), PipelineRunType, meta.Page{})
		for _, x := range res {
			run, err := decodeRun(x.Document)
			if err != nil {
				return err
			}
			out = append(out, run.public())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

// deletePipelineRun deletes a run; a run in flight is cancelled first and
// writes nothing more (its archive is never committed).
func (p *Provider) deletePipelineRun(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	id := q.ID.String()
	var before any
	var claim string
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(id)
		if err != nil {
			return err
		}
		run, err := decodeRun(res.Document)
		if err != nil {
			return err
		}
		before, claim = run.public(), run.State.Owner
		if run.running() && run.State.Operation != "" {
			cancelled := fail("Conflict", "The pipeline run '%s' was deleted before it finished.", q.ID.Name())
			if err := arm.FinishOperation(tx, run.State.Operation, p.now().UTC(), cancelled); err != nil {
				return err
			}
		}
		return tx.DeleteResource(id)
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return &arm.Response{Status: http.StatusNoContent}, nil
	}
	if err != nil {
		return nil, err
	}
	if p.runs != nil && claim != "" {
		p.runs.Cancel(id, claim)
	}
	return &arm.Response{Status: http.StatusOK, Before: before}, nil
}
