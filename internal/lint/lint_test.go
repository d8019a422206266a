// Package lint holds project rules as tests (STYLE rule 15): import
// direction, who may mention the export policy, who may touch a registry
// document (document_test.go), no init() outside cmd, and a file-size
// budget.
package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/bulkhead-registry/bulkhead"

// rank orders the layers of DESIGN.md/STYLE.md: a package may import
// internal packages of a lower rank, its own family (meta → meta/sqlite is
// not allowed, meta/sqlite → meta is), and the listed same-rank edges.
// Every directory under internal/ needs a row: TestImportDirection fails
// on a package the table does not know rather than skipping it.
var rank = map[string]int{
	"errdef":      0,
	"reference":   0,
	"meta":        1,
	"content":     1,
	"config":      1,
	"egress":      2,
	"network":     2,
	"signin":      2,
	"authz":       2,
	"transfer":    2,
	"remote":      2,
	"audit":       2,
	"gc":          2,
	"template":    2,
	"identity":    3,
	"arm":         3,
	"acr":         3,
	"oci":         3,
	"deployments": 3,
	"vnet":        3,
	"keyvault":    3,
	"insights":    3,
	"resources":   3,
	"server":      4,
	// client is the az-style CLI; it talks to a server over HTTP only and
	// imports no package of this module (TestClientSpeaksOnlyHTTP).
	"client": 4,
	// Test-only packages sit above everything they might exercise:
	// testserver runs the built binary for e2e tests, and lint has only
	// _test.go files that read the tree.
	"testserver": 5,
	"lint":       5,
}

// sameRank lists deliberate edges between packages of one rank: acr uses
// arm's mechanics, and the data plane verifies tokens with identity.
var sameRank = map[[2]string]bool{
	{"acr", "arm"}:         true,
	{"oci", "identity"}:    true,
	{"deployments", "arm"}: true,
	{"vnet", "arm"}:        true,
	{"keyvault", "arm"}:    true,
	{"insights", "arm"}:    true,
	{"resources", "arm"}:   true,
	// The token service declares its routes for arm's router and answers
	// the management plane's Bearer check with arm's errors.
	{"identity", "arm"}: true,
	// transfer takes the egress gate's permits for what it moves.
	{"transfer", "egress"}: true,
	// remote is the importer from registries outside the service: it
	// writes what transfer's local import writes, and stamps its requests
	// with the gate's marker (egress.MarkerHeader).
	{"remote", "transfer"}: true,
	{"remote", "egress"}:   true,
}

// onlyInternal limits some packages to the listed internal imports: the
// template language is pure, and what it needs of a running deployment
// comes in through its own interface.
var onlyInternal = map[string][]string{"template": {"errdef"}}

// noHTTP lists lower layers that must not know about HTTP serving.
var noHTTP = []string{"errdef", "reference", "meta", "authz", "egress", "network", "config", "gc", "transfer", "template"}

type goFile struct {
	path string // relative to the module root
	pkg  string // internal package family, e.g. "meta" for internal/meta/sqlite
	file *ast.File
	test bool
}

func loadFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var files []goFile
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bulkhead-data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		gf := goFile{path: filepath.ToSlash(rel), file: f, test: strings.HasSuffix(path, "_test.go")}
		if rest, ok := strings.CutPrefix(gf.path, "internal/"); ok {
			gf.pkg, _, _ = strings.Cut(rest, "/")
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestImportDirection(t *testing.T) {
	unranked := map[string]bool{}
	for _, f := range loadFiles(t) {
		if f.pkg == "" {
			continue // cmd, e2e, bench: outside internal, on top
		}
		from, ok := rank[f.pkg]
		if !ok && !unranked[f.pkg] {
			unranked[f.pkg] = true
			t.Errorf("internal/%s has no layer in lint's rank table", f.pkg)
		}
		if !ok || f.test {
			continue
		}
		for _, imp := range f.file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			rest, ok := strings.CutPrefix(p, module+"/internal/")
			if !ok {
				if p == "net/http" && contains(noHTTP, f.pkg) {
					t.Errorf("%s: lower layer %s imports net/http", f.path, f.pkg)
				}
				continue
			}
			to, _, _ := strings.Cut(rest, "/")
			if to == f.pkg {
				continue
			}
			if allowed, limited := onlyInternal[f.pkg]; limited && !contains(allowed, to) {
				t.Errorf("%s imports %s: %s may import only %v from internal", f.path, p, f.pkg, allowed)
			}
			r, known := rank[to]
			switch {
			case !known:
				t.Errorf("%s imports %s, which has no layer in lint's rank table", f.path, p)
			case r > from, r == from && !sameRank[[2]string{f.pkg, to}]:
				t.Errorf("%s (%s) imports %s: imports must point inward (DESIGN.md)", f.path, f.pkg, p)
			}
		}
	}
}

// The az-style client talks to a server over HTTP only, as az does
// (STYLE.md layout: cmd → client), so it imports no package of this module:
// not the server's types, not even errdef.
func TestClientSpeaksOnlyHTTP(t *testing.T) {
	seen := false
	for _, f := range loadFiles(t) {
		if f.pkg != "client" || f.test {
			continue
		}
		seen = true
		for _, imp := range f.file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == module || strings.HasPrefix(p, module+"/") {
				t.Errorf("%s imports %s: the client must reach the server over HTTP only", f.path, p)
			}
		}
	}
	if !seen {
		t.Fatal("found no files in internal/client")
	}
}

// Only egress (the decision) and acr (models and update rules) may mention
// the export policy (STYLE rule 15).
func TestExportPolicyOnlyInEgressAndACR(t *testing.T) {
	for _, f := range loadFiles(t) {
		if f.test || f.pkg == "egress" || f.pkg == "acr" || f.pkg == "lint" || !strings.HasPrefix(f.path, "internal/") && !strings.HasPrefix(f.path, "cmd/") {
			continue
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && strings.Contains(strings.ToLower(id.Name), "exportpolicy") {
				t.Errorf("%s mentions %s: only internal/egress and internal/acr may", f.path, id.Name)
			}
			return true
		})
	}
}

func TestNoInitOutsideCmd(t *testing.T) {
	for _, f := range loadFiles(t) {
		if strings.HasPrefix(f.path, "cmd/") {
			continue
		}
		for _, d := range f.file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
				t.Errorf("%s declares init(): wire explicitly instead (STYLE rule 10)", f.path)
			}
		}
	}
}

// Files stay small enough to read (STYLE rule 15: about 500 lines;
// anti-pattern 3).
func TestFileSizeBudget(t *testing.T) {
	const budget = 500
	for _, f := range loadFiles(t) {
		b, err := os.ReadFile(filepath.Join("../..", f.path))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > budget {
			t.Errorf("%s has %d lines; split it (budget %d)", f.path, n, budget)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
