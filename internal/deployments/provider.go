// Package deployments is the Microsoft.Resources/deployments provider at
// resource-group scope: it parses ARM templates (JSONC, as az sends them),
// plans and evaluates them with internal/template, and applies each
// resource in process through the management router (arm.Dispatcher), so
// every rule (the export policy included) holds for templates exactly as
// for direct calls.
package deployments

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/template"
)

// DeploymentType is the ARM type of deployments.
const DeploymentType = "Microsoft.Resources/deployments"

var apiVersions = []string{"2019-05-01", "2019-08-01", "2019-10-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01"}

var versions = arm.APIVersions(DeploymentType, apiVersions...)

// Options configure the service. Apply returns the management router:
// each template resource is PUT through it in process, as the deploying
// caller, so the same validation, authorization and rules apply.
type Options struct {
	Meta  meta.Store
	Apply func() arm.Dispatcher
	Now   func() time.Time
	// MaxEvaluations bounds the deployments (validations included) that
	// evaluate at once; 0 means four per CPU.
	MaxEvaluations int
}

// Service serves deployments.
type Service struct {
	meta  meta.Store
	apply func() arm.Dispatcher
	now   func() time.Time
	// evaluations holds a slot for each deployment being evaluated. The
	// template budgets bound one evaluation (about 20 MiB and well under
	// a second); this bounds how many add up.
	evaluations chan struct{}
	wait        time.Duration // for a slot, before 429
}

// New returns the deployments service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxEvaluations <= 0 {
		o.MaxEvaluations = 4 * runtime.GOMAXPROCS(0)
	}
	return &Service{meta: o.Meta, apply: o.Apply, now: o.Now, evaluations: make(chan struct{}, o.MaxEvaluations), wait: evaluationWait}
}

// evaluationWait is how long a deployment waits for a slot before it is
// refused with 429.
const evaluationWait = 10 * time.Second

// evaluate takes an evaluation slot, waiting up to s.wait, and
// returns its release.
func (s *Service) evaluate(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.evaluations <- struct{}{}:
		return func() { <-s.evaluations }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errBusy()
	}
}

// Table declares the deployment routes for the management router. A
// deployment moves no content itself: each resource it applies goes
// through that resource's own route, with its own action and egress
// declaration.
func (s *Service) Table() arm.Table {
	const base = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments"
	applied := arm.MovesNoContent("applies each resource through its own route, which carries that route's action and egress gate")
	none := arm.MovesNoContent("a deployment record holds template metadata, not artifacts")
	predicted := arm.MovesNoContent("reads resources and previews their writes; applies nothing")
	return arm.Table{Name: DeploymentType, Routes: []arm.Route{
		{Method: "POST", Pattern: base + "/{name}/validate", Versions: versions, Action: DeploymentType + "/validate/action", Egress: none, Handle: s.validate},
		{Method: "POST", Pattern: base + "/{name}/whatIf", Versions: versions, Action: DeploymentType + "/whatIf/action", Egress: predicted, Handle: s.whatIf},
		{Method: "PUT", Pattern: base + "/{name}", Versions: versions, Action: DeploymentType + "/write", Egress: applied, Handle: s.put},
		{Method: "GET", Pattern: base + "/{name}", Versions: versions, Action: DeploymentType + "/read", Egress: none, Handle: s.get},
		{Method: "DELETE", Pattern: base + "/{name}", Versions: versions, Action: DeploymentType + "/delete", Egress: none, Handle: s.delete},
		{Method: "GET", Pattern: base, Versions: versions, Action: DeploymentType + "/read", Egress: none, Handle: s.list},
		{Method: "GET", Pattern: base + "/{name}/operations", Versions: versions, Action: DeploymentType + "/operations/read", Egress: none, Handle: s.operations},
	}}
}

// request is a deployment's body.
type request struct {
	Properties struct {
		Template   template.Template `json:"template"`
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
		Mode string `json:"mode"`
		// WhatIfSettings are read by what-if only.
		WhatIfSettings struct {
			ResultFormat string `json:"resultFormat"`
		} `json:"whatIfSettings"`
	} `json:"properties"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // values built from JSON always marshal
	}
	return b
}
