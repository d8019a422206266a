package insights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

var accountNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// skuNames and kinds are Microsoft.Storage's, in their canonical casing.
var (
	skuNames = []string{"Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS",
		"Standard_GZRS", "Standard_RAGZRS"}
	kinds = []string{"Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage"}
)

// readOnlyProps are the account properties the service sets; a client's
// values (az resource update echoes them) are dropped.
var readOnlyProps = []string{"provisioningState", "primaryEndpoints", "primaryLocation", "statusOfPrimary", "creationTime",
	"secondaryEndpoints", "secondaryLocation", "statusOfSecondary", "keyCreationTime", propCredential}

func canonical(got string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(a, got) {
			return a, true
		}
	}
	return "", false
}

func (p *Provider) getAccount(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var s storedAccount
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		_, err := loadAccount(tx, q.ID, &s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(s.Account), nil
}

func loadAccount(tx meta.Tx, id arm.ID, s *storedAccount) (meta.Resource, error) {
	return arm.LoadDocument(tx, id.String(), AccountType, s, func() error { return errResourceNotFound(AccountType, id.Name(), id.ResourceGroup) })
}

// listAccounts answers the accounts of the addressed subscription or
// resource group that the caller may read.
func (p *Provider) listAccounts(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []StorageAccount{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if q.ID.ResourceGroup != "" {
			if err := arm.RequireGroup(tx, q.ID); err != nil {
				return err
			}
		}
		rows, err := tx.ListResources(q.ID.String(), AccountType, meta.Page{})
		if err != nil {
			return err
		}
		for _, row := range rows {
			if ok, err := q.Allowed(tx, row.ID); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			var s storedAccount
			if err := json.Unmarshal(row.Document, &s); err != nil {
				return fmt.Errorf("%s document %s: %w", AccountType, row.ID, err)
			}
			out = append(out, s.Account)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

// accountInput is what a PUT asks for, checked.
type accountInput struct {
	account  StorageAccount
	endpoint string
	// credKind and cred are the credential given (credKind "" when none
	// was sent; cred "" with a kind clears the stored one).
	credKind, cred string
}

// putAccount creates or replaces a storage account
// (StorageAccounts_Create). It answers 200 either way: the SDK's Create
// accepts 200 and 202 only.
func (p *Provider) putAccount(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	name := q.ID.Name()
	if !accountNameRE.MatchString(name) {
		return nil, errAccountName(name)
	}
	var in StorageAccount
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	input, err := checkAccount(in)
	if err != nil {
		return nil, err
	}
	id := q.ID.String()
	now := p.now().UTC()
	var before *StorageAccount
	var next storedAccount
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		if err := arm.RequireGroup(tx, q.ID); err != nil {
			return err
		}
		var old storedAccount
		res, err := loadAccount(tx, q.ID, &old)
		switch {
		case err == nil:
			before = &old.Account
			name = deref(old.Account.Name)
		case errors.Is(err, errdef.ErrNotFound):
			res.CreatedAt = now
			if taken, err := accountNameTaken(tx, name); err != nil || taken {
				if err != nil {
					return err
				}
				return errAccountTaken(name)
			}
		default:
			return err
		}
		if before != nil && !strings.EqualFold(deref(before.Location), deref(input.account.Location)) {
			return errLocationChange(name, deref(before.Location), deref(input.account.Location))
		}
		if next, err = p.nextAccount(old, before != nil, input, id, name); err != nil {
			return err
		}
		acc := &next.Account
		if before != nil {
			acc.SystemData = before.SystemData.Modified(q.Caller.ClientID, byType(q.Caller), now)
			acc.Properties["creationTime"] = before.Properties["creationTime"]
		} else {
			acc.SystemData = arm.NewSystemData(q.Caller.ClientID, byType(q.Caller), now)
			acc.Properties["creationTime"] = mustJSON(now)
		}
		return tx.PutResource(meta.Resource{ID: id, Type: AccountType, Document: mustJSON(next), CreatedAt: res.CreatedAt, UpdatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	var was any
	if before != nil {
		was = *before
	}
	return &arm.Response{Status: http.StatusOK, Body: next.Account, Before: was, After: next.Account}, nil
}

// nextAccount builds the stored account from the input and, when exists,
// the stored one. A credential the PUT leaves out is kept while the
// endpoint stays the same, and dropped when it changes: a key is never
// sent to an endpoint it was not given for.
func (p *Provider) nextAccount(old storedAccount, exists bool, in accountInput, id, name string) (storedAccount, error) {
	next := storedAccount{Account: in.account, Endpoint: in.endpoint}
	switch {
	case in.credKind != "" && in.cred != "":
		sealed, err := seal(p.aead, in.cred, id, in.credKind)
		if err != nil {
			return next, err
		}
		next.CredentialKind, next.Sealed = in.credKind, sealed
	case in.credKind == "" && exists && old.Endpoint == in.endpoint:
		next.CredentialKind, next.Sealed = old.CredentialKind, old.Sealed
	}
	acc := &next.Account
	acc.ID, acc.Name, acc.Type = ptr(id), ptr(name), ptr(AccountType)
	props := acc.Properties
	props["provisioningState"] = mustJSON("Succeeded")
	props["primaryLocation"] = mustJSON(deref(acc.Location))
	props["statusOfPrimary"] = mustJSON("available")
	blob := "https://" + name + ".blob.core.windows.net/"
	if in.endpoint != "" {
		blob = in.endpoint + "/"
		props[propEndpoint] = mustJSON(in.endpoint)
		kind := next.CredentialKind
		if kind == "" {
			kind = credNone
		}
		props[propCredential] = mustJSON(kind)
	} else if p.storageDir != "" {
		blob = (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(p.storageDir, name)) + "/"}).String()
	}
	props["primaryEndpoints"] = mustJSON(map[string]string{"blob": blob})
	return next, nil
}

// checkAccount validates a PUT body and splits Bulkhead's extension
// properties off it.
func checkAccount(in StorageAccount) (accountInput, error) {
	out := accountInput{account: StorageAccount{Tags: in.Tags, Properties: map[string]json.RawMessage{}}}
	if deref(in.Location) == "" {
		return out, errLocationRequired()
	}
	out.account.Location = ptr(arm.NormLocation(*in.Location))
	if in.SKU == nil {
		return out, errAccountValue("sku.name", "", skuNames)
	}
	sku, ok := canonical(deref(in.SKU.Name), skuNames)
	if !ok {
		return out, errAccountValue("sku.name", deref(in.SKU.Name), skuNames)
	}
	tier, _, _ := strings.Cut(sku, "_")
	out.account.SKU = &StorageSKU{Name: ptr(sku), Tier: ptr(tier)}
	kind, ok := canonical(deref(in.Kind), kinds)
	if !ok {
		return out, errAccountValue("kind", deref(in.Kind), kinds)
	}
	out.account.Kind = ptr(kind)
	for k, v := range in.Properties {
		out.account.Properties[k] = v
	}
	for _, k := range readOnlyProps {
		delete(out.account.Properties, k)
	}
	ext := map[string]string{}
	for _, k := range []string{propEndpoint, propKey, propSAS} {
		raw, ok := takeProp(out.account.Properties, k)
		if !ok {
			continue
		}
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			return out, errExtension(k, "must be a string")
		}
		if s != nil {
			ext[k] = strings.TrimSpace(*s)
		}
	}
	var err error
	if out.endpoint, err = checkEndpoint(ext[propEndpoint]); err != nil {
		return out, err
	}
	key, hasKey := ext[propKey]
	sas, hasSAS := ext[propSAS]
	switch {
	case key != "" && sas != "":
		return out, errExtension(propKey, "give an account key or a SAS token, not both")
	case (key != "" || sas != "") && out.endpoint == "":
		return out, errExtension(propEndpoint, "a credential needs the blob endpoint it is for; a local account (no endpoint) needs none")
	case key != "":
		if err := checkKey(key, out.endpoint); err != nil {
			return out, err
		}
		out.credKind, out.cred = credKey, key
	case sas != "":
		if err := checkSAS(sas); err != nil {
			return out, err
		}
		out.credKind, out.cred = credSAS, strings.TrimPrefix(sas, "?")
	case hasKey:
		out.credKind = credKey // "" clears the stored credential
	case hasSAS:
		out.credKind = credSAS
	}
	return out, nil
}

// takeProp removes a property, matching its name case-insensitively as
// encoding/json would.
func takeProp(m map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			delete(m, k)
			return v, true
		}
	}
	return nil, false
}

// accountNameTaken reports whether an account of that name exists
// anywhere in the service: account names are global, as their DNS names
// are on Azure.
func accountNameTaken(tx meta.Tx, name string) (bool, error) {
	rows, err := tx.ListResources("", AccountType, meta.Page{})
	if err != nil {
		return false, err
	}
	for _, row := range rows {
		if id, err := arm.ParseID(row.ID); err == nil && strings.EqualFold(id.Name(), name) {
			return true, nil
		}
	}
	return false, nil
}

// deleteAccount deletes a storage account (StorageAccounts_Delete): 200
// when it deleted one, 204 when there was none. A local account's files
// stay on disk: they are audit records, which Bulkhead never deletes.
func (p *Provider) deleteAccount(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var before storedAccount
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := loadAccount(tx, q.ID, &before); err != nil {
			return err
		}
		return tx.DeleteResource(q.ID.String())
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return &arm.Response{Status: http.StatusNoContent}, nil
	case err != nil:
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Before: before.Account}, nil
}
