package remote

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

func TestParseSource(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Source
	}{
		{"docker.io", Source{Host: "docker.io"}},
		{"MCR.Microsoft.com", Source{Host: "mcr.microsoft.com"}},
		{"https://ghcr.io/", Source{Host: "ghcr.io", TLSOnly: true}},
		{"http://registry.internal:5000", Source{Host: "registry.internal:5000", PlainHTTP: true}},
		{"10.0.0.5:5000", Source{Host: "10.0.0.5:5000"}},
		{"127.0.0.1:5001", Source{Host: "127.0.0.1:5001", PlainHTTP: true}},
		{"https://127.0.0.1:5001", Source{Host: "127.0.0.1:5001", TLSOnly: true}},
		{"localhost:5000", Source{Host: "localhost:5000", PlainHTTP: true}},
		{"reg.localhost", Source{Host: "reg.localhost", PlainHTTP: true}},
		{"[::1]:5000", Source{Host: "[::1]:5000", PlainHTTP: true}},
		{"[::ffff:127.0.0.1]:5000", Source{Host: "[::ffff:127.0.0.1]:5000", PlainHTTP: true}},
		{"[2001:DB8::1]", Source{Host: "[2001:db8::1]"}},
		{"2130706433:5000", Source{Host: "2130706433:5000"}},
		{"host:5000/team/sub", Source{Host: "host:5000", Prefix: "team/sub"}},
		{"HTTP://Host/Reg1/", Source{Host: "host", Prefix: "reg1", PlainHTTP: true}},
		{"host.", Source{Host: "host."}},
	} {
		got, err := ParseSource(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		"", "ftp://host", "user:pass@host", "host?x=1", "host#f", "host:0", "host:65536", "host:x", "host:+80", "::1", "[fe80::1%eth0]",
		"[::1", "host/Bad Path", "host//x", "-host", "ho st", "host..com", "a:b:c", "https://", "host/..", strings.Repeat("a", 600),
		"[127.0.0.1]",
	} {
		if s, err := ParseSource(in); !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("ParseSource(%q) = %+v, %v; want an invalid argument", in, s, err)
		}
	}
}
