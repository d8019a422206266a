package acr

import (
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

func (p *Provider) pipelineRoutes(mux *http.ServeMux, reg string) {
	for _, k := range []pipelineKind{exportKind, importKind} {
		mux.HandleFunc("GET "+reg+"/"+k.segment, p.listPipelines(k))
		mux.HandleFunc("GET "+reg+"/"+k.segment+"/{pipeline}", p.getPipeline(k))
		mux.HandleFunc("PUT "+reg+"/"+k.segment+"/{pipeline}", p.putPipeline(k))
		mux.HandleFunc("DELETE "+reg+"/"+k.segment+"/{pipeline}", p.deletePipeline(k))
	}
}

func pipelineID(r *http.Request, k pipelineKind) string {
	return registryID(r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")) + "/" + k.segment + "/" + r.PathValue("pipeline")
}

func pipelineNotFound(k pipelineKind, name string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' was not found.", k.typ, name)
}

func (p *Provider) putPipeline(k pipelineKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := arm.RequireAPIVersion(r, k.typ, pipelineAPIVersions); err != nil {
			p.fail(w, r, err)
			return
		}
		name := r.PathValue("pipeline")
		if !registryNameRE.MatchString(name) {
			p.fail(w, r, arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
				"Resource name '%s' is invalid: pipeline names may contain alphanumeric characters only and must be between 5 and 50 characters.", name))
			return
		}
		var in Pipeline
		if err := arm.DecodeJSON(w, r, &in); err != nil {
			p.fail(w, r, err)
			return
		}
		if err := validatePipeline(k, in); err != nil {
			p.fail(w, r, err)
			return
		}
		id := pipelineID(r, k)
		status := http.StatusCreated
		err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
			if err := authorize(r.Context(), tx, id, k.typ+"/write"); err != nil {
				return err
			}
			row, reg, err := loadRegistry(tx, r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name"))
			if err != nil {
				return err
			}
			// The gate decides, inside the transaction that writes the
			// pipeline, so a concurrent "disable exports" cannot slip in
			// between (rule checked by checkChange in the same store).
			// Creating moves nothing yet, so the permit is not used.
			if k.export {
				if _, err := egress.Check(egressSource(row, reg), egress.ChannelExportPipelineCreate); err != nil {
					return asARM(err)
				}
			}
			if _, err := tx.GetResource(id); err == nil {
				status = http.StatusOK
			} else if !errors.Is(err, errdef.ErrNotFound) {
				return err
			}
			now := p.now().UTC()
			in.ID, in.Name, in.Type = ptr(id), ptr(name), ptr(k.typ)
			in.Properties.ProvisioningState = ptr("Succeeded")
			in.SystemData = &SystemData{CreatedAt: now, LastModifiedAt: now, CreatedByType: "Application", LastModifiedByType: "Application"}
			return tx.PutResource(meta.Resource{ID: id, Type: k.typ, Document: mustJSON(in), CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		arm.WriteJSON(w, status, in)
	}
}

func validatePipeline(k pipelineKind, in Pipeline) error {
	if in.Properties == nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties is required.")
	}
	ep, field := in.Properties.Target, "target"
	if !k.export {
		ep, field = in.Properties.Source, "source"
	}
	if ep == nil || ep.URI == nil || strings.TrimSpace(*ep.URI) == "" {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties.%s.uri is required.", field)
	}
	if ep.KeyVaultURI == nil || strings.TrimSpace(*ep.KeyVaultURI) == "" {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "properties.%s.keyVaultUri is required.", field)
	}
	if ep.Type == nil {
		ep.Type = ptr("AzureStorageBlobContainer")
	}
	return nil
}

func (p *Provider) getPipeline(k pipelineKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := arm.RequireAPIVersion(r, k.typ, pipelineAPIVersions); err != nil {
			p.fail(w, r, err)
			return
		}
		var res meta.Resource
		err := p.meta.View(r.Context(), func(tx meta.Tx) (err error) {
			if err := authorize(r.Context(), tx, pipelineID(r, k), k.typ+"/read"); err != nil {
				return err
			}
			res, err = tx.GetResource(pipelineID(r, k))
			if errors.Is(err, errdef.ErrNotFound) {
				return pipelineNotFound(k, r.PathValue("pipeline"))
			}
			return err
		})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(res.Document)
	}
}

func (p *Provider) listPipelines(k pipelineKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := arm.RequireAPIVersion(r, k.typ, pipelineAPIVersions); err != nil {
			p.fail(w, r, err)
			return
		}
		out := []json.RawMessage{}
		err := p.meta.View(r.Context(), func(tx meta.Tx) error {
			regID := registryID(r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name"))
			if err := authorize(r.Context(), tx, regID, k.typ+"/read"); err != nil {
				return err
			}
			if _, _, err := loadRegistry(tx, r.PathValue("sub"), r.PathValue("rg"), r.PathValue("name")); err != nil {
				return err
			}
			res, err := tx.ListResources(regID, k.typ, meta.Page{})
			for _, x := range res {
				out = append(out, x.Document)
			}
			return err
		})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	}
}

func (p *Provider) deletePipeline(k pipelineKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := arm.RequireAPIVersion(r, k.typ, pipelineAPIVersions); err != nil {
			p.fail(w, r, err)
			return
		}
		err := p.meta.Update(r.Context(), func(tx meta.Tx) error {
			if err := authorize(r.Context(), tx, pipelineID(r, k), k.typ+"/delete"); err != nil {
				return err
			}
			return tx.DeleteResource(pipelineID(r, k))
		})
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			w.WriteHeader(http.StatusNoContent)
		case err != nil:
			p.fail(w, r, err)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}
}
