package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/testserver"
)

// privateEndpoint puts registry reg behind an approved private endpoint
// whose subnet is cidr (a loopback range), in a new virtual network.
func privateEndpoint(t *testing.T, a *armClient, srv *testserver.Server, rg, reg, cidr string) {
	t.Helper()
	base := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/" + rg
	vnetID := base + "/providers/Microsoft.Network/virtualNetworks/" + reg + "net"
	const nv = "?api-version=2023-09-01"
	vnet := `{"location":"westus","properties":{"addressSpace":{"addressPrefixes":["127.0.0.0/8"]},"subnets":[{"name":"inside","properties":{"addressPrefix":"` + cidr + `"}}]}}`
	if code, m := a.do("PUT", vnetID+nv, vnet); code/100 != 2 {
		t.Fatalf("vnet: %d %v", code, m)
	}
	pe := `{"location":"westus","properties":{"subnet":{"id":"` + vnetID + `/subnets/inside"},"privateLinkServiceConnections":[
		{"name":"conn","properties":{"privateLinkServiceId":"` + base + `/providers/Microsoft.ContainerRegistry/registries/` + reg + `","groupIds":["registry"]}}]}}`
	if code, m := a.do("PUT", base+"/providers/Microsoft.Network/privateEndpoints/"+reg+"pe"+nv, pe); code/100 != 2 {
		t.Fatalf("private endpoint: %d %v", code, m)
	}
}

