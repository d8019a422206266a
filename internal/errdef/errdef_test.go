package errdef

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestClassesListsEveryClass reads errdef.go and checks that every exported
// Err… variable is in Classes(), once, so the planes' table tests (which
// walk Classes) see a new class as soon as it is declared.
func TestClassesListsEveryClass(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errdef.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
					declared[n.Name] = true
				}
			}
		}
	}
	classes := Classes()
	if len(classes) != len(declared) {
		t.Errorf("errdef.go declares %d classes, Classes() returns %d: add the new class to Classes()", len(declared), len(classes))
	}
	seen := map[error]bool{}
	for _, c := range classes {
		if c == nil || seen[c] {
			t.Errorf("Classes() has a nil or repeated entry %v", c)
		}
		seen[c] = true
		for other := range seen {
			if other != c && (errors.Is(c, other) || errors.Is(other, c)) {
				t.Errorf("classes %v and %v overlap: errors.Is must tell them apart", c, other)
			}
		}
	}
}

// TestClassesIsACopy checks that a caller cannot change the list others see
// (no package-level mutable state, STYLE rule 10).
func TestClassesIsACopy(t *testing.T) {
	Classes()[0] = nil
	if Classes()[0] == nil {
		t.Fatal("Classes() returns a shared slice")
	}
}
