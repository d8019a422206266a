package acr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// derivePage is how many registries DeriveFacts reads per transaction.
const derivePage = 100

// legacyViewSuffix named the resource in which older versions kept a
// registry's private subnets; the PrivateSubnets fact replaces it.
const legacyViewSuffix = "/networkAccess/default"

// DeriveFacts brings every registry row to the current facts: rows
// written before facts existed (or by an older factsOf) get their facts
// derived from their documents, and private endpoint connections kept in
// those documents move into connection rows. Call it at start, before
// serving: until then such rows read as unknown, and readers fail closed.
// Each registry is its own transaction; a registry that fails is named in
// the returned error and the others are still derived. Rows already
// current are only read, so the call is cheap after the first start.
func DeriveFacts(ctx context.Context, store meta.Store) error {
	var errs []error
	after := ""
	for {
		var page []meta.Registry
		if err := store.View(ctx, func(tx meta.Tx) (err error) {
			page, err = tx.ListRegistries("", "", meta.Page{After: after, Limit: derivePage})
			return err
		}); err != nil {
			return fmt.Errorf("registry facts: %w", err)
		}
		for _, row := range page {
			if row.Facts.Version >= factsVersion {
				continue
			}
			if err := store.Update(ctx, func(tx meta.Tx) error { return rederive(tx, row.Name) }); err != nil {
				errs = append(errs, fmt.Errorf("registry %s facts: %w", row.Name, err))
			}
		}
		if len(page) < derivePage {
			return errors.Join(errs...)
		}
		after = page[len(page)-1].Name
	}
}

// rederive derives the facts of registry name inside tx, reading the row
// again so that a registry deleted or derived meanwhile is left alone.
func rederive(tx meta.Tx, name string) error {
	row, err := tx.RegistryByName(name)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if row.Facts.Version >= factsVersion {
		return nil
	}
	// The document as stored, with the connections older versions kept in
	// it (decodeRegistry would put the rows in their place).
	var doc Registry
	if err := json.Unmarshal(row.Document, &doc); err != nil {
		return fmt.Errorf("document: %w", err)
	}
	if doc.Properties != nil {
		for _, c := range doc.Properties.PrivateEndpointConnections {
			if err := moveConnection(tx, row, c); err != nil {
				return err
			}
		}
	}
	if err := tx.DeleteResource(row.ResourceID + legacyViewSuffix); err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	return saveRegistry(tx, row, doc) // keeps row.UpdatedAt: nobody changed the registry
}

// moveConnection writes a connection kept in an old registry document as
// a row. A connection the row already has (a rerun) keeps the row's
// state; an unknown status becomes Pending, which lets nobody in.
func moveConnection(tx meta.Tx, row meta.Registry, c PrivateEndpointConnection) error {
	name := deref(c.Name)
	if c.Properties == nil || c.Properties.PrivateEndpoint == nil || name == "" {
		return nil // not a connection private endpoints made
	}
	if _, err := tx.Connection(row.Key, name); err == nil {
		return nil
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	out := meta.PrivateEndpointConnection{RegistryKey: row.Key, Name: name, PrivateEndpointID: deref(c.Properties.PrivateEndpoint.ID),
		Status: meta.ConnectionPending, ProvisioningState: deref(c.Properties.ProvisioningState), CreatedAt: row.UpdatedAt, UpdatedAt: row.UpdatedAt}
	if st := c.Properties.PrivateLinkServiceConnectionState; st != nil {
		for _, s := range []meta.ConnectionStatus{meta.ConnectionApproved, meta.ConnectionPending, meta.ConnectionRejected, meta.ConnectionDisconnected} {
			if strings.EqualFold(deref(st.Status), string(s)) {
				out.Status = s
			}
		}
		out.Description, out.ActionsRequired = deref(st.Description), deref(st.ActionsRequired)
	}
	return tx.PutConnection(out)
}
