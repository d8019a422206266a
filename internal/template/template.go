// Package template is the ARM template language: JSONC normalisation,
// expressions and their functions, parameters, variables, conditions, copy
// loops (on resources, properties and outputs), dependsOn ordering and
// outputs. It knows nothing of HTTP or storage: what only the running
// deployment can answer (reference(), list*()) comes in through a
// Resolver, and where the deployment runs through an Env.
package template

// Template is an ARM deployment template.
type Template struct {
	Schema         string                   `json:"$schema"`
	ContentVersion string                   `json:"contentVersion"`
	Parameters     map[string]ParameterSpec `json:"parameters"`
	Variables      map[string]any           `json:"variables"`
	Resources      []map[string]any         `json:"resources"`
	Outputs        map[string]OutputSpec    `json:"outputs"`
}

// ParameterSpec declares a template parameter.
type ParameterSpec struct {
	Type          string `json:"type"`
	DefaultValue  any    `json:"defaultValue"`
	AllowedValues []any  `json:"allowedValues"`
}

// OutputSpec declares a template output.
type OutputSpec struct {
	Type      string `json:"type"`
	Value     any    `json:"value"`
	Condition any    `json:"condition"`
	Copy      *struct {
		Count any `json:"count"`
		Input any `json:"input"`
	} `json:"copy"`
}

// Env is where a template is deployed, as resourceGroup(), subscription(),
// tenant() and deployment() report it and resourceId() completes ids.
type Env struct {
	SubscriptionID string // the subscription of the target resource group
	ResourceGroup  string // the target resource group's name
	Location       string // the target resource group's location
	TenantID       string // the deploying caller's tenant
	Deployment     string // the deployment's name
}

// Resolver answers the functions that read deployed resources. The
// template package calls it only while a Plan's bodies and outputs are
// evaluated for the running deployment (see Plan.Body); a nil Resolver
// means the deployment is not running yet, and those functions are left
// for later (Plan.Preflight). Errors are reported in the template error of
// the expression that called, so their text should name the resource.
type Resolver interface {
	// Reference returns the resource's properties, or with full its whole
	// document: reference(id, apiVersion, 'Full'). id is a resource id
	// (names declared in the template are turned into ids first);
	// apiVersion is empty when the template gave none.
	Reference(id, apiVersion string, full bool) (any, error)
	// List performs a POST of action (such as listCredentials, with the
	// casing the template used) on the resource id, with body as its
	// request (nil for none), and returns the decoded answer.
	List(action, id, apiVersion string, body any) (any, error)
}

// Error is an error at a path in the template, such as
// "resources[0][copy 1].properties" or "parameters.count".
type Error struct {
	Path    string // where in the template, dotted and indexed
	Message string // what is wrong there
	err     error  // the cause, when there is one
}

func (e *Error) Error() string { return e.Path + ": " + e.Message }

// Unwrap returns the cause, so errors.Is sees through an Error.
func (e *Error) Unwrap() error { return e.err }

// terr places err at path. An error already placed there is returned as
// it is, so the message does not name the path twice.
func terr(path string, err error) *Error {
	if placed, ok := err.(*Error); ok && placed.Path == path {
		return placed
	}
	return &Error{Path: path, Message: err.Error(), err: err}
}
