package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// listedPackage is what `go list -json` says of one package.
type listedPackage struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
}

// listPackages lists the module's packages and all their dependencies,
// with compiled export data (from the build cache, which go test and go
// vet fill anyway), so that type-checking a package needs no source but
// its own.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Dir,Export,GoFiles", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
}

// documentOwners may name meta.Registry's Document: acr owns the document
// and derives the facts from it; meta and its backends store the bytes.
func documentOwners(importPath string) bool {
	rest, _ := strings.CutPrefix(importPath, module+"/internal/")
	family, _, _ := strings.Cut(rest, "/")
	return family == "acr" || family == "meta"
}

// Only acr decodes a registry's document (DESIGN.md "The front door"):
// everywhere else, code reads the typed facts acr writes with it
// (meta.RegistryFacts), so a change in the document's schema cannot turn
// a security check into a silently read zero value. The check is typed:
// any use of the field meta.Registry.Document (a selector, a composite
// literal key) outside acr and meta fails, whatever the variable is
// called, while meta.Resource's Document stays free. Test files may seed
// rows and are not checked.
func TestRegistryDocumentOnlyInACR(t *testing.T) {
	pkgs := listPackages(t)
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, errors.New("no export data for " + path)
		}
		return os.Open(f)
	})
	document := registryDocumentField(t, imp)

	ownerUses := 0
	for _, p := range pkgs {
		if !strings.HasPrefix(p.ImportPath, module+"/") || len(p.GoFiles) == 0 {
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		for id, obj := range info.Uses {
			if obj != document {
				continue
			}
			if documentOwners(p.ImportPath) {
				ownerUses++
				continue
			}
			pos := fset.Position(id.Pos())
			rel, _ := filepath.Rel(mustAbs(t, "../.."), pos.Filename)
			t.Errorf("%s:%d uses meta.Registry.Document: only internal/acr decodes a registry document; read reg.Facts (meta.RegistryFacts) instead",
				filepath.ToSlash(rel), pos.Line)
		}
	}
	if ownerUses == 0 {
		t.Fatal("found no use of meta.Registry.Document even in internal/acr: the check itself is broken")
	}
}

// registryDocumentField is the types object of meta.Registry's Document.
func registryDocumentField(t *testing.T, imp types.Importer) *types.Var {
	t.Helper()
	pkg, err := imp.Import(module + "/internal/meta")
	if err != nil {
		t.Fatal(err)
	}
	obj := pkg.Scope().Lookup("Registry")
	if obj == nil {
		t.Fatal("meta.Registry is gone; update this check")
	}
	st, ok := obj.Type().Underlying().(*types.Struct)
	if !ok {
		t.Fatal("meta.Registry is not a struct; update this check")
	}
	for f := range st.Fields() {
		if f.Name() == "Document" {
			return f
		}
	}
	t.Fatal("meta.Registry has no Document field; update this check")
	return nil
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
