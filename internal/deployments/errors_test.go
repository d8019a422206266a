package deployments

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/template"
)

// Template errors become ARM's: InvalidTemplate at the error's path, or
// DeploymentJobSizeExceeded for a template too large once expanded or
// decoded; validation presents the first as InvalidTemplateDeployment.
func TestTemplateErrors(t *testing.T) {
	outputs := map[string]template.OutputSpec{}
	for i := range 65 {
		outputs[fmt.Sprint("o", i)] = template.OutputSpec{Type: "int", Value: float64(1)}
	}
	_, counted := template.Template{Outputs: outputs}.Plan(nil, template.Env{SubscriptionID: "s", ResourceGroup: "g"})
	decoded := template.Decode([]byte("["+strings.Repeat(`{"a":1},`, 400_000)+"{}]"), new(any))
	for _, c := range []struct {
		name                 string
		err                  error
		status               int
		code, target, prefix string
	}{
		{"a count", templateError("", counted), 400, "InvalidTemplate", "outputs", "Deployment template validation failed: 'outputs: The number of template outputs limit exceeded."},
		{"a count, validated", wrapValidation(templateError("", counted)), 400, "InvalidTemplateDeployment", "outputs", "Deployment template validation failed"},
		{"an output", templateError("outputs.o", errors.New("bad")), 400, "InvalidTemplate", "outputs.o", "Deployment template validation failed: 'outputs.o: bad'."},
		{"a heavy request", templateError("template", decoded), 400, "DeploymentJobSizeExceeded", "template", "The deployment exceeds the template size limit: 'template: the template and its parameters would take"},
		{"a heavy request, validated", wrapValidation(templateError("template", decoded)), 400, "DeploymentJobSizeExceeded", "template", "The deployment exceeds"},
	} {
		ae := arm.ToError(c.err)
		if ae.Status != c.status || ae.Code != c.code || ae.Target != c.target || !strings.HasPrefix(ae.Message, c.prefix) {
			t.Errorf("%s: %d %s %s %q", c.name, ae.Status, ae.Code, ae.Target, ae.Message)
		}
	}
}

// When every evaluation slot stays taken, a deployment is refused with
// ARM's 429 and a Retry-After, and the next one after a release proceeds.
func TestEvaluationSlots(t *testing.T) {
	s := New(Options{MaxEvaluations: 1})
	s.wait = 50 * time.Millisecond
	release, err := s.evaluate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.evaluate(t.Context())
	if ae := arm.ToError(err); ae.Status != http.StatusTooManyRequests || ae.Code != "TooManyRequests" || ae.RetryAfter != busyRetryAfter {
		t.Fatalf("a deployment beyond the slots: %+v", ae)
	}
	release()
	again, err := s.evaluate(t.Context())
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	again()
}
