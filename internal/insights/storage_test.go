package insights_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

const (
	testKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	testSAS = "sv=2021-08-06&ss=b&srt=co&sp=rwac&se=2099-01-01T00:00:00Z&sig=c2VjcmV0c2lnbmF0dXJlc2VjcmV0"
)

func TestStorageAccountCRUD(t *testing.T) {
	w := newWorld(t)
	id := accountPath("logsacct1")
	got := w.do(owner, "PUT", id+sv, `{"sku":{"name":"standard_lrs"},"kind":"storagev2","location":"West US","properties":{"encryption":{"keySource":"Microsoft.Storage"},"provisioningState":"Failed"}}`).expect(t, 200, "")
	if got.body["id"] != id || got.body["name"] != "logsacct1" || got.body["type"] != "Microsoft.Storage/storageAccounts" || got.body["location"] != "westus" ||
		dig(got.body, "sku", "name") != "Standard_LRS" || dig(got.body, "sku", "tier") != "Standard" || got.body["kind"] != "StorageV2" ||
		dig(got.body, "properties", "provisioningState") != "Succeeded" || dig(got.body, "properties", "encryption", "keySource") != "Microsoft.Storage" {
		t.Fatalf("create: %s", got.raw)
	}
	if blob, _ := dig(got.body, "properties", "primaryEndpoints", "blob").(string); !strings.HasPrefix(blob, "file://") || !strings.HasSuffix(blob, "/storage/logsacct1/") {
		t.Fatalf("a local account's blob endpoint: %q", blob)
	}
	w.do(reader, "GET", id+sv, "").expect(t, 200, "")
	w.do(nobody, "GET", id+sv, "").expect(t, 403, "AuthorizationFailed")
	for _, list := range []string{rgPath, "/subscriptions/" + sub} {
		l := w.do(reader, "GET", list+"/providers/Microsoft.Storage/storageAccounts"+sv, "").expect(t, 200, "")
		if v, _ := l.body["value"].([]any); len(v) != 1 {
			t.Fatalf("list %s: %s", list, l.raw)
		}
		if v, _ := w.do(nobody, "GET", list+"/providers/Microsoft.Storage/storageAccounts"+sv, "").expect(t, 200, "").body["value"].([]any); len(v) != 0 {
			t.Fatalf("a caller without a role sees %v", v)
		}
	}
	// az resource create: a double slash and a lower-case resourcegroups.
	az := "/subscriptions/" + sub + "/resourcegroups/" + group + "/providers/Microsoft.Storage//storageAccounts/logsacct2" + sv
	if got := w.do(owner, "PUT", az, `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus"}`).expect(t, 200, ""); got.body["id"] != accountPath("logsacct2") {
		t.Fatalf("az resource create: %s", got.raw)
	}
	w.do(owner, "DELETE", id+sv, "").expect(t, 200, "")
	w.do(owner, "DELETE", id+sv, "").expect(t, 204, "")
	w.do(owner, "GET", id+sv, "").expect(t, 404, "ResourceNotFound")
}

