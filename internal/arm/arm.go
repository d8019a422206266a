// Package arm holds the Azure Resource Manager RPC mechanics every
// resource provider shares: resource ids (ParseID), the error envelope and
// its one translation table (WriteError), api-version tables (APIVersions),
// bounded JSON decoding, request-tracking headers, systemData, paging
// links, long-running-operation records and path canonicalisation. It
// knows nothing about container registries.
package arm

import "strings"

// canonicalSegments are literal path segments whose casing ARM ignores;
// CanonicalPath rewrites them so Go's case-sensitive ServeMux can route
// on the casing az and the SDK send.
var canonicalSegments = map[string]string{
	"subscriptions":               "subscriptions",
	"resourcegroups":              "resourceGroups",
	"providers":                   "providers",
	"microsoft.containerregistry": "Microsoft.ContainerRegistry",
	"microsoft.resources":         "Microsoft.Resources",
	"registries":                  "registries",
	"checknameavailability":       "checkNameAvailability",
	"exportpipelines":             "exportPipelines",
	"importpipelines":             "importPipelines",
	"listcredentials":             "listCredentials",
	"regeneratecredential":        "regenerateCredential",
	"listusages":                  "listUsages",
	"importimage":                 "importImage",
	"scopemaps":                   "scopeMaps",
	"tokens":                      "tokens",
	"generatecredentials":         "generateCredentials",
	"microsoft.network":           "Microsoft.Network",
	"virtualnetworks":             "virtualNetworks",
	"subnets":                     "subnets",
	"privateendpoints":            "privateEndpoints",
	"privateendpointconnections":  "privateEndpointConnections",
	"resources":                   "resources",
	"deployments":                 "deployments",
	"validate":                    "validate",
	"operations":                  "operations",
	"locations":                   "locations",
	"operationstatuses":           "operationStatuses",
	"operationresults":            "operationResults",
}

// collections are the segments followed by a resource name, which keeps
// its casing even when it spells a keyword ("…/resourceGroups/registries").
var collections = map[string]bool{"subscriptions": true, "resourcegroups": true, "registries": true,
	"exportpipelines": true, "importpipelines": true, "deployments": true, "locations": true,
	"operationstatuses": true, "operationresults": true, "virtualnetworks": true, "subnets": true,
	"privateendpoints": true, "privateendpointconnections": true, "scopemaps": true, "tokens": true}

// CanonicalPath fixes the casing of ARM's literal segments and collapses
// repeated slashes (az sends "Microsoft.ContainerRegistry//registries").
// A segment right after a collection keyword is a resource name and keeps
// its casing.
func CanonicalPath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if i > 0 && collections[strings.ToLower(parts[i-1])] {
			continue
		}
		if c, ok := canonicalSegments[strings.ToLower(s)]; ok {
			parts[i] = c
		}
	}
	return strings.Join(parts, "/")
}

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
