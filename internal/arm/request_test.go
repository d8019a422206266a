package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta/sqlite"
)

// body is what the test server decodes.
type body struct {
	Location string `json:"location"`
	Count    int    `json:"count"`
}

// newServer serves one ARM-shaped resource: api-version gate, bounded
// decode, request ids, and errors in the envelope.
func newServer(t *testing.T, v Versions) *httptest.Server {
	t.Helper()
	handle := func(_ context.Context, q *Request) (*Response, error) {
		var in body
		if q.HTTP.Method == http.MethodPut {
			if err := q.Decode(&in); err != nil {
				return nil, err
			}
		}
		return OK(map[string]any{"version": q.Version, "location": in.Location, "next": NextLink(q.HTTP, "tok/1")}), nil
	}
	route := Route{Pattern: "/x", Versions: v, Access: AnyCaller("a test resource"), Egress: MovesNoContent("a test resource"), Handle: handle}
	get, put, sub := route, route, route
	get.Method, put.Method, sub.Method, sub.Pattern = http.MethodGet, http.MethodPut, http.MethodGet, "/subscriptions/{sub}/x"
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rt, err := NewRouter(RouterOptions{Store: store, Authenticate: func(*http.Request) (authz.Caller, error) {
		return authz.Caller{ObjectID: "o", ClientID: "c", TenantID: "t"}, nil
	}}, Table{Name: "test", Routes: []Route{get, put, sub}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status int
	header http.Header
	env    envelope
	ok     map[string]any
}

func call(t *testing.T, method, u, payload string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: server fault %d: %s", method, u, resp.StatusCode, b)
	}
	rp := reply{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &rp.env); err != nil || rp.env.Error.Code == "" || rp.env.Error.Message == "" {
			t.Fatalf("%d without an ARM error envelope: %s", resp.StatusCode, b)
		}
	} else if err := json.Unmarshal(b, &rp.ok); err != nil {
		t.Fatalf("body: %v: %s", err, b)
	}
	return rp
}

func TestAPIVersionGate(t *testing.T) {
	provider := newServer(t, APIVersions("Microsoft.ContainerRegistry/registries", "2025-11-01", "2021-06-01-preview", "2019-05-01"))
	platform := newServer(t, PlatformAPIVersions("Microsoft.Resources/resourceGroups", "2021-04-01", "2024-03-01"))
	for _, c := range []struct {
		srv          *httptest.Server
		query        string
		status       int
		code, inText string
	}{
		{provider, "", 400, "MissingApiVersionParameter", "(?api-version=) is required"},
		{provider, "?api-version=", 400, "MissingApiVersionParameter", ""},
		{provider, "?api-version=2099-01-01", 400, "NoRegisteredProviderFound", "'2025-11-01, 2021-06-01-preview, 2019-05-01'"},
		{provider, "?api-version=2021-06-01-Preview", 200, "", ""},
		{provider, "?api-version=2025-11-01", 200, "", ""},
		{platform, "?api-version=2099-01-01", 400, "InvalidApiVersionParameter", "'2024-03-01,2021-04-01'"},
		{platform, "?api-version=2021-04-01", 200, "", ""},
	} {
		rp := call(t, "GET", c.srv.URL+"/x"+c.query, "")
		if rp.status != c.status || rp.env.Error.Code != c.code || !strings.Contains(rp.env.Error.Message, c.inText) {
			t.Errorf("%s: got %d %+v", c.query, rp.status, rp.env.Error)
		}
	}
	v := APIVersions("t", "2025-11-01", "2019-05-01", "2019-05-01")
	if got := v.Supported(); len(got) != 2 || got[0] != "2019-05-01" || v.Latest() != "2025-11-01" {
		t.Fatalf("Supported %v Latest %s", got, v.Latest())
	}
}

