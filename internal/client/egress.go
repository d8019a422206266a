package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// The egress report and the registry what-if: Bulkhead extensions of the
// registry API (POST {registry}/egressReport and {registry}/whatIf), so az
// has no commands for them; these follow az's conventions.

// reportBarWidth is the width, in cells, of the longest bar of a report.
const reportBarWidth = 40

// Report shapes, as the server sends them.
type (
	egressAmount struct{ Bytes, Artifacts, Attempts int64 }
	egressReport struct {
		ID, Name, Since, Until string
		Days                   int
		Channels               []string
		Left                   egressAmount
		ByChannel              map[string]egressAmount
		ByIdentity             []struct {
			Identity  string
			Left      egressAmount
			ByChannel map[string]egressAmount
			LastDay   string
		}
		ByDay []struct {
			Day       string
			Left      egressAmount
			ByChannel map[string]egressAmount
		}
	}
)

// refusedChannel is the report's channel of refused attempts: counted in
// attempts, never in what left.
const refusedChannel = "refused"

func (s *state) egressReport() *cobra.Command {
	var name, rg, since string
	c := &cobra.Command{Use: "egress-report", Short: "Show what left a registry, by day, channel and identity (Bulkhead)",
		Long: "Show what left a registry, by day, channel and identity, from the per-day totals of its audit log.\n" +
			"Totals are kept per UTC day: a report starts at the start of the day --since falls in.",
		RunE: func(*cobra.Command, []string) error {
			if name == "" {
				return errors.New("the following arguments are required: --name/-n")
			}
			body, err := sinceBody(since, time.Now())
			if err != nil {
				return err
			}
			c, err := s.conn()
			if err != nil {
				return err
			}
			id, err := c.findRegistry(name, rg)
			if err != nil {
				return err
			}
			var payload any // no body: the server's default window
			if body != nil {
				payload = body
			}
			b, err := c.do(http.MethodPost, id+"/egressReport?api-version="+acrAPIVersion, payload)
			if err != nil {
				return err
			}
			if s.format != "table" || s.query != "" {
				return s.print(b)
			}
			var r egressReport
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("egress report: %w", err)
			}
			return writeReport(s.out, r)
		}}
	c.Flags().StringVarP(&name, "name", "n", "", "registry name")
	c.Flags().StringVarP(&rg, "resource-group", "g", "", "resource group (default: found by registry name)")
	c.Flags().StringVar(&since, "since", "", "how far back: days (7d), a duration (48h) or an RFC 3339 time (default 7d)")
	return c
}

// sinceBody turns --since into the report's body; "" asks for the
// server's default.
func sinceBody(v string, now time.Time) (map[string]any, error) {
	if v == "" {
		return nil, nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil {
			return map[string]any{"days": days}, nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return nil, fmt.Errorf("argument --since: '%s' is negative", v)
		}
		return map[string]any{"since": now.Add(-d).UTC().Format(time.RFC3339)}, nil
	}
	if _, err := time.Parse(time.RFC3339, v); err == nil {
		return map[string]any{"since": v}, nil
	}
	return nil, fmt.Errorf("argument --since: '%s' is not a number of days (7d), a duration (48h) or an RFC 3339 time (2026-01-02T15:04:05Z)", v)
}

// writeReport draws the report: a row per day with a bar of the bytes that
// left, then the channels, then the identities.
func writeReport(w io.Writer, r egressReport) error {
	first, last := r.Since, r.Until
	if len(r.ByDay) > 0 {
		first, last = r.ByDay[0].Day, r.ByDay[len(r.ByDay)-1].Day
	}
	fmt.Fprintf(w, "Egress of %s, %s to %s (%d UTC days)\n", r.Name, first, last, r.Days)
	fmt.Fprintf(w, "Left: %s in %d artifacts (%d attempts); refused: %d attempts\n\n",
		humanBytes(r.Left.Bytes), r.Left.Artifacts, r.Left.Attempts, r.ByChannel[refusedChannel].Attempts)
	var peak int64
	for _, d := range r.ByDay {
		peak = max(peak, d.Left.Bytes)
	}
	days := [][]string{}
	for _, d := range r.ByDay {
		days = append(days, []string{d.Day, humanBytes(d.Left.Bytes), strconv.FormatInt(d.Left.Artifacts, 10),
			strconv.FormatInt(d.ByChannel[refusedChannel].Attempts, 10), bar(d.Left.Bytes, peak, reportBarWidth)})
	}
	grid(w, []string{"DAY", "LEFT", "ARTIFACTS", "REFUSED", ""}, days)
	fmt.Fprintln(w)
	channels := [][]string{}
	for _, ch := range r.Channels {
		a := r.ByChannel[ch]
		channels = append(channels, []string{ch, humanBytes(a.Bytes), strconv.FormatInt(a.Artifacts, 10), strconv.FormatInt(a.Attempts, 10)})
	}
	grid(w, []string{"CHANNEL", "BYTES", "ARTIFACTS", "ATTEMPTS"}, channels)
	fmt.Fprintln(w)
	if len(r.ByIdentity) == 0 {
		fmt.Fprintln(w, "No identity moved or tried to move anything out of the registry in these days.")
		return nil
	}
	heads := []string{"IDENTITY", "LEFT", "ARTIFACTS"}
	for _, ch := range r.Channels {
		heads = append(heads, strings.ToUpper(ch))
	}
	heads = append(heads, "LAST_DAY")
	ids := [][]string{}
	for _, id := range r.ByIdentity {
		row := []string{identityName(id.Identity), humanBytes(id.Left.Bytes), strconv.FormatInt(id.Left.Artifacts, 10)}
		for _, ch := range r.Channels {
			if ch == refusedChannel {
				row = append(row, strconv.FormatInt(id.ByChannel[ch].Attempts, 10))
			} else {
				row = append(row, humanBytes(id.ByChannel[ch].Bytes))
			}
		}
		ids = append(ids, append(row, id.LastDay))
	}
	grid(w, heads, ids)
	return nil
}

// identityName shows the anonymous identity.
func identityName(id string) string {
	if id == "" {
		return "(anonymous)"
	}
	return id
}

// eighths are the partial blocks of a bar, by eighths of a cell.
var eighths = []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// bar is v's share of peak as a bar of at most width cells, in eighths of
// a cell. Anything above zero shows at least a sliver.
func bar(v, peak int64, width int) string {
	if v <= 0 || peak <= 0 || width <= 0 {
		return ""
	}
	n := int(math.Floor(float64(min(v, peak)) / float64(peak) * float64(width*8)))
	n = max(n, 1)
	return strings.Repeat("█", n/8) + eighths[n%8]
}

// grid prints a table with az's layout (headers, dashes, two spaces between
// columns), measuring cells in runes so that bars line up. A column whose
// header is empty gets no dashes.
func grid(w io.Writer, heads []string, rows [][]string) {
	width := make([]int, len(heads))
	for i, h := range heads {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	dashes := make([]string, len(heads))
	for i, h := range heads {
		if h != "" {
			dashes[i] = strings.Repeat("-", width[i])
		}
	}
	line(heads)
	line(dashes)
	for _, r := range rows {
		line(r)
	}
}
