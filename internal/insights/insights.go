// Package insights is what Bulkhead serves of Microsoft.Insights and
// Microsoft.Storage: storage accounts (as destinations), diagnostic
// settings of registries, their log categories, and the activity log of
// management writes; and the shipper that copies a registry's resource
// logs from the local audit store (package audit) to the storage account
// its diagnostic settings name.
//
// A storage account is local, a directory under the data dir
// (<data>/storage/<account>/), unless properties.bulkheadBlobEndpoint (a
// Bulkhead extension) says where its blob service really is; the key or
// SAS token to reach it (bulkheadAccountKey, bulkheadSasToken) is
// write-only: it is kept apart from the served document, sealed when a
// seal key is configured, and never answered, logged or shown to the
// router's write hook.
package insights

import (
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Namespaces and resource types, as ARM spells them.
const (
	StorageNamespace  = "Microsoft.Storage"
	InsightsNamespace = "Microsoft.Insights"
	AccountType       = StorageNamespace + "/storageAccounts"
	SettingType       = InsightsNamespace + "/diagnosticSettings"
	CategoryType      = InsightsNamespace + "/diagnosticSettingsCategories"
	EventType         = InsightsNamespace + "/eventtypes/values"
	registryType      = "Microsoft.ContainerRegistry/registries"
)

// storageVersions are the Microsoft.Storage versions az and the SDKs of
// the last years send for storage accounts.
var storageVersions = []string{
	"2019-06-01", "2021-01-01", "2021-02-01", "2021-04-01", "2021-06-01", "2021-08-01", "2021-09-01",
	"2022-05-01", "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01", "2024-01-01",
}

// settingVersions are the diagnostic settings versions (az 2.45 sends
// 2021-05-01-preview).
var settingVersions = []string{"2016-09-01", "2017-05-01-preview", "2021-05-01-preview"}

// eventVersions are the activity log's versions.
var eventVersions = []string{"2015-04-01"}

// Options configure the provider. Meta is required.
type Options struct {
	// Meta is where storage accounts, diagnostic settings and registries
	// live.
	Meta meta.Store
	// AuditDir is the audit log's directory (audit.Log.Dir), read by the
	// activity log and by new diagnostic settings to find where each
	// stream ends. Empty: the activity log is empty and settings start
	// at the beginning of streams that appear later.
	AuditDir string
	// StorageDir is where local storage accounts keep their containers
	// (<data>/storage); it shows in their primaryEndpoints.blob.
	StorageDir string
	// SealKey, when set, encrypts account keys and SAS tokens at rest
	// (AES-256-GCM, a key derived from it; at least 16 bytes). The
	// shipper must be given the same key.
	SealKey []byte
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Provider serves Microsoft.Storage and Microsoft.Insights resources. It
// is safe for concurrent use; all state lives in meta and the audit
// directory.
type Provider struct {
	meta       meta.Store
	auditDir   string
	storageDir string
	aead       cipher.AEAD // nil: credentials are stored unsealed
	now        func() time.Time
}

// New returns the provider. It fails only on a SealKey that is set but
// too short.
func New(o Options) (*Provider, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	aead, err := newAEAD(o.SealKey)
	if err != nil {
		return nil, err
	}
	return &Provider{meta: o.Meta, auditDir: o.AuditDir, storageDir: o.StorageDir, aead: aead, now: o.Now}, nil
}

// Table declares the provider's routes for arm's router (DESIGN.md "The
// front door"): storage accounts, diagnostic settings of registries and
// their categories, and the activity log. No route moves artifact
// content: the shipper copies audit records, never artifacts.
func (p *Provider) Table() arm.Table {
	const (
		sub       = "/subscriptions/{sub}"
		rg        = sub + "/resourceGroups/{rg}"
		accounts  = "/providers/" + AccountType
		account   = rg + accounts + "/{account}"
		registry  = rg + "/providers/" + registryType + "/{registry}"
		settings  = registry + "/providers/" + SettingType
		setting   = settings + "/{name}"
		accRead   = AccountType + "/read"
		setRead   = SettingType + "/read"
		catRead   = CategoryType + "/read"
		anyCaller = "provider metadata lists resource types and api-versions, the same for every caller; it names no resource"
	)
	av := arm.APIVersions(AccountType, storageVersions...)
	sv := arm.APIVersions(SettingType, settingVersions...)
	cv := arm.APIVersions(CategoryType, settingVersions...)
	ev := arm.APIVersions(EventType, eventVersions...)
	none := arm.MovesNoContent("storage accounts, diagnostic settings and the activity log hold audit records, never artifacts; " +
		"the shipper copies a registry's resource logs, which name artifacts but carry none of their bytes")
	listed := arm.PerItem("lists show only the storage accounts the caller may read, as ARM does")
	routes := []arm.Route{
		{Method: "GET", Pattern: sub + accounts, Versions: av, Action: accRead, Access: listed, Egress: none, Handle: p.listAccounts},
		{Method: "GET", Pattern: rg + accounts, Versions: av, Action: accRead, Access: listed, Egress: none, Handle: p.listAccounts},
		{Method: "GET", Pattern: account, Versions: av, Action: accRead, Egress: none, Handle: p.getAccount},
		{Method: "PUT", Pattern: account, Versions: av, Action: AccountType + "/write", Egress: none, Handle: p.putAccount},
		{Method: "DELETE", Pattern: account, Versions: av, Action: AccountType + "/delete", Egress: none, Handle: p.deleteAccount},
		{Method: "GET", Pattern: settings, Versions: sv, Action: setRead, Egress: none, Handle: p.listSettings},
		{Method: "GET", Pattern: setting, Versions: sv, Action: setRead, Egress: none, Handle: p.getSetting},
		{Method: "PUT", Pattern: setting, Versions: sv, Action: SettingType + "/write", Egress: none, Handle: p.putSetting},
		{Method: "DELETE", Pattern: setting, Versions: sv, Action: SettingType + "/delete", Egress: none, Handle: p.deleteSetting},
		{Method: "GET", Pattern: registry + "/providers/" + CategoryType, Versions: cv, Action: catRead, Egress: none, Handle: p.listCategories},
		{Method: "GET", Pattern: registry + "/providers/" + CategoryType + "/{category}", Versions: cv, Action: catRead, Egress: none, Handle: p.getCategory},
		{Method: "GET", Pattern: sub + "/providers/" + InsightsNamespace + "/eventtypes/management/values", Versions: ev, Action: EventType + "/read",
			Access: arm.PerItem("the action is checked at the narrowest scope the $filter names (resource, group or subscription), " +
				"and records outside that scope are never read"),
			Egress: none, Handle: p.listEvents},
		{Method: "GET", Pattern: sub + "/providers/" + LogsType, Versions: arm.APIVersions(LogsType, settingVersions...), Action: LogsType + "/read",
			Access: arm.PerItem("the action is checked at the narrowest scope the query names (a resource or the subscription), " +
				"and records outside that scope are never read"),
			Egress: none, Handle: p.queryLogs},
		// az reads the provider metadata with the Microsoft.Resources
		// api-version of its generic resource commands, not ours.
		{Method: "GET", Pattern: sub + "/providers/" + StorageNamespace, Versions: arm.AnyAPIVersion(), Access: arm.AnyCaller(anyCaller),
			Egress: none, Handle: arm.ProviderInfo(StorageNamespace, storageVersions, "storageAccounts")},
		{Method: "GET", Pattern: sub + "/providers/" + InsightsNamespace, Versions: arm.AnyAPIVersion(), Access: arm.AnyCaller(anyCaller),
			Egress: none, Handle: arm.ProviderInfo(InsightsNamespace, settingVersions, "diagnosticSettings", "diagnosticSettingsCategories")},
	}
	return arm.Table{Name: StorageNamespace + " and " + InsightsNamespace, Routes: routes}
}

// byType is the systemData kind of a caller.
func byType(c authz.Caller) arm.CreatedByType {
	if strings.EqualFold(c.Kind, "User") {
		return arm.CreatedByTypeUser
	}
	return arm.CreatedByTypeApplication
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
