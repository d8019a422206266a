package remote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	ggtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Kind says whose fault an import failure is and what it means to the
// user; acr turns each into an ARM error, all of them 4xx.
type Kind int

// Kinds of import failure that come from the source registry.
const (
	// NotFound: the source registry answered that the image, one of its
	// manifests or blobs does not exist.
	NotFound Kind = iota + 1
	// Unauthorized: the source registry wants credentials, or refused
	// the ones given (401).
	Unauthorized
	// Denied: the source registry refused access (403), the egress gate
	// of this service among them.
	Denied
	// Unreachable: no answer (DNS, connection, TLS, timeout), or not a
	// registry, or only over plain HTTP when TLS is required.
	Unreachable
	// Invalid: the source answered with something an import cannot take
	// (a bad manifest, a digest mismatch, too many manifests or
	// redirects, a manifest over the size limit).
	Invalid
)

// Diagnostic is one entry of a registry's error body
// ({"errors":[{"code","message"}]}), scrubbed of the import's credentials.
type Diagnostic struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an import failure caused by the source registry. It wraps an
// errdef class (NotFound → ErrNotFound, Unauthorized →
// ErrUnauthenticated, Denied → ErrDenied, Unreachable → ErrUnavailable,
// Invalid → ErrInvalidArgument); callers must not map it to a 5xx.
type Error struct {
	Kind Kind
	// Status is the source's HTTP status, 0 when it did not answer.
	Status int
	// Errors is what the source said, when it said it in the
	// distribution-spec error format.
	Errors []Diagnostic
	// Message says what failed, in words for the user.
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the errdef class of the failure.
func (e *Error) Unwrap() error {
	switch e.Kind {
	case NotFound:
		return errdef.ErrNotFound
	case Unauthorized:
		return errdef.ErrUnauthenticated
	case Denied:
		return errdef.ErrDenied
	case Unreachable:
		return errdef.ErrUnavailable
	}
	return errdef.ErrInvalidArgument
}

// Body is the source's answer as ACR quotes it in an import failure
// ("<Status> <Status> {"errors":[…]}"), or "" when the source did not
// answer with a status.
func (e *Error) Body() string {
	if e.Status == 0 {
		return ""
	}
	text := http.StatusText(e.Status)
	s := fmt.Sprintf("%s %s", text, text)
	if len(e.Errors) > 0 {
		b, _ := json.Marshal(map[string]any{"errors": e.Errors})
		s += " " + string(b)
	}
	return s
}

// scrubber removes the import's credentials from text the source or the
// network stack produced, so that no error echoes them.
type scrubber []string

func newScrubber(user, pass string) scrubber {
	var s scrubber
	if pass != "" {
		s = append(s, pass, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), base64.URLEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	return s
}

func (s scrubber) clean(text string) string {
	for _, secret := range s {
		if len(secret) >= 3 {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	if len(text) > 1024 {
		text = text[:1024] + "…"
	}
	return text
}

// classify turns a failure of the remote library or the network into an
// *Error. what names the object being fetched ("the image 'x:y'").
func (im *Importer) classify(ctx context.Context, err error, src Source, what string, s scrubber) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *ggtransport.Error
	if errors.As(err, &te) {
		out := &Error{Status: te.StatusCode}
		for _, d := range te.Errors {
			out.Errors = append(out.Errors, Diagnostic{Code: s.clean(string(d.Code)), Message: s.clean(d.Message)})
		}
		said := ""
		if len(out.Errors) > 0 {
			said = ": " + out.Errors[0].Code + " " + out.Errors[0].Message
		}
		pinged := te.Request != nil && strings.TrimSuffix(te.Request.URL.Path, "/") == "/v2"
		switch {
		case te.StatusCode == http.StatusUnauthorized:
			out.Kind, out.Message = Unauthorized, fmt.Sprintf("The source registry '%s' refused the credentials (401 Unauthorized%s).", src, said)
		case te.StatusCode == http.StatusForbidden:
			out.Kind, out.Message = Denied, fmt.Sprintf("The source registry '%s' denied access to %s (403 Forbidden%s).", src, what, said)
		case te.StatusCode == http.StatusNotFound && !pinged:
			out.Kind, out.Message = NotFound, fmt.Sprintf("The source image %s was not found in registry '%s'%s.", what, src, said)
		case pinged:
			out.Kind, out.Message = Unreachable, fmt.Sprintf("'%s' does not answer as a container registry (GET /v2/ answered %d).", src, te.StatusCode)
		case te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests:
			out.Kind, out.Message = Unreachable, fmt.Sprintf("The source registry '%s' failed to serve %s (%d %s%s).", src, what, te.StatusCode, http.StatusText(te.StatusCode), said)
		default:
			out.Kind, out.Message = Invalid, fmt.Sprintf("The source registry '%s' refused to serve %s (%d %s%s).", src, what, te.StatusCode, http.StatusText(te.StatusCode), said)
		}
		return out
	}
	switch {
	case errors.Is(err, errManifestTooLarge):
		return &Error{Kind: Invalid, Message: fmt.Sprintf("A manifest of %s is larger than %d bytes, the most an import takes.", what, im.o.MaxManifestSize)}
	case errors.Is(err, errTooManyRedirects):
		return &Error{Kind: Invalid, Message: fmt.Sprintf("The source registry '%s' redirected a request for %s more than %d times.", src, what, im.o.MaxRedirects)}
	case errors.Is(err, errPlainHTTP):
		return &Error{Kind: Unreachable, Message: fmt.Sprintf("The source registry '%s' would be reached over plain HTTP, which the registryUri does not allow: only HTTPS is used unless it says http:// (or names a loopback host without https://).", src)}
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: Unreachable, Message: fmt.Sprintf("Importing %s from '%s' took longer than %s.", what, src, im.o.Timeout)}
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return &Error{Kind: Unreachable, Message: fmt.Sprintf("The source registry '%s' could not be reached: %s.", src, s.clean(err.Error()))}
	}
	return &Error{Kind: Invalid, Message: fmt.Sprintf("The source registry '%s' answered for %s with something an import cannot take: %s.", src, what, s.clean(err.Error()))}
}
