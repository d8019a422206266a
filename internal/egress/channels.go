// Package egress owns THE export decision (DESIGN.md rule 1): the list of
// channels by which a registry's artifact bytes can leave it, and the one
// function that decides whether a channel may be used. Handlers never read
// the export policy themselves; they describe the registry as a Source and
// ask Check.
package egress

// Channel is a route by which content can leave a registry.
type Channel string

// Every outbound route. A route that can move content out of a registry and
// is not listed here is a bug; gate_test.go walks this list.
const (
	// ChannelImportSource: another registry imports this registry's
	// artifacts (importImage with this registry as source, by any name:
	// resource id, login server, any alias), or an import from outside
	// the service finds its way back in by any network road (the data
	// plane asks about every request carrying MarkerHeader).
	ChannelImportSource Channel = "importImage.source"
	// ChannelExportPipelineCreate: an export pipeline is created on the
	// registry.
	ChannelExportPipelineCreate Channel = "exportPipelines.create"
	// ChannelExportPipelineRun: a pipeline run exports artifacts through an
	// existing export pipeline.
	ChannelExportPipelineRun Channel = "pipelineRuns.export"
	// ChannelCrossRegistryMount: a blob mount into another registry.
	// Refused by construction (DESIGN.md rule 2) whatever the policy says.
	ChannelCrossRegistryMount Channel = "blobs.crossRegistryMount"
	// ChannelPublicPull: a data-plane pull from outside the registry's
	// private network.
	ChannelPublicPull Channel = "pull.public"
)

// Channels lists every outbound route, for the tests that enumerate them.
func Channels() []Channel {
	return []Channel{ChannelImportSource, ChannelExportPipelineCreate, ChannelExportPipelineRun, ChannelCrossRegistryMount, ChannelPublicPull}
}
