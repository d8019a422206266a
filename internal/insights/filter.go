package insights

import (
	"strings"
	"time"
)

// maxFilter bounds the $filter the parser reads.
const maxFilter = 4 << 10

// eventFilter is the activity log's $filter, parsed: the clauses az and
// the SDK send (eventTimestamp ge/le, resourceId or resourceUri eq,
// resourceGroupName eq, correlationId eq, caller eq, resourceProvider
// eq), joined by "and".
type eventFilter struct {
	since, until            time.Time // until is exclusive
	resourceID, group       string
	correlation, caller, rp string
	hasSince                bool
	raw                     string
}

// timeLayouts are the timestamp forms accepted: az sends UTC without a
// zone or quotes (2026-12-03T14:36:29.227778); others send a zone.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseFilter parses a $filter; now bounds a range that gives no end.
func parseFilter(raw string, now time.Time) (eventFilter, error) {
	f := eventFilter{raw: raw, until: now.Add(time.Nanosecond)}
	if len(raw) > maxFilter {
		return f, errFilter(raw[:64]+"…", "it is longer than 4 KiB")
	}
	clauses, err := splitClauses(raw)
	if err != nil {
		return f, errFilter(raw, err.Error())
	}
	for _, c := range clauses {
		field, op, value := c[0], strings.ToLower(c[1]), c[2]
		bad := func(why string) error { return errFilter(raw, "'"+strings.Join(c, " ")+"': "+why) }
		switch strings.ToLower(field) {
		case "eventtimestamp":
			t, ok := parseTime(value)
			if !ok {
				return f, bad("the time is not in the form 2026-12-03T14:36:29.227778 (UTC) or RFC 3339")
			}
			switch op {
			case "ge":
				f.since, f.hasSince = t, true
			case "gt":
				f.since, f.hasSince = t.Add(time.Nanosecond), true
			case "le":
				f.until = t.Add(time.Nanosecond)
			case "lt":
				f.until = t
			default:
				return f, bad("eventTimestamp takes ge, gt, le or lt")
			}
			continue
		case "eventchannels":
			continue // every activity log entry here is an Operation event
		}
		if op != "eq" {
			return f, bad("only eq is supported here")
		}
		switch strings.ToLower(field) {
		case "resourceid", "resourceuri":
			f.resourceID = strings.TrimSuffix(value, "/")
		case "resourcegroupname":
			f.group = value
		case "correlationid":
			f.correlation = value
		case "caller":
			f.caller = value
		case "resourceprovider":
			f.rp = value
		default:
			return f, bad("unknown field; use eventTimestamp, resourceId, resourceGroupName, correlationId, caller or resourceProvider")
		}
	}
	switch {
	case !f.hasSince:
		return f, errFilter(raw, "it must give the start of the range, as eventTimestamp ge 2026-12-03T14:36:29")
	case !f.since.Before(f.until):
		return f, errFilter(raw, "the range is empty: its start is not before its end")
	}
	return f, nil
}

type clauseError string

func (e clauseError) Error() string { return string(e) }

// splitClauses splits "a eq 'x' and b ge t" into [field op value]
// triples. Values are 'quoted' (” escapes a quote) or bare words.
func splitClauses(s string) ([][]string, error) {
	var out [][]string
	var words []string
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		var w string
		if s[i] == '\'' {
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, clauseError("a quote is not closed")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			w, i = b.String(), j+1
			words = append(words, w)
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		w, i = s[i:j], j
		if strings.EqualFold(w, "and") && len(words) == 3 {
			out = append(out, words)
			words = nil
			continue
		}
		words = append(words, w)
	}
	if len(words) == 3 {
		out = append(out, words)
	} else if len(words) > 0 || len(out) == 0 {
		return nil, clauseError("expected clauses of the form <field> <op> <value> joined by 'and'")
	}
	return out, nil
}
