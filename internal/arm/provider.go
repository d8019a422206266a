package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Helpers every small provider needs alike (Microsoft.Network,
// Microsoft.KeyVault, Microsoft.Storage and Microsoft.Insights): the
// provider metadata az reads, the resource group check, and the typed
// read of a stored document.

// ProviderInfo answers GET /subscriptions/{s}/providers/{namespace}: the
// metadata az reads to pick an api-version for its generic resource
// commands. versions are oldest first; the answer lists them newest first,
// as ARM does.
func ProviderInfo(namespace string, versions []string, types ...string) Handler {
	newest := make([]string, len(versions))
	for i, v := range versions {
		newest[len(versions)-1-i] = v
	}
	return func(_ context.Context, q *Request) (*Response, error) {
		out := make([]map[string]any, 0, len(types))
		for _, t := range types {
			out = append(out, map[string]any{"resourceType": t, "locations": []string{"West US"}, "apiVersions": newest})
		}
		return OK(map[string]any{
			"id": "/subscriptions/" + q.ID.Subscription + "/providers/" + namespace, "namespace": namespace,
			"registrationState": "Registered", "resourceTypes": out,
		}), nil
	}
}

// ErrGroupNotFound is ARM's 404 for a resource group that does not exist.
func ErrGroupNotFound(rg string) error {
	return Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg).WithCause(errdef.ErrNotFound)
}

// RequireGroup fails with ResourceGroupNotFound unless the group of id
// exists.
func RequireGroup(tx meta.Tx, id ID) error {
	_, err := tx.GetResource(ResourceGroupID(id.Subscription, id.ResourceGroup).String())
	if errors.Is(err, errdef.ErrNotFound) {
		return ErrGroupNotFound(id.ResourceGroup)
	}
	return err
}

// LoadDocument reads the stored document of type typ at id into v;
// notFound is the error for a missing one (or one of another type).
func LoadDocument(tx meta.Tx, id, typ string, v any, notFound func() error) (meta.Resource, error) {
	res, err := tx.GetResource(id)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(res.Type, typ) {
		return res, notFound()
	}
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(res.Document, v); err != nil {
		return res, fmt.Errorf("%s document %s: %w", typ, id, err)
	}
	return res, nil
}

// ListTracked lists the resources of type typ under scope for the generic
// resource list, keeping those the caller may read (readable, with
// typ/read) and describing each with describe. A request for another
// type (want) lists none.
func ListTracked(tx meta.Tx, scope, typ, want string, readable func(id, action string) (bool, error),
	describe func(doc []byte) (GenericResource, error)) ([]GenericResource, error) {
	if want != "" && !strings.EqualFold(want, typ) {
		return nil, nil
	}
	rows, err := tx.ListResources(scope, typ, meta.Page{})
	if err != nil {
		return nil, err
	}
	var out []GenericResource
	for _, row := range rows {
		ok, err := readable(row.ID, typ+"/read")
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		g, err := describe(row.Document)
		if err != nil {
			return nil, fmt.Errorf("%s document %s: %w", typ, row.ID, err)
		}
		g.Type = typ
		out = append(out, g)
	}
	return out, nil
}
