package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// specCodes are the codes distribution-spec v1.1.1 allows in a 4xx body
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes).
var specCodes = map[code]bool{
	codeBlobUnknown: true, codeBlobUploadInvalid: true, codeBlobUploadUnknown: true, codeDigestInvalid: true,
	codeManifestBlobUnknown: true, codeManifestInvalid: true, codeManifestUnknown: true, codeNameInvalid: true,
	codeNameUnknown: true, codeSizeInvalid: true, codeUnauthorized: true, codeDenied: true,
	codeUnsupported: true, codeTooManyRequests: true,
}

// envelope is the distribution-spec error body as clients read it; detail
// is kept raw to check that the key is present.
type envelope struct {
	Errors []struct {
		Code    code            `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"errors"`
}

func writeAndRead(t *testing.T, method string, err error) (*httptest.ResponseRecorder, envelope) {
	t.Helper()
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest(method, "/v2/reg1/app/manifests/1", nil), err)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var env envelope
	if method == http.MethodHead {
		return rec, env
	}
	if jerr := json.Unmarshal(rec.Body.Bytes(), &env); jerr != nil {
		t.Fatalf("error body is not JSON: %v: %s", jerr, rec.Body)
	}
	if len(env.Errors) != 1 || env.Errors[0].Detail == nil {
		t.Fatalf("want one error with code, message and detail: %s", rec.Body)
	}
	return rec, env
}

// TestClassTable walks every errdef class, wrapped the way domain code
// wraps it, and asserts that it gets its row's code and status in the
// spec's envelope, and never a 500.
func TestClassTable(t *testing.T) {
	rows := map[error]classRow{}
	for _, row := range classTable {
		if _, dup := rows[row.class]; dup {
			t.Errorf("two rows for %v", row.class)
		}
		rows[row.class] = row
	}
	classes := errdef.Classes()
	if len(rows) != len(classes) {
		t.Errorf("table has rows for %d classes, errdef declares %d", len(rows), len(classes))
	}
	for _, class := range classes {
		t.Run(class.Error(), func(t *testing.T) {
			row, ok := rows[class]
			if !ok {
				t.Fatalf("class %q has no row in classTable: add one", class)
			}
			if row.status != http.StatusServiceUnavailable && (row.status < 400 || row.status > 499) {
				t.Errorf("row status %d: want a 4xx, or 503 for a dependency", row.status)
			}
			if row.status < 500 && !specCodes[row.code] {
				t.Errorf("row code %s is not a distribution-spec code, which a 4xx body must use", row.code)
			}
			err := fmt.Errorf("blob sha256:abc: %w", class)
			rec, env := writeAndRead(t, http.MethodGet, err)
			got := env.Errors[0]
			msg := err.Error()
			if row.msg != "" {
				msg = row.msg
			}
			if rec.Code != row.status || got.Code != row.code || got.Message != msg {
				t.Errorf("got %d %s %q, want %d %s %q", rec.Code, got.Code, got.Message, row.status, row.code, msg)
			}
			if ra, want := rec.Header().Get("Retry-After"), retryAfterHeader(row.retryAfter); ra != want {
				t.Errorf("Retry-After %q, want %q", ra, want)
			}
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable || got.Code == codeInternal {
				t.Errorf("class %v ends as %d %s", class, rec.Code, got.Code)
			}
			if !errors.Is(toAPIError(err), class) {
				t.Errorf("toAPIError loses the class")
			}
		})
	}
}