func TestDecodeJSON(t *testing.T) {
	srv := newServer(t, APIVersions("t", "2025-11-01"))
	u := srv.URL + "/x?api-version=2025-11-01"
	for _, c := range []struct {
		name, payload string
		status        int
		code          string
	}{
		{"ok", `{"location":"westus"}`, 200, ""},
		{"property names fold case", `{"LOCATION":"westus"}`, 200, ""},
		{"malformed", `{"location":`, 400, "InvalidRequestContent"},
		{"empty", ``, 400, "InvalidRequestContent"},
		{"blank", " \n\t", 400, "InvalidRequestContent"},
		{"wrong type", `{"count":"many"}`, 400, "InvalidRequestContent"},
		{"array", `[1,2]`, 400, "InvalidRequestContent"},
		{"trailing garbage", `{"location":"westus"} x`, 400, "InvalidRequestContent"},
		{"not utf-8 json", "\xff\xfe", 400, "InvalidRequestContent"},
		{"oversized", `{"location":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "RequestEntityTooLarge"},
	} {
		rp := call(t, "PUT", u, c.payload)
		if rp.status != c.status || rp.env.Error.Code != c.code {
			t.Errorf("%s: got %d %+v", c.name, rp.status, rp.env.Error)
		}
		if c.status == 200 && rp.ok["location"] != "westus" {
			t.Errorf("%s: decoded %v", c.name, rp.ok)
		}
	}
	// Exactly MaxBody bytes is still accepted.
	pad := MaxBody - len(`{"location":"westus","x":""}`)
	if rp := call(t, "PUT", u, `{"location":"westus","x":"`+strings.Repeat("a", pad)+`"}`); rp.status != 200 {
		t.Fatalf("a body of exactly MaxBody bytes: %d", rp.status)
	}
}

func TestRequestIDs(t *testing.T) {
	srv := newServer(t, APIVersions("t", "2025-11-01"))
	u := srv.URL + "/x?api-version=2025-11-01"
	a, b := call(t, "GET", u, ""), call(t, "GET", u, "")
	ra, rb := a.header.Get(HeaderRequestID), b.header.Get(HeaderRequestID)
	if ra == "" || ra == rb || a.header.Get(HeaderCorrelationID) != ra {
		t.Fatalf("request ids %q %q, correlation %q", ra, rb, a.header.Get(HeaderCorrelationID))
	}
	c := call(t, "GET", u, "", HeaderCorrelationID, "corr-1", HeaderClientRequestID, "client-1")
	if c.header.Get(HeaderCorrelationID) != "corr-1" || c.header.Get(HeaderClientRequestID) != "client-1" || c.header.Get(HeaderRequestID) == "corr-1" {
		t.Fatalf("echo: %v", c.header)
	}
	long := strings.Repeat("x", 1000)
	d := call(t, "GET", u, "", HeaderCorrelationID, long, HeaderClientRequestID, long)
	if d.header.Get(HeaderCorrelationID) == long || d.header.Get(HeaderClientRequestID) != "" {
		t.Fatal("over-long client ids must not be reflected")
	}
	// Errors carry the ids too.
	if e := call(t, "GET", srv.URL+"/x", ""); e.header.Get(HeaderRequestID) == "" {
		t.Fatal("error answer without x-ms-request-id")
	}
}

func TestNextLink(t *testing.T) {
	srv := newServer(t, APIVersions("t", "2025-11-01"))
	rp := call(t, "GET", srv.URL+"/subscriptions/s/x?api-version=2025-11-01&$filter=a%20eq%20'b'&$skipToken=old", "")
	next, _ := rp.ok["next"].(string)
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "http" || u.Host != strings.TrimPrefix(srv.URL, "http://") || u.Path != "/subscriptions/s/x" {
		t.Fatalf("nextLink %q", next)
	}
	q := u.Query()
	if q.Get("api-version") != "2025-11-01" || q.Get("$skipToken") != "tok/1" || q.Get("$filter") != "a eq 'b'" {
		t.Fatalf("nextLink query %v", q)
	}
	r := httptest.NewRequest("GET", "https://mgmt.example.com/a?api-version=1", nil)
	if BaseURL(r) != "https://mgmt.example.com" {
		t.Fatalf("BaseURL over TLS: %s", BaseURL(r))
	}
}

func TestSystemData(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	sd := NewSystemData("app1", CreatedByTypeApplication, t0)
	if sd.CreatedBy != "app1" || sd.CreatedByType != "Application" || !sd.CreatedAt.Equal(t0) || sd.CreatedAt.Location() != time.UTC ||
		sd.LastModifiedBy != "app1" || !sd.LastModifiedAt.Equal(t0) {
		t.Fatalf("new: %+v", sd)
	}
	t1 := t0.Add(time.Hour)
	m := sd.Modified("user@x", CreatedByTypeUser, t1)
	if m.CreatedBy != "app1" || !m.CreatedAt.Equal(t0) || m.LastModifiedBy != "user@x" || m.LastModifiedByType != "User" || !m.LastModifiedAt.Equal(t1) {
		t.Fatalf("modified: %+v", m)
	}
	if sd.LastModifiedBy != "app1" {
		t.Fatal("Modified must not change the original")
	}
	var nilSD *SystemData
	if n := nilSD.Modified("app2", CreatedByTypeApplication, t1); n.CreatedBy != "app2" || !n.CreatedAt.Equal(t1) {
		t.Fatalf("nil: %+v", n)
	}
	b, _ := json.Marshal(sd)
	for _, k := range []string{`"createdBy":"app1"`, `"createdByType":"Application"`, `"createdAt":"2026-01-02T02:04:05Z"`, `"lastModifiedAt"`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("json lacks %s: %s", k, b)
		}
	}
	if len(PossibleCreatedByTypeValues()) != 4 {
		t.Fatal("CreatedByType values")
	}
}
