// Package deployments is the Microsoft.Resources/deployments provider at
// resource-group scope: it parses ARM templates (JSONC, as az sends them),
// plans and evaluates them with internal/template, and applies each
// resource through the management plane's own handlers, so every rule (the
// export policy included) holds for templates exactly as for direct calls.
package deployments

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/template"
	"github.com/google/uuid"
)

// DeploymentType is the ARM type of deployments.
const DeploymentType = "Microsoft.Resources/deployments"

var apiVersions = []string{"2019-05-01", "2019-08-01", "2019-10-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01"}

// Options configure the service. Apply is the management plane's handler:
// each template resource is PUT through it, with the deploying caller's
// identity, so the same validation and rules apply.
type Options struct {
	Meta  meta.Store
	Apply func() http.Handler
	Now   func() time.Time
}

// Service serves deployments.
type Service struct {
	meta  meta.Store
	apply func() http.Handler
	now   func() time.Time
}

// New returns the deployments service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{meta: o.Meta, apply: o.Apply, now: o.Now}
}

// Routes registers the deployment routes on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	const base = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments"
	mux.HandleFunc("POST "+base+"/{name}/validate", s.validate)
	mux.HandleFunc("PUT "+base+"/{name}", s.put)
	mux.HandleFunc("GET "+base+"/{name}", s.get)
	mux.HandleFunc("DELETE "+base+"/{name}", s.delete)
	mux.HandleFunc("GET "+base, s.list)
	mux.HandleFunc("GET "+base+"/{name}/operations", s.operations)
	arm.OperationRoutes(mux, s.meta, "Microsoft.Resources")
}

type request struct {
	Properties struct {
		Template   template.Template `json:"template"`
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
		Mode string `json:"mode"`
	} `json:"properties"`
}

func deploymentID(r *http.Request) string {
	return "/subscriptions/" + r.PathValue("sub") + "/resourceGroups/" + r.PathValue("rg") + "/providers/" + DeploymentType + "/" + r.PathValue("name")
}

// parse reads az's JSONC body and plans the deployment.
func (s *Service) parse(w http.ResponseWriter, r *http.Request) (request, *template.Plan, template.Env, error) {
	var req request
	if _, err := arm.RequireAPIVersion(r, DeploymentType, apiVersions); err != nil {
		return req, nil, template.Env{}, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, arm.MaxBody))
	if err != nil {
		return req, nil, template.Env{}, arm.Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The deployment body exceeds %d bytes.", arm.MaxBody)
	}
	if err := json.Unmarshal(template.NormalizeJSONC(raw), &req); err != nil {
		return req, nil, template.Env{}, invalid("template", fmt.Errorf("the request content is not valid JSON: %v", err))
	}
	if m := req.Properties.Mode; m != "" && !strings.EqualFold(m, "Incremental") {
		return req, nil, template.Env{}, invalid("properties.mode", fmt.Errorf("mode %q is not supported; use Incremental", m))
	}
	req.Properties.Mode = "Incremental"
	caller, err := authz.CallerFromContext(r.Context())
	if err != nil {
		return req, nil, template.Env{}, err
	}
	env := template.Env{SubscriptionID: r.PathValue("sub"), ResourceGroup: r.PathValue("rg"), TenantID: caller.TenantID, Deployment: r.PathValue("name")}
	err = s.meta.View(r.Context(), func(tx meta.Tx) error {
		if err := authz.Check(tx, caller.ObjectID, deploymentID(r), DeploymentType+"/write"); err != nil {
			return arm.Errorf(http.StatusForbidden, "AuthorizationFailed", "The client '%s' does not have authorization to perform action '%s/write' over scope '%s'.", caller.ObjectID, DeploymentType, deploymentID(r))
		}
		g, err := tx.GetResource("/subscriptions/" + env.SubscriptionID + "/resourceGroups/" + env.ResourceGroup)
		if errors.Is(err, errdef.ErrNotFound) {
			return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", env.ResourceGroup)
		}
		if err != nil {
			return err
		}
		var doc struct{ Location string }
		json.Unmarshal(g.Document, &doc)
		env.Location = doc.Location
		return nil
	})
	if err != nil {
		return req, nil, template.Env{}, err
	}
	given := map[string]any{}
	for k, v := range req.Properties.Parameters {
		given[k] = v.Value
	}
	pl, err := req.Properties.Template.Plan(given, env)
	if err == nil {
		err = pl.Preflight()
	}
	if err != nil {
		var te *template.Error
		if errors.As(err, &te) {
			return req, nil, template.Env{}, invalid(te.Path, errors.New(te.Message))
		}
		return req, nil, template.Env{}, err
	}
	return req, pl, env, nil
}