// forwarder accepts TCP connections on 127.0.0.1 and relays each to
// target from source address from: a road into the service that arrives
// from inside a private subnet.
func forwarder(t *testing.T, target, from string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := d.DialContext(context.Background(), "tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// An import from a registryUri outside the service that leads back into
// it, by any road, meets the egress gate of the registry it reads: a
// numeric alias, a redirecting server, a forwarding reverse proxy, a TCP
// forwarder that arrives from inside the source's private subnet (where
// the network rules alone would let it in). With exports disabled each is
// refused with the gate's message and copies nothing; with exports enabled
// each road that the network rules let in succeeds. The marker itself
// only ever restricts an ordinary pull.
func TestImportRoadsBackIntoTheService(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	// The C resolver reads numeric host forms (2130706433, 0x7f.1) as
	// addresses, as curl and many clients do; Go's own resolver does
	// not, and such an alias is then simply unreachable.
	srv := testserver.Start(t, testserver.Options{Env: []string{"GODEBUG=netdns=cgo"}})
	srv.CreateRegistry(t, "roads", "roadsrc", "Premium")
	srv.CreateRegistry(t, "roads", "roadtgt", "Basic")
	a := newARM(t, srv)
	regs := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/roads/providers/Microsoft.ContainerRegistry/registries/"
	p := newPusher(srv)
	if _, err := p.pushImage("roadsrc/app", "v1", []byte("secret layer")); err != nil {
		t.Fatal(err)
	}
	privateEndpoint(t, a, srv, "roads", "roadsrc", "127.0.10.0/24")
	patch := func(body string) {
		t.Helper()
		if code, m := a.do("PATCH", regs+"roadsrc?api-version=2025-11-01", body); code/100 != 2 {
			t.Fatalf("PATCH %s: %d %v", body, code, m)
		}
	}
	patch(`{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`)

	_, port, _ := net.SplitHostPort(srv.Addr)
	target, _ := url.Parse(srv.URL)
	// The redirect carries credentials in its URL: the importer's own
	// (go-containerregistry's) credentials never follow a redirect to
	// another host:port, but Go signs a redirected request with the URL's
	// user info, so a source can hand this service's credentials along.
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *target
		u.User = url.UserPassword(srv.Boot.ClientID, srv.Boot.ClientSecret)
		http.Redirect(w, r, u.String()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	defer proxy.Close()
	inside := forwarder(t, srv.Addr, "127.0.10.5")
	type road struct {
		name, uri string
		numeric   bool // reachable only where the resolver reads numeric forms
		public    bool // arrives from 127.0.0.1, outside the private subnet
	}
	roads := []road{
		{"localhost", "localhost:" + port + "/roadsrc", false, true},
		{"IPv4-mapped IPv6", "[::ffff:127.0.0.1]:" + port + "/roadsrc", false, true},
		{"127.1", "http://127.1:" + port + "/roadsrc", true, true},
		{"decimal", "http://2130706433:" + port + "/roadsrc", true, true},
		{"hex", "http://0x7f000001:" + port + "/roadsrc", true, true},
		{"dotted hex", "http://0x7f.1:" + port + "/roadsrc", true, true},
		{"redirect", strings.TrimPrefix(redirect.URL, "http://") + "/roadsrc", false, true},
		{"reverse proxy", strings.TrimPrefix(proxy.URL, "http://") + "/roadsrc", false, true},
		{"TCP forwarder from the private subnet", inside + "/roadsrc", false, false},
	}
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		ln.Close()
		t.Log("[::1] is available, but the server listens on 127.0.0.1 only")
	}
	n := 0
	imp := func(rd road, withCreds bool) (int, string, string) {
		t.Helper()
		n++
		extra := []string{"tag", fmt.Sprintf("road%d/app:v1", n)}
		if withCreds {
			extra = append(extra, "user", srv.Boot.ClientID, srv.Boot.ClientSecret)
		}
		code, m := a.do("POST", regs+"roadtgt/importImage?api-version=2025-11-01", importBody(rd.uri, "app:v1", extra...))
		msg := fmt.Sprint(dig(m, "error", "message"))
		if strings.Contains(msg, srv.Boot.ClientSecret) {
			t.Errorf("%s: the error echoes the secret", rd.name)
		}
		return code, fmt.Sprint(dig(m, "error", "code")), msg
	}
	copied := func() []string {
		t.Helper()
		_, b, err := p.do("GET", "/v2/_catalog", nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '"' }) {
			if strings.HasPrefix(f, "roadtgt/") {
				out = append(out, f)
			}
		}
		return out
	}
	unreachable := func(rd road, msg string) bool { return rd.numeric && strings.Contains(msg, "could not be reached") }

	// Exports disabled: every road is refused, with the gate's message.
	for _, rd := range roads {
		code, c, msg := imp(rd, true)
		t.Logf("exports disabled, %s: %d %s: %s", rd.name, code, c, msg)
		if code/100 != 4 || !strings.Contains(msg, "exports disabled") && !unreachable(rd, msg) {
			t.Errorf("exports disabled, %s: %d %s %s", rd.name, code, c, msg)
		}
		// Without credentials the road ends at the sign-in, as before.
		if code, _, msg := imp(rd, false); code/100 != 4 {
			t.Errorf("exports disabled, %s, anonymous: %d %s", rd.name, code, msg)
		}
	}
	if got := copied(); len(got) > 0 {
		t.Fatalf("refused imports copied %v", got)
	}
	// A spoofed marker on an ordinary pull from inside only restricts.
	pull := func(marker bool) int {
		t.Helper()
		hdr := []string{"Accept", "application/vnd.oci.image.manifest.v1+json"}
		if marker {
			hdr = append(hdr, "Bulkhead-Egress", "importImage.source")
		}
		resp, _, err := from(srv, "127.0.10.5").do("GET", "/v2/roadsrc/app/manifests/v1", nil, hdr...)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if plain, marked := pull(false), pull(true); plain != 200 || marked != 403 {
		t.Errorf("private pull with exports disabled: %d, with a spoofed marker %d; want 200 and 403", plain, marked)
	}

	// Exports enabled, still private: the forwarder from inside the
	// subnet succeeds; roads from outside meet the network rules.
	patch(`{"properties":{"policies":{"exportPolicy":{"status":"enabled"}}}}`)
	if marked := pull(true); marked != 200 {
		t.Errorf("private pull with a marker and exports enabled: %d", marked)
	}
	for _, rd := range roads {
		code, c, msg := imp(rd, true)
		switch {
		case !rd.public:
			if code != 202 {
				t.Errorf("exports enabled, private, %s: %d %s %s", rd.name, code, c, msg)
			}
		case code/100 != 4 || strings.Contains(msg, "exports disabled"):
			t.Errorf("exports enabled, private, %s from outside: %d %s %s", rd.name, code, c, msg)
		}
	}
	// Exports and public access enabled: every road that reaches the
	// service succeeds.
	patch(`{"properties":{"publicNetworkAccess":"Enabled"}}`)
	for _, rd := range roads {
		code, c, msg := imp(rd, true)
		if code != 202 && !unreachable(rd, msg) {
			t.Errorf("exports enabled, public, %s: %d %s %s", rd.name, code, c, msg)
		}
		t.Logf("exports enabled, public, %s: %d", rd.name, code)
	}
}

// An import whose target is its own source moves nothing out: with
// exports disabled it succeeds by resource id and by login server, and an
// import of the same image into another registry is still refused.
func TestImportInsideOneRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	srv := testserver.Start(t, testserver.Options{})
	srv.CreateRegistry(t, "self", "selfreg", "Premium")
	srv.CreateRegistry(t, "self", "otherreg", "Premium")
	a := newARM(t, srv)
	regs := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/self/providers/Microsoft.ContainerRegistry/registries/"
	if _, err := newPusher(srv).pushImage("selfreg/dev/app", "v1", []byte("inner layer")); err != nil {
		t.Fatal(err)
	}
	privateEndpoint(t, a, srv, "self", "selfreg", "127.0.30.0/24")
	if code, m := a.do("PATCH", regs+"selfreg?api-version=2025-11-01", `{"properties":{"publicNetworkAccess":"Disabled","policies":{"exportPolicy":{"status":"disabled"}}}}`); code/100 != 2 {
		t.Fatalf("disable exports: %d %v", code, m)
	}
	imp := func(reg, source, tag string) (int, map[string]any) {
		return a.do("POST", regs+reg+"/importImage?api-version=2025-11-01", `{"source":{`+source+`,"sourceImage":"dev/app:v1"},"targetTags":["`+tag+`"]}`)
	}
	if code, m := imp("selfreg", `"resourceId":"`+regs+`selfreg"`, "prod/app:v1"); code != 202 {
		t.Errorf("inside one registry by resource id: %d %v", code, m)
	}
	if code, m := imp("selfreg", `"registryUri":"`+srv.Addr+`/selfreg"`, "prod/app:v2"); code != 202 {
		t.Errorf("inside one registry by login server: %d %v", code, m)
	}
	inside := from(srv, "127.0.30.7")
	for _, tag := range []string{"v1", "v2"} {
		resp, _, err := inside.do("GET", "/v2/selfreg/prod/app/manifests/"+tag, nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("prod/app:%s after the import: %v %v", tag, err, resp)
		}
	}
	for _, source := range []string{`"resourceId":"` + regs + `selfreg"`, `"registryUri":"` + srv.Addr + `/selfreg"`} {
		if code, m := imp("otherreg", source, "prod/app:v1"); code != 400 || dig(m, "error", "code") != "ExportsDisabled" {
			t.Errorf("into another registry by %s: %d %v", source, code, m)
		}
	}
}
