package acr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
)

// Registry names are global: unique across groups and subscriptions,
// compared case-insensitively.
func TestRegistryNameIsGlobal(t *testing.T) {
	w := newWorld(t, acr.Options{LoginServerSuffix: ".cr.example.com"})
	w.mkGroup(sub, "rg1")
	w.mkGroup(sub, "rg2")
	w.mkGroup(otherSub, "rg1")
	w.mkRegistry(sub, "rg1", "SharedName1")
	body := `{"location":"westus","sku":{"name":"Basic"}}`
	for _, path := range []string{regPath(sub, "rg2", "sharedNAME1"), regPath(otherSub, "rg1", "SHAREDNAME1")} {
		r := w.do("PUT", path+regVersion, body).expect(t, http.StatusConflict, "AlreadyInUse")
		if !strings.Contains(r.message(), "sharedname1.cr.example.com is already in use") {
			t.Errorf("message: %s", r.message())
		}
	}
	// The same name and group in another casing is the same registry.
	w.do("PUT", regPath(sub, "RG1", "sharedname1")+regVersion, body).expect(t, http.StatusOK, "")
	r := w.do("POST", "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/checkNameAvailability"+regVersion,
		`{"name":"SHAREDname1","type":"Microsoft.ContainerRegistry/registries"}`).expect(t, http.StatusOK, "")
	if dig(r.body, "nameAvailable") != false || dig(r.body, "reason") != "AlreadyExists" {
		t.Errorf("checkNameAvailability: %s", r.raw)
	}
	w.do("POST", "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/checkNameAvailability"+regVersion,
		`{"name":"x","type":"Microsoft.Compute/virtualMachines"}`).expect(t, http.StatusBadRequest, "InvalidResourceType")
	// Deleting frees the name for anyone.
	w.do("DELETE", regPath(sub, "rg1", "SharedName1")+regVersion, "").expect(t, http.StatusAccepted, "")
	w.mkRegistry(otherSub, "rg1", "sharedname1")
}

func TestLoginServer(t *testing.T) {
	t.Run("path mode follows the request host", func(t *testing.T) {
		w := newWorld(t, acr.Options{})
		w.mkGroup(sub, "rg1")
		r := w.mkRegistry(sub, "rg1", "PathReg1")
		host := strings.TrimPrefix(w.srv.URL, "http://")
		if got := dig(r.body, "properties", "loginServer"); got != host+"/pathreg1" {
			t.Errorf("loginServer %v", got)
		}
		r = w.do("GET", regPath(sub, "rg1", "PathReg1")+regVersion, "", "Host", "registry.internal:8443").expect(t, http.StatusOK, "")
		if got := dig(r.body, "properties", "loginServer"); got != "registry.internal:8443/pathreg1" {
			t.Errorf("loginServer via another host %v", got)
		}
		// Echoing the current loginServer back (GET-edit-PUT) is fine.
		w.do("PUT", regPath(sub, "rg1", "PathReg1")+regVersion,
			`{"location":"westus","sku":{"name":"Basic"},"properties":{"loginServer":"`+host+`/PATHREG1"}}`).expect(t, http.StatusOK, "")
	})
	t.Run("host mode", func(t *testing.T) {
		w := newWorld(t, acr.Options{LoginServerSuffix: ".CR.Example.com"})
		w.mkGroup(sub, "rg1")
		r := w.mkRegistry(sub, "rg1", "HostReg1")
		if got := dig(r.body, "properties", "loginServer"); got != "hostreg1.cr.example.com" {
			t.Errorf("loginServer %v", got)
		}
		r = w.do("GET", "/subscriptions/"+sub+"/providers/Microsoft.ContainerRegistry/registries"+regVersion, "", "Host", "elsewhere:1").
			expect(t, http.StatusOK, "")
		if v, _ := dig(r.body, "value").([]any); len(v) != 1 || dig(v[0], "properties", "loginServer") != "hostreg1.cr.example.com" {
			t.Errorf("list: %s", r.raw)
		}
	})
}

func TestRequestHeaders(t *testing.T) {
	w := newWorld(t, acr.Options{})
	r := w.do("GET", groupPath(sub, "nosuchrg")+rgVersion, "", "x-ms-correlation-request-id", "corr-42", "x-ms-client-request-id", "client-7")
	if r.header.Get("x-ms-correlation-request-id") != "corr-42" || r.header.Get("x-ms-client-request-id") != "client-7" {
		t.Errorf("ids not echoed: %v", r.header)
	}
	r = w.do("GET", "/subscriptions/"+sub+"/nothing/here"+rgVersion, "").expect(t, http.StatusNotFound, "InvalidResourceType")
	if r.header.Get("x-ms-correlation-request-id") == "" {
		t.Error("no correlation id on an unknown route")
	}
}
