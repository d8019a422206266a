package acr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// The egress report (a Bulkhead extension; ACR has none): what left a
// registry, by which channel and identity, day by day, read from the
// per-day totals the audit log keeps (meta.Egress). It reads counters and
// moves no content.
//
//	POST {registry id}/egressReport?api-version=<a registry api-version>
//	{"days": 7}  or  {"since": "2026-01-02T00:00:00Z"}  or no body (7 days)

// egressReportAction reads a registry's egress totals. Owner and
// Contributor have it through "*"; Reader does not, because the totals
// name the identities that pulled, imported and exported.
const egressReportAction = RegistryType + "/egressReport/action"

// Look-back bounds, in UTC days counted with today.
const (
	defaultReportDays = 7
	defaultWhatIfDays = 30
	maxReportDays     = 400
)

// egressChannels are the report's channels in report order; every map of
// channels in an answer has all of them, zero or not.
var egressChannels = []string{audit.EgressPullPrivate, audit.EgressPullPublic, audit.EgressImportSource, audit.EgressPipelineRun, audit.EgressRefused}

// dayLayout is the totals' day key.
const dayLayout = "2006-01-02"

// egressAmount is what moved: bytes and artifacts, and the attempts
// (refused ones included).
type egressAmount struct {
	Bytes     int64 `json:"bytes"`
	Artifacts int64 `json:"artifacts"`
	Attempts  int64 `json:"attempts"`
}

func (a *egressAmount) add(c meta.EgressCount) {
	a.Bytes += c.Bytes
	a.Artifacts += c.Artifacts
	a.Attempts += c.Attempts
}

// channelAmounts is a split by channel.
type channelAmounts map[string]egressAmount

func newChannelAmounts() channelAmounts {
	m := channelAmounts{}
	for _, ch := range egressChannels {
		m[ch] = egressAmount{}
	}
	return m
}

func (m channelAmounts) add(c meta.EgressCount) {
	a := m[c.Channel]
	a.add(c)
	m[c.Channel] = a
}

// egressReport is the answer. Left sums every channel but refused: what
// actually left the registry.
type egressReport struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Since      string           `json:"since"`
	Until      string           `json:"until"`
	Days       int              `json:"days"`
	Channels   []string         `json:"channels"`
	Left       egressAmount     `json:"left"`
	ByChannel  channelAmounts   `json:"byChannel"`
	ByIdentity []identityEgress `json:"byIdentity"`
	ByDay      []dayEgress      `json:"byDay"`
}

// identityEgress is one identity's share; Identity "" is anonymous.
type identityEgress struct {
	Identity  string         `json:"identity"`
	Left      egressAmount   `json:"left"`
	ByChannel channelAmounts `json:"byChannel"`
	LastDay   string         `json:"lastDay"`
}

// dayEgress is one UTC day, listed even when nothing moved.
type dayEgress struct {
	Day       string         `json:"day"`
	Left      egressAmount   `json:"left"`
	ByChannel channelAmounts `json:"byChannel"`
}

// window is the span of days a report or a what-if looks at: days UTC
// days ending today, the first of them sinceDay.
type window struct {
	first time.Time // 00:00 UTC of the first day
	days  int
}

func (w window) sinceDay() string { return w.first.Format(dayLayout) }

// lastDays is the window of the n days ending with now's.
func lastDays(n int, now time.Time) window {
	today := now.UTC().Truncate(24 * time.Hour)
	return window{first: today.AddDate(0, 0, -(n - 1)), days: n}
}

