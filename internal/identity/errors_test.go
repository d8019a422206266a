package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

// Every row of the error table: the OAuth answer, its class, and what
// errors from outside the token service (the router's) become. A cause
// is logged, never written.
func TestErrorTable(t *testing.T) {
	secret := errors.New("disk on fire at /var/secret")
	for _, c := range []struct {
		err    error
		status int
		code   string
		aadsts int
		class  error
	}{
		{errBodyTooLarge(), 413, "invalid_request", 90014, errdef.ErrTooLarge},
		{errNotForm(), 400, "invalid_request", 900144, errdef.ErrInvalidArgument},
		{errMissingParameter("grant_type"), 400, "invalid_request", 900144, errdef.ErrInvalidArgument},
		{errUnsupportedGrant("password"), 400, "unsupported_grant_type", 70003, errdef.ErrInvalidArgument},
		{errTenantNotFound("t"), 400, "invalid_request", 90002, errdef.ErrNotFound},
		{errNoSecret(), 401, "invalid_client", 7000218, errdef.ErrUnauthenticated},
		{errInvalidScope(), 400, "invalid_scope", 1002012, errdef.ErrInvalidArgument},
		{errInvalidClient(), 401, "invalid_client", 7000215, errdef.ErrUnauthenticated},
		{errTransient(secret), 503, "temporarily_unavailable", 90033, errdef.ErrUnavailable},
		{errSigning(secret), 500, "server_error", 90015, secret},
		{&signin.Throttled{RetryAfter: 1500 * time.Millisecond}, 429, "invalid_client", 50053, errdef.ErrUnavailable},
		{&signin.Throttled{RetryAfter: time.Second, Busy: true}, 503, "temporarily_unavailable", 90033, errdef.ErrUnavailable},
		// A client that went away is neither a store fault nor bad
		// credentials, however it reaches the table.
		{errTransient(fmt.Errorf("sqlite begin: %w", context.Canceled)), 499, "temporarily_unavailable", 90033, context.Canceled},
		{fmt.Errorf("look up client: %w", context.Canceled), 499, "temporarily_unavailable", 90033, context.Canceled},
		// The router's refusals, in this envelope.
		{arm.Errorf(413, "RequestEntityTooLarge", "too large").WithCause(errdef.ErrTooLarge), 413, "invalid_request", 90014, errdef.ErrTooLarge},
		{arm.Errorf(400, "InvalidRequestContent", "unreadable").WithCause(errdef.ErrInvalidArgument), 400, "invalid_request", 900144, errdef.ErrInvalidArgument},
		{fmt.Errorf("wrapped: %w", secret), 500, "server_error", 50000, secret},
	} {
		w := httptest.NewRecorder()
		status := writeError(w, c.err)
		body := w.Body.String()
		if status != c.status || w.Code != c.status || !strings.Contains(body, `"error":"`+c.code+`"`) ||
			!strings.Contains(body, fmt.Sprintf(`"error_codes":[%d]`, c.aadsts)) || !strings.Contains(body, fmt.Sprintf(`"error_description":"AADSTS%d: `, c.aadsts)) {
			t.Errorf("%v: %d %s", c.err, status, body)
		}
		if !errors.Is(c.err, c.class) {
			t.Errorf("%v is not %v", c.err, c.class)
		}
		if strings.Contains(body, "disk on fire") {
			t.Errorf("%v: the cause leaked: %s", c.err, body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%v: headers %v", c.err, w.Header())
		}
		if _, throttled := errors.AsType[*signin.Throttled](c.err); throttled != (w.Header().Get("Retry-After") != "") ||
			throttled && w.Header().Get("Retry-After") != "2" && w.Header().Get("Retry-After") != "1" {
			t.Errorf("%v: Retry-After %q", c.err, w.Header().Get("Retry-After"))
		}
	}
	for _, err := range []error{errNoBearer(), errInvalidToken()} {
		if ae := arm.ToError(err); ae.Status != http.StatusUnauthorized || !errors.Is(err, errdef.ErrUnauthenticated) {
			t.Errorf("%v: %d", err, ae.Status)
		}
	}
}
