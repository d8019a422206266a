package deployments

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/template"
)

// The resolver reaches the management plane as the deploying request:
// reference() GETs with the template's apiVersion unless given one, and
// list*() POSTs the action; ARM errors come back with the resource named.
func TestResolver(t *testing.T) {
	plane := &recordingPlane{}
	s := New(Options{Apply: func() arm.Dispatcher { return plane }})
	pl, err := template.Template{Resources: []map[string]any{{"type": "A.B/c", "apiVersion": "2023-07-01", "name": "r1"}}}.
		Plan(nil, template.Env{SubscriptionID: "s", ResourceGroup: "g"})
	if err != nil {
		t.Fatal(err)
	}
	res := s.connect(context.Background(), httptest.NewRequest(http.MethodPut, "/", nil), pl.Resources)
	id := pl.Resources[0].ID

	if v, err := res.Reference(id, "", false); err != nil || v.(map[string]any)["loginServer"] != "r1.cr.test" {
		t.Errorf("reference: %v %v", v, err)
	}
	if v, err := res.Reference(id, "2019-05-01", true); err != nil || v.(map[string]any)["id"] != "x" {
		t.Errorf("reference full: %v %v", v, err)
	}
	if _, err := res.Reference("/subscriptions/s/other", "", false); err == nil || !strings.Contains(err.Error(), "needs an apiVersion") {
		t.Errorf("reference to an undeclared resource without apiVersion: %v", err)
	}
	if _, err := res.Reference(id+"/gone", "1", false); err == nil || !strings.Contains(err.Error(), "no such registry") {
		t.Errorf("reference to a missing resource: %v", err)
	}
	if v, err := res.List("listCredentials", id, "2023-07-01", nil); err != nil || v.(map[string]any)["username"] != "u" {
		t.Errorf("list: %v %v", v, err)
	}
	want := []string{
		"GET " + id + "?api-version=2023-07-01 ",
		"GET " + id + "?api-version=2019-05-01 ",
		"GET " + id + "/gone?api-version=1 ",
		"POST " + id + "/listCredentials?api-version=2023-07-01 ",
	}
	seen := plane.seen
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// recordingPlane answers in-process calls the way the management router
// would for one registry, and records what it was asked.
type recordingPlane struct{ seen []string }

func (p *recordingPlane) Call(_ context.Context, _ *http.Request, c arm.Call) arm.Result {
	p.seen = append(p.seen, c.Method+" "+c.Path+" "+string(c.Body))
	switch {
	case strings.Contains(c.Path, "/gone"):
		return arm.Result{Status: http.StatusNotFound, Body: []byte(`{"error":{"code":"ResourceNotFound","message":"no such registry"}}`)}
	case c.Method == http.MethodPost:
		return arm.Result{Status: http.StatusOK, Body: []byte(`{"username":"u"}`)}
	}
	return arm.Result{Status: http.StatusOK, Body: []byte(`{"id":"x","properties":{"loginServer":"r1.cr.test"}}`)}
}
