// Package metatest is the conformance suite every meta.Store backend must
// pass (SQLite now, PostgreSQL next): CRUD for each role, case rules,
// paging, isolation between registries, cascades, transactions (rollback,
// read-only views, snapshots, serializable updates) and the "disable export
// versus create pipeline" race that meta's Update contract exists for.
//
// A backend's test calls Run with a constructor for fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		metatest.Run(t, func(t *testing.T) meta.Store { return openTemp(t) })
//	}
package metatest

import (
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Run runs every case as its own subtest. open must return a new, empty
// store for each call and close it with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, open(t))
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, s meta.Store)
}

func cases() []testCase {
	return []testCase{
		{"registries/crud", testRegistryCRUD},
		{"registries/names are case-insensitive", testRegistryNames},
		{"registries/paging and filters", testRegistryPaging},
		{"registries/facts round-trip", testRegistryFacts},
		{"registries/private subnets alone", testSetPrivateSubnets},
		{"connections/crud", testConnectionCRUD},
		{"connections/isolation and cascade", testConnectionIsolation},
		{"resources/crud", testResourceCRUD},
		{"resources/scope and type", testResourceScope},
		{"resources/paging", testResourcePaging},
		{"blobs", testBlobs},
		{"manifests", testManifests},
		{"tags", testTags},
		{"repositories", testRepositories},
		{"referrers", testReferrers},
		{"uploads", testUploads},
		{"identities", testIdentities},
		{"egress totals", testEgress},
		{"times round-trip in UTC", testTimes},
		{"isolation between registries", testIsolation},
		{"delete registry cascades", testCascade},
		{"rollback leaves nothing", testRollback},
		{"view is read-only", testViewReadOnly},
		{"view reads a snapshot during an update", testViewSnapshot},
		{"cancelled context", testCancelled},
		{"serializable updates", testSerializable},
		{"disable flag versus pipeline creation race", testFlagRace},
	}
}

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func view(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// wantClass fails unless err wraps class.
func wantClass(t *testing.T, what string, err, class error) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("%s: got error %v, want %v", what, err, class)
	}
}

// wantNoErr fails on err.
func wantNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// at is a fixed instant with nanoseconds, plus h hours.
func at(h int) time.Time {
	return time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC).Add(time.Duration(h) * time.Hour)
}

func dg(s string) digest.Digest { return digest.FromString(s) }

func registry(key, name, sub, rg string) meta.Registry {
	return meta.Registry{
		Key: key, Name: name, SubscriptionID: sub, ResourceGroup: rg,
		ResourceID: "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerRegistry/registries/" + name,
		Document:   []byte(`{"name":"` + name + `"}`),
		CreatedAt:  at(0), UpdatedAt: at(0),
	}
}

// manifest builds a manifest whose digest is that of its content.
func manifest(key, repo, content string) meta.Manifest {
	return meta.Manifest{
		RegistryKey: key, Repository: repo, Digest: dg(content),
		MediaType: "application/vnd.oci.image.manifest.v1+json",
		Content:   []byte(content), Size: int64(len(content)), CreatedAt: at(0),
	}
}

func link(key, repo string, d digest.Digest) meta.BlobLink {
	return meta.BlobLink{RegistryKey: key, Repository: repo, Digest: d, Size: 42, CreatedAt: at(0)}
}

func isNotFound(err error) bool { return errors.Is(err, errdef.ErrNotFound) }
