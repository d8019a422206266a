package oci

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/network"
)

// catalog serves GET /v2/_catalog. In host mode it lists the addressed
// registry's repositories; in path mode it lists <registry>/<repo> names of
// every registry the caller may pull from. Either way a name is listed only
// when the caller may read that registry, so the catalog never shows
// another tenant's names.
func (s *Service) catalog(w http.ResponseWriter, r *http.Request, c *call) error {
	p, limited, err := pageParams(r)
	if err != nil {
		return err
	}
	want := p.Limit
	var names []string
	err = s.meta.View(r.Context(), func(tx meta.Tx) error {
		var regs []meta.Registry
		if c.hostMode {
			regs = []meta.Registry{c.reg}
		} else {
			startReg, _, _ := strings.Cut(p.After, "/")
			all, err := tx.ListRegistries("", "", meta.Page{})
			if err != nil {
				return err
			}
			for _, rg := range all {
				if rg.Name >= startReg {
					regs = append(regs, rg)
				}
			}
		}
		for _, rg := range regs {
			if len(names) > want {
				break
			}
			if permits(tx, c.caller, rg, "", authz.ActionPull) != nil || network.Check(rg, s.clientAddr(r)) != nil {
				continue
			}
			after := p.After
			if !c.hostMode {
				reg, repo, _ := strings.Cut(p.After, "/")
				if reg == rg.Name {
					after = repo
				} else {
					after = ""
				}
			}
			repos, err := tx.ListRepositories(rg.Key, meta.Page{After: after, Limit: want + 1 - len(names)})
			if err != nil {
				return err
			}
			for _, repo := range repos {
				if !c.hostMode {
					repo = rg.Name + "/" + repo
				}
				names = append(names, repo)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(names) > want {
		names = names[:want]
		if limited {
			setNextLink(w, "/v2/_catalog", want, names[len(names)-1])
		}
	}
	if names == nil {
		names = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(struct {
		Repositories []string `json:"repositories"`
	}{names})
}
