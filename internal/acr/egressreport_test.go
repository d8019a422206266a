package acr_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/acr"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// reportNow is the test world's clock for egress tests: noon UTC, so the
// report's days are fixed.
var reportNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// egressWorld is a world whose clock stands at reportNow.
func egressWorld(t *testing.T) *world {
	return newWorld(t, acr.Options{Now: func() time.Time { return reportNow }})
}

// seedEgress adds totals for the registry named reg: each count's
// RegistryKey is filled in.
func (w *world) seedEgress(reg string, counts ...meta.EgressCount) {
	w.t.Helper()
	row, err := w.registryRow(reg)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := range counts {
		counts[i].RegistryKey = row.Key
	}
	if err := w.store.Update(context.Background(), func(tx meta.Tx) error { return tx.AddEgress(counts) }); err != nil {
		w.t.Fatal(err)
	}
}

func count(day, channel, identity string, bytes, artifacts, attempts int64) meta.EgressCount {
	return meta.EgressCount{Day: day, Channel: channel, Identity: identity, Bytes: bytes, Artifacts: artifacts, Attempts: attempts}
}

// amount reads {bytes, artifacts, attempts} at path.
func amount(v any, path ...string) [3]float64 {
	m, _ := dig(v, path...).(map[string]any)
	b, _ := m["bytes"].(float64)
	a, _ := m["artifacts"].(float64)
	n, _ := m["attempts"].(float64)
	return [3]float64{b, a, n}
}

var allChannels = []string{audit.EgressPullPrivate, audit.EgressPullPublic, audit.EgressImportSource, audit.EgressPipelineRun, audit.EgressRefused}

// The report sums the totals of its days by channel, identity and day;
// every channel and every day is present, zero or not; days outside the
// window and other registries' totals are left out.
func TestEgressReport(t *testing.T) {
	w := egressWorld(t)
	w.mkGroup(sub, "rg1")
	w.mkRegistry(sub, "rg1", "egressreg1")
	w.mkRegistry(sub, "rg1", "otherreg1")
	w.seedEgress("egressreg1",
		count("2026-03-10", audit.EgressPullPublic, "alice", 1000, 2, 2),
		count("2026-03-10", audit.EgressPullPrivate, "alice", 50, 1, 1),
		count("2026-03-09", audit.EgressImportSource, "bob", 500, 1, 1),
		count("2026-03-08", audit.EgressRefused, "mallory", 0, 0, 3),
		count("2026-03-04", audit.EgressPullPrivate, "alice", 100, 1, 1),
		count("2026-03-04", audit.EgressPullPublic, "", 7, 1, 1),
		count("2026-03-03", audit.EgressPipelineRun, "carol", 9999, 4, 1), // the 8th day back
		count("2026-03-11", audit.EgressPullPublic, "alice", 1, 1, 1),     // tomorrow: a clock gone wrong
	)
	w.seedEgress("otherreg1", count("2026-03-10", audit.EgressPullPublic, "alice", 123456, 9, 9))
	path := regPath(sub, "rg1", "egressreg1") + "/egressReport" + regVersion

	// No body: the last 7 days, today included.
	r := w.do("POST", path, "").expect(t, http.StatusOK, "")
	if dig(r.body, "id") != regPath(sub, "rg1", "egressreg1") || dig(r.body, "name") != "egressreg1" || dig(r.body, "days") != float64(7) ||
		dig(r.body, "since") != "2026-03-04T00:00:00Z" || dig(r.body, "until") != "2026-03-10T12:00:00Z" {
		t.Fatalf("report header: %s", r.raw)
	}
	if got := amount(r.body, "left"); got != [3]float64{1657, 6, 6} {
		t.Errorf("left = %v: %s", got, r.raw)
	}
	for ch, want := range map[string][3]float64{
		audit.EgressPullPublic: {1007, 3, 3}, audit.EgressPullPrivate: {150, 2, 2}, audit.EgressImportSource: {500, 1, 1},
		audit.EgressPipelineRun: {0, 0, 0}, audit.EgressRefused: {0, 0, 3},
	} {
		if got := amount(r.body, "byChannel", ch); got != want {
			t.Errorf("byChannel.%s = %v, want %v", ch, got, want)
		}
	}
	if chs, _ := dig(r.body, "channels").([]any); len(chs) != len(allChannels) {
		t.Errorf("channels: %v", chs)
	}
	days, _ := dig(r.body, "byDay").([]any)
	if len(days) != 7 || dig(days[0], "day") != "2026-03-04" || dig(days[6], "day") != "2026-03-10" {
		t.Fatalf("byDay: %v", days)
	}
	for _, d := range days {
		for _, ch := range allChannels {
			if _, ok := dig(d, "byChannel", ch).(map[string]any); !ok {
				t.Errorf("day %v lacks channel %s", dig(d, "day"), ch)
			}
		}
	}
	if got := amount(days[6], "left"); got != [3]float64{1050, 3, 3} {
		t.Errorf("2026-03-10 left = %v", got)
	}
	if got := amount(days[4], "byChannel", audit.EgressRefused); got != [3]float64{0, 0, 3} || amount(days[4], "left") != [3]float64{} {
		t.Errorf("2026-03-08: %v", days[4])
	}
	if got := amount(days[1], "left"); got != [3]float64{} {
		t.Errorf("2026-03-05 should be empty: %v", got)
	}
	ids, _ := dig(r.body, "byIdentity").([]any)
	var order []string
	for _, id := range ids {
		order = append(order, dig(id, "identity").(string))
	}
	if strings.Join(order, ",") != "alice,bob,,mallory" {
		t.Fatalf("byIdentity order %q: %s", order, r.raw)
	}
	if got := amount(ids[0], "left"); got != [3]float64{1150, 4, 4} || dig(ids[0], "lastDay") != "2026-03-10" ||
		amount(ids[0], "byChannel", audit.EgressPullPublic) != [3]float64{1000, 2, 2} || amount(ids[0], "byChannel", audit.EgressImportSource) != [3]float64{} {
		t.Errorf("alice: %v", ids[0])
	}
	if amount(ids[3], "byChannel", audit.EgressRefused) != [3]float64{0, 0, 3} || amount(ids[3], "left") != [3]float64{} {
		t.Errorf("mallory: %v", ids[3])
	}

	// days=8 reaches carol's export run.
	r = w.do("POST", path, `{"days":8}`).expect(t, http.StatusOK, "")
	if dig(r.body, "since") != "2026-03-03T00:00:00Z" || amount(r.body, "byChannel", audit.EgressPipelineRun) != [3]float64{9999, 4, 1} {
		t.Errorf("days=8: %s", r.raw)
	}
	// since is rounded down to its UTC day.
	r = w.do("POST", path, `{"since":"2026-03-03T23:30:00+01:00"}`).expect(t, http.StatusOK, "")
	if dig(r.body, "since") != "2026-03-03T00:00:00Z" || dig(r.body, "days") != float64(8) {
		t.Errorf("since: %s", r.raw)
	}
	r = w.do("POST", path, `{"Days":1}`).expect(t, http.StatusOK, "")
	if amount(r.body, "left") != [3]float64{1050, 3, 3} {
		t.Errorf("days=1: %s", r.raw)
	}
	// An empty registry: zeros everywhere, every channel and day.
	r = w.do("POST", regPath(sub, "rg1", "otherreg1")+"/egressReport"+regVersion, `{"days":400}`).expect(t, http.StatusOK, "")
	if d, _ := dig(r.body, "byDay").([]any); len(d) != 400 || amount(r.body, "byChannel", audit.EgressPullPublic) != [3]float64{123456, 9, 9} {
		t.Errorf("days=400: %d days", len(d))
	}
}