// invalid is the ARM answer to a template error, with its path as target.
func invalid(path string, err error) error {
	e := arm.Errorf(http.StatusBadRequest, "InvalidTemplate", "Deployment template validation failed: '%s: %v'.", path, err)
	e.Target = path
	return e
}

func (s *Service) validate(w http.ResponseWriter, r *http.Request) {
	_, pl, _, err := s.parse(w, r)
	if err != nil {
		arm.WriteError(w, wrapValidation(err))
		return
	}
	var validated []map[string]string
	for _, p := range pl.Resources {
		validated = append(validated, map[string]string{"id": p.ID})
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"id": deploymentID(r), "name": r.PathValue("name"), "type": DeploymentType,
		"properties": map[string]any{"provisioningState": "Succeeded", "mode": "Incremental", "validatedResources": validated}})
}

// wrapValidation presents template errors the way ARM's validate does.
func wrapValidation(err error) error {
	ae := arm.ToError(err)
	if ae.Code != "InvalidTemplate" {
		return err
	}
	return &arm.Error{Status: http.StatusBadRequest, Code: "InvalidTemplateDeployment", Message: ae.Message, Target: ae.Target}
}

// put applies a deployment: each resource through the management plane in
// dependency order, then the outputs. It answers like an ARM LRO.
func (s *Service) put(w http.ResponseWriter, r *http.Request) {
	start := s.now().UTC()
	req, pl, env, err := s.parse(w, r)
	if err != nil {
		arm.WriteError(w, wrapValidation(err))
		return
	}
	res := s.connect(r, pl.Resources)
	var failure error
	var outputsRes []map[string]string
	var details []map[string]string
	for _, p := range pl.Resources {
		body, err := pl.Body(p, res)
		if err != nil {
			details = append(details, map[string]string{"code": "InvalidTemplate", "message": err.Error(), "target": p.ID})
			failure = arm.Errorf(http.StatusBadRequest, "DeploymentFailed", "At least one resource deployment operation failed. Please list deployment operations for details.")
			break
		}
		status, out := s.call(r, http.MethodPut, p.ID, p.APIVersion, body)
		if status >= 300 {
			code, msg := armError(out)
			details = append(details, map[string]string{"code": code, "message": msg, "target": p.ID})
			failure = arm.Errorf(http.StatusBadRequest, "DeploymentFailed", "At least one resource deployment operation failed. Please list deployment operations for details.")
			break
		}
		outputsRes = append(outputsRes, map[string]string{"id": p.ID})
	}
	outputs := map[string]any{}
	if failure == nil {
		for name, o := range req.Properties.Template.Outputs {
			v, ok, err := pl.Output(o, res)
			if err != nil {
				failure = invalid("outputs."+name, err)
				break
			}
			if ok {
				outputs[name] = map[string]any{"type": o.Type, "value": v}
			}
		}
	}
	end := s.now().UTC()
	doc := deploymentDoc(r, req, pl.Parameters, outputs, outputsRes, start, end, failure, details)
	var opPath string
	err = s.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := tx.PutResource(meta.Resource{ID: deploymentID(r), Type: DeploymentType, Document: mustJSON(doc), CreatedAt: start, UpdatedAt: end}); err != nil {
			return err
		}
		var err error
		opPath, err = arm.RecordOperation(tx, r.PathValue("sub"), "Microsoft.Resources", env.Location, start, end, failureWithDetails(failure, details))
		return err
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.SetAsyncHeaders(w, r, opPath)
	arm.WriteJSON(w, http.StatusCreated, doc)
}

