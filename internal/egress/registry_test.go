package egress

import (
	"errors"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// An import whose target is its own source moves nothing out: the gate
// permits it with exports disabled and by login server, and the permit
// still names the source. Any other target, or none, is judged as before.
func TestImportInsideOneRegistry(t *testing.T) {
	closed := Source{Key: "k1", Name: "reg1", Premium: true, ExportsDisabled: true, PublicAccessDisabled: true, NamedByLoginServer: true}
	for _, c := range []struct {
		name, target string
		allowed      bool
	}{
		{"same registry", "k1", true},
		{"another registry", "k2", false},
		{"target unknown", "", false},
	} {
		src := closed
		src.Target = c.target
		p, err := Check(src, ChannelImportSource)
		if c.allowed != (err == nil) {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.allowed && (p.Covers("k1", ChannelImportSource) != nil || p.Covers(c.target+"x", ChannelImportSource) == nil) {
			t.Errorf("%s: the permit must name the source", c.name)
		}
	}
	// Only an import: the other export channels have no inside.
	src := closed
	src.Target = "k1"
	for _, ch := range []Channel{ChannelExportPipelineCreate, ChannelExportPipelineRun, ChannelCrossRegistryMount} {
		if _, err := Check(src, ch); err == nil {
			t.Errorf("%s permitted by a target equal to the source", ch)
		}
	}
	// A key is still required: an empty source and target are not "the same".
	if _, err := Check(Source{Name: "reg1", Target: ""}, ChannelImportSource); err == nil {
		t.Error("a source without a key must be refused")
	}
}

// RegistrySource reads the typed facts and fails closed on a row that no
// derivation wrote.
func TestRegistrySource(t *testing.T) {
	row := meta.Registry{Key: "k1", Name: "reg1", Facts: meta.RegistryFacts{Version: 1, SKU: "Premium", ExportsDisabled: true, PublicAccessDisabled: true}}
	src, err := RegistrySource(row)
	if err != nil || src != (Source{Key: "k1", Name: "reg1", Premium: true, ExportsDisabled: true, PublicAccessDisabled: true}) {
		t.Fatalf("%+v %v", src, err)
	}
	if _, err := Check(src, ChannelImportSource); !errors.Is(err, errdef.ErrFailedPrecondition) {
		t.Errorf("exports disabled in the facts: %v", err)
	}
	row.Facts = meta.RegistryFacts{SKU: "Basic"}
	var r *Refusal
	if _, err := RegistrySource(row); !errors.As(err, &r) {
		t.Errorf("facts of version 0 must be refused: %v", err)
	}
	row.Facts = meta.RegistryFacts{Version: 1, SKU: "Basic"}
	if src, err := RegistrySource(row); err != nil || src.Premium || src.ExportsDisabled {
		t.Errorf("basic: %+v %v", src, err)
	}
}