// A remote account's credential goes in and never comes out: not in
// answers, not to the write hook, not in the store unsealed.
func TestStorageAccountCredentialIsWriteOnly(t *testing.T) {
	w := newWorld(t)
	id := accountPath("remoteacct")
	body := `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus","properties":{"bulkheadBlobEndpoint":"http://127.0.0.1:10000/devstoreaccount1/","bulkheadAccountKey":"` + testKey + `"}}`
	got := w.do(owner, "PUT", id+sv, body).expect(t, 200, "")
	if dig(got.body, "properties", "bulkheadBlobEndpoint") != "http://127.0.0.1:10000/devstoreaccount1" ||
		dig(got.body, "properties", "bulkheadCredential") != "AccountKey" ||
		dig(got.body, "properties", "primaryEndpoints", "blob") != "http://127.0.0.1:10000/devstoreaccount1/" {
		t.Fatalf("create: %s", got.raw)
	}
	leaks := func(where, s string) {
		t.Helper()
		if strings.Contains(s, testKey) || strings.Contains(s, "c2VjcmV0c2lnbmF0dXJl") {
			t.Fatalf("%s carries the credential: %s", where, s)
		}
	}
	leaks("the create answer", got.raw)
	leaks("GET", w.do(owner, "GET", id+sv, "").raw)
	leaks("LIST", w.do(owner, "GET", rgPath+"/providers/Microsoft.Storage/storageAccounts"+sv, "").raw)
	// A PUT that leaves the key out keeps it for the same endpoint (az
	// resource update sends back what GET showed).
	same := `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus","properties":{"bulkheadBlobEndpoint":"http://127.0.0.1:10000/devstoreaccount1","bulkheadCredential":"None"}}`
	if got := w.do(owner, "PUT", id+sv, same).expect(t, 200, ""); dig(got.body, "properties", "bulkheadCredential") != "AccountKey" {
		t.Fatalf("the key was lost: %s", got.raw)
	}
	// A SAS token replaces it, and is not shown either.
	sas := `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus","properties":{"bulkheadBlobEndpoint":"http://127.0.0.1:10000/devstoreaccount1","bulkheadSasToken":"?` + testSAS + `"}}`
	got = w.do(owner, "PUT", id+sv, sas).expect(t, 200, "")
	leaks("the SAS answer", got.raw)
	if dig(got.body, "properties", "bulkheadCredential") != "SasToken" {
		t.Fatalf("sas: %s", got.raw)
	}
	// A new endpoint never inherits the credential of the old one.
	moved := `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus","properties":{"bulkheadBlobEndpoint":"https://elsewhere.blob.core.windows.net"}}`
	if got := w.do(owner, "PUT", id+sv, moved).expect(t, 200, ""); dig(got.body, "properties", "bulkheadCredential") != "None" {
		t.Fatalf("the credential followed a new endpoint: %s", got.raw)
	}
	for _, e := range w.writeEvents() {
		b, _ := json.Marshal([]any{e.Before, e.After})
		leaks("the write hook", string(b))
	}
	err := w.store.View(context.Background(), func(tx meta.Tx) error {
		rows, err := tx.ListResources("", "Microsoft.Storage/storageAccounts", meta.Page{})
		for _, r := range rows {
			leaks("the stored document", string(r.Document))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStorageAccountBadInput(t *testing.T) {
	w := newWorld(t)
	id := accountPath("badacct")
	ok := func(props string) string {
		return `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"westus","properties":{` + props + `}}`
	}
	for _, c := range []struct {
		name, path, body string
		status           int
		code, message    string
	}{
		{"upper-case name", accountPath("BadAcct"), ok(""), 400, "AccountNameInvalid", "between 3 and 24"},
		{"short name", accountPath("ab"), ok(""), 400, "AccountNameInvalid", ""},
		{"no body", id, "", 400, "InvalidRequestContent", ""},
		{"not JSON", id, "{", 400, "InvalidRequestContent", ""},
		{"no location", id, `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`, 400, "LocationRequired", ""},
		{"no sku", id, `{"kind":"StorageV2","location":"westus"}`, 400, "InvalidValuesForRequestParameters", "sku.name is required"},
		{"bad sku", id, `{"sku":{"name":"Gold"},"kind":"StorageV2","location":"westus"}`, 400, "InvalidValuesForRequestParameters", "'Gold'"},
		{"no kind", id, `{"sku":{"name":"Standard_LRS"},"location":"westus"}`, 400, "InvalidValuesForRequestParameters", "kind is required"},
		{"plain http elsewhere", id, ok(`"bulkheadBlobEndpoint":"http://example.com/acct"`), 400, "InvalidValuesForRequestParameters", "loopback"},
		{"ftp", id, ok(`"bulkheadBlobEndpoint":"ftp://127.0.0.1/acct"`), 400, "InvalidValuesForRequestParameters", "scheme"},
		{"query", id, ok(`"bulkheadBlobEndpoint":"https://a.blob.core.windows.net/?sig=x"`), 400, "InvalidValuesForRequestParameters", "bulkheadSasToken"},
		{"user info", id, ok(`"bulkheadBlobEndpoint":"https://u:p@a.blob.core.windows.net"`), 400, "InvalidValuesForRequestParameters", "user info"},
		{"deep path", id, ok(`"bulkheadBlobEndpoint":"http://127.0.0.1:10000/acct/container"`), 400, "InvalidValuesForRequestParameters", "at most the account"},
		{"IP without account", id, ok(`"bulkheadBlobEndpoint":"http://127.0.0.1:10000"`), 400, "InvalidValuesForRequestParameters", "names no account"},
		{"endpoint not a string", id, ok(`"bulkheadBlobEndpoint":7`), 400, "InvalidValuesForRequestParameters", "must be a string"},
		{"key without endpoint", id, ok(`"bulkheadAccountKey":"` + testKey + `"`), 400, "InvalidValuesForRequestParameters", "needs the blob endpoint"},
		{"key and SAS", id, ok(`"bulkheadBlobEndpoint":"http://127.0.0.1:1/a","bulkheadAccountKey":"` + testKey + `","bulkheadSasToken":"` + testSAS + `"`), 400, "InvalidValuesForRequestParameters", "not both"},
		{"bad key", id, ok(`"bulkheadBlobEndpoint":"http://127.0.0.1:1/a","bulkheadAccountKey":"not base64!"`), 400, "InvalidValuesForRequestParameters", "base64"},
		{"bad SAS", id, ok(`"bulkheadBlobEndpoint":"http://127.0.0.1:1/a","bulkheadSasToken":"sv=1&sp=r"`), 400, "InvalidValuesForRequestParameters", "signature"},
		{"no group", "/subscriptions/" + sub + "/resourceGroups/nogroup/providers/Microsoft.Storage/storageAccounts/badacct", ok(""), 404, "ResourceGroupNotFound", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := w.do(owner, "PUT", c.path+sv, c.body).expect(t, c.status, c.code)
			if !strings.Contains(got.message(), c.message) {
				t.Fatalf("message %q lacks %q", got.message(), c.message)
			}
			if strings.Contains(got.raw, "not base64!") {
				t.Fatalf("the message quotes the key: %s", got.raw)
			}
		})
	}
	w.do(owner, "GET", id+"?api-version=1999-01-01", "").expect(t, 400, "NoRegisteredProviderFound")
	w.do(owner, "GET", id, "").expect(t, 400, "MissingApiVersionParameter")
	w.do("", "GET", id+sv, "").expect(t, 401, "AuthenticationFailed")
	w.do(reader, "PUT", id+sv, ok("")).expect(t, 403, "AuthorizationFailed")
	w.do(owner, "GET", id+sv, "").expect(t, 404, "ResourceNotFound")

	// Names are global; a location is fixed at creation.
	w.createAccount("takenacct")
	otherGroup := "/subscriptions/" + sub + "/resourceGroups/second"
	now := time.Now().UTC()
	err := w.store.Update(context.Background(), func(tx meta.Tx) error {
		return tx.PutResource(meta.Resource{ID: otherGroup, Type: "Microsoft.Resources/resourceGroups", CreatedAt: now, UpdatedAt: now,
			Document: []byte(`{"name":"second","location":"westus"}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	w.do(owner, "PUT", otherGroup+"/providers/Microsoft.Storage/storageAccounts/takenacct"+sv, ok("")).expect(t, 409, "StorageAccountAlreadyTaken")
	w.do(owner, "PUT", accountPath("takenacct")+sv, `{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"eastus"}`).
		expect(t, 400, "InvalidResourceLocation")
}
