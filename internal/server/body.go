package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// minProgress is how many bytes a request body must deliver within each
// --body-timeout window to keep its connection: 32 KiB per 30 s by
// default, about 1 KiB/s. A slow but moving push (even 100 KB/s) is far
// above it; a client that sends headers and then trickles or stops the
// body is cut.
const minProgress = 32 << 10

// maxDrain is how much of an unread request body the server reads and
// throws away before it answers with an error. Answering first and
// closing with bytes still arriving makes the kernel reset the
// connection, and the client then sees the reset instead of the error
// (a 413, say). Beyond this much, closing is cheaper than reading.
const maxDrain = 16 << 20

// errBodyStalled is the read error of a body that stopped moving.
var errBodyStalled = errors.New("the request body made no progress")

// requestBody guards a request body: it counts bytes for the metrics,
// moves the connection's read deadline forward while the body makes
// progress, and drains what is left before an error answer.
type requestBody struct {
	r       io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	n       int64 // bytes read in all
	moved   int64 // bytes since the deadline last moved
	armed   bool
	eof     bool
	length  int64 // the request's Content-Length, -1 if unknown
}

func newRequestBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) *requestBody {
	return &requestBody{r: r.Body, rc: http.NewResponseController(w), timeout: timeout, length: r.ContentLength}
}

func (b *requestBody) Read(p []byte) (int, error) {
	if !b.armed {
		b.armed = true
		b.extend()
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.moved += int64(n); b.moved >= minProgress {
		b.extend()
	}
	switch {
	case err == io.EOF:
		b.eof = true
		// The connection now idles or serves the next request under the
		// server's own timeouts.
		b.setDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("%w within %v: %w", errBodyStalled, b.timeout, err)
	}
	return n, err
}

func (b *requestBody) Close() error { return b.r.Close() }

// extend gives the body another window to deliver minProgress bytes.
func (b *requestBody) extend() {
	b.moved = 0
	if b.timeout > 0 {
		b.setDeadline(time.Now().Add(b.timeout))
	}
}

func (b *requestBody) setDeadline(t time.Time) {
	// HTTP/1 and HTTP/2 connections support it; a writer that does not
	// leaves the server's own timeouts in charge.
	_ = b.rc.SetReadDeadline(t)
}

// drain reads and discards what is left of the body, up to maxDrain, so
// that an error answer reaches a client that is still sending.
func (b *requestBody) drain() {
	if b.eof || (b.length >= 0 && b.length-b.n > maxDrain) {
		return
	}
	io.Copy(io.Discard, io.LimitReader(b, maxDrain))
}
