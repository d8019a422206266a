package audit

import "context"

// Note is what a request's handlers tell the server about the request,
// for its log line and its audit record. The server's middleware puts one
// into every request's context and, once the answer is written, logs it
// and completes the record (time, duration, status, caller address, user
// agent, sizes) — so handlers name what was done and never time or
// measure it themselves.
type Note struct {
	RequestID string
	// ClientAddr is where the request comes from, as the network rules
	// judge it (trusted proxies' X-Forwarded-For honoured): the server
	// works it out once, and handlers copy it into their records.
	ClientAddr string
	// Principal is who called: an object id, a token name, an admin user.
	Principal string
	// ErrorCode is the ARM or OCI error code of the answer, if any.
	ErrorCode string
	// Rec is the record to write when Want is set.
	Rec  Record
	Want bool
	// CountChannel, when set, counts the answer's bytes as egress of
	// Rec.RegistryKey by that channel, with no record of its own (the
	// blobs of a pull: the manifest GET is the record).
	CountChannel string
}

type noteKey struct{}

// WithNote returns ctx carrying n.
func WithNote(ctx context.Context, n *Note) context.Context {
	return context.WithValue(ctx, noteKey{}, n)
}

// NoteFrom returns the request's note, or a throwaway one when the
// request has none (tests that call a handler directly), so handlers
// never check.
func NoteFrom(ctx context.Context) *Note {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		return n
	}
	return &Note{}
}
