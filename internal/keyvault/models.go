package keyvault

import (
	"encoding/json"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
)

// The wire types wear the names of the Azure SDK's armkeyvault package
// (STYLE rule 12); pointer fields mark presence.

// Vault is a key vault as stored and served.
type Vault struct {
	ID         *string            `json:"id,omitempty"`
	Name       *string            `json:"name,omitempty"`
	Type       *string            `json:"type,omitempty"`
	Location   *string            `json:"location,omitempty"`
	Tags       map[string]*string `json:"tags,omitempty"`
	SystemData *arm.SystemData    `json:"systemData,omitempty"`
	Properties *VaultProperties   `json:"properties,omitempty"`
}

// VaultProperties are a vault's properties. Bulkhead keeps and echoes
// the access settings but enforces only RBAC at the management plane: it
// serves no Key Vault data plane.
type VaultProperties struct {
	TenantID                     *string             `json:"tenantId,omitempty"`
	SKU                          *SKU                `json:"sku,omitempty"`
	AccessPolicies               []AccessPolicyEntry `json:"accessPolicies"`
	VaultURI                     *string             `json:"vaultUri,omitempty"`
	EnabledForDeployment         *bool               `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     *bool               `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment *bool               `json:"enabledForTemplateDeployment,omitempty"`
	EnableSoftDelete             *bool               `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays    *int32              `json:"softDeleteRetentionInDays,omitempty"`
	EnableRbacAuthorization      *bool               `json:"enableRbacAuthorization,omitempty"`
	EnablePurgeProtection        *bool               `json:"enablePurgeProtection,omitempty"`
	NetworkACLs                  json.RawMessage     `json:"networkAcls,omitempty"`
	PublicNetworkAccess          *string             `json:"publicNetworkAccess,omitempty"`
	ProvisioningState            *string             `json:"provisioningState,omitempty"`
	// CreateMode is input only ("default" or "recover"); it is not kept.
	CreateMode *string `json:"createMode,omitempty"`
}

// VaultPatchParameters is the body of a vault PATCH: every field is
// optional and replaces the stored one when present.
type VaultPatchParameters struct {
	Tags       map[string]*string `json:"tags,omitempty"`
	Properties *VaultProperties   `json:"properties,omitempty"`
}

// SKU is a vault's pricing tier.
type SKU struct {
	Family *SKUFamily `json:"family,omitempty"`
	Name   *SKUName   `json:"name,omitempty"`
}

// SKUFamily is the SKU family; "A" is the only one.
type SKUFamily string

// SKUName is the SKU name.
type SKUName string

// SKU values, spelled as the SDK declares them.
const (
	SKUFamilyA      SKUFamily = "A"
	SKUNameStandard SKUName   = "standard"
	SKUNamePremium  SKUName   = "premium"
)

// PossibleSKUNameValues lists the SKUName values.
func PossibleSKUNameValues() []SKUName { return []SKUName{SKUNamePremium, SKUNameStandard} }

// PossibleSKUFamilyValues lists the SKUFamily values.
func PossibleSKUFamilyValues() []SKUFamily { return []SKUFamily{SKUFamilyA} }

// AccessPolicyEntry grants an identity permissions on a vault's data
// plane; stored and echoed.
type AccessPolicyEntry struct {
	TenantID      *string      `json:"tenantId,omitempty"`
	ObjectID      *string      `json:"objectId,omitempty"`
	ApplicationID *string      `json:"applicationId,omitempty"`
	Permissions   *Permissions `json:"permissions,omitempty"`
}

// Permissions are an access policy's data-plane permissions.
type Permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// Secret is a secret as served: never with its value (Azure's management
// plane does not return it either). The type has no value field, so no
// encoding of it can carry one.
type Secret struct {
	ID         *string            `json:"id,omitempty"`
	Name       *string            `json:"name,omitempty"`
	Type       *string            `json:"type,omitempty"`
	Location   *string            `json:"location,omitempty"`
	Tags       map[string]*string `json:"tags,omitempty"`
	Properties *SecretProperties  `json:"properties,omitempty"`
}

// SecretProperties are a secret's served properties.
type SecretProperties struct {
	ContentType          *string           `json:"contentType,omitempty"`
	Attributes           *SecretAttributes `json:"attributes,omitempty"`
	SecretURI            *string           `json:"secretUri,omitempty"`
	SecretURIWithVersion *string           `json:"secretUriWithVersion,omitempty"`
}

// SecretAttributes are a secret's attributes; times are Unix seconds, as
// the management plane sends them.
type SecretAttributes struct {
	Enabled   *bool  `json:"enabled,omitempty"`
	NotBefore *int64 `json:"nbf,omitempty"`
	Expires   *int64 `json:"exp,omitempty"`
	Created   *int64 `json:"created,omitempty"`
	Updated   *int64 `json:"updated,omitempty"`
}

// secretParams is the body of a secret PUT or PATCH: the only type that
// holds a value, and it is never encoded.
type secretParams struct {
	Tags       map[string]*string `json:"tags"`
	Properties *struct {
		Value       *string           `json:"value"`
		ContentType *string           `json:"contentType"`
		Attributes  *SecretAttributes `json:"attributes"`
	} `json:"properties"`
}

// storedSecret is a secret's meta document: the served form, and the
// value apart from it, sealed.
type storedSecret struct {
	Secret  Secret `json:"secret"`
	Version string `json:"version"`
	Sealed  string `json:"sealed"`
}

// UnmarshalText accepts any casing.
func (n *SKUName) UnmarshalText(b []byte) error {
	for _, v := range PossibleSKUNameValues() {
		if strings.EqualFold(string(b), string(v)) {
			*n = v
			return nil
		}
	}
	return errSKUName(string(b))
}

// UnmarshalText accepts any casing.
func (f *SKUFamily) UnmarshalText(b []byte) error {
	for _, v := range PossibleSKUFamilyValues() {
		if strings.EqualFold(string(b), string(v)) {
			*f = v
			return nil
		}
	}
	return errSKUFamily(string(b))
}