// resolver lets a template's reference() and list*() reach the management
// plane as the deploying caller, once resources are being deployed.
type resolver struct {
	s        *Service
	r        *http.Request
	versions map[string]string // the template's apiVersion by lower-cased id
}

// connect returns the resolver for a deployment of rs.
func (s *Service) connect(r *http.Request, rs []template.Resource) resolver {
	versions := map[string]string{}
	for _, p := range rs {
		versions[strings.ToLower(p.ID)] = p.APIVersion
	}
	return resolver{s: s, r: r, versions: versions}
}

// Reference GETs the resource, with the template's apiVersion for it when
// the expression names none.
func (rv resolver) Reference(id, api string, full bool) (any, error) {
	if api == "" {
		if api = rv.versions[strings.ToLower(id)]; api == "" {
			return nil, fmt.Errorf("reference('%s') needs an apiVersion: the resource is not deployed by this template", id)
		}
	}
	status, body := rv.s.call(rv.r, http.MethodGet, id, api, nil)
	if status != http.StatusOK {
		_, msg := armError(body)
		return nil, fmt.Errorf("reference('%s'): %s", id, msg)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("reference('%s'): %v", id, err)
	}
	if full {
		return doc, nil
	}
	return doc["properties"], nil
}

// List POSTs the action to the resource.
func (rv resolver) List(action, id, api string, in any) (any, error) {
	status, body := rv.s.call(rv.r, http.MethodPost, id+"/"+action, api, in)
	if status != http.StatusOK {
		_, msg := armError(body)
		return nil, fmt.Errorf("%s('%s'): %s", action, id, msg)
	}
	var out any
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%s('%s'): %v", action, id, err)
	}
	return out, nil
}

// armError reads the code and message of an ARM error envelope.
func armError(body []byte) (code, msg string) {
	var env struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(body, &env)
	if env.Error.Message == "" {
		return "ResourceNotFound", "the request failed"
	}
	return env.Error.Code, env.Error.Message
}

func failureWithDetails(failure error, details []map[string]string) error {
	if failure == nil || len(details) == 0 {
		return failure
	}
	d := details[0]
	return arm.Errorf(http.StatusBadRequest, "DeploymentFailed", "At least one resource deployment operation failed. (%s) %s [target %s]", d["code"], d["message"], d["target"])
}

