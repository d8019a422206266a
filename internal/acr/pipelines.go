package acr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Pipelines exist only in preview api-versions (acr-api.md §1).
var pipelineAPIVersions = []string{
	"2019-12-01-preview", "2020-11-01-preview", "2021-06-01-preview", "2021-08-01-preview", "2021-12-01-preview",
	"2022-02-01-preview", "2023-01-01-preview", "2023-06-01-preview", "2023-08-01-preview", "2023-11-01-preview",
	"2024-11-01-preview", "2025-03-01-preview", "2025-05-01-preview", "2025-06-01-preview",
}

// Pipeline is an export or import pipeline (acr-api.md §6.1, §6.2).
type Pipeline struct {
	ID         *string             `json:"id,omitempty"`
	Name       *string             `json:"name,omitempty"`
	Type       *string             `json:"type,omitempty"`
	Location   *string             `json:"location,omitempty"`
	Identity   json.RawMessage     `json:"identity,omitempty"`
	SystemData *SystemData         `json:"systemData,omitempty"`
	Properties *PipelineProperties `json:"properties,omitempty"`
}

// PipelineProperties are the properties of both pipeline kinds.
type PipelineProperties struct {
	Target            *PipelineEndpoint `json:"target,omitempty"`
	Source            *PipelineEndpoint `json:"source,omitempty"`
	Trigger           json.RawMessage   `json:"trigger,omitempty"`
	Options           []PipelineOption  `json:"options,omitempty"`
	ProvisioningState *string           `json:"provisioningState,omitempty"`
}

// PipelineEndpoint is a pipeline's storage target or source.
type PipelineEndpoint struct {
	Type        *string `json:"type,omitempty"`
	URI         *string `json:"uri,omitempty"`
	KeyVaultURI *string `json:"keyVaultUri,omitempty"`
}

// PipelineOption is one of the PipelineOptions values.
type PipelineOption string

// UnmarshalText accepts any casing.
func (o *PipelineOption) UnmarshalText(b []byte) (err error) {
	*o, err = foldEnum[PipelineOption]("options", b, "OverwriteTags", "OverwriteBlobs", "DeleteSourceBlobOnSuccess", "ContinueOnErrors")
	return err
}

type pipelineKind struct {
	typ, segment string
	export       bool
}

var (
	exportKind = pipelineKind{ExportPipelineType, "exportPipelines", true}
	importKind = pipelineKind{ImportPipelineType, "importPipelines", false}
)

func pipelineNotFound(k pipelineKind, name string) error {
	return fail("ResourceNotFound", "The Resource '%s/%s' was not found.", k.typ, name).
		WithCause(errdef.ErrNotFound)
}

func errPipelineName(name string) error {
	return fail("InvalidResourceName", "Resource name '%s' is invalid: pipeline names may contain alphanumeric characters only and must be between 5 and 50 characters.", name).
		WithCause(errdef.ErrInvalidArgument)
}

// putPipeline creates or replaces a pipeline. Creating an export pipeline
// is an egress channel: the gate decides inside the transaction that
// writes it.
func (p *Provider) putPipeline(k pipelineKind) arm.Handler {
	return func(ctx context.Context, q *arm.Request) (*arm.Response, error) {
		name := q.ID.Name()
		if !registryNameRE.MatchString(name) {
			return nil, errPipelineName(name)
		}
		var in Pipeline
		if err := q.Decode(&in); err != nil {
			return nil, err
		}
		if err := validatePipeline(k, in); err != nil {
			return nil, err
		}
		id := q.ID.String()
		status := http.StatusCreated
		var before json.RawMessage
		var refusedRow meta.Registry
		var refusal error
		err := p.meta.Update(ctx, func(tx meta.Tx) error {
			refusal = nil
			row, reg, err := loadRegistry(tx, q.ID.Subscription, q.ID.ResourceGroup, q.ID.Names[0])
			if err != nil {
				return err
			}
			// The gate decides, inside the transaction that writes the
			// pipeline, so a concurrent "disable exports" cannot slip in
			// between (rule checked by checkChange in the same store).
			// Creating moves nothing yet, so the permit is not used.
			if k.export {
				if _, err := egress.Check(egressSource(row, reg), egress.ChannelExportPipelineCreate); err != nil {
					refusedRow, refusal = row, err
					return asARM(err)
				}
			}
			if old, err := tx.GetResource(id); err == nil {
				status, before = http.StatusOK, old.Document
			} else if !errors.Is(err, errdef.ErrNotFound) {
				return err
			}
			now := p.now().UTC()
			in.ID, in.Name, in.Type = ptr(id), ptr(name), ptr(k.typ)
			in.Properties.ProvisioningState = ptr("Succeeded")
			in.SystemData = &SystemData{CreatedAt: now, LastModifiedAt: now, CreatedByType: "Application", LastModifiedByType: "Application"}
			return tx.PutResource(meta.Resource{ID: id, Type: k.typ, Document: mustJSON(in), CreatedAt: now, UpdatedAt: now})
		})
		if refusal != nil {
			p.recordRefusal(ctx, q, refusedRow, refusal)
		}
		if err != nil {
			return nil, err
		}
		var was any
		if before != nil {
			was = before
		}
		return &arm.Response{Status: status, Body: in, Before: was, After: in}, nil
	}
}

