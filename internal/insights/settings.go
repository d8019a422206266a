package insights

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// MaxSettings is Azure's limit of diagnostic settings per resource.
const MaxSettings = 5

// linkedAction is what the writer of a setting needs on its storage
// account: the shipper writes there with the account's own key.
const linkedAction = AccountType + "/listKeys/action"

// logCategories are a registry's resource log categories (acr-api.md
// §13); both belong to the allLogs and audit category groups.
var (
	logCategories  = []string{audit.CategoryRepository, audit.CategoryLogin}
	categoryGroups = []string{"allLogs", "audit"}
)

const allMetrics = "AllMetrics"

// requireRegistry finds the registry id names, or answers as ARM does for
// a missing group or registry.
func requireRegistry(tx meta.Tx, id arm.ID) (meta.Registry, error) {
	if err := arm.RequireGroup(tx, id); err != nil {
		return meta.Registry{}, err
	}
	reg, err := tx.RegistryByName(id.Name())
	if err == nil && (!strings.EqualFold(reg.SubscriptionID, id.Subscription) || !strings.EqualFold(reg.ResourceGroup, id.ResourceGroup)) {
		err = errdef.ErrNotFound
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return reg, errResourceNotFound(registryType, id.Name(), id.ResourceGroup)
	}
	return reg, err
}

func loadSetting(tx meta.Tx, id arm.ID, s *storedSetting) (meta.Resource, error) {
	return arm.LoadDocument(tx, id.String(), SettingType, s, func() error { return errSettingNotFound(id.Name()) })
}

