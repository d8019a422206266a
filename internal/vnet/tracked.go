package vnet

import (
	"encoding/json"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// trackedTypes are the provider's top-level types in the generic list.
var trackedTypes = []string{network.VirtualNetworkType, network.PrivateEndpointType}

// Tracked lists the virtual networks and private endpoints under scope for
// the generic resource list (package resources).
func (p *Provider) Tracked(tx meta.Tx, scope, typ string, readable func(id, action string) (bool, error)) ([]arm.GenericResource, error) {
	var out []arm.GenericResource
	for _, t := range trackedTypes {
		if typ != "" && !strings.EqualFold(typ, t) {
			continue
		}
		rows, err := tx.ListResources(scope, t, meta.Page{Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if ok, err := readable(row.ID, t+"/read"); err != nil || !ok {
				if err != nil {
					return nil, err
				}
				continue
			}
			var doc struct {
				ID, Name, Type, Location string
				Tags                     map[string]*string
			}
			if json.Unmarshal(row.Document, &doc) == nil {
				out = append(out, arm.GenericResource{ID: doc.ID, Name: doc.Name, Type: doc.Type, Location: doc.Location, Tags: doc.Tags})
			}
		}
	}
	return out, nil
}
