// Package keyvault is the Microsoft.KeyVault provider, as much of it as
// transfer pipelines need: vaults, and secrets in them written through the
// management plane (ARM templates, az resource, REST). An export or import
// pipeline names a secret by its keyVaultUri
// (https://{vault}.vault.azure.net/secrets/{secret}); the pipeline runner
// reads the secret's value, the SAS token of its storage container, with
// Provider.Secret.
//
// A secret's value goes in and never comes out over HTTP: as on Azure's
// management plane, GET and LIST show a secret's metadata only. The value
// is stored apart from the served document (sealed with AES-GCM when
// Options.SealKey is set), and neither the router's write hook, its logs
// nor any error sees it.
package keyvault

import (
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Namespace is the provider's ARM namespace.
const Namespace = "Microsoft.KeyVault"

// Resource types, as ARM spells them.
const (
	VaultType  = Namespace + "/vaults"
	SecretType = VaultType + "/secrets"
)

// apiVersions are the Microsoft.KeyVault versions az and the SDKs of the
// last years send for vaults and secrets.
var apiVersions = []string{
	"2015-06-01", "2016-10-01", "2018-02-14", "2018-02-14-preview", "2019-09-01", "2020-04-01-preview",
	"2021-04-01-preview", "2021-06-01-preview", "2021-10-01", "2021-11-01-preview", "2022-02-01-preview",
	"2022-07-01", "2022-11-01", "2023-02-01", "2023-07-01", "2024-04-01-preview", "2024-11-01",
	"2024-12-01-preview", "2025-05-01",
}

// Options configure the provider. Meta is required.
type Options struct {
	// Meta is where vaults and secrets live.
	Meta meta.Store
	// SealKey, when set, encrypts secret values at rest (AES-256-GCM with
	// a key derived from it; at least 16 bytes, 32 random bytes
	// recommended). serve passes a key kept in its data directory. Values
	// written without a key stay readable once one is set, and are sealed
	// at their next write; values sealed with a key cannot be read without
	// it. Empty stores values unencrypted, apart from the served document.
	SealKey []byte
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Provider serves Microsoft.KeyVault resources and resolves pipelines'
// keyVaultUri references. It is safe for concurrent use; all state lives
// in meta.
type Provider struct {
	meta meta.Store
	aead cipher.AEAD // nil: values are stored unsealed
	now  func() time.Time
}

// New returns the provider. It fails only on a SealKey that is set but
// too short.
func New(o Options) (*Provider, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Provider{meta: o.Meta, now: o.Now}
	if len(o.SealKey) > 0 {
		aead, err := newAEAD(o.SealKey)
		if err != nil {
			return nil, err
		}
		p.aead = aead
	}
	return p, nil
}

// Table declares the provider's routes for arm's router (DESIGN.md "The
// front door"). Reads and writes check the real Microsoft.KeyVault
// actions at the vault or secret; lists show only the vaults the caller
// may read. No route moves artifact content.
func (p *Provider) Table() arm.Table {
	const (
		sub       = "/subscriptions/{sub}"
		vaults    = "/providers/" + VaultType
		vault     = sub + "/resourceGroups/{rg}" + vaults + "/{vault}"
		secret    = vault + "/secrets/{secret}"
		vaultRead = VaultType + "/read"
		secRead   = SecretType + "/read"
		secWrite  = SecretType + "/write"
		secDel    = SecretType + "/delete"
	)
	vv := arm.APIVersions(VaultType, apiVersions...)
	sv := arm.APIVersions(SecretType, apiVersions...)
	none := arm.MovesNoContent("key vaults hold pipeline credentials, never artifacts; a secret's value is written here " +
		"and read only by the pipeline runner, whose every transfer passes the egress gate itself")
	listed := arm.PerItem("lists show only the vaults the caller may read, as ARM does")
	routes := []arm.Route{
		{Method: "GET", Pattern: sub + vaults, Versions: vv, Action: vaultRead, Access: listed, Egress: none, Handle: p.listVaults},
		{Method: "GET", Pattern: sub + "/resourceGroups/{rg}" + vaults, Versions: vv, Action: vaultRead, Access: listed, Egress: none, Handle: p.listVaults},
		{Method: "GET", Pattern: vault, Versions: vv, Action: vaultRead, Egress: none, Handle: p.getVault},
		{Method: "PUT", Pattern: vault, Versions: vv, Action: VaultType + "/write", Egress: none, Handle: p.putVault},
		{Method: "PATCH", Pattern: vault, Versions: vv, Action: VaultType + "/write", Egress: none, Handle: p.patchVault},
		{Method: "DELETE", Pattern: vault, Versions: vv, Action: VaultType + "/delete", Egress: none, Handle: p.deleteVault},
		{Method: "GET", Pattern: vault + "/secrets", Versions: sv, Action: secRead, Egress: none, Handle: p.listSecrets},
		{Method: "GET", Pattern: secret, Versions: sv, Action: secRead, Egress: none, Handle: p.getSecret},
		{Method: "PUT", Pattern: secret, Versions: sv, Action: secWrite, Egress: none, Handle: p.putSecret},
		{Method: "PATCH", Pattern: secret, Versions: sv, Action: secWrite, Egress: none, Handle: p.patchSecret},
		{Method: "DELETE", Pattern: secret, Versions: sv, Action: secDel, Egress: none, Handle: p.deleteSecret},
		{Method: "POST", Pattern: sub + "/providers/" + Namespace + "/checkNameAvailability", Versions: vv,
			Action: Namespace + "/checkNameAvailability/read", Egress: none, Handle: p.checkName},
		// az reads the provider metadata with the Microsoft.Resources
		// api-version of its generic resource commands, not ours.
		{Method: "GET", Pattern: sub + "/providers/" + Namespace, Versions: arm.AnyAPIVersion(),
			Access: arm.AnyCaller("provider metadata lists resource types and api-versions, the same for every caller; it names no resource"),
			Egress: none, Handle: arm.ProviderInfo(Namespace, apiVersions, "vaults", "vaults/secrets", "checkNameAvailability")},
	}
	return arm.Table{Name: Namespace, Routes: routes}
}

// vaultByName finds a vault anywhere in the service: vault names are
// global, as their DNS names are on Azure. ErrNotFound when there is none.
func vaultByName(tx meta.Tx, name string) (meta.Resource, Vault, error) {
	rows, err := tx.ListResources("", VaultType, meta.Page{})
	if err != nil {
		return meta.Resource{}, Vault{}, err
	}
	for _, row := range rows {
		var v Vault
		if err := json.Unmarshal(row.Document, &v); err != nil {
			return row, v, fmt.Errorf("%s document %s: %w", VaultType, row.ID, err)
		}
		if strings.EqualFold(deref(v.Name), name) {
			return row, v, nil
		}
	}
	return meta.Resource{}, Vault{}, fmt.Errorf("vault %s: %w", name, errdef.ErrNotFound)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // our own types always marshal
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
