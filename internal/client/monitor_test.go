package client

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d": now.AddDate(0, 0, -7), "36h": now.Add(-36 * time.Hour), "90m": now.Add(-90 * time.Minute),
		"2026-12-01T00:00:00Z": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-5m", "7days", "99999999d"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}

func TestLogQueryPath(t *testing.T) {
	f := logFilter{registry: "reg", group: "rg", since: "7d", operation: "Pull", result: "Failed", top: 50}
	p, err := f.path("sub1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p)
	q := u.Query()
	if u.Path != "/subscriptions/sub1/providers/Microsoft.Insights/bulkheadAuditLogs" || q.Get("resourceId") != "/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg" ||
		q.Get("operation") != "Pull" || q.Get("result") != "Failed" || q.Get("$top") != "50" || q.Get("since") == "" {
		t.Errorf("path = %s", p)
	}
	for _, bad := range []logFilter{{registry: "reg", top: 1}, {since: "soon", top: 1}, {top: 0}} {
		if _, err := bad.path("sub1"); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestPrintRecords(t *testing.T) {
	var out bytes.Buffer
	s := &state{out: &out}
	body := `{"value":[{"time":"2026-12-03T10:00:00Z","category":"ContainerRegistryRepositoryEvents","operationName":"Pull","resultType":"Failed",
		"resultDescription":"403","identity":"sp1","callerIpAddress":"127.0.0.1","properties":{"repository":"app","tag":"v1","refusedBy":"networkRules","network":"public"}}]}`
	if err := printRecords(s, []byte(body)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"Repository", "Pull", "Failed 403 (networkRules)", "app:v1", "127.0.0.1", "public"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}
