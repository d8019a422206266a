package acr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

const runVersion = "?api-version=2021-06-01-preview"

// Every malformed pipeline run gets a 4xx in the ARM envelope, with a
// message that says what to send, and leaves no run behind; a run is
// stored Running and answered 201 with Azure-AsyncOperation; a run that
// is still running cannot be replaced.
func TestPipelineRunBadInput(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "rg1")
	w.mkRegistry(sub, "rg1", "runreg1")
	w.mkRegistry(sub, "rg1", "otherreg1")
	reg := regPath(sub, "rg1", "runreg1")
	other := regPath(sub, "rg1", "otherreg1")
	w.do("PUT", reg+"/exportPipelines/exp1a"+runVersion, `{"location":"westus","properties":{"target":{"uri":"file:///tmp"}}}`).expect(t, http.StatusCreated, "")
	w.do("PUT", reg+"/importPipelines/imp1a"+runVersion, `{"location":"westus","properties":{"source":{"uri":"file:///tmp"}}}`).expect(t, http.StatusCreated, "")
	w.do("PUT", other+"/exportPipelines/exp2a"+runVersion, `{"location":"westus","properties":{"target":{"uri":"file:///tmp"}}}`).expect(t, http.StatusCreated, "")
	exp, imp := reg+"/exportPipelines/exp1a", reg+"/importPipelines/imp1a"
	run := func(name string) string { return reg + "/pipelineRuns/" + name + runVersion }
	body := func(request string) string { return `{"properties":{"request":` + request + `}}` }
	for _, c := range []struct {
		name, path, body string
		status           int
		code, inMessage  string
	}{
		{"name too short", run("abcd"), body(`{"pipelineResourceId":"` + exp + `","target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidResourceName", "5 and 50"},
		{"name with a hyphen", run("run-one"), body(`{}`), 400, "InvalidResourceName", ""},
		{"no request", run("run1a"), `{"properties":{}}`, 400, "InvalidRequestContent", "request"},
		{"no properties", run("run1a"), `{}`, 400, "InvalidRequestContent", "request"},
		{"malformed json", run("run1a"), `{"properties":`, 400, "InvalidRequestContent", ""},
		{"no pipeline", run("run1a"), body(`{"target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidRequestContent", "pipelineResourceId"},
		{"pipeline of another registry", run("run1a"), body(`{"pipelineResourceId":"` + other + `/exportPipelines/exp2a","target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidRequestContent", "runreg1"},
		{"pipeline id not an id", run("run1a"), body(`{"pipelineResourceId":"exp1a","target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidRequestContent", ""},
		{"a registry as pipeline", run("run1a"), body(`{"pipelineResourceId":"` + reg + `","target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidRequestContent", ""},
		{"missing pipeline", run("run1a"), body(`{"pipelineResourceId":"` + reg + `/exportPipelines/nosuch1","target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 404, "ResourceNotFound", "nosuch1"},
		{"export without target", run("run1a"), body(`{"pipelineResourceId":"` + exp + `","artifacts":["app:v1"]}`), 400, "InvalidRequestContent", "target.name"},
		{"export without artifacts", run("run1a"), body(`{"pipelineResourceId":"` + exp + `","target":{"name":"a.tar"}}`), 400, "InvalidRequestContent", "artifacts"},
		{"export with a bad artifact", run("run1a"), body(`{"pipelineResourceId":"` + exp + `","target":{"name":"a.tar"},"artifacts":["App:V1!"]}`), 400, "InvalidRequestContent", "App:V1!"},
		{"export with a source", run("run1a"), body(`{"pipelineResourceId":"` + exp + `","source":{"name":"a.tar"},"target":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidRequestContent", "source"},
		{"import without source", run("run1a"), body(`{"pipelineResourceId":"` + imp + `"}`), 400, "InvalidRequestContent", "source.name"},
		{"import with artifacts", run("run1a"), body(`{"pipelineResourceId":"` + imp + `","source":{"name":"a.tar"},"artifacts":["app:v1"]}`), 400, "InvalidRequestContent", "export runs"},
		{"bad catalog digest", run("run1a"), body(`{"pipelineResourceId":"` + imp + `","source":{"name":"a.tar"},"catalogDigest":"md5:abc"}`), 400, "InvalidRequestContent", "catalogDigest"},
		{"wrong type", run("run1a"), body(`{"pipelineResourceId":"` + imp + `","source":{"name":7}}`), 400, "InvalidRequestContent", ""},
		{"registry api-version", reg + "/pipelineRuns/run1a?api-version=2025-11-01", body(`{}`), 400, "NoRegisteredProviderFound", ""},
		{"missing run", reg + "/pipelineRuns/nosuchrun" + runVersion, "", 404, "ResourceNotFound", "nosuchrun"},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := "PUT"
			if c.body == "" {
				method = "GET"
			}
			r := w.do(method, c.path, c.body).expect(t, c.status, c.code)
			if !strings.Contains(r.message(), c.inMessage) {
				t.Errorf("message %q lacks %q", r.message(), c.inMessage)
			}
		})
	}
	r := w.do("GET", reg+"/pipelineRuns"+runVersion, "").expect(t, http.StatusOK, "")
	if v, _ := dig(r.body, "value").([]any); len(v) != 0 {
		t.Fatalf("bad input left runs behind: %s", r.raw)
	}

	good := body(`{"pipelineResourceId":"` + exp + `","target":{"name":"a.tar"},"artifacts":["app:v1"]}`)
	r = w.do("PUT", run("run1a"), good).expect(t, http.StatusCreated, "")
	if r.header.Get("Azure-AsyncOperation") == "" || dig(r.body, "properties", "response", "status") != "Running" ||
		dig(r.body, "properties", "response", "target", "uri") != "file:///tmp" || strings.Contains(string(r.raw), "bulkheadRunState") {
		t.Fatalf("created run: %v %s", r.header, r.raw)
	}
	w.do("PUT", run("run1a"), good).expect(t, http.StatusOK, "")
	w.do("PUT", run("run1a"), `{"properties":{"forceUpdateTag":"2","request":{"pipelineResourceId":"`+exp+`","target":{"name":"a.tar"},"artifacts":["app:v1"]}}}`).
		expect(t, http.StatusConflict, "Conflict")
	w.do("DELETE", run("run1a"), "").expect(t, http.StatusOK, "")
	w.do("DELETE", run("run1a"), "").expect(t, http.StatusNoContent, "")
}
