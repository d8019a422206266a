// Package acr is the Microsoft.ContainerRegistry resource provider:
// registries (and, as they arrive, their children), their validation and
// update rules. Wire types wear the Azure SDK's names (STYLE rule 12).
package acr

import (
	"fmt"
	"strings"
	"time"
)

// Registry is the ARM registry resource.
type Registry struct {
	ID         *string             `json:"id,omitempty"`
	Name       *string             `json:"name,omitempty"`
	Type       *string             `json:"type,omitempty"`
	Location   *string             `json:"location,omitempty"`
	Tags       map[string]*string  `json:"tags,omitempty"`
	SKU        *SKU                `json:"sku,omitempty"`
	Identity   *IdentityProperties `json:"identity,omitempty"`
	SystemData *SystemData         `json:"systemData,omitempty"`
	Properties *RegistryProperties `json:"properties,omitempty"`
}

// IdentityProperties is a registry's managed identity.
type IdentityProperties struct {
	PrincipalID            *string                            `json:"principalId,omitempty"`
	TenantID               *string                            `json:"tenantId,omitempty"`
	Type                   *string                            `json:"type,omitempty"`
	UserAssignedIdentities map[string]*UserIdentityProperties `json:"userAssignedIdentities,omitempty"`
}

// UserIdentityProperties describes one user-assigned identity.
type UserIdentityProperties struct {
	ClientID    *string `json:"clientId,omitempty"`
	PrincipalID *string `json:"principalId,omitempty"`
}

// SKU is a registry's pricing tier.
type SKU struct {
	Name *SKUName `json:"name,omitempty"`
	Tier *SKUName `json:"tier,omitempty"`
}

