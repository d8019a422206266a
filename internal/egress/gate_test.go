package egress

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Every channel that can move content out is decided by Check, and with
// exports disabled every export channel is refused.
func TestEveryChannelPassesTheGate(t *testing.T) {
	open := Source{Key: "k1", Name: "reg1", Premium: true}
	closed := Source{Key: "k1", Name: "reg1", Premium: true, ExportsDisabled: true, PublicAccessDisabled: true}
	for _, ch := range Channels() {
		pOpen, errOpen := Check(open, ch)
		pClosed, errClosed := Check(closed, ch)
		if errOpen == nil && pOpen.Covers("k1", ch) != nil || errOpen != nil && pOpen.Covers("k1", ch) == nil {
			t.Errorf("%s: the permit must follow the answer (%v)", ch, errOpen)
		}
		if errClosed != nil && pClosed.Covers("k1", ch) == nil {
			t.Errorf("%s: a refusal came with a usable permit", ch)
		}
		var r *Refusal
		if errOpen != nil && !errors.As(errOpen, &r) || errClosed != nil && !errors.As(errClosed, &r) {
			t.Fatalf("%s: the gate must answer with a Refusal: %v %v", ch, errOpen, errClosed)
		}
		switch ch {
		case ChannelPublicPull:
			if errOpen != nil || errClosed != nil {
				t.Errorf("%s: pulls are a network decision, not an export decision", ch)
			}
		case ChannelCrossRegistryMount:
			if errOpen == nil || errClosed == nil {
				t.Errorf("%s must always be refused", ch)
			}
		default:
			if errOpen != nil {
				t.Errorf("%s refused with exports enabled: %v", ch, errOpen)
			}
			if !errors.Is(errClosed, errdef.ErrFailedPrecondition) || !strings.Contains(errClosed.Error(), "exports disabled") {
				t.Errorf("%s allowed with exports disabled: %v", ch, errClosed)
			}
		}
	}
	// An import names a private source by resource id only.
	private := Source{Key: "k1", Name: "reg1", Premium: true, PublicAccessDisabled: true}
	if _, err := Check(private, ChannelImportSource); err != nil {
		t.Errorf("import by resource id from a private registry: %v", err)
	}
	private.NamedByLoginServer = true
	var r *Refusal
	if _, err := Check(private, ChannelImportSource); !errors.As(err, &r) || r.Code != "InvalidParameters" {
		t.Errorf("import by login server from a private registry: %v", err)
	}
	if _, err := Check(private, ChannelExportPipelineCreate); err != nil {
		t.Errorf("the login-server rule is the import's only: %v", err)
	}
	if _, err := Check(open, Channel("smuggle")); err == nil {
		t.Fatal("an unknown channel must be refused")
	}
	if _, err := Check(Source{Name: "reg1", Premium: true}, ChannelImportSource); err == nil {
		t.Fatal("a source without a key must be refused: a permit names its registry")
	}
}

// A permit covers exactly its registry and channel; the zero value, which
// anyone can write, covers nothing.
func TestPermitCoversOnlyWhatItNames(t *testing.T) {
	p, err := Check(Source{Key: "k1", Name: "reg1"}, ChannelImportSource)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Covers("k1", ChannelImportSource); err != nil {
		t.Fatalf("own registry and channel: %v", err)
	}
	for _, c := range []struct {
		p   Permit
		key string
		ch  Channel
	}{
		{p, "k2", ChannelImportSource},
		{p, "k1", ChannelExportPipelineRun},
		{p, "", ChannelImportSource},
		{Permit{}, "k1", ChannelImportSource},
		{Permit{}, "", ""},
	} {
		if err := c.p.Covers(c.key, c.ch); !errors.Is(err, errdef.ErrDenied) {
			t.Errorf("%+v covers %q %s: %v", c.p, c.key, c.ch, err)
		}
	}
}

func TestCheckChange(t *testing.T) {
	premium := func(exportsOff, publicOff bool) PolicyState {
		return PolicyState{Name: "reg1", SKU: "Premium", ExportsDisabled: exportsOff, PublicAccessDisabled: publicOff}
	}
	cases := []struct {
		name          string
		before, after PolicyState
		pipelines     int
		enables       bool   // the request says exportPolicy.status=enabled
		code, msg     string // empty code: allowed
	}{
		{"disable both in one request", premium(false, false), premium(true, true), 0, false, "", ""},
		{"disable exports after public access", premium(false, true), premium(true, true), 0, false, "", ""},
		{"disable exports with public access on", premium(false, false), premium(true, false), 0, false, "BadRequest", "publicNetworkAccess=Disabled"},
		{"enable public access while exports disabled", premium(true, true), premium(true, false), 0, false, "BadRequest", "Enabling public network access is not supported because the registry 'reg1' has exports disabled."},
		{"re-enable exports", premium(true, true), premium(false, true), 0, true, "", ""},
		{"re-enable both in one request", premium(true, true), premium(false, false), 0, true, "", ""},
		{"disable exports with pipelines", premium(false, true), premium(true, true), 2, false, "BadRequest", "2 export pipeline(s)"},
		{"exports disabled on Standard", premium(false, false), PolicyState{Name: "reg1", SKU: "Standard", ExportsDisabled: true, PublicAccessDisabled: false}, 0, false, "ExportPolicyNotSupported", "Premium"},
		{"downgrade an export-disabled registry", premium(true, true), PolicyState{Name: "reg1", SKU: "Standard", ExportsDisabled: true, PublicAccessDisabled: true}, 0, false, "DisablingPublicNetworkAccessNotSupported", "SKU Standard"},
		{"disable public access on Basic", PolicyState{SKU: "Basic"}, PolicyState{Name: "r", SKU: "Basic", PublicAccessDisabled: true}, 0, false, "DisablingPublicNetworkAccessNotSupported", "for the SKU Basic"},
		{"unrelated change while disabled", premium(true, true), premium(true, true), 0, false, "", ""},
		{"create disabled", PolicyState{}, premium(true, true), 0, false, "", ""},
		{"exports re-enabled without saying so", premium(true, true), premium(false, true), 0, false, "ExportPolicyLocked", "only an explicit"},
		{"public access re-enabled with exports, explicitly", premium(true, true), premium(false, false), 0, true, "", ""},
		{"create disabled with public access", PolicyState{}, premium(true, false), 0, false, "BadRequest", "publicNetworkAccess=Disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckChange(Change{Before: c.before, After: c.after, ExportPipelines: c.pipelines, EnablesExports: c.enables})
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Code != c.code || !strings.Contains(r.Message, c.msg) || !errors.Is(err, errdef.ErrFailedPrecondition) {
				t.Fatalf("got %v, want %s containing %q", err, c.code, c.msg)
			}
		})
	}
}
