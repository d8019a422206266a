// Package arm holds the Azure Resource Manager RPC mechanics every
// resource provider shares: resource ids (ParseID), the error envelope and
// its one translation table (WriteError), api-version tables (APIVersions),
// bounded JSON decoding, request-tracking headers, systemData, paging
// links, long-running-operation records, and the one router of the
// management plane (route tables, path canonicalisation, the typed request,
// authorization before every handler, the write hook). It knows nothing
// about container registries.
package arm

// GenericResource is a resource as ARM's generic resource list shows it
// (GET /subscriptions/{sub}/resources): the envelope every tracked
// resource shares.
type GenericResource struct {
	ID       string             `json:"id"`
	Name     string             `json:"name"`
	Type     string             `json:"type"`
	Location string             `json:"location,omitempty"`
	Tags     map[string]*string `json:"tags,omitempty"`
	SKU      any                `json:"sku,omitempty"`
}