// SystemData is ARM's creation/modification record.
type SystemData struct {
	CreatedBy          string    `json:"createdBy,omitempty"`
	CreatedByType      string    `json:"createdByType,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	LastModifiedBy     string    `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string    `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     time.Time `json:"lastModifiedAt"`
}

// RegistryProperties are a registry's properties (acr-api.md §4.2).
type RegistryProperties struct {
	LoginServer                *string              `json:"loginServer,omitempty"`
	CreationDate               *time.Time           `json:"creationDate,omitempty"`
	ProvisioningState          *string              `json:"provisioningState,omitempty"`
	AdminUserEnabled           *bool                `json:"adminUserEnabled,omitempty"`
	NetworkRuleSet             *NetworkRuleSet      `json:"networkRuleSet,omitempty"`
	Policies                   *Policies            `json:"policies,omitempty"`
	Encryption                 *EncryptionProperty  `json:"encryption,omitempty"`
	DataEndpointEnabled        *bool                `json:"dataEndpointEnabled,omitempty"`
	DataEndpointHostNames      []string             `json:"dataEndpointHostNames"`
	PrivateEndpointConnections []any                `json:"privateEndpointConnections"`
	PublicNetworkAccess        *PublicNetworkAccess `json:"publicNetworkAccess,omitempty"`
	NetworkRuleBypassOptions   *BypassOptions       `json:"networkRuleBypassOptions,omitempty"`
	ZoneRedundancy             *ZoneRedundancy      `json:"zoneRedundancy,omitempty"`
	AnonymousPullEnabled       *bool                `json:"anonymousPullEnabled,omitempty"`
}

// NetworkRuleSet holds the registry firewall.
type NetworkRuleSet struct {
	DefaultAction       *DefaultAction `json:"defaultAction,omitempty"`
	VirtualNetworkRules []any          `json:"virtualNetworkRules"`
	IPRules             []IPRule       `json:"ipRules"`
}

// IPRule allows an IPv4 address or CIDR.
type IPRule struct {
	Action *string `json:"action,omitempty"`
	Value  *string `json:"value,omitempty"`
}

// Policies are the registry's policies.
type Policies struct {
	QuarantinePolicy *QuarantinePolicy `json:"quarantinePolicy,omitempty"`
	TrustPolicy      *TrustPolicy      `json:"trustPolicy,omitempty"`
	RetentionPolicy  *RetentionPolicy  `json:"retentionPolicy,omitempty"`
	ExportPolicy     *ExportPolicy     `json:"exportPolicy,omitempty"`
	// AzureADAuthenticationAsArmPolicy and SoftDeletePolicy arrived in
	// 2022-02-01-preview.
	AzureADAuthenticationAsArmPolicy *AzureADAuthenticationAsArmPolicy `json:"azureADAuthenticationAsArmPolicy,omitempty"`
	SoftDeletePolicy                 *SoftDeletePolicy                 `json:"softDeletePolicy,omitempty"`
}

// AzureADAuthenticationAsArmPolicy decides whether ARM-audience Entra
// tokens are accepted on the data plane.
type AzureADAuthenticationAsArmPolicy struct {
	Status *PolicyStatus `json:"status,omitempty"`
}

// SoftDeletePolicy keeps deleted artifacts for RetentionDays.
type SoftDeletePolicy struct {
	RetentionDays   *int32        `json:"retentionDays,omitempty"`
	LastUpdatedTime *time.Time    `json:"lastUpdatedTime,omitempty"`
	Status          *PolicyStatus `json:"status,omitempty"`
}

// QuarantinePolicy is the quarantine policy.
type QuarantinePolicy struct {
	Status *PolicyStatus `json:"status,omitempty"`
}

// TrustPolicy is the content-trust policy.
type TrustPolicy struct {
	Type   *string       `json:"type,omitempty"`
	Status *PolicyStatus `json:"status,omitempty"`
}

// RetentionPolicy purges untagged manifests after Days.
type RetentionPolicy struct {
	Days            *int32        `json:"days,omitempty"`
	LastUpdatedTime *time.Time    `json:"lastUpdatedTime,omitempty"`
	Status          *PolicyStatus `json:"status,omitempty"`
}

// ExportPolicy controls whether artifacts may leave the registry.
type ExportPolicy struct {
	Status *ExportPolicyStatus `json:"status,omitempty"`
}

// EncryptionProperty is customer-managed-key encryption.
type EncryptionProperty struct {
	Status             *PolicyStatus       `json:"status,omitempty"`
	KeyVaultProperties *KeyVaultProperties `json:"keyVaultProperties,omitempty"`
}

// KeyVaultProperties names the customer-managed key.
type KeyVaultProperties struct {
	KeyIdentifier            *string    `json:"keyIdentifier,omitempty"`
	VersionedKeyIdentifier   *string    `json:"versionedKeyIdentifier,omitempty"`
	Identity                 *string    `json:"identity,omitempty"`
	KeyRotationEnabled       *bool      `json:"keyRotationEnabled,omitempty"`
	LastKeyRotationTimestamp *time.Time `json:"lastKeyRotationTimestamp,omitempty"`
}

// Enumerations. Input is accepted in any casing; output uses these.
type (
	SKUName             string
	PolicyStatus        string
	ExportPolicyStatus  string
	PublicNetworkAccess string
	DefaultAction       string
	BypassOptions       string
	ZoneRedundancy      string
)

// Enum values, named as in armcontainerregistry.
const (
	SKUNameBasic                SKUName             = "Basic"
	SKUNameStandard             SKUName             = "Standard"
	SKUNamePremium              SKUName             = "Premium"
	SKUNameClassic              SKUName             = "Classic"
	PolicyStatusEnabled         PolicyStatus        = "enabled"
	PolicyStatusDisabled        PolicyStatus        = "disabled"
	ExportPolicyStatusEnabled   ExportPolicyStatus  = "enabled"
	ExportPolicyStatusDisabled  ExportPolicyStatus  = "disabled"
	PublicNetworkAccessEnabled  PublicNetworkAccess = "Enabled"
	PublicNetworkAccessDisabled PublicNetworkAccess = "Disabled"
	DefaultActionAllow          DefaultAction       = "Allow"
	DefaultActionDeny           DefaultAction       = "Deny"
	BypassOptionsAzureServices  BypassOptions       = "AzureServices"
	BypassOptionsNone           BypassOptions       = "None"
	ZoneRedundancyEnabled       ZoneRedundancy      = "Enabled"
	ZoneRedundancyDisabled      ZoneRedundancy      = "Disabled"
)

// PossibleSKUNameValues lists the SKU names.
func PossibleSKUNameValues() []SKUName {
	return []SKUName{SKUNameBasic, SKUNameClassic, SKUNamePremium, SKUNameStandard}
}

// foldEnum returns the declared value matching s case-insensitively.
func foldEnum[T ~string](field string, s []byte, values ...T) (T, error) {
	for _, v := range values {
		if strings.EqualFold(string(v), string(s)) {
			return v, nil
		}
	}
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = string(v)
	}
	return "", fmt.Errorf("%s %q is not valid; allowed values are %s", field, s, strings.Join(names, ", "))
}

// UnmarshalText accepts any casing.
func (v *SKUName) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("sku.name", b, PossibleSKUNameValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *PolicyStatus) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("policy status", b, PolicyStatusEnabled, PolicyStatusDisabled)
	return err
}

// UnmarshalText accepts any casing.
func (v *ExportPolicyStatus) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("exportPolicy.status", b, ExportPolicyStatusEnabled, ExportPolicyStatusDisabled)
	return err
}

// UnmarshalText accepts any casing.
func (v *PublicNetworkAccess) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("publicNetworkAccess", b, PublicNetworkAccessEnabled, PublicNetworkAccessDisabled)
	return err
}

// UnmarshalText accepts any casing.
func (v *DefaultAction) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("networkRuleSet.defaultAction", b, DefaultActionAllow, DefaultActionDeny)
	return err
}

// UnmarshalText accepts any casing.
func (v *BypassOptions) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("networkRuleBypassOptions", b, BypassOptionsAzureServices, BypassOptionsNone)
	return err
}

// UnmarshalText accepts any casing.
func (v *ZoneRedundancy) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("zoneRedundancy", b, ZoneRedundancyEnabled, ZoneRedundancyDisabled)
	return err
}

func ptr[T any](v T) *T { return &v }