// TestHandlerCodesWin keeps the answers handlers choose on purpose: an
// apiError in the chain (with its status override) and a bad name win
// over the class table.
func TestHandlerCodesWin(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   code
	}{
		{"blob unknown", fmt.Errorf("GET: %w", fail(codeBlobUnknown, "blob unknown to registry", errdef.ErrNotFound)), 404, codeBlobUnknown},
		{"upload unknown", fail(codeBlobUploadUnknown, "blob upload unknown to registry", errdef.ErrNotFound), 404, codeBlobUploadUnknown},
		{"digest mismatch", fail(codeDigestInvalid, "provided digest did not match uploaded content", errdef.ErrInvalidArgument), 400, codeDigestInvalid},
		{"manifest too large", withStatus(fail(codeSizeInvalid, "manifest exceeds the 4 MiB limit", errdef.ErrTooLarge), http.StatusRequestEntityTooLarge), 413, codeSizeInvalid},
		{"upload busy", fail(codeBlobUploadInvalid, "another request is writing to this upload", errdef.ErrConflict), 400, codeBlobUploadInvalid},
		{"bad name", nameError("invalid repository name \"A\""), 400, codeNameInvalid},
		{"range", fail(codeRangeInvalid, "content range does not continue the upload"), 416, codeRangeInvalid},
		{"method", fail(codeUnsupported, "method POST not allowed here"), 405, codeUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, env := writeAndRead(t, http.MethodGet, c.err)
			if rec.Code != c.status || env.Errors[0].Code != c.code {
				t.Errorf("got %d %s, want %d %s", rec.Code, env.Errors[0].Code, c.status, c.code)
			}
		})
	}
}

// TestFullDiskAnswer: a full disk, however deep in the chain and whatever
// the handler wrapped around it, is a retryable 503 UNAVAILABLE with
// Retry-After that does not leak the file it failed on.
func TestFullDiskAnswer(t *testing.T) {
	cause := fmt.Errorf("%w: upload u1: write /var/lib/bulkhead/content/uploads/u1: %w", errdef.ErrInsufficientStorage, syscall.ENOSPC)
	for _, err := range []error{cause, fmt.Errorf("PATCH: %w", cause)} {
		rec, env := writeAndRead(t, http.MethodPatch, err)
		if rec.Code != http.StatusServiceUnavailable || env.Errors[0].Code != codeUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("got %d %s Retry-After %q", rec.Code, env.Errors[0].Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "/var/lib") {
			t.Errorf("the answer leaks the path: %s", rec.Body)
		}
	}
}

// TestServerFault: an error of no class is a 500 whose message does not
// leak the cause; a HEAD answer has no body.
func TestServerFault(t *testing.T) {
	rec, env := writeAndRead(t, http.MethodGet, errors.New("open /var/lib/secret/blob: input/output error"))
	if rec.Code != http.StatusInternalServerError || env.Errors[0].Code != codeInternal || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
	rec, _ = writeAndRead(t, http.MethodHead, fmt.Errorf("x: %w", errdef.ErrNotFound))
	if rec.Code != http.StatusNotFound || rec.Body.Len() != 0 {
		t.Errorf("HEAD: got %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}

// TestClientGone: a request whose client went away is 499, never a 500
// nor the 401 of the authentication it interrupted.
func TestClientGone(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("sqlite begin: %w", context.Canceled),
		fail(codeUnauthorized, "authentication required", fmt.Errorf("check credentials: %w", context.Canceled)),
	} {
		if rec, env := writeAndRead(t, http.MethodGet, err); rec.Code != statusClientClosed || env.Errors[0].Code != codeUnavailable {
			t.Errorf("%v: got %d %s", err, rec.Code, rec.Body)
		}
	}
}

// TestThrottled: a sign-in the guard refused is TOOMANYREQUESTS (or 503
// when the server is saturated), with Retry-After.
func TestThrottled(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   code
		retry  string
	}{
		{&signin.Throttled{RetryAfter: 11500 * time.Millisecond}, 429, codeTooManyRequests, "12"},
		{fmt.Errorf("sign in: %w", &signin.Throttled{RetryAfter: time.Second, Busy: true}), 503, codeUnavailable, "1"},
	} {
		rec, env := writeAndRead(t, http.MethodGet, c.err)
		if rec.Code != c.status || env.Errors[0].Code != c.code || rec.Header().Get("Retry-After") != c.retry {
			t.Errorf("%v: got %d %v %s", c.err, rec.Code, rec.Header(), rec.Body)
		}
	}
}

// TestCodeStatus: every code handlers use has a status, and none is a 500.
func TestCodeStatus(t *testing.T) {
	for c := range specCodes {
		if codeStatus[c] == 0 {
			t.Errorf("%s has no status in codeStatus", c)
		}
	}
	for c, s := range codeStatus {
		if s >= 500 && s != http.StatusServiceUnavailable {
			t.Errorf("%s answers %d", c, s)
		}
	}
}

func retryAfterHeader(seconds int) string {
	if seconds == 0 {
		return ""
	}
	return strconv.Itoa(seconds)
}
