package authz

import "testing"

func TestScopeAllows(t *testing.T) {
	actions := []string{"repositories/app/content/read", "repositories/team/*/content/write", "repositories/*/metadata/read"}
	for _, c := range []struct {
		repo, want string
		ok         bool
	}{
		{"app", ScopeContentRead, true},
		{"app", ScopeContentWrite, false},
		{"apple", ScopeContentRead, false},
		{"app/sub", ScopeContentRead, false},
		{"team/a", ScopeContentWrite, true},
		{"team/a/b", ScopeContentWrite, true},
		{"team", ScopeContentWrite, false},
		{"teammate/x", ScopeContentWrite, false},
		{"anything", ScopeMetadataRead, true},
		{"", ScopeMetadataRead, true},
		{"", ScopeContentRead, false},
	} {
		if got := ScopeAllows(actions, c.repo, c.want); got != c.ok {
			t.Errorf("%q %s: %v, want %v", c.repo, c.want, got, c.ok)
		}
	}
	for _, bad := range []string{"repositories/app/content/all", "repositories//content/read", "repositories/App/content/read", "registry/content/read", "repositories/a*/content/read"} {
		if ValidScopeAction(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"repositories/app/content/read", "repositories/*/metadata/write", "repositories/samples/hello-world/content/delete", "repositories/team/*/content/read"} {
		if err := ValidScopeAction(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}