func (p *Provider) getSetting(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var s storedSetting
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := requireRegistry(tx, *q.ID.Extends); err != nil {
			return err
		}
		_, err := loadSetting(tx, q.ID, &s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(s.Setting), nil
}

// listSettings answers a registry's diagnostic settings.
func (p *Provider) listSettings(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []DiagnosticSettingsResource{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := requireRegistry(tx, q.ID); err != nil {
			return err
		}
		rows, err := settingsOf(tx, q.ID.String())
		if err != nil {
			return err
		}
		for _, s := range rows {
			out = append(out, s.Setting)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

// settingsOf reads the diagnostic settings of the resource id.
func settingsOf(tx meta.Tx, id string) ([]storedSetting, error) {
	rows, err := tx.ListResources(id, SettingType, meta.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]storedSetting, 0, len(rows))
	for _, row := range rows {
		var s storedSetting
		if err := json.Unmarshal(row.Document, &s); err != nil {
			return nil, fmt.Errorf("%s document %s: %w", SettingType, row.ID, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// putSetting creates or replaces a diagnostic setting
// (DiagnosticSettings_CreateOrUpdate). It answers 200 either way: az
// accepts nothing else. A category the setting enables anew starts at
// the current end of its stream: records from before are not copied.
func (p *Provider) putSetting(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	name := q.ID.Name()
	if !validSettingName(name) {
		return nil, errSettingName(name)
	}
	var in DiagnosticSettingsResource
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if in.Properties == nil {
		return nil, errPropertiesRequired()
	}
	props, enabled, err := checkSetting(*in.Properties)
	if err != nil {
		return nil, err
	}
	accountID, err := arm.ParseID(deref(props.StorageAccountID))
	if err != nil || !strings.EqualFold(accountID.ResourceType(), AccountType) || accountID.ResourceGroup == "" {
		return nil, errStorageAccountID(deref(props.StorageAccountID))
	}
	regID := *q.ID.Extends
	id := q.ID.String()
	now := p.now().UTC()
	var before *DiagnosticSettingsResource
	var next storedSetting
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		reg, err := requireRegistry(tx, regID)
		if err != nil {
			return err
		}
		var acc storedAccount
		if _, err := loadAccount(tx, accountID, &acc); errors.Is(err, errdef.ErrNotFound) {
			return errStorageAccountMissing(deref(props.StorageAccountID))
		} else if err != nil {
			return err
		}
		if err := q.Authorize(tx, accountID.String(), linkedAction); errors.Is(err, errdef.ErrDenied) {
			return errLinkedAuthorization(q.Caller.ClientID, q.Caller.ObjectID, linkedAction, accountID.String())
		} else if err != nil {
			return err
		}
		var old storedSetting
		res, err := loadSetting(tx, q.ID, &old)
		switch {
		case err == nil:
			before = &old.Setting
			name = deref(old.Setting.Name)
		case errors.Is(err, errdef.ErrNotFound):
			res.CreatedAt = now
		default:
			return err
		}
		others, err := settingsOf(tx, regID.String())
		if err != nil {
			return err
		}
		if err := checkSiblings(others, id, before == nil, accountID, enabled); err != nil {
			return err
		}
		next = storedSetting{Starts: map[string]streamStart{}}
		for _, c := range enabled {
			if s, ok := old.Starts[c]; ok {
				next.Starts[c] = s
				continue
			}
			if next.Starts[c], err = p.streamEnd(c, reg.ResourceID); err != nil {
				return err
			}
		}
		props.StorageAccountID = ptr(accountID.String())
		next.Setting = DiagnosticSettingsResource{ID: ptr(id), Name: ptr(name), Type: ptr(SettingType), Properties: &props}
		if before != nil {
			next.Setting.ID = before.ID
			next.Setting.SystemData = before.SystemData.Modified(q.Caller.ClientID, byType(q.Caller), now)
		} else {
			next.Setting.SystemData = arm.NewSystemData(q.Caller.ClientID, byType(q.Caller), now)
		}
		return tx.PutResource(meta.Resource{ID: id, Type: SettingType, Document: mustJSON(next), CreatedAt: res.CreatedAt, UpdatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	var was any
	if before != nil {
		was = *before
	}
	return &arm.Response{Status: http.StatusOK, Body: next.Setting, Before: was, After: next.Setting}, nil
}

// checkSiblings applies Azure's rules across a resource's settings: at
// most MaxSettings, and no destination used twice for one category.
func checkSiblings(others []storedSetting, id string, creating bool, account arm.ID, enabled []string) error {
	if creating && len(others) >= MaxSettings {
		return errTooManySettings(MaxSettings)
	}
	for _, o := range others {
		if strings.EqualFold(deref(o.Setting.ID), id) || !strings.EqualFold(deref(o.Setting.Properties.StorageAccountID), account.String()) {
			continue
		}
		for _, c := range enabled {
			if _, ok := o.Starts[c]; ok {
				return errSinkReused(account.String(), deref(o.Setting.Name), c)
			}
		}
	}
	return nil
}

// checkSetting validates a setting's properties, canonicalises their
// names and returns the log categories it enables.
func checkSetting(in DiagnosticSettings) (DiagnosticSettings, []string, error) {
	for field, v := range map[string]*string{"workspaceId": in.WorkspaceID, "eventHubAuthorizationRuleId": in.EventHubAuthorizationRuleID,
		"serviceBusRuleId": in.ServiceBusRuleID, "marketplacePartnerId": in.MarketplacePartnerID, "eventHubName": in.EventHubName} {
		if deref(v) != "" {
			return in, nil, errUnsupportedDestination(field)
		}
	}
	if deref(in.StorageAccountID) == "" {
		return in, nil, errNoDestination()
	}
	if len(in.Logs) == 0 && len(in.Metrics) == 0 {
		return in, nil, errNoCategories()
	}
	out := DiagnosticSettings{StorageAccountID: in.StorageAccountID, LogAnalyticsDestinationType: in.LogAnalyticsDestinationType,
		Logs: []LogSettings{}, Metrics: []MetricSettings{}}
	seen := map[string]bool{}
	on := map[string]bool{}
	for i, l := range in.Logs {
		cat, group := deref(l.Category), deref(l.CategoryGroup)
		switch {
		case cat != "" && group != "":
			return in, nil, errLogEntry("logs", i, "set either category or categoryGroup, not both")
		case cat == "" && group == "":
			return in, nil, errLogEntry("logs", i, "set category or categoryGroup")
		case l.Enabled == nil:
			return in, nil, errLogEntry("logs", i, "enabled is required (true or false)")
		}
		entry := LogSettings{Enabled: l.Enabled, RetentionPolicy: retention(l.RetentionPolicy)}
		covers := logCategories
		if cat != "" {
			c, ok := canonical(cat, logCategories)
			if !ok {
				return in, nil, errUnknownCategory(cat)
			}
			entry.Category, covers = ptr(c), []string{c}
		} else {
			g, ok := canonical(group, categoryGroups)
			if !ok {
				return in, nil, errUnknownCategoryGroup(group)
			}
			entry.CategoryGroup = ptr(g)
		}
		key := deref(entry.Category) + deref(entry.CategoryGroup)
		if seen[key] {
			return in, nil, errDuplicateCategory(key)
		}
		seen[key] = true
		if *l.Enabled {
			for _, c := range covers {
				on[c] = true
			}
		}
		out.Logs = append(out.Logs, entry)
	}
	for i, m := range in.Metrics {
		switch {
		case deref(m.Category) == "":
			return in, nil, errLogEntry("metrics", i, "category is required (AllMetrics)")
		case !strings.EqualFold(*m.Category, allMetrics):
			return in, nil, errUnknownMetric(*m.Category)
		case m.Enabled == nil:
			return in, nil, errLogEntry("metrics", i, "enabled is required (true or false)")
		case seen[allMetrics]:
			return in, nil, errDuplicateCategory(allMetrics)
		}
		seen[allMetrics] = true
		out.Metrics = append(out.Metrics, MetricSettings{TimeGrain: m.TimeGrain, Category: ptr(allMetrics), Enabled: m.Enabled,
			RetentionPolicy: retention(m.RetentionPolicy)})
	}
	var enabled []string
	for _, c := range logCategories {
		if on[c] {
			enabled = append(enabled, c)
		}
	}
	return out, enabled, nil
}

// retention is the retention policy shown: Azure's default when none.
func retention(r *RetentionPolicy) *RetentionPolicy {
	if r == nil {
		return &RetentionPolicy{}
	}
	return &RetentionPolicy{Enabled: r.Enabled, Days: max(r.Days, 0)}
}

func validSettingName(name string) bool {
	if name == "" || len(name) > 260 {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>*%&:\?+/#`, r) {
			return false
		}
	}
	return true
}

// streamEnd is where a category's stream of a registry ends now: its last
// file and the end of that file's last complete line.
func (p *Provider) streamEnd(category, registryID string) (streamStart, error) {
	epoch := make([]byte, 8)
	if _, err := rand.Read(epoch); err != nil {
		return streamStart{}, err
	}
	s := streamStart{Epoch: hex.EncodeToString(epoch)}
	if p.auditDir == "" {
		return s, nil
	}
	files, err := audit.StreamFiles(p.auditDir, category, registryID)
	if err != nil || len(files) == 0 {
		return s, err
	}
	s.File = files[len(files)-1]
	s.Offset, err = completeEnd(fileIn(p.auditDir, s.File))
	return s, err
}

// deleteSetting deletes a diagnostic setting: 200 when it deleted one,
// 204 when there was none. A setting outlives its registry, as on Azure,
// and can still be deleted once the registry is gone.
func (p *Provider) deleteSetting(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var before storedSetting
	absent := false
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		_, err := loadSetting(tx, q.ID, &before)
		absent = errors.Is(err, errdef.ErrNotFound)
		if absent {
			_, err = requireRegistry(tx, *q.ID.Extends)
			return err
		}
		if err != nil {
			return err
		}
		return tx.DeleteResource(q.ID.String())
	})
	switch {
	case err != nil:
		return nil, err
	case absent:
		return &arm.Response{Status: http.StatusNoContent}, nil
	}
	return &arm.Response{Status: http.StatusOK, Before: before.Setting}, nil
}