// reportWindow reads the optional body of an egress report.
func reportWindow(body []byte, now time.Time) (window, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return lastDays(defaultReportDays, now), nil
	}
	var in struct {
		Since *string         `json:"since"`
		Days  json.RawMessage `json:"days"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return window{}, errReportContent(err.Error())
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return window{}, errReportContent("the body must be one JSON object")
	}
	switch {
	case in.Since != nil && in.Days != nil:
		return window{}, errInvalidParameters("Give since or days, not both.")
	case in.Days != nil:
		var v any
		json.Unmarshal(in.Days, &v) // valid JSON: the decoder read it
		return daysWindow(v, now)
	case in.Since != nil:
		since, err := time.Parse(time.RFC3339, *in.Since)
		if err != nil {
			return window{}, errInvalidParameters("since must be an RFC 3339 time such as 2026-01-02T15:04:05Z; got '%s'.", *in.Since)
		}
		if since.After(now) {
			return window{}, errInvalidParameters("since (%s) is in the future.", *in.Since)
		}
		// Totals are kept per UTC day: the report starts at the start of
		// since's day.
		first := since.UTC().Truncate(24 * time.Hour)
		n := int(now.UTC().Truncate(24*time.Hour).Sub(first)/(24*time.Hour)) + 1
		if n > maxReportDays {
			return window{}, errInvalidParameters("since (%s) is more than %d days ago; egress totals are kept per day for at most %d days.", *in.Since, maxReportDays, maxReportDays)
		}
		return window{first: first, days: n}, nil
	}
	return lastDays(defaultReportDays, now), nil
}

// daysWindow reads a look-back in days, a JSON number, in the body of a
// report or a what-if.
func daysWindow(v any, now time.Time) (window, error) {
	n, ok := v.(float64)
	if !ok || n != math.Trunc(n) || n < 1 || n > maxReportDays {
		if b, err := json.Marshal(v); err == nil {
			v = string(b)
		}
		return window{}, errInvalidParameters("days must be a whole number from 1 to %d; got %v.", maxReportDays, v)
	}
	return lastDays(int(n), now), nil
}

func errReportContent(why string) error {
	return fail("InvalidRequestContent", "The request content was invalid: %s. Send {\"days\": N} (1 to %d) or {\"since\": \"<RFC 3339 time>\"}, or no body.", why, maxReportDays).
		WithCause(errdef.ErrInvalidArgument)
}

// egressReport serves POST {registry}/egressReport.
func (p *Provider) egressReport(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	now := p.now().UTC()
	win, err := reportWindow(req.Body(), now)
	if err != nil {
		return nil, err
	}
	q := reqOf(req)
	var doc Registry
	var rows []meta.EgressCount
	err = p.meta.View(ctx, func(tx meta.Tx) error {
		row, d, err := loadRegistry(tx, q.sub, q.group, q.name)
		if err != nil {
			return err
		}
		doc = d
		rows, err = tx.EgressTotals(row.Key, win.sinceDay())
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(buildReport(deref(doc.ID), deref(doc.Name), win, now, rows)), nil
}

// buildReport sums rows into the report of win. Rows of days after now's
// (a clock that went back) are left out, so that the days add up to the
// totals.
func buildReport(id, name string, win window, now time.Time, rows []meta.EgressCount) egressReport {
	r := egressReport{ID: id, Name: name, Since: win.first.Format(time.RFC3339), Until: now.UTC().Format(time.RFC3339),
		Days: win.days, Channels: egressChannels, ByChannel: newChannelAmounts(), ByIdentity: []identityEgress{}}
	days := map[string]int{}
	for i := range win.days {
		d := win.first.AddDate(0, 0, i).Format(dayLayout)
		days[d] = i
		r.ByDay = append(r.ByDay, dayEgress{Day: d, ByChannel: newChannelAmounts()})
	}
	ids := map[string]*identityEgress{}
	for _, c := range rows {
		i, ok := days[c.Day]
		if !ok {
			continue
		}
		left := c.Channel != audit.EgressRefused
		r.ByChannel.add(c)
		r.ByDay[i].ByChannel.add(c)
		who := ids[c.Identity]
		if who == nil {
			who = &identityEgress{Identity: c.Identity, ByChannel: newChannelAmounts()}
			ids[c.Identity] = who
		}
		who.ByChannel.add(c)
		who.LastDay = max(who.LastDay, c.Day)
		if left {
			r.Left.add(c)
			r.ByDay[i].Left.add(c)
			who.Left.add(c)
		}
	}
	for _, who := range ids {
		r.ByIdentity = append(r.ByIdentity, *who)
	}
	sort.Slice(r.ByIdentity, func(i, j int) bool {
		a, b := r.ByIdentity[i], r.ByIdentity[j]
		if a.Left.Bytes != b.Left.Bytes {
			return a.Left.Bytes > b.Left.Bytes
		}
		if a.Left.Attempts != b.Left.Attempts {
			return a.Left.Attempts > b.Left.Attempts
		}
		return a.Identity < b.Identity
	})
	return r
}
