package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBar(t *testing.T) {
	for _, c := range []struct {
		v, peak int64
		width   int
		want    string
	}{
		{100, 100, 40, strings.Repeat("█", 40)},
		{50, 100, 40, strings.Repeat("█", 20)},
		{25, 100, 40, strings.Repeat("█", 10)},
		{1, 100, 40, "▍"},                               // 3.2 eighths
		{1, 1 << 40, 40, "▏"},                           // a sliver, never nothing
		{3, 8, 1, "▍"},                                  // 3 eighths of one cell
		{1 << 62, 1 << 62, 40, strings.Repeat("█", 40)}, // no overflow
		{150, 100, 10, strings.Repeat("█", 10)},         // never wider than width
		{0, 100, 40, ""},
		{5, 0, 40, ""},
		{-1, 100, 40, ""},
	} {
		if got := bar(c.v, c.peak, c.width); got != c.want {
			t.Errorf("bar(%d, %d, %d) = %q, want %q", c.v, c.peak, c.width, got, c.want)
		}
	}
}

func TestSinceBody(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"":                          "null",
		"7d":                        `{"days":7}`,
		"400d":                      `{"days":400}`,
		"0d":                        `{"days":0}`, // the server says what is allowed
		"48h":                       `{"since":"2026-03-08T12:00:00Z"}`,
		"90m":                       `{"since":"2026-03-10T10:30:00Z"}`,
		"2026-03-01T00:00:00+02:00": `{"since":"2026-03-01T00:00:00+02:00"}`,
	} {
		b, err := sinceBody(in, now)
		if got, _ := json.Marshal(b); err != nil || string(got) != want {
			t.Errorf("sinceBody(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "7", "d", "-48h", "2026-03-01", "7days"} {
		if _, err := sinceBody(in, now); err == nil || !strings.Contains(err.Error(), "--since") {
			t.Errorf("sinceBody(%q): %v", in, err)
		}
	}
}

// sampleReport is a report as the server sends it: five days, one with
// nothing, bytes 100/50/25/1 on the others.
const sampleReport = `{"id":"` + testReg + `","name":"reg1","since":"2026-03-06T00:00:00Z","until":"2026-03-10T12:00:00Z","days":5,
 "channels":["pullPrivate","pullPublic","importSource","pipelineRun","refused"],
 "left":{"bytes":176,"artifacts":6,"attempts":6},
 "byChannel":{"pullPrivate":{"bytes":100,"artifacts":1,"attempts":1},"pullPublic":{"bytes":76,"artifacts":5,"attempts":5},
   "importSource":{"bytes":0,"artifacts":0,"attempts":0},"pipelineRun":{"bytes":0,"artifacts":0,"attempts":0},"refused":{"bytes":0,"artifacts":0,"attempts":2}},
 "byIdentity":[{"identity":"alice","left":{"bytes":100,"artifacts":1,"attempts":1},"lastDay":"2026-03-06",
   "byChannel":{"pullPrivate":{"bytes":100,"artifacts":1,"attempts":1},"pullPublic":{},"importSource":{},"pipelineRun":{},"refused":{}}},
  {"identity":"","left":{"bytes":76,"artifacts":5,"attempts":5},"lastDay":"2026-03-10",
   "byChannel":{"pullPrivate":{},"pullPublic":{"bytes":76,"artifacts":5,"attempts":5},"importSource":{},"pipelineRun":{},"refused":{"attempts":2}}}],
 "byDay":[
  {"day":"2026-03-06","left":{"bytes":100,"artifacts":1,"attempts":1},"byChannel":{}},
  {"day":"2026-03-07","left":{"bytes":0},"byChannel":{"refused":{"attempts":2}}},
  {"day":"2026-03-08","left":{"bytes":50,"artifacts":2,"attempts":2},"byChannel":{}},
  {"day":"2026-03-09","left":{"bytes":25,"artifacts":2,"attempts":2},"byChannel":{}},
  {"day":"2026-03-10","left":{"bytes":1,"artifacts":1,"attempts":1},"byChannel":{}}]}`

// The table view: a row a day whose bar is proportional to the bytes that
// left (the biggest day is reportBarWidth cells), all bars starting in
// one column; then the channels and the identities.
func TestWriteReport(t *testing.T) {
	var r egressReport
	if err := json.Unmarshal([]byte(sampleReport), &r); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeReport(&out, r); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	lines := strings.Split(text, "\n")
	wantBars := map[string]int{"2026-03-06": 40, "2026-03-07": 0, "2026-03-08": 20, "2026-03-09": 10, "2026-03-10": 1}
	barCol := -1
	for _, l := range lines {
		day, _, _ := strings.Cut(l, " ")
		want, ok := wantBars[day]
		if !ok {
			continue
		}
		delete(wantBars, day)
		i := strings.IndexAny(l, "█▏▎▍▌▋▊▉")
		if want == 0 {
			if i >= 0 {
				t.Errorf("%s has a bar: %q", day, l)
			}
			continue
		}
		if i < 0 {
			t.Fatalf("%s has no bar: %q", day, l)
		}
		col := utf8.RuneCountInString(l[:i])
		if barCol >= 0 && col != barCol {
			t.Errorf("%s's bar starts at column %d, others at %d:\n%s", day, col, barCol, text)
		}
		barCol = col
		if got := utf8.RuneCountInString(l[i:]); got != want {
			t.Errorf("%s's bar is %d cells, want %d: %q", day, got, want, l)
		}
	}
	if len(wantBars) > 0 {
		t.Errorf("days missing: %v\n%s", wantBars, text)
	}
	for _, s := range []string{
		"Egress of reg1, 2026-03-06 to 2026-03-10 (5 UTC days)",
		"Left: 176 B in 6 artifacts (6 attempts); refused: 2 attempts",
		"DAY         LEFT   ARTIFACTS  REFUSED",
		"2026-03-07  0 B    0          2",
		"CHANNEL       BYTES  ARTIFACTS  ATTEMPTS",
		"importSource  0 B    0          0",
		"refused       0 B    0          2",
		"IDENTITY     LEFT   ARTIFACTS  PULLPRIVATE  PULLPUBLIC  IMPORTSOURCE  PIPELINERUN  REFUSED  LAST_DAY",
		"alice        100 B  1          100 B        0 B         0 B           0 B          0        2026-03-06",
		"(anonymous)  76 B   5          0 B          76 B        0 B           0 B          2        2026-03-10",
	} {
		if !strings.Contains(text, s+"\n") {
			t.Errorf("the table lacks %q:\n%s", s, text)
		}
	}
}

// reportServer answers the registry list, egressReport and whatIf as the
// server would, and records the POSTs.
type reportServer struct {
	mu    sync.Mutex
	posts map[string]string // path → body
}

func newReportServer(t *testing.T) *reportServer {
	rs := &reportServer{posts: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		defer rs.mu.Unlock()
		switch {
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/Microsoft.ContainerRegistry/registries"):
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": testReg, "name": "reg1"}}})
		case r.Method == "POST" && r.URL.Path == testReg+"/egressReport" && r.URL.Query().Get("api-version") == acrAPIVersion:
			rs.posts[r.URL.Path] = string(b)
			if strings.Contains(string(b), `"days":0`) {
				writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "InvalidParameters", "message": "days must be a whole number from 1 to 400; got 0."}})
				return
			}
			w.Write([]byte(sampleReport))
		case r.Method == "POST" && r.URL.Path == testReg+"/whatIf":
			rs.posts[r.URL.Path] = string(b)
			w.Write([]byte(`{"id":"` + testReg + `","since":"2026-02-09T00:00:00Z","days":30,
				"result":{"status":"Refused","httpStatus":400,"error":{"code":"BadRequest","message":"The exportPolicy status cannot be changed while the registry 'reg1' has 1 export pipeline(s); delete them first."}},
				"changes":[{"path":"properties.networkRuleSet.ipRules","before":[],"after":null},{"path":"properties.publicNetworkAccess","before":"Enabled","after":"Disabled"}],
				"impacts":{"blockingPipelines":[{"name":"exp1","id":"` + testReg + `/exportPipelines/exp1"}],
				"cutOff":[{"identity":"importer1","channel":"importSource","reason":"exportsDisabled","bytes":6144,"artifacts":4,"attempts":4,"lastDay":"2026-03-09"}]}}`))
		default:
			writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "ResourceNotFound", "message": r.Method + " " + r.URL.Path}})
		}
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Setenv("BULKHEAD_CONFIG_DIR", dir)
	p := Profile{Endpoint: srv.URL, TenantID: "t1", ClientID: "c1", ClientSecret: "s1", SubscriptionID: "sub1", Token: "tok", Expires: time.Now().Add(time.Hour)}
	b, _ := json.Marshal(p)
	if err := os.WriteFile(filepath.Join(dir, "profile.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestEgressReportCommand(t *testing.T) {
	rs := newReportServer(t)
	out := mustRun(t, "acr", "egress-report", "-n", "reg1", "--since", "5d", "-o", "table")
	if rs.posts[testReg+"/egressReport"] != `{"days":5}` || !strings.Contains(out, "Egress of reg1") || !strings.Contains(out, strings.Repeat("█", 40)) {
		t.Errorf("posted %q, printed:\n%s", rs.posts[testReg+"/egressReport"], out)
	}
	out = mustRun(t, "acr", "egress-report", "-n", "reg1", "-g", "rg1")
	if rs.posts[testReg+"/egressReport"] != "" || asJSON(t, out)["days"] != float64(5) {
		t.Errorf("default: posted %q, printed:\n%s", rs.posts[testReg+"/egressReport"], out)
	}
	out = mustRun(t, "acr", "egress-report", "-n", "reg1", "--query", "byChannel.refused.attempts", "-o", "tsv")
	if out != "2\n" {
		t.Errorf("--query: %q", out)
	}
	if r := bulkhead("acr", "egress-report", "-n", "reg1", "--since", "0d"); r.e == nil || !strings.Contains(r.e.Error(), "InvalidParameters") {
		t.Errorf("--since 0d: %v", r.e)
	}
	if r := bulkhead("acr", "egress-report", "-n", "reg1", "--since", "last week"); r.e == nil || !strings.Contains(r.e.Error(), "--since") {
		t.Errorf("--since 'last week': %v", r.e)
	}
	if r := bulkhead("acr", "egress-report"); r.e == nil || !strings.Contains(r.e.Error(), "--name") {
		t.Errorf("no name: %v", r.e)
	}
}

// acr update --what-if posts the PATCH body to whatIf and prints the
// prediction; it never sends the PATCH.
func TestUpdateWhatIf(t *testing.T) {
	rs := newReportServer(t)
	out := mustRun(t, "acr", "update", "-n", "reg1", "--public-network-enabled", "false", "--allow-exports", "false", "--what-if", "-o", "table")
	var body map[string]any
	json.Unmarshal([]byte(rs.posts[testReg+"/whatIf"]), &body)
	if dig := lookup(body, "properties.policies.exportPolicy.status"); dig != "disabled" || lookup(body, "properties.publicNetworkAccess") != "Disabled" {
		t.Errorf("posted %v", body)
	}
	for _, s := range []string{
		"The update would be refused: 400 BadRequest\n  The exportPolicy status cannot be changed",
		"PROPERTY                           BEFORE   AFTER\n",
		"properties.networkRuleSet.ipRules  []       null\n",
		"properties.publicNetworkAccess     Enabled  Disabled\n",
		"exp1  " + testReg + "/exportPipelines/exp1\n",
		"importer1  importSource  exportsDisabled  6.0 KiB  4          4         2026-03-09\n",
		"their traffic in the 30 days since 2026-02-09T00:00:00Z",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("the prediction lacks %q:\n%s", s, out)
		}
	}
	out = mustRun(t, "acr", "update", "-n", "reg1", "--admin-enabled", "true", "--what-if", "--query", "result.error.code", "-o", "tsv")
	if out != "BadRequest\n" {
		t.Errorf("--query: %q", out)
	}
}
