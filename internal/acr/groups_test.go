package acr_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/opencontainers/go-digest"
)

func TestResourceGroupCRUD(t *testing.T) {
	w := newWorld(t, acr.Options{})
	path := groupPath(sub, "Team-RG") + rgVersion

	r := w.do("PUT", path, `{"location":"West US","tags":{"env":"test"}}`).expect(t, http.StatusCreated, "")
	for k, want := range map[string]string{"id": "/subscriptions/" + sub + "/resourceGroups/Team-RG", "name": "Team-RG",
		"type": "Microsoft.Resources/resourceGroups", "location": "westus"} {
		if got := dig(r.body, k); got != want {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}
	if dig(r.body, "tags", "env") != "test" || dig(r.body, "properties", "provisioningState") != "Succeeded" {
		t.Errorf("body: %s", r.raw)
	}

	// A second PUT replaces the tags and answers 200.
	r = w.do("PUT", path, `{"location":"westus"}`).expect(t, http.StatusOK, "")
	if dig(r.body, "tags") != nil {
		t.Errorf("tags survived a PUT without them: %s", r.raw)
	}
	w.do("PUT", path, `{"location":"eastus"}`).expect(t, http.StatusConflict, "InvalidResourceGroupLocation")

	// Names and literal segments compare case-insensitively.
	r = w.do("GET", "/SUBSCRIPTIONS/"+sub+"/resourcegroups/team-rg"+rgVersion, "").expect(t, http.StatusOK, "")
	if dig(r.body, "name") != "Team-RG" {
		t.Errorf("name keeps its first casing: %s", r.raw)
	}
	w.do("HEAD", path, "").expect(t, http.StatusNoContent, "")
	w.do("HEAD", groupPath(sub, "nosuchrg")+rgVersion, "").expect(t, http.StatusNotFound, "")
	w.do("GET", groupPath(sub, "nosuchrg")+rgVersion, "").expect(t, http.StatusNotFound, "ResourceGroupNotFound")

	r = w.do("GET", "/subscriptions/"+sub+"/resourceGroups"+rgVersion, "").expect(t, http.StatusOK, "")
	if v, _ := dig(r.body, "value").([]any); len(v) != 1 || dig(v[0], "name") != "Team-RG" {
		t.Errorf("list: %s", r.raw)
	}

	w.do("DELETE", path, "").expect(t, http.StatusOK, "")
	w.do("GET", path, "").expect(t, http.StatusNotFound, "ResourceGroupNotFound")
	w.do("DELETE", path, "").expect(t, http.StatusNoContent, "")
}

func TestResourceGroupBadInput(t *testing.T) {
	w := newWorld(t, acr.Options{})
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"invalid character", "PUT", groupPath(sub, "bad*name") + rgVersion, `{"location":"westus"}`, 400, "InvalidResourceGroupName"},
		{"ends with a period", "PUT", groupPath(sub, "rg.") + rgVersion, `{"location":"westus"}`, 400, "InvalidResourceGroupName"},
		{"too long", "PUT", groupPath(sub, strings.Repeat("g", 91)) + rgVersion, `{"location":"westus"}`, 400, "InvalidResourceGroupName"},
		{"no location", "PUT", groupPath(sub, "rg1") + rgVersion, `{"tags":{}}`, 400, "LocationRequired"},
		{"blank location", "PUT", groupPath(sub, "rg1") + rgVersion, `{"location":"  "}`, 400, "LocationRequired"},
		{"malformed json", "PUT", groupPath(sub, "rg1") + rgVersion, `{"location":`, 400, "InvalidRequestContent"},
		{"empty body", "PUT", groupPath(sub, "rg1") + rgVersion, ``, 400, "InvalidRequestContent"},
		{"wrong type", "PUT", groupPath(sub, "rg1") + rgVersion, `{"location":42}`, 400, "InvalidRequestContent"},
		{"unknown subscription", "PUT", groupPath("nosuchsub", "rg1") + rgVersion, `{"location":"westus"}`, 404, "SubscriptionNotFound"},
		{"missing api-version", "GET", groupPath(sub, "rg1"), "", 400, "MissingApiVersionParameter"},
		{"unknown api-version", "GET", groupPath(sub, "rg1") + "?api-version=2099-01-01", "", 400, "InvalidApiVersionParameter"},
		{"registry api-version on a group", "GET", groupPath(sub, "rg1") + "?api-version=2021-06-01-preview", "", 400, "InvalidApiVersionParameter"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.do(c.method, c.path, c.body).expect(t, c.status, c.code)
		})
	}
	// The api-versions az and the SDKs send for resource groups.
	for _, v := range []string{"2019-10-01", "2020-06-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01",
		"2024-11-01", "2025-03-01", "2025-04-01"} {
		w.do("PUT", groupPath(sub, "v"+v)+"?api-version="+v, `{"location":"westus"}`).expect(t, http.StatusCreated, "")
	}
}

// Deleting a group deletes its registries (and their data) in the same
// transaction, and frees their names.
func TestResourceGroupDeleteCascades(t *testing.T) {
	w := newWorld(t, acr.Options{})
	w.mkGroup(sub, "doomed")
	w.mkGroup(sub, "kept")
	w.mkRegistry(sub, "doomed", "doomedreg1")
	w.mkRegistry(sub, "doomed", "doomedreg2")
	w.mkRegistry(sub, "kept", "keptreg1")
	row, err := w.registryRow("doomedreg1")
	if err != nil {
		t.Fatal(err)
	}
	// Data-plane rows go with the registry.
	blob := digest.Digest("sha256:" + strings.Repeat("a", 64))
	if err := w.store.Update(context.Background(), func(tx meta.Tx) error {
		return tx.LinkBlob(meta.BlobLink{RegistryKey: row.Key, Repository: "app", Digest: blob, Size: 1, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}

	w.do("DELETE", groupPath(sub, "doomed")+rgVersion, "").expect(t, http.StatusOK, "")
	for _, name := range []string{"doomedreg1", "doomedreg2"} {
		if _, err := w.registryRow(name); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s survived its group: %v", name, err)
		}
		w.do("GET", regPath(sub, "doomed", name)+regVersion, "").expect(t, http.StatusNotFound, "")
	}
	if err := w.store.View(context.Background(), func(tx meta.Tx) error {
		_, err := tx.BlobLink(row.Key, "app", blob)
		return err
	}); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("a deleted registry's blob link survived: %v", err)
	}
	w.do("GET", regPath(sub, "kept", "keptreg1")+regVersion, "").expect(t, http.StatusOK, "")
	// The names are free again, and a recreated group starts empty.
	w.mkGroup(sub, "doomed")
	r := w.do("GET", groupPath(sub, "doomed")+"/providers/Microsoft.ContainerRegistry/registries"+regVersion, "").expect(t, http.StatusOK, "")
	if v, _ := dig(r.body, "value").([]any); len(v) != 0 {
		t.Errorf("recreated group is not empty: %s", r.raw)
	}
	w.mkRegistry(sub, "kept", "doomedreg1")
}
