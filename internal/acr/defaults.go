package acr

import (
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
)

// validateCreate checks a PUT body before any state is read: location and
// sku.name are required, and the Classic SKU is gone.
func validateCreate(in Registry) error {
	if in.Location == nil || strings.TrimSpace(*in.Location) == "" {
		return errLocationRequired()
	}
	if in.SKU == nil || in.SKU.Name == nil {
		return errSKURequired()
	}
	if *in.SKU.Name == SKUNameClassic {
		return errSKUNotSupported(*in.SKU.Name)
	}
	return nil
}

// newRegistry builds a registry document with every default of
// acr-api.md §4.2.
func newRegistry(id, name string, in Registry, caller authz.Caller, now time.Time) Registry {
	out := Registry{
		ID: ptr(id), Name: ptr(name), Type: ptr(RegistryType), Location: ptr(arm.NormLocation(*in.Location)),
		Tags: in.Tags, SKU: &SKU{Name: in.SKU.Name, Tier: ptr(SKUTier(*in.SKU.Name))}, Identity: in.Identity,
		SystemData: arm.NewSystemData(caller.ClientID, byType(caller), now),
	}
	props := RegistryProperties{}
	if in.Properties != nil {
		props = *in.Properties
	}
	props.LoginServer = nil
	// Connections are made by private endpoints, never by a registry PUT.
	props.PrivateEndpointConnections = nil
	props.CreationDate = ptr(now)
	props.ProvisioningState = ptr(ProvisioningStateSucceeded)
	applyDefaults(&props, now)
	out.Properties = &props
	return out
}

// replaceRegistry applies a PUT to an existing registry: the body replaces
// the writable properties, read-only ones are kept.
func replaceRegistry(old, in Registry, caller authz.Caller, now time.Time) Registry {
	out := newRegistry(deref(old.ID), deref(old.Name), in, caller, now)
	out.SystemData = old.SystemData.Modified(caller.ClientID, byType(caller), now)
	if old.Properties != nil && old.Properties.CreationDate != nil {
		out.Properties.CreationDate = old.Properties.CreationDate
	}
	if old.Properties != nil && old.Properties.PrivateEndpointConnections != nil {
		out.Properties.PrivateEndpointConnections = old.Properties.PrivateEndpointConnections
	}
	return out
}

func applyDefaults(p *RegistryProperties, now time.Time) {
	if p.AdminUserEnabled == nil {
		p.AdminUserEnabled = ptr(false)
	}
	if p.NetworkRuleSet == nil {
		p.NetworkRuleSet = &NetworkRuleSet{}
	}
	if p.NetworkRuleSet.DefaultAction == nil {
		p.NetworkRuleSet.DefaultAction = ptr(DefaultActionAllow)
	}
	if p.NetworkRuleSet.IPRules == nil {
		p.NetworkRuleSet.IPRules = []IPRule{}
	}
	if p.NetworkRuleSet.VirtualNetworkRules == nil {
		p.NetworkRuleSet.VirtualNetworkRules = []any{}
	}
	if p.Policies == nil {
		p.Policies = &Policies{}
	}
	pol := p.Policies
	if pol.QuarantinePolicy == nil || pol.QuarantinePolicy.Status == nil {
		pol.QuarantinePolicy = &QuarantinePolicy{Status: ptr(PolicyStatusDisabled)}
	}
	if pol.TrustPolicy == nil {
		pol.TrustPolicy = &TrustPolicy{}
	}
	if pol.TrustPolicy.Type == nil {
		pol.TrustPolicy.Type = ptr(TrustPolicyTypeNotary)
	}
	if pol.TrustPolicy.Status == nil {
		pol.TrustPolicy.Status = ptr(PolicyStatusDisabled)
	}
	if pol.RetentionPolicy == nil {
		pol.RetentionPolicy = &RetentionPolicy{}
	}
	if pol.RetentionPolicy.Days == nil {
		pol.RetentionPolicy.Days = ptr(int32(7))
	}
	if pol.RetentionPolicy.Status == nil {
		pol.RetentionPolicy.Status = ptr(PolicyStatusDisabled)
	}
	if pol.RetentionPolicy.LastUpdatedTime == nil {
		pol.RetentionPolicy.LastUpdatedTime = ptr(now)
	}
	if pol.AzureADAuthenticationAsArmPolicy == nil || pol.AzureADAuthenticationAsArmPolicy.Status == nil {
		pol.AzureADAuthenticationAsArmPolicy = &AzureADAuthenticationAsArmPolicy{Status: ptr(PolicyStatusEnabled)}
	}
	if pol.SoftDeletePolicy == nil {
		pol.SoftDeletePolicy = &SoftDeletePolicy{}
	}
	if pol.SoftDeletePolicy.RetentionDays == nil {
		pol.SoftDeletePolicy.RetentionDays = ptr(int32(7))
	}
	if pol.SoftDeletePolicy.Status == nil {
		pol.SoftDeletePolicy.Status = ptr(PolicyStatusDisabled)
	}
	if pol.SoftDeletePolicy.LastUpdatedTime == nil {
		pol.SoftDeletePolicy.LastUpdatedTime = ptr(now)
	}
	if pol.ExportPolicy == nil || pol.ExportPolicy.Status == nil {
		pol.ExportPolicy = &ExportPolicy{Status: ptr(ExportPolicyStatusEnabled)}
	}
	if p.Encryption == nil {
		p.Encryption = &EncryptionProperty{Status: ptr(EncryptionStatusDisabled)}
	}
	if p.DataEndpointEnabled == nil {
		p.DataEndpointEnabled = ptr(false)
	}
	if p.DataEndpointHostNames == nil {
		p.DataEndpointHostNames = []string{}
	}
	if p.PrivateEndpointConnections == nil {
		p.PrivateEndpointConnections = []PrivateEndpointConnection{}
	}
	if p.PublicNetworkAccess == nil {
		p.PublicNetworkAccess = ptr(PublicNetworkAccessEnabled)
	}
	if p.NetworkRuleBypassOptions == nil {
		p.NetworkRuleBypassOptions = ptr(NetworkRuleBypassOptionsAzureServices)
	}
	if p.ZoneRedundancy == nil {
		p.ZoneRedundancy = ptr(ZoneRedundancyDisabled)
	}
	if p.AnonymousPullEnabled == nil {
		p.AnonymousPullEnabled = ptr(false)
	}
}
