package deployments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/template"
	"github.com/google/uuid"
)

// parse reads az's JSONC body and plans the deployment.
func (s *Service) parse(ctx context.Context, q *arm.Request) (request, *template.Plan, template.Env, error) {
	var req request
	if err := template.Decode(q.Body(), &req); errors.Is(err, errdef.ErrTooLarge) {
		return req, nil, template.Env{}, errJobSize("template", err)
	} else if err != nil {
		return req, nil, template.Env{}, invalid("template", fmt.Errorf("the request content is not valid JSON: %v", err))
	}
	if m := req.Properties.Mode; m != "" && !strings.EqualFold(m, "Incremental") {
		return req, nil, template.Env{}, invalid("properties.mode", fmt.Errorf("mode %q is not supported; use Incremental", m))
	}
	req.Properties.Mode = "Incremental"
	env := template.Env{SubscriptionID: q.ID.Subscription, ResourceGroup: q.ID.ResourceGroup, TenantID: q.Caller.TenantID, Deployment: q.ID.Name()}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		g, err := tx.GetResource(arm.ResourceGroupID(env.SubscriptionID, env.ResourceGroup).String())
		if errors.Is(err, errdef.ErrNotFound) {
			return errGroupNotFound(env.ResourceGroup)
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
	if te := (*template.Error)(nil); errors.As(err, &te) {
		return req, nil, template.Env{}, templateError("", err)
	} else if err != nil {
		return req, nil, template.Env{}, err
	}
	return req, pl, env, nil
}

// validate serves Deployments_Validate: the template plans and every body
// evaluates, without applying anything.
func (s *Service) validate(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	release, err := s.evaluate(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	_, pl, _, err := s.parse(ctx, q)
	if err != nil {
		return nil, wrapValidation(err)
	}
	var validated []map[string]string
	for _, p := range pl.Resources {
		validated = append(validated, map[string]string{"id": p.ID})
	}
	return arm.OK(map[string]any{"id": q.ID.String(), "name": q.ID.Name(), "type": DeploymentType,
		"properties": map[string]any{"provisioningState": "Succeeded", "mode": "Incremental", "validatedResources": validated}}), nil
}

// put applies a deployment: each resource through the management router in
// dependency order, then the outputs. It answers like an ARM LRO.
func (s *Service) put(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	release, err := s.evaluate(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	start := s.now().UTC()
	req, pl, env, err := s.parse(ctx, q)
	if err != nil {
		return nil, wrapValidation(err)
	}
	res := s.connect(ctx, q.HTTP, pl.Resources)
	var failed bool
	var outputsRes []map[string]string
	var details []map[string]string
	for _, p := range pl.Resources {
		body, err := pl.Body(p, res)
		if err != nil {
			details = append(details, map[string]string{"code": arm.ToError(templateError("", err)).Code, "message": err.Error(), "target": p.ID})
			failed = true
			break
		}
		status, out := s.call(ctx, q.HTTP, http.MethodPut, p.ID, p.APIVersion, body)
		if status >= 300 {
			code, msg := armError(out)
			details = append(details, map[string]string{"code": code, "message": msg, "target": p.ID})
			failed = true
			break
		}
		outputsRes = append(outputsRes, map[string]string{"id": p.ID})
	}
	var failure, recorded error
	if failed {
		failure, recorded = errDeploymentFailed(nil), errDeploymentFailed(details)
	}
	outputs := map[string]any{}
	if failure == nil {
		for name, o := range req.Properties.Template.Outputs {
			v, ok, err := pl.Output(name, res)
			if err != nil {
				failure = templateError("outputs."+name, err)
				recorded = failure
				break
			}
			if ok {
				outputs[name] = map[string]any{"type": o.Type, "value": v}
			}
		}
	}
	end := s.now().UTC()
	doc := deploymentDoc(q.ID, req, pl.Parameters, outputs, outputsRes, start, end, failure, details)
	var opPath string
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		if err := tx.PutResource(meta.Resource{ID: q.ID.String(), Type: DeploymentType, Document: mustJSON(doc), CreatedAt: start, UpdatedAt: end}); err != nil {
			return err
		}
		var err error
		opPath, err = arm.RecordOperation(tx, q.ID.Subscription, "Microsoft.Resources", env.Location, start, end, recorded)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusCreated, Body: doc, AsyncOperation: opPath, After: doc}, nil
}

// resolver lets a template's reference() and list*() reach the management
// router as the deploying caller, once resources are being deployed.
type resolver struct {
	s        *Service
	ctx      context.Context
	base     *http.Request
	versions map[string]string // the template's apiVersion by lower-cased id
}

// connect returns the resolver for a deployment of rs.
func (s *Service) connect(ctx context.Context, base *http.Request, rs []template.Resource) resolver {
	versions := map[string]string{}
	for _, p := range rs {
		versions[strings.ToLower(p.ID)] = p.APIVersion
	}
	return resolver{s: s, ctx: ctx, base: base, versions: versions}
}

// Reference GETs the resource, with the template's apiVersion for it when
// the expression names none.
func (rv resolver) Reference(id, api string, full bool) (any, error) {
	if api == "" {
		if api = rv.versions[strings.ToLower(id)]; api == "" {
			return nil, fmt.Errorf("reference('%s') needs an apiVersion: the resource is not deployed by this template", id)
		}
	}
	status, body := rv.s.call(rv.ctx, rv.base, http.MethodGet, id, api, nil)
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
	status, body := rv.s.call(rv.ctx, rv.base, http.MethodPost, id+"/"+action, api, in)
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

// call sends one request through the management router, in process, as
// the caller in ctx and on the host of base.
func (s *Service) call(ctx context.Context, base *http.Request, method, id, apiVersion string, body any) (int, []byte) {
	var b []byte
	if body != nil {
		b = mustJSON(body)
	}
	res := s.apply().Call(ctx, base, arm.Call{Method: method, Path: id + "?api-version=" + apiVersion, Body: b})
	return res.Status, res.Body
}

func deploymentDoc(id arm.ID, req request, params, outputs map[string]any, res []map[string]string, start, end time.Time, failure error, details []map[string]string) map[string]any {
	pv := map[string]any{}
	for name, v := range params {
		typ := "String"
		if spec, ok := req.Properties.Template.Parameters[name]; ok && spec.Type != "" {
			typ = spec.Type
		}
		if strings.HasPrefix(strings.ToLower(typ), "secure") {
			// ARM never shows a secure parameter's value again (a SAS
			// token for a Key Vault secret, a password).
			pv[name] = map[string]any{"type": typ}
			continue
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
	return map[string]any{"id": id.String(), "name": id.Name(), "type": DeploymentType, "properties": props}
}
