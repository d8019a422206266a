package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// envelope is the ARM error body as clients read it.
type envelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
		Details []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func writeAndRead(t *testing.T, err error) (int, envelope, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	WriteError(rec, err)
	var env envelope
	if jerr := json.Unmarshal(rec.Body.Bytes(), &env); jerr != nil {
		t.Fatalf("error body is not JSON: %v: %s", jerr, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	return rec.Code, env, rec.Body.String()
}

// TestClassTable asserts every row of the one translation table, wrapped
// the way domain code wraps classes.
func TestClassTable(t *testing.T) {
	want := map[error]struct {
		status int
		code   string
	}{
		errdef.ErrNotFound:           {404, "ResourceNotFound"},
		errdef.ErrAlreadyExists:      {409, "Conflict"},
		errdef.ErrInvalidArgument:    {400, "BadRequest"},
		errdef.ErrFailedPrecondition: {400, "BadRequest"},
		errdef.ErrDenied:             {403, "AuthorizationFailed"},
		errdef.ErrUnauthenticated:    {401, "AuthenticationFailed"},
		errdef.ErrConflict:           {409, "Conflict"},
		errdef.ErrTooLarge:           {413, "RequestEntityTooLarge"},
		errdef.ErrUnavailable:        {503, "ServiceUnavailable"},
		// A full disk is not the caller's fault: 503, which the Azure SDK
		// and az retry.
		errdef.ErrInsufficientStorage: {503, "ServiceUnavailable"},
	}
	if len(want) != len(classTable) {
		t.Fatalf("table has %d rows, test knows %d: add the new row here", len(classTable), len(want))
	}
	for _, class := range errdef.Classes() {
		if _, ok := want[class]; !ok {
			t.Errorf("class %q has no row: add one to classTable and here", class)
		}
	}
	for _, row := range classTable {
		w, ok := want[row.class]
		if !ok {
			t.Errorf("row %v is not asserted", row.class)
			continue
		}
		err := fmt.Errorf("registry reg1: %w", row.class)
		status, env, _ := writeAndRead(t, err)
		msg := err.Error()
		if row.msg != "" {
			msg = row.msg
		}
		if status != w.status || env.Error.Code != w.code || env.Error.Message != msg {
			t.Errorf("%v: got %d %s %q, want %d %s", row.class, status, env.Error.Code, env.Error.Message, w.status, w.code)
		}
		if !errors.Is(ToError(err), row.class) {
			t.Errorf("%v: ToError loses the class", row.class)
		}
	}
}

func TestTypedErrorWins(t *testing.T) {
	typed := Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", "rg1").
		WithCause(errdef.ErrNotFound)
	wrapped := fmt.Errorf("loading: %w", typed)
	status, env, _ := writeAndRead(t, wrapped)
	if status != 404 || env.Error.Code != "ResourceGroupNotFound" || env.Error.Message != "Resource group 'rg1' could not be found." {
		t.Fatalf("got %d %+v", status, env)
	}
	if !errors.Is(wrapped, errdef.ErrNotFound) {
		t.Fatal("a typed error must keep its class for errors.Is")
	}
}

func TestUnknownErrorIs500WithoutLeaking(t *testing.T) {
	status, env, body := writeAndRead(t, errors.New("disk on fire at /var/secret/path"))
	if status != 500 || env.Error.Code != "InternalServerError" {
		t.Fatalf("got %d %+v", status, env)
	}
	if strings.Contains(body, "secret") {
		t.Fatalf("500 leaks its cause: %s", body)
	}
}

// A request whose client went away is answered 499, not a server fault,
// whatever failed because of it (a store read, a typed error around it).
func TestClientGoneIs499(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("sqlite begin: %w", context.Canceled),
		Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "x").WithCause(context.Canceled),
	} {
		if status, env, _ := writeAndRead(t, err); status != StatusClientClosed || env.Error.Code != "ClientClosedRequest" {
			t.Errorf("%v: got %d %+v", err, status, env)
		}
	}
}

func TestEnvelopeTargetAndDetails(t *testing.T) {
	e := &Error{Status: 400, Code: "InvalidTemplate", Message: "bad", Target: "properties.x",
		Details: []*Error{{Code: "Inner", Message: "why"}}}
	_, env, body := writeAndRead(t, e)
	if env.Error.Target != "properties.x" || len(env.Error.Details) != 1 || env.Error.Details[0].Code != "Inner" {
		t.Fatalf("got %s", body)
	}
	_, _, plain := writeAndRead(t, Errorf(400, "BadRequest", "x"))
	if strings.Contains(plain, "target") || strings.Contains(plain, "details") {
		t.Fatalf("empty target/details must be omitted: %s", plain)
	}
	if b := e.Body(); b["target"] != "properties.x" || b["details"] == nil {
		t.Fatalf("Body: %v", b)
	}
}

func TestAuthorizationFailed(t *testing.T) {
	e := AuthorizationFailed("app1", "oid1", "Microsoft.ContainerRegistry/registries/write", "/subscriptions/s/resourceGroups/rg")
	status, env, _ := writeAndRead(t, e)
	if status != 403 || env.Error.Code != "AuthorizationFailed" || !errors.Is(e, errdef.ErrDenied) {
		t.Fatalf("got %d %+v", status, env)
	}
	for _, s := range []string{"'app1'", "'oid1'", "'Microsoft.ContainerRegistry/registries/write'", "'/subscriptions/s/resourceGroups/rg'"} {
		if !strings.Contains(env.Error.Message, s) {
			t.Errorf("message lacks %s: %s", s, env.Error.Message)
		}
	}
}
