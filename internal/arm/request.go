package arm

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/google/uuid"
)

// MaxBody is the largest request body ARM handlers read (4 MiB, ARM's own
// request limit).
const MaxBody = 4 << 20

// WriteJSON writes v as JSON with status. A failed write means the client
// went away; there is nobody left to tell.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Request-tracking headers ARM returns on every response.
const (
	HeaderRequestID       = "x-ms-request-id"
	HeaderCorrelationID   = "x-ms-correlation-request-id"
	HeaderClientRequestID = "x-ms-client-request-id"
)

// maxClientID bounds echoed client ids; a longer one is replaced, not
// reflected.
const maxClientID = 256

// SetRequestIDs sets x-ms-request-id (always new) and
// x-ms-correlation-request-id (the client's, when it sent one, else the
// request id), and echoes x-ms-client-request-id.
func SetRequestIDs(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	corr := r.Header.Get(HeaderCorrelationID)
	if corr == "" || len(corr) > maxClientID {
		corr = reqID
	}
	h := w.Header()
	h.Set(HeaderRequestID, reqID)
	h.Set(HeaderCorrelationID, corr)
	if c := r.Header.Get(HeaderClientRequestID); c != "" && len(c) <= maxClientID {
		h.Set(HeaderClientRequestID, c)
	}
}

// BaseURL is the scheme and host the client addressed, for absolute links
// (nextLink, Location, Azure-AsyncOperation).
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// SkipTokenParam is the query parameter that carries a list's position.
const SkipTokenParam = "$skipToken"

// NextLink is the absolute URL of a list's next page: the request's own
// URL (api-version and filters kept) with $skipToken set to token.
func NextLink(r *http.Request, token string) string {
	q := r.URL.Query()
	q.Set(SkipTokenParam, token)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return BaseURL(r) + u.String()
}
