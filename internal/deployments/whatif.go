package deployments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/template"
)

// Deployments_WhatIf: what a template would change, predicted without
// writing anything.
//
// Each resource the template deploys is read as it is now (a GET through
// the management router, as the caller) and its PUT is predicted. A route
// that offers a preview (arm.Previewer, Route.Preview) answers what its
// PUT would write, by the provider's own rules; the registry's does, so
// defaults, read-only properties and the sticky export lock come out as
// the PUT would leave them. For a route without one, the template's body
// is laid over the current document (merge). Resources are predicted in
// the template's dependency order, and reference() to one of them sees
// its predicted document. What only a running deployment can know
// (list*() results: what-if runs no actions) leaves a resource as Deploy
// when it exists, or a Create with no payload.

// The change types of ARM's WhatIfChange.
const (
	changeCreate   = "Create"
	changeModify   = "Modify"
	changeNoChange = "NoChange"
	changeIgnore   = "Ignore"
	changeDeploy   = "Deploy"
)

// The result formats of whatIfSettings.resultFormat.
const (
	fullPayloads   = "FullResourcePayloads"
	resourceIDOnly = "ResourceIdOnly"
)

// whatIfResult is ARM's WhatIfOperationResult, the body of the what-if
// operation's last poll.
type whatIfResult struct {
	Status     string            `json:"status"`
	Properties *whatIfProperties `json:"properties"`
	Error      map[string]any    `json:"error"`
}

type whatIfProperties struct {
	Changes []change `json:"changes"`
}

// change is ARM's WhatIfChange: one resource's predicted change.
type change struct {
	ResourceID string           `json:"resourceId"`
	ChangeType string           `json:"changeType"`
	Before     map[string]any   `json:"before"`
	After      map[string]any   `json:"after"`
	Delta      []propertyChange `json:"delta"`
}

// errUnknowable marks a value that only the running deployment can know.
var errUnknowable = errors.New("what-if cannot know it without deploying")

