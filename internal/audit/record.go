// Package audit keeps Bulkhead's audit trail: ACR's resource logs
// (ContainerRegistryRepositoryEvents, ContainerRegistryLoginEvents), the
// activity log of management writes, and the per-day egress totals.
//
// Every record goes into one local, append-only store under the data
// directory, laid out as Azure lays out resource logs in a storage account
// (Layout). Each stream (a resource and a category, on one node) is a
// hash chain: a record carries the SHA-256 of the line before it, and a
// checkpoint signed with the node's Ed25519 key seals the chain every N
// records or M seconds. Diagnostic settings copy streams from this store
// to their destinations, so a slow destination only falls behind; it never
// holds records in memory or loses them.
package audit

import (
	"time"
)

// Categories of records. The first two are ACR's resource log categories;
// Administrative is the activity log's; SignIn holds sign-ins at the
// Entra-style token service, which belong to a tenant, not a registry.
const (
	CategoryRepository     = "ContainerRegistryRepositoryEvents"
	CategoryLogin          = "ContainerRegistryLoginEvents"
	CategoryAdministrative = "Administrative"
	CategorySignIn         = "SignInLogs"
)

// Operation names of repository events (ACR's) and Bulkhead's own.
const (
	OpPull        = "Pull"
	OpPush        = "Push"
	OpDelete      = "Delete"
	OpUntag       = "Untag"
	OpImportImage = "importImage"
	OpPipelineRun = "pipelineRun"
	OpLogin       = "Login"
	// Chain markers, written by the audit log itself.
	OpCheckpoint = "BulkheadAuditCheckpoint"
	OpRestart    = "BulkheadAuditRestart"
	OpGap        = "BulkheadAuditGap"
)

// Results (resultType).
const (
	ResultSucceeded = "Succeeded"
	ResultFailed    = "Failed"
)

// Identity types (properties.identityType).
const (
	IdentityServicePrincipal = "ServicePrincipal"
	IdentityToken            = "Token"
	IdentityAdminUser        = "AdminUser"
	IdentityAnonymous        = "Anonymous"
)

// Egress channels of the egress report: how artifact bytes left a
// registry, or tried to.
const (
	EgressPullPrivate  = "pullPrivate"  // pulled from inside its private network
	EgressPullPublic   = "pullPublic"   // pulled from outside it
	EgressImportSource = "importSource" // imported into another registry
	EgressPipelineRun  = "pipelineRun"  // exported by a pipeline run
	EgressRefused      = "refused"      // an attempt the egress gate or the network rules refused
)

// Record is one audit record in Azure's resource log schema: the common
// top-level fields, and ACR's columns (reference/acr-api.md §13) in
// properties. Bulkhead's own fields are marked as extensions.
type Record struct {
	Time              time.Time  `json:"time"`
	ResourceID        string     `json:"resourceId"`
	OperationName     string     `json:"operationName"`
	Category          string     `json:"category"`
	ResultType        string     `json:"resultType"`
	ResultDescription string     `json:"resultDescription,omitempty"` // the HTTP status, "200"
	DurationMs        int64      `json:"durationMs"`
	CallerIPAddress   string     `json:"callerIpAddress,omitempty"`
	CorrelationID     string     `json:"correlationId,omitempty"`
	Identity          string     `json:"identity,omitempty"`
	Level             string     `json:"level"`
	Location          string     `json:"location,omitempty"`
	Properties        Properties `json:"properties"`
	// Chain is set by the log when it writes the record.
	Chain *Link `json:"bulkheadChain,omitempty"`

	// RegistryKey is the registry's internal key, for egress totals; it
	// is not written.
	RegistryKey string `json:"-"`
	// Egress, when set, is added to the registry's egress totals.
	Egress *Egress `json:"-"`
}

// Properties are the category-specific fields.
type Properties struct {
	// Repository and login events (ACR's columns).
	LoginServer  string `json:"loginServer,omitempty"`
	Repository   string `json:"repository,omitempty"`
	Tag          string `json:"tag,omitempty"`
	Digest       string `json:"digest,omitempty"`
	MediaType    string `json:"mediaType,omitempty"`
	ArtifactType string `json:"artifactType,omitempty"`
	Size         int64  `json:"size,omitempty"`
	UserAgent    string `json:"userAgent,omitempty"`
	UserTenantID string `json:"userTenantId,omitempty"`

	// Extensions.
	IdentityType string `json:"identityType,omitempty"`
	// Network is "private" or "public" for the registry addressed.
	Network string `json:"network,omitempty"`
	// RefusedBy is "egressGate" or "networkRules" when either refused.
	RefusedBy string `json:"refusedBy,omitempty"`
	// Route is the route that was tried: "GET /v2/reg/app/manifests/1".
	Route     string `json:"route,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
	// Source and Target name the other end of an import or a run.
	Source string `json:"source,omitempty"`
	Target string `json:"target,omitempty"`

	// Activity log.
	Action     string   `json:"action,omitempty"` // the RBAC action
	Method     string   `json:"method,omitempty"`
	StatusCode int      `json:"statusCode,omitempty"`
	Caller     string   `json:"caller,omitempty"` // client (application) id
	Changes    []Change `json:"changes,omitempty"`

	// Chain markers.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	Restart    *Restart    `json:"restart,omitempty"`
	Gap        *Gap        `json:"gap,omitempty"`
}

// Change is one property a management write changed: its JSON path under
// the resource, with the value before and after (null when absent).
type Change struct {
	Path   string `json:"path"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Egress is what a record adds to the egress totals.
type Egress struct {
	Channel   string
	Bytes     int64
	Artifacts int64
}

// Link places a record in its stream's chain.
type Link struct {
	Stream string `json:"stream"` // category + "|" + upper-case resource id
	Node   string `json:"node"`
	Seq    uint64 `json:"seq"`
	Prev   string `json:"prev"` // hex SHA-256 of the stream's previous line; "" for seq 1
}

// Checkpoint seals a stream up to a record: Signature is Ed25519 over
// CheckpointMessage.
type Checkpoint struct {
	Seq       uint64 `json:"seq"`
	Hash      string `json:"hash"`
	KeyID     string `json:"keyId"`
	Reason    string `json:"reason"` // "records", "interval" or "shutdown"
	Signature string `json:"signature"`
}

// Restart says the chain was not closed before the service last stopped:
// records of requests served after LastTime may be missing.
type Restart struct {
	AfterSeq  uint64    `json:"afterSeq"`
	LastTime  time.Time `json:"lastTime"`
	TornBytes int64     `json:"tornBytes,omitempty"`
	Message   string    `json:"message"`
	KeyID     string    `json:"keyId"`
	Signature string    `json:"signature"`
}

// Gap says records were produced but could not be written (the writer
// fell behind past its budget): Count records between From and To.
type Gap struct {
	Count int64     `json:"count"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// Recorder takes records. A nil *Log is a Recorder that keeps nothing.
type Recorder interface {
	Record(rec Record)
}
