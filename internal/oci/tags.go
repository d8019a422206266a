package oci

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// maxPage caps n for listings so one request cannot ask for everything.
const maxPage = 10000

// pageParams reads n and last (spec: "Listing tags").
func pageParams(r *http.Request) (meta.Page, bool, error) {
	q := r.URL.Query()
	p := meta.Page{After: q.Get("last"), Limit: maxPage}
	limited := false
	if n := q.Get("n"); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 {
			return p, false, fail(codePaginationInvalid, fmt.Sprintf("invalid n %q", n), errdef.ErrInvalidArgument)
		}
		p.Limit, limited = min(v, maxPage), true
	}
	return p, limited, nil
}

// setNextLink adds an RFC 5988 Link header for the next page.
func setNextLink(w http.ResponseWriter, path string, n int, last string) {
	v := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, v.Encode()))
}

// listTags serves GET /v2/<name>/tags/list.
func (s *Service) listTags(w http.ResponseWriter, r *http.Request, c *call) error {
	p, limited, err := pageParams(r)
	if err != nil {
		return err
	}
	var tags []string
	want := p.Limit
	if want == 0 {
		tags = []string{}
	} else {
		p.Limit = want + 1
		err = s.meta.View(r.Context(), func(tx meta.Tx) error {
			ok, err := tx.RepositoryExists(c.reg.Key, c.req.repo)
			if err != nil {
				return err
			}
			if !ok {
				return fail(codeNameUnknown, fmt.Sprintf("repository %q not found", c.name()), errdef.ErrNotFound)
			}
			tags, err = tx.ListTags(c.reg.Key, c.req.repo, p)
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(tags) > want {
		tags = tags[:want]
		if limited {
			setNextLink(w, "/v2/"+c.name()+"/tags/list", want, tags[len(tags)-1])
		}
	}
	if tags == nil {
		tags = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{c.name(), tags})
}