// whatIf serves Deployments_WhatIf. A template that does not plan is
// refused at once, as validate refuses it; otherwise the answer is 202
// with a Location whose poll returns the result, to this caller only
// (it holds resource documents). A resource whose PUT would be refused
// makes the result Failed, with the refusal as an inner error, as ARM's
// preflight reports it.
func (s *Service) whatIf(ctx context.Context, q *arm.Request) (*arm.Response, error) {
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
	format, err := resultFormat(req.Properties.WhatIfSettings.ResultFormat)
	if err != nil {
		return nil, err
	}
	result := whatIfResult{Status: "Succeeded"}
	changes, failure := s.predict(ctx, q.HTTP, pl, arm.ResourceGroupID(env.SubscriptionID, env.ResourceGroup).String())
	switch {
	case failure != nil && (failure.Status >= http.StatusInternalServerError || failure.Status == arm.StatusClientClosed):
		return nil, failure // the server's fault or the client gone, not the template's
	case failure != nil:
		result.Status, result.Error = "Failed", errWhatIfFailed(q.ID.Name(), failure).Body()
	default:
		if format == resourceIDOnly {
			changes = idsOnly(changes)
		}
		result.Properties = &whatIfProperties{Changes: changes}
	}
	location := arm.NormLocation(env.Location)
	if location == "" {
		location = "global"
	}
	var opPath string
	err = s.meta.Update(ctx, func(tx meta.Tx) (err error) {
		opPath, err = arm.RecordOperationResult(tx, q.ID.Subscription, "Microsoft.Resources", location, start, s.now().UTC(), q.Caller.ObjectID, result)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusAccepted, LocationOperation: opPath}, nil
}

// resultFormat reads whatIfSettings.resultFormat, in any case; none means
// full payloads.
func resultFormat(f string) (string, error) {
	switch {
	case f == "" || strings.EqualFold(f, fullPayloads):
		return fullPayloads, nil
	case strings.EqualFold(f, resourceIDOnly):
		return resourceIDOnly, nil
	}
	return "", errResultFormat(f)
}

// idsOnly is ARM's ResourceIdOnly answer: no payloads, and a resource that
// exists is Deploy, whatever its properties would do.
func idsOnly(changes []change) []change {
	out := make([]change, len(changes))
	for i, c := range changes {
		t := c.ChangeType
		if t == changeModify || t == changeNoChange {
			t = changeDeploy
		}
		out[i] = change{ResourceID: c.ResourceID, ChangeType: t, Delta: []propertyChange{}}
	}
	return out
}

// predictor predicts one what-if's resources in order.
type predictor struct {
	s         *Service
	ctx       context.Context
	base      *http.Request
	plan      *template.Plan
	predicted map[string]map[string]any // by lower-cased id: the document after; nil when it cannot be known
	created   map[string]bool           // lower-cased ids predicted to be created
}

// predict returns the template's changes, then every other resource of
// the group as Ignore (Incremental mode leaves them alone), or the first
// failure.
func (s *Service) predict(ctx context.Context, base *http.Request, pl *template.Plan, group string) ([]change, *arm.Error) {
	pr := &predictor{s: s, ctx: ctx, base: base, plan: pl, predicted: map[string]map[string]any{}, created: map[string]bool{}}
	res := whatIfResolver{resolver: s.connect(ctx, base, pl.Resources), predicted: pr.predicted}
	changes := []change{}
	for _, p := range pl.Resources {
		c, err := pr.resource(p, res)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	others, err := pr.others(group)
	if err != nil {
		return nil, err
	}
	return append(changes, others...), nil
}

// resource predicts one resource's change.
func (pr *predictor) resource(p template.Resource, res whatIfResolver) (change, *arm.Error) {
	key := strings.ToLower(p.ID)
	before, exists, err := pr.current(p)
	if err != nil {
		return change{}, err
	}
	c := change{ResourceID: p.ID, ChangeType: changeCreate, Before: versioned(before, p), Delta: []propertyChange{}}
	if !exists {
		pr.created[key] = true
	}
	body, berr := pr.plan.Body(p, res)
	if errors.Is(berr, errUnknowable) {
		pr.predicted[key] = nil
		if exists {
			c.ChangeType = changeDeploy
		} else {
			c.After = versioned(header(p), p)
		}
		return c, nil
	}
	if berr != nil {
		return change{}, detail(arm.ToError(templateError("", berr)), p.ID)
	}
	after, err := pr.after(p, body, before, exists)
	if err != nil {
		return change{}, err
	}
	pr.predicted[key] = after
	c.After = versioned(after, p)
	if !exists {
		return c, nil
	}
	d, real := delta(c.Before, c.After, body)
	c.Delta, c.ChangeType = d, changeNoChange
	if real {
		c.ChangeType = changeModify
	}
	if c.Delta == nil {
		c.Delta = []propertyChange{}
	}
	return c, nil
}

// current GETs the resource as it is: exists is false when it is not
// found.
func (pr *predictor) current(p template.Resource) (doc map[string]any, exists bool, err *arm.Error) {
	status, body := pr.s.call(pr.ctx, pr.base, http.MethodGet, p.ID, p.APIVersion, nil)
	switch {
	case status == http.StatusNotFound:
		return nil, false, nil
	case status != http.StatusOK:
		return nil, false, routerError(status, body, p.ID)
	}
	if jerr := json.Unmarshal(body, &doc); jerr != nil {
		return nil, false, detail(arm.Errorf(http.StatusBadRequest, "InvalidResource", "The resource could not be read: %v.", jerr), p.ID)
	}
	return doc, true, nil
}

// after predicts the document the PUT of body leaves: the route's preview
// when it offers one, else the body laid over the current document.
func (pr *predictor) after(p template.Resource, body, before map[string]any, exists bool) (map[string]any, *arm.Error) {
	if pv, ok := pr.s.apply().(arm.Previewer); ok {
		res, offered := pv.Preview(pr.ctx, pr.base, arm.Call{Method: http.MethodPut, Path: p.ID + "?api-version=" + p.APIVersion, Body: mustJSON(body)})
		switch {
		case offered && res.Status < 300:
			var doc map[string]any
			if err := json.Unmarshal(res.Body, &doc); err != nil {
				return nil, detail(arm.Errorf(http.StatusBadRequest, "InvalidResource", "The preview could not be read: %v.", err), p.ID)
			}
			return doc, nil
		case offered && !(res.Status == http.StatusNotFound && !exists && pr.parentCreated(p.ID)):
			return nil, routerError(res.Status, res.Body, p.ID)
		}
		// A child of a resource this template creates: its provider
		// cannot preview it before the parent exists.
	}
	if exists {
		return merge(before, body), nil
	}
	doc := header(p)
	for k, v := range body {
		doc[k] = v
	}
	return doc, nil
}

// parentCreated reports whether a resource above id is predicted to be
// created by this template.
func (pr *predictor) parentCreated(id string) bool {
	id = strings.ToLower(id)
	for created := range pr.created {
		if strings.HasPrefix(id, created+"/") {
			return true
		}
	}
	return false
}

// others lists the group's resources the template does not deploy, as
// Ignore, from the generic resource list (what the caller may read).
func (pr *predictor) others(group string) ([]change, *arm.Error) {
	status, body := pr.s.call(pr.ctx, pr.base, http.MethodGet, group+"/resources", "2021-04-01", nil)
	if status != http.StatusOK {
		return nil, routerError(status, body, group)
	}
	var list struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, detail(arm.Errorf(http.StatusBadRequest, "InvalidResource", "The resource list could not be read: %v.", err), group)
	}
	deployed := map[string]bool{}
	for _, p := range pr.plan.Resources {
		deployed[strings.ToLower(p.ID)] = true
	}
	var out []change
	for _, r := range list.Value {
		if !deployed[strings.ToLower(r.ID)] {
			out = append(out, change{ResourceID: r.ID, ChangeType: changeIgnore, Delta: []propertyChange{}})
		}
	}
	return out, nil
}

// header is the part of a resource's document the template's header
// gives: what ARM shows for a resource it has not read.
func header(p template.Resource) map[string]any {
	return map[string]any{"id": p.ID, "name": p.ID[strings.LastIndex(p.ID, "/")+1:], "type": p.Type}
}

// versioned is doc with the apiVersion it is shown in, as ARM's what-if
// shows documents (az prints it next to the resource).
func versioned(doc map[string]any, p template.Resource) map[string]any {
	if doc == nil {
		return nil
	}
	out := make(map[string]any, len(doc)+1)
	for k, v := range doc {
		out[k] = v
	}
	out["apiVersion"] = p.APIVersion
	return out
}

// routerError is an in-process answer's ARM error, aimed at target.
func routerError(status int, body []byte, target string) *arm.Error {
	code, msg := armError(body)
	return detail(arm.Errorf(status, code, "%s", msg), target)
}

// detail aims e at target, for the inner errors of a failed what-if.
func detail(e *arm.Error, target string) *arm.Error {
	c := *e
	c.Target = target
	return &c
}

// whatIfResolver answers reference() with a resource's predicted
// document when the template deploys it, else with its current one (a
// GET), and never runs a list*() action.
type whatIfResolver struct {
	resolver
	predicted map[string]map[string]any
}

// Reference implements template.Resolver.
func (w whatIfResolver) Reference(id, api string, full bool) (any, error) {
	doc, ok := w.predicted[strings.ToLower(id)]
	switch {
	case !ok:
		return w.resolver.Reference(id, api, full)
	case doc == nil:
		return nil, fmt.Errorf("reference('%s'): %w", id, errUnknowable)
	case full:
		return doc, nil
	}
	return doc["properties"], nil
}

// List implements template.Resolver: what-if runs no actions, whose
// effects and secrets are not a prediction's to have.
func (w whatIfResolver) List(action, id, _ string, _ any) (any, error) {
	return nil, fmt.Errorf("%s('%s'): %w", action, id, errUnknowable)
}
