package keyvault_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/keyvault"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// sas is a secret value distinctive enough to search for.
const sas = "sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2030-01-01&sig=T0pS3cr3tS1gnatur3xyzzy"

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// A secret's value goes in and never comes out: not in PUT, PATCH, GET or
// LIST answers, not in error answers to bodies that carry it, not in the
// log, not in the write hook's documents, and (sealed) not in the store.
func TestSecretValueNeverLeaks(t *testing.T) {
	w := newWorld(t, []byte("0123456789abcdef0123456789abcdef"))
	w.mkVault("one", "pipes")
	r := w.mkSecret("one", "pipes", "acrexportsas", sas).expect(t, http.StatusCreated, "")
	version := strings.TrimPrefix(dig(r.body, "properties", "secretUriWithVersion").(string), "https://pipes.vault.azure.net/secrets/acrexportsas/")
	if !hex32.MatchString(version) {
		t.Fatalf("secretUriWithVersion: %s", r.raw)
	}
	for path, want := range map[string]any{
		"id":                            secretPath("one", "pipes", "acrexportsas"),
		"name":                          "acrexportsas",
		"type":                          "Microsoft.KeyVault/vaults/secrets",
		"location":                      "westus",
		"properties/secretUri":          "https://pipes.vault.azure.net/secrets/acrexportsas",
		"properties/contentType":        "text/plain",
		"properties/attributes/enabled": true,
		"properties/attributes/created": float64(w.clock().Unix()),
		"properties/attributes/updated": float64(w.clock().Unix()),
		"properties/value":              nil,
	} {
		if got := dig(r.body, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	w.do(owner, "GET", secretPath("one", "pipes", "acrexportsas")+kv, "").expect(t, http.StatusOK, "")
	w.do(reader, "GET", secretPath("one", "pipes", "acrexportsas")+kv, "").expect(t, http.StatusOK, "")
	r = w.do(owner, "GET", vaultPath("one", "pipes")+"/secrets"+kv, "").expect(t, http.StatusOK, "")
	if len(r.body["value"].([]any)) != 1 {
		t.Errorf("list: %s", r.raw)
	}
	w.do(owner, "PATCH", secretPath("one", "pipes", "acrexportsas")+kv, `{"tags":{"a":"b"}}`).expect(t, http.StatusOK, "")
	// The same value again keeps the version.
	r = w.mkSecret("one", "pipes", "acrexportsas", sas).expect(t, http.StatusOK, "")
	if !strings.HasSuffix(dig(r.body, "properties", "secretUriWithVersion").(string), version) {
		t.Errorf("an unchanged value got a new version: %s", r.raw)
	}
	// Refused writes that carry the value quote none of it.
	w.do(owner, "PUT", secretPath("one", "pipes", "bad_name")+kv, secretBody(sas)).expect(t, http.StatusBadRequest, "InvalidResourceName")
	w.do(owner, "PUT", secretPath("one", "nosuchvault", "s")+kv, secretBody(sas)).expect(t, http.StatusNotFound, "ResourceNotFound")
	w.do(reader, "PUT", secretPath("one", "pipes", "s")+kv, secretBody(sas)).expect(t, http.StatusForbidden, "AuthorizationFailed")
	w.do(owner, "PUT", secretPath("one", "pipes", "s")+kv, `{"properties":{"value":"`+sas+`\q"}}`).expect(t, http.StatusBadRequest, "InvalidRequestContent")
	w.do(owner, "PUT", secretPath("one", "pipes", "s")+kv, `{"properties":{"value":"`+sas+`","attributes":{"enabled":"`+sas+`"}}}`).expect(t, http.StatusBadRequest, "InvalidRequestContent")
	w.do(owner, "PUT", secretPath("one", "pipes", "s")+kv, secretBody(sas+strings.Repeat("x", 25*1024))).expect(t, http.StatusBadRequest, "BadRequest")
	w.do(owner, "PUT", secretPath("one", "pipes", "s")+kv, `{"properties":{"contentType":"x"}}`).expect(t, http.StatusBadRequest, "BadRequest")
	w.do(owner, "PUT", secretPath("one", "pipes", "s")+kv, `{"tags":{}}`).expect(t, http.StatusBadRequest, "BadRequest")
	w.do(owner, "PATCH", secretPath("one", "pipes", "s")+kv, secretBody(sas)).expect(t, http.StatusNotFound, "ResourceNotFound")

	// The resolver's errors name the secret, not the value.
	for _, uri := range []string{"https://pipes.vault.azure.net/secrets/acrexportsas/" + strings.Repeat("0", 32), "https://pipes.vault.azure.net/secrets/nosuch"} {
		if _, err := w.provider.Secret(context.Background(), uri); err == nil || strings.Contains(err.Error(), sas) {
			t.Errorf("Secret(%s): %v", uri, err)
		}
	}
	got, err := w.provider.Secret(context.Background(), "https://pipes.vault.azure.net/secrets/acrexportsas")
	if err != nil || got != sas {
		t.Fatalf("Secret: %q, %v", got, err)
	}
	if n := len(w.writeEvents()); n < 4 {
		t.Errorf("only %d write events", n)
	}
	w.assertNowhere(sas)
	w.assertNowhere("T0pS3cr3t")
	// Sealed at rest: the store holds no plaintext.
	err = w.store.View(context.Background(), func(tx meta.Tx) error {
		rows, err := tx.ListResources("", "", meta.Page{})
		for _, row := range rows {
			if strings.Contains(string(row.Document), "T0pS3cr3t") {
				t.Errorf("%s stores the value in plain text: %s", row.ID, row.Document)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The resolver reads the current value by URI with or without its
// version, in the spellings Azure accepts, and refuses old versions and
// missing, disabled, expired and not-yet-valid secrets with ErrNotFound.
func TestResolver(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	w.mkVault("one", "pipes")
	r := w.mkSecret("one", "pipes", "sas", "first").expect(t, http.StatusCreated, "")
	v1 := dig(r.body, "properties", "secretUriWithVersion").(string)
	r = w.mkSecret("one", "pipes", "sas", "second").expect(t, http.StatusOK, "")
	v2 := dig(r.body, "properties", "secretUriWithVersion").(string)
	if v1 == v2 {
		t.Fatalf("a new value kept version %s", v1)
	}
	for _, uri := range []string{
		"https://pipes.vault.azure.net/secrets/sas",
		"https://pipes.vault.azure.net/secrets/sas/",
		"https://PIPES.Vault.Azure.NET/secrets/sas",
		"HTTPS://pipes.vault.azure.net:443/Secrets/sas",
		v2, v2 + "/", strings.ToUpper(v2[len(v2)-32:]),
	} {
		if !strings.HasPrefix(strings.ToLower(uri), "http") {
			uri = "https://pipes.vault.azure.net/secrets/sas/" + uri
		}
		if got, err := w.provider.Secret(ctx, uri); err != nil || got != "second" {
			t.Errorf("Secret(%s) = %q, %v", uri, got, err)
		}
	}
	notFound := func(uri string) {
		t.Helper()
		ref, _ := keyvault.ParseSecretURI(uri)
		if _, err := w.provider.Secret(ctx, uri); !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "key vault "+ref.Vault+", secret "+ref.Secret) {
			t.Errorf("Secret(%s): %v, want not found naming the vault and secret", uri, err)
		}
	}
	notFound(v1)
	notFound("https://pipes.vault.azure.net/secrets/other")
	notFound("https://nosuch.vault.azure.net/secrets/sas")
	for _, uri := range []string{"http://pipes.vault.azure.net/secrets/sas", "https://pipes.vault.azure.cn/secrets/sas", "not a uri", "",
		"https://pipes.vault.azure.net/keys/sas", "https://pipes.vault.azure.net/secrets/sas?sig=x", "https://pipes.vault.azure.net/secrets/sas/v1"} {
		if _, err := w.provider.Secret(ctx, uri); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("Secret(%q): %v, want invalid argument", uri, err)
		}
	}

	// Disabled, then enabled again.
	w.do(owner, "PATCH", secretPath("one", "pipes", "sas")+kv, `{"properties":{"attributes":{"enabled":false}}}`).expect(t, http.StatusOK, "")
	notFound("https://pipes.vault.azure.net/secrets/sas")
	r = w.do(owner, "PATCH", secretPath("one", "pipes", "sas")+kv, `{"properties":{"attributes":{"enabled":true}}}`).expect(t, http.StatusOK, "")
	if dig(r.body, "properties", "secretUriWithVersion") != v2 {
		t.Errorf("a PATCH without a value changed the version: %s", r.raw)
	}
	// Not valid yet, then valid, then expired.
	now := w.clock().Unix()
	w.do(owner, "PUT", secretPath("one", "pipes", "sas")+kv,
		`{"properties":{"value":"third","attributes":{"nbf":`+itoa(now+60)+`,"exp":`+itoa(now+3600)+`}}}`).expect(t, http.StatusOK, "")
	notFound("https://pipes.vault.azure.net/secrets/sas")
	w.advance(2 * time.Minute)
	if got, err := w.provider.Secret(ctx, "https://pipes.vault.azure.net/secrets/sas"); err != nil || got != "third" {
		t.Errorf("within nbf..exp: %q, %v", got, err)
	}
	w.advance(time.Hour)
	notFound("https://pipes.vault.azure.net/secrets/sas")

	// Secrets in a vault of another subscription resolve too: the name is global.
	w.do(owner, "PUT", "/subscriptions/"+sub2+"/resourceGroups/three/providers/Microsoft.KeyVault/vaults/far-vault"+kv, vaultBody).expect(t, http.StatusCreated, "")
	w.do(owner, "PUT", "/subscriptions/"+sub2+"/resourceGroups/three/providers/Microsoft.KeyVault/vaults/far-vault/secrets/s"+kv, secretBody("far")).expect(t, http.StatusCreated, "")
	if got, err := w.provider.Secret(ctx, "https://far-vault.vault.azure.net/secrets/s"); err != nil || got != "far" {
		t.Errorf("far vault: %q, %v", got, err)
	}
}

// Deleting a secret, a vault (with its secrets) or a resource group (with
// its vaults and their secrets) leaves nothing to resolve.
func TestDeleteCascades(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	w.mkVault("one", "vault-a")
	w.mkVault("two", "vault-b")
	for _, s := range []string{"s1", "s2"} {
		w.mkSecret("one", "vault-a", s, "value-"+s).expect(t, http.StatusCreated, "")
		w.mkSecret("two", "vault-b", s, "value-"+s).expect(t, http.StatusCreated, "")
	}
	w.do(owner, "DELETE", secretPath("one", "vault-a", "s1")+kv, "").expect(t, http.StatusOK, "")
	w.do(owner, "DELETE", secretPath("one", "vault-a", "s1")+kv, "").expect(t, http.StatusNoContent, "")
	w.do(owner, "GET", secretPath("one", "vault-a", "s1")+kv, "").expect(t, http.StatusNotFound, "ResourceNotFound")

	w.do(owner, "DELETE", vaultPath("one", "vault-a")+kv, "").expect(t, http.StatusOK, "")
	if _, err := w.provider.Secret(ctx, "https://vault-a.vault.azure.net/secrets/s2"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("a deleted vault's secret resolves: %v", err)
	}
	// A new vault of the same name starts empty.
	w.mkVault("one", "vault-a")
	w.do(owner, "GET", secretPath("one", "vault-a", "s2")+kv, "").expect(t, http.StatusNotFound, "ResourceNotFound")

	w.do(owner, "DELETE", rgPath+"two?api-version=2021-04-01", "").expect(t, http.StatusOK, "")
	if _, err := w.provider.Secret(ctx, "https://vault-b.vault.azure.net/secrets/s1"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("a deleted group's secret resolves: %v", err)
	}
	err := w.store.View(ctx, func(tx meta.Tx) error {
		rows, err := tx.ListResources("", "Microsoft.KeyVault/vaults/secrets", meta.Page{})
		if len(rows) != 0 {
			t.Errorf("%d secrets left behind", len(rows))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Secret names outside 1–127 alphanumerics and hyphens are 400s.
func TestSecretNames(t *testing.T) {
	w := newWorld(t, nil)
	w.mkVault("one", "names")
	for _, name := range []string{"under_score", "dot.ted", strings.Repeat("a", 128), "sp%20ace"} {
		w.do(owner, "PUT", secretPath("one", "names", name)+kv, secretBody("v")).expect(t, http.StatusBadRequest, "InvalidResourceName")
	}
	for _, name := range []string{"a", "A-1", strings.Repeat("a", 127)} {
		w.do(owner, "PUT", secretPath("one", "names", name)+kv, secretBody("v")).expect(t, http.StatusCreated, "")
	}
	w.do(owner, "PUT", secretPath("one", "names", "empty")+kv, secretBody("")).expect(t, http.StatusCreated, "")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
