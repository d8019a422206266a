package keyvault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// DNSSuffix is the domain of vault URIs (Azure's public cloud).
const DNSSuffix = ".vault.azure.net"

var vaultNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// validVaultName applies Azure's vault name rule: 3–24 alphanumerics and
// hyphens, starting with a letter, ending with a letter or digit, with no
// consecutive hyphens.
func validVaultName(s string) bool {
	return vaultNameRE.MatchString(s) && !strings.Contains(s, "--")
}

// VaultURI is the data-plane URI of vault name, as Azure reports it.
func VaultURI(name string) string { return "https://" + strings.ToLower(name) + DNSSuffix + "/" }

func (p *Provider) getVault(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var v Vault
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		_, err := p.loadVault(tx, q.ID, &v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(v), nil
}

func (p *Provider) loadVault(tx meta.Tx, id arm.ID, v *Vault) (meta.Resource, error) {
	return arm.LoadDocument(tx, id.String(), VaultType, v, func() error { return errVaultNotFound(id.Name(), id.ResourceGroup) })
}

// listVaults answers the vaults of the addressed resource group or
// subscription that the caller may read.
func (p *Provider) listVaults(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []Vault{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		if q.ID.ResourceGroup != "" {
			if err := arm.RequireGroup(tx, q.ID); err != nil {
				return err
			}
		}
		rows, err := tx.ListResources(q.ID.String(), VaultType, meta.Page{})
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
			var v Vault
			if _, err := arm.LoadDocument(tx, row.ID, VaultType, &v, func() error { return errdef.ErrNotFound }); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

// putVault creates or replaces a vault (Vaults_CreateOrUpdate): 201 when
// it creates it, 200 when it replaces it. The name must be free across the
// whole service.
func (p *Provider) putVault(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	name := q.ID.Name()
	if !validVaultName(name) {
		return nil, errVaultName(name)
	}
	var in Vault
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if deref(in.Location) == "" {
		return nil, errLocationRequired()
	}
	if in.Properties == nil {
		return nil, errPropertiesRequired()
	}
	if err := validateVault(in.Properties, true); err != nil {
		return nil, err
	}
	return p.writeVault(ctx, q, func(old *Vault) (*Vault, error) {
		next := in
		next.Location = ptr(arm.NormLocation(*in.Location))
		if old == nil {
			if !deref(next.Properties.EnablePurgeProtection) {
				next.Properties.EnablePurgeProtection = nil // off is "not set"
			}
			return &next, nil
		}
		if !strings.EqualFold(deref(old.Location), *next.Location) {
			return nil, errLocationChange(name, deref(old.Location), *in.Location)
		}
		if err := keepPurgeProtection(old.Properties, next.Properties); err != nil {
			return nil, err
		}
		if deref(old.Properties.EnablePurgeProtection) {
			next.Properties.EnablePurgeProtection = ptr(true) // irreversible: a replace that leaves it out keeps it
		}
		return &next, nil
	})
}

// patchVault updates a vault (Vaults_Update): present fields replace the
// stored ones.
func (p *Provider) patchVault(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var in VaultPatchParameters
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if in.Properties != nil {
		if err := validateVault(in.Properties, false); err != nil {
			return nil, err
		}
	}
	return p.writeVault(ctx, q, func(old *Vault) (*Vault, error) {
		if old == nil {
			return nil, errVaultNotFound(q.ID.Name(), q.ID.ResourceGroup)
		}
		next := *old
		if in.Tags != nil {
			next.Tags = in.Tags
		}
		if in.Properties != nil {
			if err := keepPurgeProtection(old.Properties, in.Properties); err != nil {
				return nil, err
			}
			props := mergeVaultProperties(*old.Properties, *in.Properties)
			next.Properties = &props
		}
		return &next, nil
	})
}

// writeVault runs a vault write in one transaction: build turns the
// stored vault (nil when new) into the next one, and writeVault fills in
// the read-only fields and checks the name is free.
func (p *Provider) writeVault(ctx context.Context, q *arm.Request, build func(old *Vault) (*Vault, error)) (*arm.Response, error) {
	id := q.ID.String()
	name := q.ID.Name()
	status := http.StatusCreated
	var before, next *Vault
	now := p.now().UTC()
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		if err := arm.RequireGroup(tx, q.ID); err != nil {
			return err
		}
		var old Vault
		res, err := p.loadVault(tx, q.ID, &old)
		switch {
		case err == nil:
			status, before = http.StatusOK, &old
			name = deref(old.Name)
		case errors.Is(err, errdef.ErrNotFound):
			res.CreatedAt = now
			if _, _, err := vaultByName(tx, name); err == nil {
				return errVaultExists(name)
			} else if !errors.Is(err, errdef.ErrNotFound) {
				return err
			}
		default:
			return err
		}
		if next, err = build(before); err != nil {
			return err
		}
		next.ID, next.Name, next.Type = ptr(id), ptr(name), ptr(VaultType)
		if before != nil {
			next.ID = before.ID
			next.SystemData = before.SystemData.Modified(q.Caller.ClientID, byType(q.Caller), now)
		} else {
			next.SystemData = arm.NewSystemData(q.Caller.ClientID, byType(q.Caller), now)
		}
		vaultDefaults(next.Properties, name)
		return tx.PutResource(meta.Resource{ID: id, Type: VaultType, Document: mustJSON(next), CreatedAt: res.CreatedAt, UpdatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	var was any
	if before != nil {
		was = *before
	}
	return &arm.Response{Status: status, Body: next, Before: was, After: *next}, nil
}

// validateVault checks the properties of a PUT (full) or a PATCH
// (partial) and canonicalises what it can.
func validateVault(in *VaultProperties, full bool) error {
	if full || in.TenantID != nil {
		tid := deref(in.TenantID)
		u, err := uuid.Parse(tid)
		if err != nil || len(tid) != 36 {
			return errTenantID(tid)
		}
		in.TenantID = ptr(u.String())
	}
	if full && in.SKU == nil {
		return errSKURequired()
	}
	if in.SKU != nil {
		if in.SKU.Name == nil {
			return errSKUName("")
		}
		if in.SKU.Family == nil {
			in.SKU.Family = ptr(SKUFamilyA)
		}
	}
	for i, ap := range in.AccessPolicies {
		if _, err := uuid.Parse(deref(ap.TenantID)); err != nil {
			return errAccessPolicy(i, "tenantId")
		}
		if deref(ap.ObjectID) == "" {
			return errAccessPolicy(i, "objectId")
		}
	}
	if d := in.SoftDeleteRetentionInDays; d != nil && (*d < 7 || *d > 90) {
		return errRetention(*d)
	}
	if a := in.PublicNetworkAccess; a != nil {
		switch {
		case strings.EqualFold(*a, "enabled"):
			in.PublicNetworkAccess = ptr("Enabled")
		case strings.EqualFold(*a, "disabled"):
			in.PublicNetworkAccess = ptr("Disabled")
		default:
			return errPublicNetworkAccess(*a)
		}
	}
	in.CreateMode, in.VaultURI, in.ProvisioningState = nil, nil, nil
	return nil
}

// keepPurgeProtection refuses to turn purge protection off once it is on.
func keepPurgeProtection(old, next *VaultProperties) error {
	if deref(old.EnablePurgeProtection) && next.EnablePurgeProtection != nil && !*next.EnablePurgeProtection {
		return errPurgeProtection()
	}
	return nil
}

// vaultDefaults fills in Azure's defaults and the read-only properties.
func vaultDefaults(v *VaultProperties, name string) {
	if v.AccessPolicies == nil {
		v.AccessPolicies = []AccessPolicyEntry{}
	}
	for _, b := range []**bool{&v.EnabledForDeployment, &v.EnabledForDiskEncryption, &v.EnabledForTemplateDeployment, &v.EnableRbacAuthorization} {
		if *b == nil {
			*b = ptr(false)
		}
	}
	if v.EnableSoftDelete == nil {
		v.EnableSoftDelete = ptr(true)
	}
	if v.SoftDeleteRetentionInDays == nil {
		v.SoftDeleteRetentionInDays = ptr(int32(90))
	}
	if v.PublicNetworkAccess == nil {
		v.PublicNetworkAccess = ptr("Enabled")
	}
	v.VaultURI = ptr(VaultURI(name))
	v.ProvisioningState = ptr("Succeeded")
	v.CreateMode = nil
}

// mergeVaultProperties applies a PATCH's present fields to old.
func mergeVaultProperties(old, in VaultProperties) VaultProperties {
	next := old
	set := func(dst **bool, src *bool) {
		if src != nil {
			*dst = src
		}
	}
	if in.TenantID != nil {
		next.TenantID = in.TenantID
	}
	if in.SKU != nil {
		next.SKU = in.SKU
	}
	if in.AccessPolicies != nil {
		next.AccessPolicies = in.AccessPolicies
	}
	set(&next.EnabledForDeployment, in.EnabledForDeployment)
	set(&next.EnabledForDiskEncryption, in.EnabledForDiskEncryption)
	set(&next.EnabledForTemplateDeployment, in.EnabledForTemplateDeployment)
	set(&next.EnableSoftDelete, in.EnableSoftDelete)
	set(&next.EnableRbacAuthorization, in.EnableRbacAuthorization)
	set(&next.EnablePurgeProtection, in.EnablePurgeProtection)
	if in.SoftDeleteRetentionInDays != nil {
		next.SoftDeleteRetentionInDays = in.SoftDeleteRetentionInDays
	}
	if in.NetworkACLs != nil {
		next.NetworkACLs = in.NetworkACLs
	}
	if in.PublicNetworkAccess != nil {
		next.PublicNetworkAccess = in.PublicNetworkAccess
	}
	return next
}

// deleteVault deletes a vault with its secrets (Vaults_Delete): 200 when
// it deleted one, 204 when there was none.
func (p *Provider) deleteVault(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var before Vault
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := p.loadVault(tx, q.ID, &before); err != nil {
			return err
		}
		secrets, err := tx.ListResources(q.ID.String(), SecretType, meta.Page{})
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if err := tx.DeleteResource(s.ID); err != nil {
				return err
			}
		}
		return tx.DeleteResource(q.ID.String())
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return &arm.Response{Status: http.StatusNoContent}, nil
	case err != nil:
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Before: before}, nil
}

// checkName serves Vaults_CheckNameAvailability.
func (p *Provider) checkName(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var in struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := q.Decode(&in); err != nil {
		return nil, err
	}
	if !strings.EqualFold(in.Type, VaultType) {
		return nil, errCheckNameType(in.Type)
	}
	if !validVaultName(in.Name) {
		return arm.OK(map[string]any{"nameAvailable": false, "reason": "AccountNameInvalid",
			"message": fmt.Sprintf("Vault name '%s' is invalid: 3-24 alphanumeric characters and hyphens, starting with a letter, ending with a letter or digit, without consecutive hyphens.", in.Name)}), nil
	}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		_, _, err := vaultByName(tx, in.Name)
		return err
	})
	switch {
	case err == nil:
		return arm.OK(map[string]any{"nameAvailable": false, "reason": "AlreadyExists",
			"message": fmt.Sprintf("The vault name '%s' is already in use.", in.Name)}), nil
	case errors.Is(err, errdef.ErrNotFound):
		return arm.OK(map[string]any{"nameAvailable": true}), nil
	}
	return nil, err
}

// byType is the systemData kind of a caller.
func byType(c authz.Caller) arm.CreatedByType {
	if strings.EqualFold(c.Kind, "User") {
		return arm.CreatedByTypeUser
	}
	return arm.CreatedByTypeApplication
}
