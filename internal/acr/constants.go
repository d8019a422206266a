package acr

import (
	"fmt"
	"strings"
)

// Enumerations, named as in armcontainerregistry (STYLE rule 12). Input is
// accepted in any casing (UnmarshalText folds it); output always uses the
// declared casing (acr-api.md §4.3). A value outside the enum is a 400
// listing the allowed values.
type (
	// SKUName is a registry's SKU name. Classic is declared but refused.
	SKUName string
	// SKUTier is a registry's read-only tier, the same word as its name.
	SKUTier string
	// PolicyStatus is the status of the quarantine, trust and retention policies.
	PolicyStatus string
	// ExportPolicyStatus is the status of the export policy (lower-case).
	ExportPolicyStatus string
	// EncryptionStatus tells whether customer-managed-key encryption is on.
	EncryptionStatus string
	// PublicNetworkAccess tells whether the public endpoint is reachable.
	PublicNetworkAccess string
	// DefaultAction is the firewall's action when no rule matches.
	DefaultAction string
	// Action is the action of an IP rule (only Allow).
	Action string
	// NetworkRuleBypassOptions tells whether trusted Azure services bypass the firewall.
	NetworkRuleBypassOptions string
	// ZoneRedundancy tells whether the registry is zone redundant.
	ZoneRedundancy string
	// TrustPolicyType is the content-trust kind (only Notary).
	TrustPolicyType string
	// ProvisioningState is a resource's provisioning state.
	ProvisioningState string
)

// Enum values.
const (
	SKUNameBasic    SKUName = "Basic"
	SKUNameClassic  SKUName = "Classic"
	SKUNamePremium  SKUName = "Premium"
	SKUNameStandard SKUName = "Standard"

	SKUTierBasic    SKUTier = "Basic"
	SKUTierClassic  SKUTier = "Classic"
	SKUTierPremium  SKUTier = "Premium"
	SKUTierStandard SKUTier = "Standard"

	PolicyStatusDisabled PolicyStatus = "disabled"
	PolicyStatusEnabled  PolicyStatus = "enabled"

	ExportPolicyStatusDisabled ExportPolicyStatus = "disabled"
	ExportPolicyStatusEnabled  ExportPolicyStatus = "enabled"

	EncryptionStatusDisabled EncryptionStatus = "disabled"
	EncryptionStatusEnabled  EncryptionStatus = "enabled"

	PublicNetworkAccessDisabled PublicNetworkAccess = "Disabled"
	PublicNetworkAccessEnabled  PublicNetworkAccess = "Enabled"

	DefaultActionAllow DefaultAction = "Allow"
	DefaultActionDeny  DefaultAction = "Deny"

	ActionAllow Action = "Allow"

	NetworkRuleBypassOptionsAzureServices NetworkRuleBypassOptions = "AzureServices"
	NetworkRuleBypassOptionsNone          NetworkRuleBypassOptions = "None"

	ZoneRedundancyDisabled ZoneRedundancy = "Disabled"
	ZoneRedundancyEnabled  ZoneRedundancy = "Enabled"

	TrustPolicyTypeNotary TrustPolicyType = "Notary"

	ProvisioningStateCanceled  ProvisioningState = "Canceled"
	ProvisioningStateCreating  ProvisioningState = "Creating"
	ProvisioningStateDeleting  ProvisioningState = "Deleting"
	ProvisioningStateFailed    ProvisioningState = "Failed"
	ProvisioningStateSucceeded ProvisioningState = "Succeeded"
	ProvisioningStateUpdating  ProvisioningState = "Updating"
)

// PossibleSKUNameValues lists the SKU names.
func PossibleSKUNameValues() []SKUName {
	return []SKUName{SKUNameBasic, SKUNameClassic, SKUNamePremium, SKUNameStandard}
}

// PossibleSKUTierValues lists the SKU tiers.
func PossibleSKUTierValues() []SKUTier {
	return []SKUTier{SKUTierBasic, SKUTierClassic, SKUTierPremium, SKUTierStandard}
}

