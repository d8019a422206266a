package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkArgs is the wrk command line for a GET load on t; with redact the
// Authorization value is replaced by a placeholder, for the report.
func wrkArgs(o options, t *target, path string, hdr http.Header, conns int, redact bool) []string {
	secs := max(1, int(math.Round(o.duration.Seconds())))
	args := []string{fmt.Sprintf("-t%d", min(2, conns)), fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", secs), "--timeout", "10s", "--latency"}
	if t.auth != "" {
		v := t.auth
		if redact {
			v = "Bearer <token>"
		}
		args = append(args, "-H", "Authorization: "+v)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			args = append(args, "-H", k+": "+v)
		}
	}
	return append(args, t.url(path))
}

// wrkLoad runs wrk against path and parses its report. size is the body
// length used for the payload MB/s (wrk's Transfer/sec also counts
// headers); size < 0 reports no MB/s.
func wrkLoad(ctx context.Context, o options, t *target, path string, hdr http.Header, conns int, size int64) measurement {
	out, err := exec.CommandContext(ctx, o.wrkBin, wrkArgs(o, t, path, hdr, conns, false)...).CombinedOutput()
	if err != nil {
		return measurement{err: fmt.Errorf("wrk: %w\n%s", err, out)}
	}
	m, err := parseWrk(string(out))
	if err != nil {
		return measurement{err: fmt.Errorf("wrk: %w\n%s", err, out)}
	}
	if size > 0 {
		m.bytes = int64(m.ops) * size
		m.mbPerSec = m.opsPerSec * float64(size) / 1e6
	}
	return m
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([0-9.]+[a-z]+),`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)([a-z]+)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: (.*)`)
)

// parseWrk reads requests/sec, the request count, the 50% and 99%
// latency lines and the error lines of a `wrk --latency` report. Any
// non-2xx answer makes the figures invalid.
func parseWrk(out string) (measurement, error) {
	var m measurement
	mm := wrkRPS.FindStringSubmatch(out)
	if mm == nil {
		return m, fmt.Errorf("no Requests/sec line")
	}
	m.opsPerSec, _ = strconv.ParseFloat(mm[1], 64)
	if mm = wrkTotal.FindStringSubmatch(out); mm != nil {
		m.ops, _ = strconv.Atoi(mm[1])
		m.elapsed, _ = parseWrkDuration(mm[2])
	}
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		d, err := parseWrkDuration(p[2] + p[3])
		if err != nil {
			return m, err
		}
		if p[1] == "50" {
			m.p50 = d
		} else {
			m.p99 = d
		}
	}
	if m.p50 == 0 || m.p99 == 0 {
		return m, fmt.Errorf("no latency distribution (is --latency set?)")
	}
	if mm = wrkNon2xx.FindStringSubmatch(out); mm != nil {
		return m, fmt.Errorf("%s of %d responses were not 2xx/3xx", mm[1], m.ops)
	}
	if m.ops == 0 {
		return m, fmt.Errorf("no request completed")
	}
	if mm = wrkSockErr.FindStringSubmatch(out); mm != nil {
		m.note = "wrk socket errors: " + mm[1]
	}
	return m, nil
}

// parseWrkDuration parses wrk's time format: a number and us, ms, s, m or h.
func parseWrkDuration(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' })
	if i <= 0 {
		return 0, fmt.Errorf("bad wrk duration %q", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad wrk duration %q", s)
	}
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[s[i:]]
	if unit == 0 {
		return 0, fmt.Errorf("bad wrk duration unit %q", s)
	}
	return time.Duration(v * float64(unit)), nil
}
