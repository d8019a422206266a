package network

import (
	"errors"
	"net/netip"
	"strconv"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

func TestDecide(t *testing.T) {
	view := View{PrivateSubnets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}}
	ipRules := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	cases := []struct {
		name  string
		rules Rules
		addr  string
		ok    bool
	}{
		{"open registry", Rules{}, "198.51.100.1", true},
		{"public disabled, outside", Rules{PublicAccessDisabled: true}, "198.51.100.1", false},
		{"public disabled, private endpoint subnet", Rules{PublicAccessDisabled: true}, "10.1.0.9", true},
		{"public disabled, ip rule does not help", Rules{PublicAccessDisabled: true, IPRules: ipRules}, "203.0.113.5", false},
		{"deny by default, ip rule", Rules{DefaultDeny: true, IPRules: ipRules}, "203.0.113.5", true},
		{"deny by default, no rule", Rules{DefaultDeny: true, IPRules: ipRules}, "198.51.100.1", false},
		{"deny by default, private endpoint", Rules{DefaultDeny: true}, "10.1.0.1", true},
		{"mapped ipv6", Rules{PublicAccessDisabled: true}, "::ffff:10.1.0.9", true},
		{"invalid address", Rules{PublicAccessDisabled: true}, "", false},
	}
	for _, c := range cases {
		addr, _ := netip.ParseAddr(c.addr)
		err := Decide(c.rules, view, addr)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, errdef.ErrDenied) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestRulesOf(t *testing.T) {
	r, err := RulesOf([]byte(`{"properties":{"publicNetworkAccess":"disabled","networkRuleSet":{"defaultAction":"deny","ipRules":[{"value":"1.2.3.4"},{"value":"5.6.0.0/16"},{"value":"nonsense"}]}}}`))
	if err != nil || !r.PublicAccessDisabled || !r.DefaultDeny || len(r.IPRules) != 2 || r.IPRules[0].String() != "1.2.3.4/32" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := RulesOf([]byte(`{`)); err == nil {
		t.Fatal("a broken document must be an error")
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"198.51.100.7:5000", nil, "198.51.100.7"},
		{"198.51.100.7:5000", []string{"10.1.0.1"}, "198.51.100.7"},           // untrusted peer: header ignored
		{"10.9.0.1:5000", []string{"10.1.0.1"}, "10.1.0.1"},                   // trusted proxy
		{"10.9.0.1:5000", []string{"10.1.0.1, 198.51.100.7"}, "198.51.100.7"}, // spoof behind a proxy
		{"10.9.0.1:5000", []string{"10.1.0.1", "10.9.0.2"}, "10.1.0.1"},       // two trusted hops
		{"10.9.0.1:5000", []string{"garbage, 198.51.100.7"}, "198.51.100.7"},  // rightmost good hop
		{"10.9.0.1:5000", []string{"garbage"}, "10.9.0.1"},                    // nothing believable
		{"[::ffff:198.51.100.7]:5000", nil, "198.51.100.7"},                   // mapped
		{"not an address", nil, "invalid IP"},
	}
	for _, c := range cases {
		if got := ClientAddr(c.remote, c.xff, trusted); got.String() != c.want {
			t.Errorf("%s %v: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

// The gate's memory of rules follows the document: a changed document is
// never judged by the rules of the old one.
func TestGateFollowsDocument(t *testing.T) {
	var g Gate
	open := []byte(`{"properties":{"publicNetworkAccess":"Enabled"}}`)
	closed := []byte(`{"properties":{"publicNetworkAccess":"Disabled"}}`)
	for i := range 3 {
		if r, err := g.rulesOf(open); err != nil || r.Restricted() {
			t.Fatalf("round %d, open: %+v %v", i, r, err)
		}
		if r, err := g.rulesOf(closed); err != nil || !r.PublicAccessDisabled {
			t.Fatalf("round %d, closed: %+v %v", i, r, err)
		}
	}
	if _, err := g.rulesOf([]byte(`{`)); err == nil {
		t.Fatal("a broken document must be an error")
	}
	for i := range gateCacheMax + 10 {
		g.rulesOf([]byte(`{"name":"r` + strconv.Itoa(i) + `"}`))
	}
	if len(g.rules) > gateCacheMax {
		t.Fatalf("cache grew to %d", len(g.rules))
	}
}
