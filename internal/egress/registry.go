package egress

import (
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// MarkerHeader is the request header with which this service's own
// outbound HTTP clients stamp every request they send (each hop of a
// redirect too) when the response may become content of one of its
// registries: its value is the channel, ChannelImportSource for
// importImage from a registry outside the service. When such a request
// comes back into this service by any road (an alias, a numeric address, a
// DNS name, a redirect, a forwarding proxy), the data plane sees the
// marker and judges the registry it addresses as the source of an import,
// through Check, before its network rules. The marker needs no secret:
// whoever forges it is only judged more strictly than without it.
const MarkerHeader = "Bulkhead-Egress"

// RegistrySource describes a registry for the gate from the typed facts
// acr wrote with it (meta.Registry.Facts), for callers that see the row
// but not the document (the data plane). Facts that no derivation wrote
// (Version 0) fail closed: the answer is a Refusal, never a Source whose
// zero values would read as "exports enabled".
func RegistrySource(r meta.Registry) (Source, error) {
	f := r.Facts
	if f.Version == 0 {
		return Source{}, refuse("UnknownSource", "The registry '%s' has settings that are not known yet; try again shortly.", r.Name)
	}
	return Source{
		Key:                  r.Key,
		Name:                 r.Name,
		Premium:              f.SKU == "Premium",
		ExportsDisabled:      f.ExportsDisabled,
		PublicAccessDisabled: f.PublicAccessDisabled,
	}, nil
}
