package egress

import (
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Source is what the gate needs to know about the registry content would
// leave: a snapshot read inside the caller's transaction.
type Source struct {
	// Key is the registry's internal key (meta.Registry.Key), never
	// reused; a permit names it.
	Key  string
	Name string
	// Premium reports the Premium SKU (the only one with export policy and
	// private endpoints).
	Premium bool
	// ExportsDisabled mirrors properties.policies.exportPolicy.status.
	ExportsDisabled bool
	// PublicAccessDisabled mirrors properties.publicNetworkAccess.
	PublicAccessDisabled bool
	// NamedByLoginServer says the request named the registry by its login
	// server (an import's registryUri) rather than by resource id.
	NamedByLoginServer bool
	// Target is the key of the registry the content goes into, when the
	// channel has one (an import's target) and the caller knows it. An
	// import whose target is its source moves nothing out of the registry,
	// so the gate permits it whatever the policy; the permit still names
	// the source. Empty means unknown: judged as leaving.
	Target string
}

// Refusal is a decision of the gate: an ARM-style code and a message that
// tells the user what to do. It wraps errdef.ErrFailedPrecondition.
type Refusal struct {
	Code    string
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

// Unwrap classifies a refusal as a failed precondition.
func (r *Refusal) Unwrap() error { return errdef.ErrFailedPrecondition }

func refuse(code, format string, args ...any) error {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Permit is the gate's yes: content may leave one registry through one
// channel. Only Check makes a usable Permit (its fields are unexported, and
// the zero value permits nothing), so every function that moves content
// out of a registry takes one and verifies it with Covers: a route that
// never asked the gate has nothing to pass.
type Permit struct {
	source  string // registry key
	channel Channel
}

// Covers returns nil when p permits moving content out of the registry
// with key sourceKey through ch, and an error wrapping errdef.ErrDenied
// otherwise (a zero Permit, another registry, another channel).
func (p Permit) Covers(sourceKey string, ch Channel) error {
	if p.source == "" || p.source != sourceKey || p.channel != ch {
		return fmt.Errorf("no egress permit for %s out of registry %q: %w", ch, sourceKey, errdef.ErrDenied)
	}
	return nil
}

// Check decides whether content may leave src through ch, and on yes
// returns the permit the mover needs. It is a pure function of its
// arguments: call it every time, inside the transaction that acts on the
// answer.
func Check(src Source, ch Channel) (Permit, error) {
	if err := decide(src, ch); err != nil {
		return Permit{}, err
	}
	if src.Key == "" {
		return Permit{}, refuse("UnknownSource", "the source registry of %s is not identified", ch)
	}
	return Permit{source: src.Key, channel: ch}, nil
}

func decide(src Source, ch Channel) error {
	switch ch {
	case ChannelCrossRegistryMount:
		return refuse("CrossRegistryMountNotSupported",
			"Blobs cannot be mounted across registries; push the blob, or import the image with importImage.")
	case ChannelPublicPull:
		// Pulls are governed by network rules, not by the export policy:
		// authorized pulls from inside the private network keep working.
		return nil
	case ChannelImportSource, ChannelExportPipelineCreate, ChannelExportPipelineRun:
		if ch == ChannelImportSource && src.Target != "" && src.Target == src.Key {
			// Inside one registry: nothing leaves it, so neither the
			// export policy nor the private source's naming rule (which
			// keeps content from leaving through a public name) applies.
			return nil
		}
		if src.ExportsDisabled {
			return refuse("ExportsDisabled", "%s is not allowed because the registry '%s' has exports disabled (properties.policies.exportPolicy.status=disabled). Enable exports on '%s' first if its artifacts may leave it.",
				describe(ch), src.Name, src.Name)
		}
		if ch == ChannelImportSource && src.NamedByLoginServer && src.PublicAccessDisabled {
			// ACR: a private source is reachable for import only through
			// its resource id, never through its public login server.
			return refuse("InvalidParameters", "The source registry '%s' has public network access disabled: reference it by resourceId, not by its login server.", src.Name)
		}
		return nil
	}
	return refuse("UnknownEgressChannel", "egress channel %q is not known to the gate", ch)
}

func describe(ch Channel) string {
	switch ch {
	case ChannelImportSource:
		return "Importing artifacts from this registry into another registry"
	case ChannelExportPipelineCreate:
		return "Creating an export pipeline"
	case ChannelExportPipelineRun:
		return "Running an export pipeline"
	}
	return string(ch)
}

// PolicyState is the part of a registry's configuration that the export
// rules constrain.
type PolicyState struct {
	Name                 string
	SKU                  string // Basic, Standard, Premium
	ExportsDisabled      bool
	PublicAccessDisabled bool
}

// Change is one registry update as the export rules see it: the complete
// state before and after (so "in the same request or earlier" falls out),
// what the request said explicitly, and the export pipelines the registry
// has, read in the same transaction.
type Change struct {
	Before, After PolicyState
	// EnablesExports says the request itself set
	// exportPolicy.status=enabled. Once exports are disabled, nothing else
	// turns them back on: not a PUT that leaves the policy out, not a
	// template that redeploys the registry as first written.
	EnablesExports bool
	// ExportPipelines counts the registry's export pipelines.
	ExportPipelines int
}

// CheckChange decides whether a registry may move from c.Before to c.After.
// A newly created registry passes a zero Before.
func CheckChange(c Change) error {
	before, after := c.Before, c.After
	premium := after.SKU == "Premium"
	if after.PublicAccessDisabled && !premium {
		return refuse("DisablingPublicNetworkAccessNotSupported",
			"Disabling public network access is not supported for the SKU %s. For more information, please visit https://aka.ms/acr/private-link.", after.SKU)
	}
	if before.ExportsDisabled && !after.ExportsDisabled && !c.EnablesExports {
		// The lock is sticky: the provider keeps it when a request leaves
		// the policy out, so reaching here means a request path lost it.
		return refuse("ExportPolicyLocked",
			"The registry '%s' has exports disabled; only an explicit properties.policies.exportPolicy.status=enabled turns them back on.", after.Name)
	}
	if !after.ExportsDisabled {
		return nil
	}
	if !premium {
		return refuse("ExportPolicyNotSupported",
			"Disabling exports is supported only for the Premium SKU; the registry '%s' would be %s. Keep the Premium SKU, or set properties.policies.exportPolicy.status=enabled.", after.Name, after.SKU)
	}
	if !after.PublicAccessDisabled {
		if before.ExportsDisabled {
			return refuse("BadRequest",
				"Enabling public network access is not supported because the registry '%s' has exports disabled.", after.Name)
		}
		return refuse("BadRequest",
			"Exports can be disabled only when public network access is disabled: set properties.publicNetworkAccess=Disabled on the registry '%s' in the same request or earlier.", after.Name)
	}
	if !before.ExportsDisabled && c.ExportPipelines > 0 {
		return refuse("BadRequest",
			"The exportPolicy status cannot be changed while the registry '%s' has %d export pipeline(s); delete them first.", after.Name, c.ExportPipelines)
	}
	return nil
}
