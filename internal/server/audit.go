package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

// maxUserAgent bounds the user agent kept in a record.
const maxUserAgent = 256

// audit completes the record a handler asked for in its note — when,
// how long, how it ended, how many bytes — and hands it to the audit log,
// or counts a blob's bytes as egress. It runs after the answer is written.
func (s *Server) audit(n *audit.Note, r *http.Request, rw *recorder, start time.Time, elapsed time.Duration, bytesIn int64) {
	if s.planes.Audit == nil {
		return
	}
	ok := rw.status < 400
	if n.CountChannel != "" && ok && r.Method == http.MethodGet {
		s.planes.Audit.Count(n.Rec.RegistryKey, n.CountChannel, n.Principal, rw.n)
	}
	if !n.Want {
		return
	}
	rec := n.Rec
	rec.Time = start.UTC()
	rec.DurationMs = elapsed.Milliseconds()
	rec.ResultDescription = strconv.Itoa(rw.status)
	rec.ResultType = audit.ResultSucceeded
	if !ok {
		rec.ResultType = audit.ResultFailed
	}
	if rec.CorrelationID == "" {
		rec.CorrelationID = n.RequestID
	}
	if rec.Identity == "" {
		rec.Identity = n.Principal
	}
	p := &rec.Properties
	if p.ErrorCode == "" {
		p.ErrorCode = n.ErrorCode
	}
	if ua := r.UserAgent(); len(ua) > maxUserAgent {
		p.UserAgent = ua[:maxUserAgent]
	} else {
		p.UserAgent = ua
	}
	if d := rw.Header().Get("Docker-Content-Digest"); d != "" && ok {
		p.Digest = d
	}
	switch rec.OperationName {
	case audit.OpPull:
		if ok {
			p.Size, p.MediaType = rw.n, rw.Header().Get("Content-Type")
		}
	case audit.OpPush:
		p.Size, p.MediaType = bytesIn, r.Header.Get("Content-Type")
	}
	if e := rec.Egress; e != nil {
		switch {
		case e.Channel == audit.EgressRefused:
		case ok && r.Method == http.MethodGet:
			rec.Egress = &audit.Egress{Channel: e.Channel, Bytes: rw.n, Artifacts: 1}
		default:
			rec.Egress = nil
		}
	}
	s.planes.Audit.Record(rec)
}
