// Package meta defines Bulkhead's transactional metadata store: registries and
// other ARM resources, repositories, manifests, tags, per-repository blob
// links, uploads in progress and identities.
//
// Every rule that spans rows ("no export pipeline may exist while export is
// disabled") is checked and written inside one Update transaction. Backends
// live in sub-packages (meta/sqlite by default, meta/postgres for scale-out)
// and all pass the shared suite in meta/metatest.
//
// All data-plane rows are keyed by the registry's Key, an internal id that is
// never reused: deleting a registry and creating one with the same name never
// resurrects the old content.
package meta

import (
	"context"
	"net/netip"
	"time"

	"github.com/opencontainers/go-digest"
)

// Store opens transactions. A transaction whose ctx ends fails with an
// error wrapping ctx's error (context.Canceled when a client went away), at
// whatever point it ends, so callers can tell that from a store fault.
type Store interface {
	// View runs fn in a read-only transaction. fn must not keep tx.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Update runs fn in a read-write transaction and commits when fn returns
	// nil; otherwise it rolls back and returns fn's error. Update transactions
	// are serializable with respect to each other. A backend may retry fn on a
	// serialization conflict, so fn must have no side effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Close releases the store.
	Close() error
}

// Tx is one transaction. It composes the role interfaces below; it is large
// because it is the union of every table, and each helper should accept the
// narrowest role it needs. Methods return errors wrapping errdef classes:
// ErrNotFound for a missing row and ErrAlreadyExists for a unique collision.
type Tx interface {
	Registries
	Connections
	Resources
	Repositories
	Blobs
	Manifests
	Tags
	Uploads
	Identities
	Egress
}

// Page asks for at most Limit items strictly after the key After, in
// ascending key order. Limit <= 0 means no limit.
type Page struct {
	After string
	Limit int
}