func errPipelineInvalid(msg string) error {
	return fail("InvalidRequestContent", "%s", msg).WithCause(errdef.ErrInvalidArgument)
}

func validatePipeline(k pipelineKind, in Pipeline) error {
	if in.Properties == nil {
		return errPipelineInvalid("properties is required.")
	}
	ep, field := in.Properties.Target, "target"
	if !k.export {
		ep, field = in.Properties.Source, "source"
	}
	if ep == nil || ep.URI == nil || strings.TrimSpace(*ep.URI) == "" {
		return errPipelineInvalid("properties." + field + ".uri is required.")
	}
	// A local directory (file:///…, a Bulkhead extension) needs no SAS
	// token, so no Key Vault secret either.
	local := strings.HasPrefix(strings.ToLower(strings.TrimSpace(*ep.URI)), "file:")
	if !local && (ep.KeyVaultURI == nil || strings.TrimSpace(*ep.KeyVaultURI) == "") {
		return errPipelineInvalid("properties." + field + ".keyVaultUri is required: the Key Vault secret that holds the container's SAS token.")
	}
	if ep.Type == nil {
		ep.Type = ptr("AzureStorageBlobContainer")
	}
	return nil
}

func (p *Provider) getPipeline(k pipelineKind) arm.Handler {
	return func(ctx context.Context, q *arm.Request) (*arm.Response, error) {
		var res meta.Resource
		err := p.meta.View(ctx, func(tx meta.Tx) (err error) {
			res, err = tx.GetResource(q.ID.String())
			if errors.Is(err, errdef.ErrNotFound) {
				return pipelineNotFound(k, q.ID.Name())
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return &arm.Response{Raw: res.Document}, nil
	}
}

func (p *Provider) listPipelines(k pipelineKind) arm.Handler {
	return func(ctx context.Context, q *arm.Request) (*arm.Response, error) {
		out := []json.RawMessage{}
		err := p.meta.View(ctx, func(tx meta.Tx) error {
			if _, _, err := loadRegistry(tx, q.ID.Subscription, q.ID.ResourceGroup, q.ID.Name()); err != nil {
				return err
			}
			res, err := tx.ListResources(q.ID.String(), k.typ, meta.Page{})
			for _, x := range res {
				out = append(out, x.Document)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(map[string]any{"value": out}), nil
	}
}

// deletePipeline deletes a pipeline of either kind, with the record of
// which archives its trigger imported. Its runs stay, as in ACR; a run in
// flight through it fails at its next step.
func (p *Provider) deletePipeline(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	id := q.ID.String()
	var before json.RawMessage
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(id)
		if err != nil {
			return err
		}
		before = res.Document
		markers, err := tx.ListResources(id, triggerType, meta.Page{})
		if err != nil {
			return err
		}
		for _, m := range markers {
			if err := tx.DeleteResource(m.ID); err != nil {
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
	return &arm.Response{Status: http.StatusOK, Before: before}, nil
}
