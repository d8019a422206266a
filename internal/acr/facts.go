package acr

import (
	"encoding/json"
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// acr alone decodes a registry's document (DESIGN.md "The front door").
// Every registry write goes through createRegistry or saveRegistry, which
// store the document together with the typed facts derived from it
// (meta.RegistryFacts), in one statement; every other package reads the
// facts. Private endpoint connections are rows of their own: the stored
// document never holds them, and decodeRegistry puts them back for
// rendering and for the rules that look at them.

// factsVersion is the version of factsOf. Rows whose facts are older are
// derived again at start (DeriveFacts); bump it when factsOf changes.
const factsVersion = 1

// factsOf derives the document's facts. PrivateSubnets do not come from
// the document but from the connection rows (see withDocument).
func factsOf(doc Registry) meta.RegistryFacts {
	f := meta.RegistryFacts{Version: factsVersion}
	if doc.SKU != nil && doc.SKU.Name != nil {
		f.SKU = string(*doc.SKU.Name)
	}
	p := doc.Properties
	if p == nil {
		return f
	}
	f.PublicAccessDisabled = p.PublicNetworkAccess != nil && *p.PublicNetworkAccess == PublicNetworkAccessDisabled
	f.ExportsDisabled = p.Policies != nil && p.Policies.ExportPolicy != nil && p.Policies.ExportPolicy.Status != nil &&
		*p.Policies.ExportPolicy.Status == ExportPolicyStatusDisabled
	f.AdminUserEnabled = p.AdminUserEnabled != nil && *p.AdminUserEnabled
	if rs := p.NetworkRuleSet; rs != nil {
		f.DefaultDeny = rs.DefaultAction != nil && *rs.DefaultAction == DefaultActionDeny
		for _, ip := range rs.IPRules {
			if ip.Value == nil {
				continue
			}
			// A rule that does not parse can only narrow who gets in.
			if pfx, err := network.ParsePrefix(*ip.Value); err == nil {
				f.IPRules = append(f.IPRules, pfx)
			}
		}
	}
	return f
}

// withDocument sets row's document to doc, without its connections, and
// row's facts to those of doc plus the private subnets of its connection
// rows, read in tx.
func withDocument(tx meta.Tx, row meta.Registry, doc Registry) (meta.Registry, error) {
	if doc.Properties != nil {
		props := *doc.Properties
		props.PrivateEndpointConnections = nil
		doc.Properties = &props
	}
	subnets, err := network.PrivateSubnets(tx, row.Key)
	if err != nil {
		return row, err
	}
	row.Document, row.Facts = mustJSON(doc), factsOf(doc)
	row.Facts.PrivateSubnets = subnets
	return row, nil
}

// createRegistry inserts row with doc as its document and doc's facts.
func createRegistry(tx meta.Tx, row meta.Registry, doc Registry) error {
	row, err := withDocument(tx, row, doc)
	if err != nil {
		return err
	}
	return tx.CreateRegistry(row)
}

// saveRegistry replaces row's document with doc and its facts with doc's,
// keeping row's key; the caller sets row.UpdatedAt.
func saveRegistry(tx meta.Tx, row meta.Registry, doc Registry) error {
	row, err := withDocument(tx, row, doc)
	if err != nil {
		return err
	}
	return tx.UpdateRegistry(row)
}

// decodeRegistry reads row's document and puts its connection rows in
// properties.privateEndpointConnections, as ARM shows them.
func decodeRegistry(tx meta.Connections, row meta.Registry) (Registry, error) {
	var doc Registry
	if err := json.Unmarshal(row.Document, &doc); err != nil {
		return doc, fmt.Errorf("registry %s document: %w", row.Name, err)
	}
	if doc.Properties == nil {
		return doc, nil
	}
	conns, err := connectionsOf(tx, row)
	if err != nil {
		return doc, err
	}
	doc.Properties.PrivateEndpointConnections = conns
	return doc, nil
}

// connectionsOf renders a registry's connection rows.
func connectionsOf(tx meta.Connections, row meta.Registry) ([]PrivateEndpointConnection, error) {
	rows, err := tx.ListConnections(row.Key)
	if err != nil {
		return nil, err
	}
	out := make([]PrivateEndpointConnection, 0, len(rows))
	for _, c := range rows {
		out = append(out, renderConnection(row, c))
	}
	return out, nil
}

// renderConnection is a connection row as ARM serves it.
func renderConnection(reg meta.Registry, c meta.PrivateEndpointConnection) PrivateEndpointConnection {
	return PrivateEndpointConnection{
		ID: ptr(reg.ResourceID + "/privateEndpointConnections/" + c.Name), Name: ptr(c.Name), Type: ptr(connectionType),
		Properties: &PrivateEndpointConnectionProperties{
			PrivateEndpoint: &PrivateEndpoint{ID: ptr(c.PrivateEndpointID)},
			PrivateLinkServiceConnectionState: &PrivateLinkServiceConnectionState{
				Status: ptr(string(c.Status)), Description: ptr(c.Description), ActionsRequired: ptr(c.ActionsRequired),
			},
			ProvisioningState: ptr(c.ProvisioningState),
		},
	}
}