// Registry is one container registry. Name is unique case-insensitively
// across the service and is stored lower-case; Document is the ARM resource
// body owned by internal/acr (meta does not interpret it, and no other
// package may: they read Facts).
type Registry struct {
	Key            string // internal id, never reused
	Name           string // lower-case
	ResourceID     string // ARM id as first written
	SubscriptionID string
	ResourceGroup  string // lower-case
	Document       []byte
	Facts          RegistryFacts
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RegistryFacts are the typed facts about a registry that other packages
// (the data plane's network gate and admin sign-in, private endpoints)
// read instead of decoding its document. internal/acr derives them from
// the document it owns and writes them in the same statement as the
// document, so a change in the document's schema cannot turn a security
// check into a silently read zero value. PrivateSubnets alone follow the
// registry's connection rows rather than its document.
type RegistryFacts struct {
	// Version is the version of acr's derivation that wrote these facts.
	// 0 means none did (a row written before facts existed, not yet
	// re-derived at start); readers must then fail closed.
	Version int
	// SKU is the SKU name: "Basic", "Standard" or "Premium".
	SKU string
	// PublicAccessDisabled is properties.publicNetworkAccess Disabled.
	PublicAccessDisabled bool
	// ExportsDisabled is the export policy's status "disabled".
	ExportsDisabled bool
	// AdminUserEnabled is properties.adminUserEnabled.
	AdminUserEnabled bool
	// DefaultDeny is properties.networkRuleSet.defaultAction Deny.
	DefaultDeny bool
	// IPRules are the networkRuleSet's ipRules, masked; a rule that does
	// not parse is left out, since it can only narrow who gets in.
	IPRules []netip.Prefix
	// PrivateSubnets are the subnets of the registry's approved private
	// endpoints: requests from them are private for the registry.
	PrivateSubnets []netip.Prefix
}

// Registries stores registries.
type Registries interface {
	// CreateRegistry inserts r with its Facts; ErrAlreadyExists when the
	// name is taken.
	CreateRegistry(r Registry) error
	// UpdateRegistry replaces the Document, every fact and UpdatedAt of
	// the registry with r.Key, together; ErrNotFound when it does not
	// exist.
	UpdateRegistry(r Registry) error
	// SetPrivateSubnets replaces Facts.PrivateSubnets alone, for the
	// writers of connection rows, which leave the document as it is;
	// ErrNotFound when the registry does not exist.
	SetPrivateSubnets(key string, subnets []netip.Prefix) error
	// RegistryByName looks a registry up by name, case-insensitively.
	RegistryByName(name string) (Registry, error)
	// DeleteRegistry removes the registry and every row keyed by it
	// (repositories, links, manifests, tags, uploads, connections).
	DeleteRegistry(key string) error
	// ListRegistries lists registries ordered by name. An empty
	// subscription or resource group matches all.
	ListRegistries(subscriptionID, resourceGroup string, p Page) ([]Registry, error)
}

// ConnectionStatus is the registry side's decision on a private endpoint
// connection. Only Approved lets the endpoint's subnet in.
type ConnectionStatus string

// Connection statuses, in the casing ARM shows.
const (
	ConnectionApproved     ConnectionStatus = "Approved"
	ConnectionPending      ConnectionStatus = "Pending"
	ConnectionRejected     ConnectionStatus = "Rejected"
	ConnectionDisconnected ConnectionStatus = "Disconnected"
)

// PrivateEndpointConnection is a registry's connection to a private
// endpoint (a Microsoft.Network resource), a child row of the registry:
// private endpoints create and delete it, the registry's owner approves
// or rejects it.
type PrivateEndpointConnection struct {
	RegistryKey       string
	Name              string // unique in the registry, case-insensitively
	PrivateEndpointID string // ARM id of the private endpoint
	Status            ConnectionStatus
	Description       string
	ActionsRequired   string // e.g. "None"
	ProvisioningState string // e.g. "Succeeded"
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Connections stores private endpoint connections, keyed by registry key
// and name. Names compare case-insensitively (ASCII).
type Connections interface {
	// PutConnection creates or replaces the connection (c.RegistryKey,
	// c.Name). A replace keeps the name's casing and CreatedAt of the
	// first write, as ARM does.
	PutConnection(c PrivateEndpointConnection) error
	// Connection returns one connection; ErrNotFound when absent.
	Connection(registryKey, name string) (PrivateEndpointConnection, error)
	// DeleteConnection removes one connection; ErrNotFound when absent.
	DeleteConnection(registryKey, name string) error
	// ListConnections lists a registry's connections ordered by name,
	// case-insensitively; none is an empty list, not an error.
	ListConnections(registryKey string) ([]PrivateEndpointConnection, error)
}

// Resource is a generic ARM resource that is not a registry (resource
// groups, pipelines, role assignments, deployments, ...). ID is the ARM id
// with its original casing; lookups compare it case-insensitively.
type Resource struct {
	ID        string
	Type      string // e.g. Microsoft.Resources/resourceGroups
	Document  []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Resources stores generic ARM resources.
type Resources interface {
	// PutResource creates or replaces a resource.
	PutResource(r Resource) error
	// GetResource returns a resource by id (case-insensitive).
	GetResource(id string) (Resource, error)
	// DeleteResource deletes a resource; ErrNotFound when absent.
	DeleteResource(id string) error
	// ListResources lists resources of the given type whose id starts with
	// scope + "/" (case-insensitive), ordered by lower-cased id. Page.After
	// is a lower-cased id.
	ListResources(scope, typ string, p Page) ([]Resource, error)
}

// Repositories lists the repositories of a registry. A repository exists
// from its first blob link or manifest until DeleteRepository.
type Repositories interface {
	// ListRepositories lists repository names of a registry in order.
	ListRepositories(registryKey string, p Page) ([]string, error)
	// RepositoryExists reports whether the repository exists.
	RepositoryExists(registryKey, repo string) (bool, error)
	// DeleteRepository removes a repository and all its links, manifests
	// and tags; ErrNotFound when it does not exist.
	DeleteRepository(registryKey, repo string) error
}

// BlobLink makes a blob visible in one repository of one registry.
type BlobLink struct {
	RegistryKey string
	Repository  string
	Digest      digest.Digest
	Size        int64
	CreatedAt   time.Time
}

// Blobs stores per-repository blob links.
type Blobs interface {
	// LinkBlob creates the link (idempotent), creating the repository when
	// needed.
	LinkBlob(l BlobLink) error
	// BlobLink returns a link, or ErrNotFound when the blob is not visible
	// in that repository.
	BlobLink(registryKey, repo string, d digest.Digest) (BlobLink, error)
	// UnlinkBlob removes a link; ErrNotFound when absent.
	UnlinkBlob(registryKey, repo string, d digest.Digest) error
	// BlobReferenced reports whether any link or manifest in any registry
	// still references d; garbage collection deletes bytes only when not.
	BlobReferenced(d digest.Digest) (bool, error)
}

// Manifest is a manifest or index stored in one repository. Content holds
// the exact bytes (at most 4 MiB), so a pull by tag is one transaction.
type Manifest struct {
	RegistryKey  string
	Repository   string
	Digest       digest.Digest
	MediaType    string
	Size         int64         // len(Content), kept so listings need not load Content
	ArtifactType string        // artifactType, or config.mediaType for artifacts
	Subject      digest.Digest // empty when the manifest has no subject
	Annotations  map[string]string
	Content      []byte
	CreatedAt    time.Time
}

// Manifests stores manifests.
type Manifests interface {
	// PutManifest creates or replaces a manifest (same digest, same
	// bytes), creating the repository when needed.
	PutManifest(m Manifest) error
	// GetManifest returns a manifest by digest.
	GetManifest(registryKey, repo string, d digest.Digest) (Manifest, error)
	// DeleteManifest removes a manifest and every tag that points to it;
	// ErrNotFound when absent.
	DeleteManifest(registryKey, repo string, d digest.Digest) error
	// Referrers lists the manifests whose subject is d, ordered by digest,
	// filtered by artifact type when artifactType is not empty. Content is
	// not filled in.
	Referrers(registryKey, repo string, subject digest.Digest, artifactType string) ([]Manifest, error)
}

// Tags stores tags.
type Tags interface {
	// PutTag points tag at digest (creating or moving it).
	PutTag(registryKey, repo, tag string, d digest.Digest) error
	// Tag resolves a tag; ErrNotFound when absent.
	Tag(registryKey, repo, tag string) (digest.Digest, error)
	// DeleteTag removes a tag; ErrNotFound when absent.
	DeleteTag(registryKey, repo, tag string) error
	// ListTags lists tag names of a repository in lexical order.
	ListTags(registryKey, repo string, p Page) ([]string, error)
}

// Upload is a blob upload in progress. Its bytes live in the content store
// under ID; this row ties it to a repository and an expiry.
type Upload struct {
	ID          string
	RegistryKey string
	Repository  string
	StartedAt   time.Time
	UpdatedAt   time.Time
}

// Uploads stores uploads in progress.
type Uploads interface {
	// PutUpload creates or updates an upload row.
	PutUpload(u Upload) error
	// GetUpload returns an upload by id.
	GetUpload(id string) (Upload, error)
	// DeleteUpload removes an upload row; ErrNotFound when absent.
	DeleteUpload(id string) error
	// StaleUploads lists uploads not updated since cutoff, oldest first.
	StaleUploads(cutoff time.Time, limit int) ([]Upload, error)
}

// Tenant is an Entra-style directory.
type Tenant struct {
	ID          string
	DisplayName string
	CreatedAt   time.Time
}

// Subscription belongs to a tenant.
type Subscription struct {
	ID          string
	TenantID    string
	DisplayName string
	CreatedAt   time.Time
}

// Principal is a service principal. Secrets holds only verifiers (hashes),
// never plain secrets.
type Principal struct {
	ObjectID    string
	ClientID    string // appId
	TenantID    string
	DisplayName string
	Secrets     []SecretHash
	CreatedAt   time.Time
}

// SecretHash verifies one client secret.
type SecretHash struct {
	ID        string
	Hash      string // encoded verifier, format owned by internal/identity
	Hint      string // first characters, shown in listings
	ExpiresAt time.Time
}

// Identities stores tenants, subscriptions and service principals.
type Identities interface {
	PutTenant(t Tenant) error
	ListTenants() ([]Tenant, error)
	PutSubscription(s Subscription) error
	ListSubscriptions() ([]Subscription, error)
	// PutPrincipal creates or replaces a principal keyed by ObjectID;
	// ClientID is unique.
	PutPrincipal(p Principal) error
	// PrincipalByClientID looks a principal up by its appId.
	PrincipalByClientID(clientID string) (Principal, error)
}

// EgressCount is one day's total of what left a registry (or was refused
// on its way out) by one channel for one identity. internal/audit writes
// it; the egress report and what-if read it.
type EgressCount struct {
	RegistryKey string
	Day         string // UTC, YYYY-MM-DD
	Channel     string // audit.Egress* channel name
	Identity    string // principal object id, token name or admin user; "" anonymous
	Bytes       int64
	Artifacts   int64
	Attempts    int64
}

// Egress keeps the per-day egress totals. They are counters, not records:
// the audit chain holds the records they were summed from.
type Egress interface {
	// AddEgress adds each count to its (registry, day, channel, identity)
	// total, creating the total when it is new.
	AddEgress(counts []EgressCount) error
	// EgressTotals lists the totals of one registry for days >= sinceDay,
	// ordered by day, channel and identity.
	EgressTotals(registryKey, sinceDay string) ([]EgressCount, error)
	// PurgeEgress removes totals of days before beforeDay (retention).
	PurgeEgress(beforeDay string) error
}