// Every malformed report request gets a 400 in the ARM envelope.
func TestEgressReportBadInput(t *testing.T) {
	w := egressWorld(t)
	w.mkGroup(sub, "rg1")
	w.mkRegistry(sub, "rg1", "egressreg1")
	path := regPath(sub, "rg1", "egressreg1") + "/egressReport" + regVersion
	for _, c := range []struct{ name, body, code, inMessage string }{
		{"days zero", `{"days":0}`, "InvalidParameters", "1 to 400"},
		{"days negative", `{"days":-3}`, "InvalidParameters", "1 to 400"},
		{"days too many", `{"days":10000}`, "InvalidParameters", "1 to 400"},
		{"days fractional", `{"days":1.5}`, "InvalidParameters", "got 1.5"},
		{"days a string", `{"days":"7"}`, "InvalidParameters", `got "7"`},
		{"days null", `{"days":null}`, "InvalidParameters", "got null"},
		{"since in the future", `{"since":"2026-03-10T12:00:01Z"}`, "InvalidParameters", "future"},
		{"since far future", `{"since":"2099-01-01T00:00:00Z"}`, "InvalidParameters", "future"},
		{"since too old", `{"since":"2025-01-01T00:00:00Z"}`, "InvalidParameters", "400 days"},
		{"since not a time", `{"since":"yesterday"}`, "InvalidParameters", "RFC 3339"},
		{"since a date only", `{"since":"2026-03-01"}`, "InvalidParameters", "RFC 3339"},
		{"both", `{"days":3,"since":"2026-03-09T00:00:00Z"}`, "InvalidParameters", "not both"},
		{"unknown field", `{"day":3}`, "InvalidRequestContent", "day"},
		{"garbage", `{"days":`, "InvalidRequestContent", ""},
		{"not json", `seven days please`, "InvalidRequestContent", ""},
		{"an array", `[7]`, "InvalidRequestContent", ""},
		{"two objects", `{"days":3}{"days":4}`, "InvalidRequestContent", "one JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.do("POST", path, c.body).expect(t, http.StatusBadRequest, c.code)
			if !strings.Contains(r.message(), c.inMessage) {
				t.Errorf("message %q lacks %q", r.message(), c.inMessage)
			}
		})
	}
	w.do("POST", regPath(sub, "rg1", "nosuchreg1")+"/egressReport"+regVersion, "").expect(t, http.StatusNotFound, "ResourceNotFound")
	w.do("POST", regPath(sub, "rg1", "egressreg1")+"/egressReport", "").expect(t, http.StatusBadRequest, "MissingApiVersionParameter")
	w.do("POST", regPath(sub, "rg1", "egressreg1")+"/egressReport?api-version=2021-06-01-preview-x", "").expect(t, http.StatusBadRequest, "")
	// The totals name identities: a Reader may not see them.
	r := w.do("POST", path, "", callerHeader, reader).expect(t, http.StatusForbidden, "AuthorizationFailed")
	if !strings.Contains(r.message(), "Microsoft.ContainerRegistry/registries/egressReport/action") {
		t.Errorf("message: %s", r.message())
	}
}
