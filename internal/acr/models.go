// Package acr is the Microsoft.ContainerRegistry resource provider, plus
// the slice of Microsoft.Resources (subscriptions, resource groups) that
// clients need before they can create a registry: registries and their
// children, their validation and update rules. Wire types wear the Azure
// SDK's names (STYLE rule 12); ARM mechanics come from internal/arm.
package acr

import (
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
)

// Registry is the ARM registry resource (acr-api.md §4.1). Pointer fields
// tell "absent" from "zero" in request bodies.
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

// SKU is a registry's pricing tier; Tier is read-only and follows Name.
type SKU struct {
	Name *SKUName `json:"name,omitempty"`
	Tier *SKUTier `json:"tier,omitempty"`
}

// SystemData is ARM's creation and modification record (shared with every
// provider, hence defined in internal/arm).
type SystemData = arm.SystemData

// RegistryProperties are a registry's properties (acr-api.md §4.2).
// loginServer is never stored: it is computed when a registry is rendered.
// Nor are privateEndpointConnections: they are rows of their own (see
// facts.go), rendered into the document when it is served.
type RegistryProperties struct {
	LoginServer                *string                     `json:"loginServer,omitempty"`
	CreationDate               *time.Time                  `json:"creationDate,omitempty"`
	ProvisioningState          *ProvisioningState          `json:"provisioningState,omitempty"`
	AdminUserEnabled           *bool                       `json:"adminUserEnabled,omitempty"`
	NetworkRuleSet             *NetworkRuleSet             `json:"networkRuleSet,omitempty"`
	Policies                   *Policies                   `json:"policies,omitempty"`
	Encryption                 *EncryptionProperty         `json:"encryption,omitempty"`
	DataEndpointEnabled        *bool                       `json:"dataEndpointEnabled,omitempty"`
	DataEndpointHostNames      []string                    `json:"dataEndpointHostNames"`
	PrivateEndpointConnections []PrivateEndpointConnection `json:"privateEndpointConnections"`
	PublicNetworkAccess        *PublicNetworkAccess        `json:"publicNetworkAccess,omitempty"`
	NetworkRuleBypassOptions   *NetworkRuleBypassOptions   `json:"networkRuleBypassOptions,omitempty"`
	ZoneRedundancy             *ZoneRedundancy             `json:"zoneRedundancy,omitempty"`
	AnonymousPullEnabled       *bool                       `json:"anonymousPullEnabled,omitempty"`
}

// PrivateEndpointConnection is a registry's connection to a private
// endpoint, as ARM serves it. Bulkhead keeps it as a meta row and renders
// this shape; a request body's copy is ignored (private endpoints make
// connections, never a registry PUT).
type PrivateEndpointConnection struct {
	ID         *string                              `json:"id,omitempty"`
	Name       *string                              `json:"name,omitempty"`
	Type       *string                              `json:"type,omitempty"`
	Properties *PrivateEndpointConnectionProperties `json:"properties,omitempty"`
}

// PrivateEndpointConnectionProperties are a connection's properties.
// Values are plain strings, not folding enums: they are only ever output.
type PrivateEndpointConnectionProperties struct {
	PrivateEndpoint                   *PrivateEndpoint                   `json:"privateEndpoint,omitempty"`
	PrivateLinkServiceConnectionState *PrivateLinkServiceConnectionState `json:"privateLinkServiceConnectionState,omitempty"`
	ProvisioningState                 *string                            `json:"provisioningState,omitempty"`
}

// PrivateEndpoint names the endpoint (a Microsoft.Network resource).
type PrivateEndpoint struct {
	ID *string `json:"id,omitempty"`
}

// PrivateLinkServiceConnectionState is the registry side's decision.
type PrivateLinkServiceConnectionState struct {
	Status          *string `json:"status,omitempty"`
	Description     *string `json:"description,omitempty"`
	ActionsRequired *string `json:"actionsRequired,omitempty"`
}

// NetworkRuleSet is the registry firewall.
type NetworkRuleSet struct {
	DefaultAction       *DefaultAction `json:"defaultAction,omitempty"`
	VirtualNetworkRules []any          `json:"virtualNetworkRules"`
	IPRules             []IPRule       `json:"ipRules"`
}

// IPRule allows an IPv4 address or CIDR through the firewall.
type IPRule struct {
	Action *Action `json:"action,omitempty"`
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
	Type   *TrustPolicyType `json:"type,omitempty"`
	Status *PolicyStatus    `json:"status,omitempty"`
}

// RetentionPolicy purges untagged manifests after Days.
type RetentionPolicy struct {
	Days            *int32        `json:"days,omitempty"`
	LastUpdatedTime *time.Time    `json:"lastUpdatedTime,omitempty"`
	Status          *PolicyStatus `json:"status,omitempty"`
}

// ExportPolicy controls whether artifacts may leave the registry; only the
// egress gate decides what it implies (DESIGN.md rule 1).
type ExportPolicy struct {
	Status *ExportPolicyStatus `json:"status,omitempty"`
}

// EncryptionProperty is customer-managed-key encryption.
type EncryptionProperty struct {
	Status             *EncryptionStatus   `json:"status,omitempty"`
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

func ptr[T any](v T) *T { return &v }
