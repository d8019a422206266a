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

func TestValidTokenName(t *testing.T) {
	for name, ok := range map[string]bool{"ci-bot": true, "abcd": false, "bad_name": false, "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b": false, "6F1C2A7E-3B4D-4E5F-8A9B-0C1D2E3F4A5B": false} {
		if ValidTokenName(name) != ok {
			t.Errorf("%q: want %v", name, ok)
		}
	}
}
