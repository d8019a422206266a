package network

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

func TestCheck(t *testing.T) {
	subnets := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}
	ipRules := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	facts := func(publicOff, deny bool, ips []netip.Prefix) meta.RegistryFacts {
		return meta.RegistryFacts{Version: 1, PublicAccessDisabled: publicOff, DefaultDeny: deny, IPRules: ips, PrivateSubnets: subnets}
	}
	cases := []struct {
		name  string
		facts meta.RegistryFacts
		addr  string
		ok    bool
	}{
		{"open registry", facts(false, false, nil), "198.51.100.1", true},
		{"public disabled, outside", facts(true, false, nil), "198.51.100.1", false},
		{"public disabled, private endpoint subnet", facts(true, false, nil), "10.1.0.9", true},
		{"public disabled, ip rule does not help", facts(true, false, ipRules), "203.0.113.5", false},
		{"deny by default, ip rule", facts(false, true, ipRules), "203.0.113.5", true},
		{"deny by default, no rule", facts(false, true, ipRules), "198.51.100.1", false},
		{"deny by default, private endpoint", facts(false, true, nil), "10.1.0.1", true},
		{"mapped ipv6", facts(true, false, nil), "::ffff:10.1.0.9", true},
		{"invalid address", facts(true, false, nil), "", false},
		{"facts never derived", meta.RegistryFacts{}, "198.51.100.1", false},
		{"facts never derived, even from a private subnet", meta.RegistryFacts{PrivateSubnets: subnets}, "10.1.0.9", false},
	}
	for _, c := range cases {
		addr, _ := netip.ParseAddr(c.addr)
		err := Check(meta.Registry{Facts: c.facts}, addr)
		var denied *Denied
		if (err == nil) != c.ok || err != nil && (!errors.Is(err, errdef.ErrDenied) || !errors.As(err, &denied)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// The data plane calls Check on every request: letting a request in must
// not allocate.
func TestCheckDoesNotAllocate(t *testing.T) {
	reg := meta.Registry{Facts: meta.RegistryFacts{Version: 1, PublicAccessDisabled: true,
		PrivateSubnets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24"), netip.MustParsePrefix("10.2.0.0/24")}}}
	addr := netip.MustParseAddr("10.2.0.7")
	if n := testing.AllocsPerRun(100, func() {
		if Check(reg, addr) != nil {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("Check allocates %v times per call", n)
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
