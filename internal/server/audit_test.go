package server_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// The data plane's repository events, through the whole chain: a push, a
// pull, an untag and a delete each become one record with ACR's operation
// name, and a blob GET counts as egress without a record of its own.
func TestRepositoryEvents(t *testing.T) {
	w := newTokenWorld(t)
	send := func(method, path string, body []byte, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, "http://"+fuzzHost+path, bytes.NewReader(body))
		req.SetBasicAuth(w.boot.ClientID, w.boot.ClientSecret)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		w.handler.ServeHTTP(rec, req)
		return rec
	}
	mgmt := func(method, path, body string) {
		t.Helper()
		tok := w.values.Replace("XMGMTX")
		req := httptest.NewRequest(method, "http://"+fuzzHost+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		w.handler.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
	if err := w.store.Update(t.Context(), func(tx meta.Tx) error {
		return tx.PutResource(authz.NewAssignment("00000000-0000-0000-0000-0000000000aa", "/subscriptions/"+w.boot.SubscriptionID, authz.OwnerRoleID, w.boot.ObjectID))
	}); err != nil {
		t.Fatal(err)
	}
	rg := "/subscriptions/" + w.boot.SubscriptionID + "/resourceGroups/rg"
	mgmt("PUT", rg+"?api-version=2024-03-01", `{"location":"westus"}`)
	mgmt("PUT", rg+"/providers/Microsoft.ContainerRegistry/registries/evreg?api-version=2025-11-01", `{"location":"westus","sku":{"name":"Premium"}}`)

	layer, config := []byte("layer bytes"), []byte(`{}`)
	for _, b := range [][]byte{layer, config} {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		if rec := send("POST", "/v2/evreg/app/blobs/uploads/?digest="+d, b, "Content-Type", "application/octet-stream"); rec.Code != 201 {
			t.Fatalf("blob upload: %d %s", rec.Code, rec.Body)
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%x","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%x","size":%d}]}`,
		sha256.Sum256(config), len(config), sha256.Sum256(layer), len(layer))
	const mt = "application/vnd.oci.image.manifest.v1+json"
	if rec := send("PUT", "/v2/evreg/app/manifests/v1", []byte(manifest), "Content-Type", mt); rec.Code != 201 {
		t.Fatalf("manifest push: %d %s", rec.Code, rec.Body)
	}
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(manifest)))
	if rec := send("GET", "/v2/evreg/app/manifests/v1", nil, "Accept", mt); rec.Code != 200 {
		t.Fatalf("pull: %d", rec.Code)
	}
	if rec := send("GET", fmt.Sprintf("/v2/evreg/app/blobs/sha256:%x", sha256.Sum256(layer)), nil); rec.Code != 200 {
		t.Fatalf("blob pull: %d", rec.Code)
	}
	if rec := send("DELETE", "/v2/evreg/app/manifests/v1", nil); rec.Code != 202 {
		t.Fatalf("untag: %d %s", rec.Code, rec.Body)
	}
	if rec := send("DELETE", "/v2/evreg/app/manifests/"+digest, nil); rec.Code != 202 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if err := w.trail.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, err := audit.Query(filepath.Join(w.trail.Dir()), audit.Filter{Category: audit.CategoryRepository})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range recs {
		ops = append(ops, r.OperationName)
		if r.Properties.Repository != "app" || r.ResultType != audit.ResultSucceeded || r.Identity == "" {
			t.Errorf("record %+v", r)
		}
	}
	if fmt.Sprint(ops) != "[Push Pull Untag Delete]" {
		t.Fatalf("operations %v, want [Push Pull Untag Delete]", ops)
	}
	push, pull, untag, del := recs[0], recs[1], recs[2], recs[3]
	if push.Properties.Tag != "v1" || push.Properties.Digest != digest || push.Properties.Size != int64(len(manifest)) || push.Properties.MediaType != mt {
		t.Errorf("push record: %+v", push.Properties)
	}
	if pull.Properties.Digest != digest || pull.Properties.Size != int64(len(manifest)) || pull.Properties.Network != "public" {
		t.Errorf("pull record: %+v", pull.Properties)
	}
	if untag.Properties.Tag != "v1" || del.Properties.Digest != digest {
		t.Errorf("untag %+v, delete %+v", untag.Properties, del.Properties)
	}
	var totals []meta.EgressCount
	w.store.View(t.Context(), func(tx meta.Tx) error {
		reg, err := tx.RegistryByName("evreg")
		if err != nil {
			return err
		}
		totals, err = tx.EgressTotals(reg.Key, "")
		return err
	})
	if len(totals) != 1 || totals[0].Channel != audit.EgressPullPublic || totals[0].Bytes != int64(len(manifest)+len(layer)) || totals[0].Artifacts != 1 || totals[0].Attempts != 1 {
		t.Errorf("egress totals %+v, want one pull of the manifest and its layer", totals)
	}
	logins, _ := audit.Query(w.trail.Dir(), audit.Filter{Category: audit.CategoryLogin})
	if len(logins) != 0 {
		t.Errorf("Basic credentials on repository routes made login records: %+v", logins)
	}
}
