package deployments

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/template"
)

// The provider's ARM errors, in one place (STYLE rule 5).

// invalid is the ARM answer to a template error, with its path as target.
func invalid(path string, err error) error {
	e := arm.Errorf(http.StatusBadRequest, "InvalidTemplate", "Deployment template validation failed: '%s: %v'.", path, err).
		WithCause(errdef.ErrInvalidArgument)
	e.Target = path
	return e
}

// templateError is the ARM answer to an error of the template language:
// DeploymentJobSizeExceeded when the template is too large, else
// InvalidTemplate, at the error's path (a *template.Error's own, or else
// path).
func templateError(path string, err error) error {
	msg := err
	var te *template.Error
	if errors.As(err, &te) {
		path, msg = te.Path, errors.New(te.Message)
	}
	if errors.Is(err, errdef.ErrTooLarge) {
		return errJobSize(path, msg)
	}
	return invalid(path, msg)
}

// errJobSize is ARM's answer to a template that is too large once its
// copies, variables and parameters are expanded, or to a request too large
// once decoded.
func errJobSize(path string, err error) error {
	e := arm.Errorf(http.StatusBadRequest, "DeploymentJobSizeExceeded", "The deployment exceeds the template size limit: '%s: %v'.", path, err).
		WithCause(errdef.ErrTooLarge)
	e.Target = path
	return e
}

// wrapValidation presents template errors the way ARM's validate does.
func wrapValidation(err error) error {
	ae := arm.ToError(err)
	if ae.Code != "InvalidTemplate" {
		return err
	}
	e := arm.Errorf(http.StatusBadRequest, "InvalidTemplateDeployment", "%s", ae.Message).WithCause(errdef.ErrInvalidArgument)
	e.Target = ae.Target
	return e
}

func errGroupNotFound(rg string) error {
	return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg).WithCause(errdef.ErrNotFound)
}

func errDeploymentNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "DeploymentNotFound", "Deployment '%s' could not be found.", name).WithCause(errdef.ErrNotFound)
}

// errDeploymentFailed is the deployment's own error when a resource
// failed; details names the first failure, when there is one.
func errDeploymentFailed(details []map[string]string) error {
	msg := "At least one resource deployment operation failed. Please list deployment operations for details."
	if len(details) > 0 {
		d := details[0]
		msg = fmt.Sprintf("At least one resource deployment operation failed. (%s) %s [target %s]", d["code"], d["message"], d["target"])
	}
	return arm.Errorf(http.StatusBadRequest, "DeploymentFailed", "%s", msg).WithCause(errdef.ErrFailedPrecondition)
}

// errBusy is ARM's throttling answer when every evaluation slot stays
// taken: the client retries after Retry-After.
func errBusy() error {
	e := arm.Errorf(http.StatusTooManyRequests, "TooManyRequests",
		"Too many deployments are being evaluated on this server at once. Retry after %d seconds.", busyRetryAfter).WithCause(errdef.ErrUnavailable)
	e.RetryAfter = busyRetryAfter
	return e
}

// busyRetryAfter is the Retry-After of errBusy, in seconds.
const busyRetryAfter = 5

// errResultFormat refuses a what-if result format ARM does not define.
func errResultFormat(f string) error {
	e := arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
		"The what-if result format '%s' is not supported; use FullResourcePayloads or ResourceIdOnly.", f).WithCause(errdef.ErrInvalidArgument)
	e.Target = "properties.whatIfSettings.resultFormat"
	return e
}

// errWhatIfFailed is the error of a what-if whose template plans but a
// resource's write would be refused (or cannot be predicted): ARM's
// preflight error, with the resource's own error inside.
func errWhatIfFailed(name string, inner *arm.Error) *arm.Error {
	e := arm.Errorf(http.StatusBadRequest, "InvalidTemplateDeployment",
		"The template deployment '%s' is not valid according to the validation procedure. See inner errors for details.", name)
	e.Details = []*arm.Error{inner}
	return e.WithCause(errdef.ErrFailedPrecondition)
}