// PossiblePolicyStatusValues lists the policy statuses.
func PossiblePolicyStatusValues() []PolicyStatus {
	return []PolicyStatus{PolicyStatusDisabled, PolicyStatusEnabled}
}

// PossibleExportPolicyStatusValues lists the export policy statuses.
func PossibleExportPolicyStatusValues() []ExportPolicyStatus {
	return []ExportPolicyStatus{ExportPolicyStatusDisabled, ExportPolicyStatusEnabled}
}

// PossibleEncryptionStatusValues lists the encryption statuses.
func PossibleEncryptionStatusValues() []EncryptionStatus {
	return []EncryptionStatus{EncryptionStatusDisabled, EncryptionStatusEnabled}
}

// PossiblePublicNetworkAccessValues lists the public network access values.
func PossiblePublicNetworkAccessValues() []PublicNetworkAccess {
	return []PublicNetworkAccess{PublicNetworkAccessDisabled, PublicNetworkAccessEnabled}
}

// PossibleDefaultActionValues lists the firewall default actions.
func PossibleDefaultActionValues() []DefaultAction {
	return []DefaultAction{DefaultActionAllow, DefaultActionDeny}
}

// PossibleActionValues lists the IP rule actions.
func PossibleActionValues() []Action { return []Action{ActionAllow} }

// PossibleNetworkRuleBypassOptionsValues lists the bypass options.
func PossibleNetworkRuleBypassOptionsValues() []NetworkRuleBypassOptions {
	return []NetworkRuleBypassOptions{NetworkRuleBypassOptionsAzureServices, NetworkRuleBypassOptionsNone}
}

// PossibleZoneRedundancyValues lists the zone redundancy values.
func PossibleZoneRedundancyValues() []ZoneRedundancy {
	return []ZoneRedundancy{ZoneRedundancyDisabled, ZoneRedundancyEnabled}
}

// PossibleTrustPolicyTypeValues lists the trust policy types.
func PossibleTrustPolicyTypeValues() []TrustPolicyType {
	return []TrustPolicyType{TrustPolicyTypeNotary}
}

// PossibleProvisioningStateValues lists the provisioning states.
func PossibleProvisioningStateValues() []ProvisioningState {
	return []ProvisioningState{ProvisioningStateCanceled, ProvisioningStateCreating, ProvisioningStateDeleting,
		ProvisioningStateFailed, ProvisioningStateSucceeded, ProvisioningStateUpdating}
}

// foldEnum returns the declared value matching s case-insensitively, or an
// error naming the field and the allowed values.
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
	return "", fmt.Errorf("the value '%s' of %s is not valid; allowed values are %s", s, field, strings.Join(names, ", "))
}

// UnmarshalText accepts any casing.
func (v *SKUName) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("sku.name", b, PossibleSKUNameValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *SKUTier) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("sku.tier", b, PossibleSKUTierValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *PolicyStatus) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("policy status", b, PossiblePolicyStatusValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *ExportPolicyStatus) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("policies.exportPolicy.status", b, PossibleExportPolicyStatusValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *EncryptionStatus) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("encryption.status", b, PossibleEncryptionStatusValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *PublicNetworkAccess) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("publicNetworkAccess", b, PossiblePublicNetworkAccessValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *DefaultAction) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("networkRuleSet.defaultAction", b, PossibleDefaultActionValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *Action) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("ipRules.action", b, PossibleActionValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *NetworkRuleBypassOptions) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("networkRuleBypassOptions", b, PossibleNetworkRuleBypassOptionsValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *ZoneRedundancy) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("zoneRedundancy", b, PossibleZoneRedundancyValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *TrustPolicyType) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("trustPolicy.type", b, PossibleTrustPolicyTypeValues()...)
	return err
}

// UnmarshalText accepts any casing.
func (v *ProvisioningState) UnmarshalText(b []byte) (err error) {
	*v, err = foldEnum("provisioningState", b, PossibleProvisioningStateValues()...)
	return err
}
