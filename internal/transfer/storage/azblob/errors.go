package azblob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// querySecret matches the query of a URL, or a bare signature, in text
// that some layer below formatted; scrub removes them.
var querySecret = regexp.MustCompile(`\?[^\s"'<>]*|\bsig=[^\s&"'<>]*`)

// scrub gives err's text without the SAS token or any query string.
func (c *Container) scrub(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its Op and URL say "GET https://…?sv=…&sig=…"
	}
	s := err.Error()
	if c.sas != "" {
		s = strings.ReplaceAll(s, c.sas, "")
	}
	return querySecret.ReplaceAllString(s, "")
}

// wrap rewrites an error of the SDK for op on blob name (none for the
// container), classified by errdef. It never wraps err itself: see the
// package comment.
func (c *Container) wrap(op, name string, err error) error {
	what := fmt.Sprintf("azure blob container %s: %s", c.where, op)
	if name != "" {
		what = fmt.Sprintf("%s %q", what, name)
	}
	var re *azcore.ResponseError
	switch {
	case errors.As(err, &re):
		why, class := classify(re.StatusCode, re.ErrorCode)
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		return fmt.Errorf("%s: %s (HTTP %d, %s): %w", what, why, re.StatusCode, code, class)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %s: %w", what, c.scrub(err), errdef.ErrUnavailable)
}

// classify maps an answer of the Blob service to an errdef class and a
// few words for people. Every status gets a class: storage trouble is
// never an unexplained 500.
func classify(status int, code string) (why string, class error) {
	switch {
	case status == 404 && code == "ContainerNotFound":
		return "the container does not exist", errdef.ErrNotFound
	case status == 404:
		return "no such blob", errdef.ErrNotFound
	case status == 403 && code == "AuthorizationPermissionMismatch",
		status == 403 && code == "AuthorizationResourceTypeMismatch":
		return "the SAS token was refused: it lacks a permission this needs (read, write, list or delete on the container)", errdef.ErrDenied
	case status == 401, status == 403:
		return "the SAS token was refused (expired, revoked, signed for another container, or from a disallowed address)", errdef.ErrDenied
	case status == 412:
		return "the blob changed meanwhile", errdef.ErrConflict
	case status == 400 && code == "InvalidBlockList":
		return "its staged blocks are gone (another writer committed this name meanwhile)", errdef.ErrConflict
	case status == 409:
		return "the blob or container is busy or in a conflicting state", errdef.ErrConflict
	case status == 413:
		return "the request is too large", errdef.ErrTooLarge
	case status == 400, status == 416:
		return "the service refused the request", errdef.ErrInvalidArgument
	}
	return "the service failed", errdef.ErrUnavailable
}