// call sends one request through the management plane as the caller.
func (s *Service) call(r *http.Request, method, id, apiVersion string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	}
	req := httptest.NewRequestWithContext(r.Context(), method, id+"?api-version="+apiVersion, rd)
	req.Host, req.TLS = r.Host, r.TLS
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.apply().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func deploymentDoc(r *http.Request, req request, params, outputs map[string]any, res []map[string]string, start, end time.Time, failure error, details []map[string]string) map[string]any {
	pv := map[string]any{}
	for name, v := range params {
		typ := "String"
		if spec, ok := req.Properties.Template.Parameters[name]; ok && spec.Type != "" {
			typ = spec.Type
		}
		pv[name] = map[string]any{"type": typ, "value": v}
	}
	hash := sha256.Sum256(mustJSON(req.Properties.Template))
	props := map[string]any{
		"templateHash": hex.EncodeToString(hash[:8]), "parameters": pv, "mode": "Incremental",
		"provisioningState": "Succeeded", "timestamp": end, "duration": fmt.Sprintf("PT%.3fS", end.Sub(start).Seconds()),
		"correlationId": uuid.NewString(), "providers": []any{}, "dependencies": []any{}, "outputs": outputs, "outputResources": res,
	}
	if failure != nil {
		ae := arm.ToError(failure)
		props["provisioningState"] = "Failed"
		props["error"] = map[string]any{"code": ae.Code, "message": ae.Message, "details": details}
	}
	return map[string]any{"id": deploymentID(r), "name": r.PathValue("name"), "type": DeploymentType, "properties": props}
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, DeploymentType, apiVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	var res meta.Resource
	err := s.meta.View(r.Context(), func(tx meta.Tx) (err error) {
		if err := readable(r, tx); err != nil {
			return err
		}
		res, err = tx.GetResource(deploymentID(r))
		if errors.Is(err, errdef.ErrNotFound) {
			return arm.Errorf(http.StatusNotFound, "DeploymentNotFound", "Deployment '%s' could not be found.", r.PathValue("name"))
		}
		return err
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(res.Document)
}

func readable(r *http.Request, tx meta.Tx) error {
	caller, err := authz.CallerFromContext(r.Context())
	if err != nil {
		return err
	}
	if err := authz.Check(tx, caller.ObjectID, deploymentID(r), DeploymentType+"/read"); err != nil {
		return arm.Errorf(http.StatusForbidden, "AuthorizationFailed", "The client '%s' does not have authorization to read deployments.", caller.ObjectID)
	}
	return nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, DeploymentType, apiVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	out := []json.RawMessage{}
	err := s.meta.View(r.Context(), func(tx meta.Tx) error {
		if err := readable(r, tx); err != nil {
			return err
		}
		res, err := tx.ListResources("/subscriptions/"+r.PathValue("sub")+"/resourceGroups/"+r.PathValue("rg")+"/providers/"+DeploymentType, DeploymentType, meta.Page{})
		for _, x := range res {
			out = append(out, x.Document)
		}
		return err
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

// operations lists one operation per applied resource.
func (s *Service) operations(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, DeploymentType, apiVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	var doc struct {
		Properties struct {
			OutputResources []struct{ ID string } `json:"outputResources"`
			Error           *struct {
				Details []map[string]string `json:"details"`
			} `json:"error"`
			Timestamp time.Time `json:"timestamp"`
		} `json:"properties"`
	}
	err := s.meta.View(r.Context(), func(tx meta.Tx) error {
		if err := readable(r, tx); err != nil {
			return err
		}
		res, err := tx.GetResource(deploymentID(r))
		if errors.Is(err, errdef.ErrNotFound) {
			return arm.Errorf(http.StatusNotFound, "DeploymentNotFound", "Deployment '%s' could not be found.", r.PathValue("name"))
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(res.Document, &doc)
	})
	if err != nil {
		arm.WriteError(w, err)
		return
	}
	ops := []map[string]any{}
	add := func(target, state string, status any) {
		id := uuid.NewSHA1(uuid.NameSpaceURL, []byte(deploymentID(r)+target)).String()
		ops = append(ops, map[string]any{"id": deploymentID(r) + "/operations/" + id, "operationId": id, "properties": map[string]any{
			"provisioningOperation": "Create", "provisioningState": state, "timestamp": doc.Properties.Timestamp,
			"targetResource": map[string]any{"id": target}, "statusMessage": status}})
	}
	for _, o := range doc.Properties.OutputResources {
		add(o.ID, "Succeeded", nil)
	}
	if doc.Properties.Error != nil {
		for _, d := range doc.Properties.Error.Details {
			add(d["target"], "Failed", map[string]any{"error": d})
		}
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": ops})
}

func (s *Service) delete(w http.ResponseWriter, r *http.Request) {
	if _, err := arm.RequireAPIVersion(r, DeploymentType, apiVersions); err != nil {
		arm.WriteError(w, err)
		return
	}
	err := s.meta.Update(r.Context(), func(tx meta.Tx) error {
		if err := readable(r, tx); err != nil {
			return err
		}
		return tx.DeleteResource(deploymentID(r))
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		w.WriteHeader(http.StatusNoContent)
	case err != nil:
		arm.WriteError(w, err)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // values built from JSON always marshal
	}
	return b
}
