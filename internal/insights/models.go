package insights

import (
	"encoding/json"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
)

// StorageAccount is a Microsoft.Storage/storageAccounts resource, with the
// SDK's names (armstorage.Account). Properties stay a map: clients send
// many settings (encryption, TLS, network rules) that Bulkhead keeps and
// shows back without acting on them.
type StorageAccount struct {
	ID         *string                    `json:"id,omitempty"`
	Name       *string                    `json:"name,omitempty"`
	Type       *string                    `json:"type,omitempty"`
	Location   *string                    `json:"location,omitempty"`
	Tags       map[string]*string         `json:"tags,omitempty"`
	SKU        *StorageSKU                `json:"sku,omitempty"`
	Kind       *string                    `json:"kind,omitempty"`
	Properties map[string]json.RawMessage `json:"properties,omitempty"`
	SystemData *arm.SystemData            `json:"systemData,omitempty"`
}

// StorageSKU is a storage account's SKU.
type StorageSKU struct {
	Name *string `json:"name,omitempty"`
	Tier *string `json:"tier,omitempty"`
}

// Bulkhead's extension properties of a storage account. The endpoint is
// shown; the credentials are write-only.
const (
	propEndpoint   = "bulkheadBlobEndpoint"
	propKey        = "bulkheadAccountKey"
	propSAS        = "bulkheadSasToken"
	propCredential = "bulkheadCredential" // read-only: AccountKey, SasToken or None
)

// Credential kinds.
const (
	credNone = "None"
	credKey  = "AccountKey"
	credSAS  = "SasToken"
)

// storedAccount is a storage account's meta document: the served form,
// and the credential apart from it, sealed.
type storedAccount struct {
	Account StorageAccount `json:"account"`
	// Endpoint is the blob endpoint ("" for a local account), also shown
	// in Account's properties.
	Endpoint string `json:"endpoint,omitempty"`
	// CredentialKind is credKey, credSAS or "" (none).
	CredentialKind string `json:"credentialKind,omitempty"`
	Sealed         string `json:"sealed,omitempty"`
}

// DiagnosticSettingsResource is a diagnostic setting, with the SDK's
// names (armmonitor.DiagnosticSettingsResource).
type DiagnosticSettingsResource struct {
	ID         *string             `json:"id,omitempty"`
	Name       *string             `json:"name,omitempty"`
	Type       *string             `json:"type,omitempty"`
	SystemData *arm.SystemData     `json:"systemData,omitempty"`
	Properties *DiagnosticSettings `json:"properties,omitempty"`
}

// DiagnosticSettings are a setting's properties. Only storage accounts
// are served as destinations; the other sinks are refused, not ignored.
type DiagnosticSettings struct {
	StorageAccountID            *string          `json:"storageAccountId,omitempty"`
	ServiceBusRuleID            *string          `json:"serviceBusRuleId,omitempty"`
	EventHubAuthorizationRuleID *string          `json:"eventHubAuthorizationRuleId,omitempty"`
	EventHubName                *string          `json:"eventHubName,omitempty"`
	WorkspaceID                 *string          `json:"workspaceId,omitempty"`
	MarketplacePartnerID        *string          `json:"marketplacePartnerId,omitempty"`
	LogAnalyticsDestinationType *string          `json:"logAnalyticsDestinationType,omitempty"`
	Logs                        []LogSettings    `json:"logs"`
	Metrics                     []MetricSettings `json:"metrics"`
}

// LogSettings enables one category or category group.
type LogSettings struct {
	Category        *string          `json:"category,omitempty"`
	CategoryGroup   *string          `json:"categoryGroup,omitempty"`
	Enabled         *bool            `json:"enabled"`
	RetentionPolicy *RetentionPolicy `json:"retentionPolicy,omitempty"`
}

// MetricSettings enables a metric category (AllMetrics).
type MetricSettings struct {
	TimeGrain       *string          `json:"timeGrain,omitempty"`
	Category        *string          `json:"category,omitempty"`
	Enabled         *bool            `json:"enabled"`
	RetentionPolicy *RetentionPolicy `json:"retentionPolicy,omitempty"`
}

// RetentionPolicy is kept and shown; Azure has retired it, and Bulkhead
// never deletes shipped records.
type RetentionPolicy struct {
	Enabled bool  `json:"enabled"`
	Days    int32 `json:"days"`
}

// storedSetting is a setting's meta document: the served form, and where
// each enabled category's shipping starts.
type storedSetting struct {
	Setting DiagnosticSettingsResource `json:"setting"`
	// Starts maps each enabled log category to where its copy begins.
	Starts map[string]streamStart `json:"starts"`
}

// streamStart is where a category's copy begins: the end of the
// category's stream when the setting enabled it. Epoch changes each time
// a category is enabled anew, so its cursor starts afresh.
type streamStart struct {
	Epoch  string `json:"epoch"`
	File   string `json:"file,omitempty"` // the stream's last file then ("" when it had none)
	Offset int64  `json:"offset"`         // the end of its last complete line
}

// CategoryResource is one diagnostic settings category of a registry.
type CategoryResource struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Properties CategoryProperties `json:"properties"`
}

// CategoryProperties describe a category.
type CategoryProperties struct {
	CategoryType   string   `json:"categoryType"`
	CategoryGroups []string `json:"categoryGroups"`
}
