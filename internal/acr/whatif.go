package acr

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// The registry what-if (a Bulkhead extension): what a PATCH would do,
// without doing it. The body is a PATCH body (RegistryUpdateParameters)
// plus an optional "days" look-back for the impacts (default 30):
//
//	POST {registry id}/whatIf?api-version=<a registry api-version>
//	{"properties":{"publicNetworkAccess":"Disabled"}, "days": 30}
//
// The prediction runs the PATCH's own code (mergeUpdate, checkUpdate) in a
// read-only transaction, so it cannot disagree with a real PATCH made at
// the same moment, and nothing is written. The answer names what the
// change would refuse or cut off: the export pipelines that block it, and
// the identities whose traffic of the last days it would stop.
//
// Access: the route needs registries/read, because the prediction shows
// nothing a reader cannot already see (the document, its export pipelines,
// the rules). The identities in the impacts are the egress report's data,
// so they are shown only to callers who also hold egressReportAction at
// the registry; for the others cutOffWithheld says why the list is empty.

// The outcomes of a prediction.
const (
	whatIfSucceeded = "Succeeded"
	whatIfRefused   = "Refused"
)

// Reasons an identity would be cut off.
const (
	cutExportsDisabled      = "exportsDisabled"
	cutPublicAccessDisabled = "publicNetworkAccessDisabled"
	cutDefaultActionDeny    = "networkRuleSetDefaultActionDeny"
)

type whatIfResult struct {
	ID      string           `json:"id"`
	Since   string           `json:"since"` // the first day the impacts look at
	Days    int              `json:"days"`
	Result  prediction       `json:"result"`
	Changes []propertyChange `json:"changes"`
	Impacts impacts          `json:"impacts"`
}

// prediction is the answer the PATCH would get.
type prediction struct {
	Status     string          `json:"status"` // Succeeded or Refused
	HTTPStatus int             `json:"httpStatus"`
	Error      *predictedError `json:"error,omitempty"`
}

type predictedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// propertyChange is one leaf of the document that the change would set;
// lists count as leaves. Absent values are null.
type propertyChange struct {
	Path   string `json:"path"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

type impacts struct {
	// BlockingPipelines are the export pipelines that keep exports from
	// being disabled: they must be deleted first.
	BlockingPipelines []pipelineRef `json:"blockingPipelines"`
	// CutOff lists, per identity and channel, the traffic of the look-back
	// that the change would stop.
	CutOff         []cutOff `json:"cutOff"`
	CutOffWithheld string   `json:"cutOffWithheld,omitempty"`
}

type pipelineRef struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

type cutOff struct {
	Identity  string `json:"identity"` // "" is anonymous
	Channel   string `json:"channel"`
	Reason    string `json:"reason"`
	Bytes     int64  `json:"bytes"`
	Artifacts int64  `json:"artifacts"`
	Attempts  int64  `json:"attempts"`
	LastDay   string `json:"lastDay"`
}

// whatIf serves POST {registry}/whatIf.
func (p *Provider) whatIf(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body map[string]any
	if err := req.Decode(&body); err != nil {
		return nil, err
	}
	now := p.now().UTC()
	win := lastDays(defaultWhatIfDays, now)
	patch := map[string]any{}
	for k, v := range body {
		if !strings.EqualFold(k, "days") {
			patch[k] = v
			continue
		}
		var err error
		if win, err = daysWindow(v, now); err != nil {
			return nil, err
		}
	}
	q := reqOf(req)
	var out whatIfResult
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		row, old, err := loadRegistry(tx, q.sub, q.group, q.name)
		if err != nil {
			return err
		}
		out = whatIfResult{ID: row.ResourceID, Since: win.first.Format(time.RFC3339), Days: win.days,
			Changes: []propertyChange{}, Impacts: impacts{BlockingPipelines: []pipelineRef{}, CutOff: []cutOff{}}}
		// The PATCH's steps, in its order.
		refusal := checkUpdatable(patch)
		if refusal == nil {
			var next Registry
			var intent lockIntent
			if next, intent, refusal = mergeUpdate(old, patch, req.Caller, now); refusal == nil {
				refusal = checkUpdate(tx, row.ResourceID, old, next, intent)
				// Whether or not a rule refuses it, the impacts are those
				// of the change as asked.
				if err := impactsOf(tx, req, row, old, next, win, &out); err != nil {
					return err
				}
			}
		}
		out.Result, err = predict(refusal)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(out), nil
}

// predict turns the PATCH's error into the prediction; an error that is
// no 4xx answer of the PATCH (a store failure) fails the what-if itself.
func predict(refusal error) (prediction, error) {
	if refusal == nil {
		return prediction{Status: whatIfSucceeded, HTTPStatus: http.StatusOK}, nil
	}
	var ae *arm.Error
	if !errors.As(refusal, &ae) || ae.Status >= http.StatusInternalServerError {
		return prediction{}, refusal
	}
	return prediction{Status: whatIfRefused, HTTPStatus: ae.Status, Error: &predictedError{Code: ae.Code, Message: ae.Message}}, nil
}

// impactsOf fills the changes and impacts of moving old to next.
func impactsOf(tx meta.Tx, req *arm.Request, row meta.Registry, old, next Registry, win window, out *whatIfResult) error {
	out.Changes = diffDocs(forVersion(old, req.Version), forVersion(next, req.Version))
	bf, af := factsOf(old), factsOf(next)
	disablesExports := af.ExportsDisabled && !bf.ExportsDisabled
	if disablesExports {
		pipes, err := tx.ListResources(row.ResourceID, ExportPipelineType, meta.Page{})
		if err != nil {
			return err
		}
		for _, pr := range pipes {
			out.Impacts.BlockingPipelines = append(out.Impacts.BlockingPipelines, pipelineRef{Name: pr.ID[strings.LastIndex(pr.ID, "/")+1:], ID: pr.ID})
		}
	}
	reasons := map[string]string{}
	if disablesExports {
		reasons[audit.EgressImportSource] = cutExportsDisabled
		reasons[audit.EgressPipelineRun] = cutExportsDisabled
	}
	switch {
	case af.PublicAccessDisabled && !bf.PublicAccessDisabled:
		reasons[audit.EgressPullPublic] = cutPublicAccessDisabled
	case !af.PublicAccessDisabled && af.DefaultDeny && !bf.DefaultDeny:
		// Public clients inside the ipRules keep pulling; the totals do
		// not say which addresses an identity used, so all are listed.
		reasons[audit.EgressPullPublic] = cutDefaultActionDeny
	}
	if len(reasons) == 0 {
		return nil
	}
	if err := req.Authorize(tx, row.ResourceID, egressReportAction); errors.Is(err, errdef.ErrDenied) {
		out.Impacts.CutOffWithheld = "Listing the identities that would be cut off needs " + egressReportAction + " on the registry."
		return nil
	} else if err != nil {
		return err
	}
	rows, err := tx.EgressTotals(row.Key, win.sinceDay())
	if err != nil {
		return err
	}
	out.Impacts.CutOff = cutOffs(rows, reasons)
	return nil
}

// cutOffs sums rows per identity and channel, for the channels in
// reasons, most bytes first.
func cutOffs(rows []meta.EgressCount, reasons map[string]string) []cutOff {
	type key struct{ identity, channel string }
	sums := map[key]*cutOff{}
	for _, c := range rows {
		reason, ok := reasons[c.Channel]
		if !ok {
			continue
		}
		k := key{c.Identity, c.Channel}
		s := sums[k]
		if s == nil {
			s = &cutOff{Identity: c.Identity, Channel: c.Channel, Reason: reason}
			sums[k] = s
		}
		s.Bytes += c.Bytes
		s.Artifacts += c.Artifacts
		s.Attempts += c.Attempts
		s.LastDay = max(s.LastDay, c.Day)
	}
	out := []cutOff{}
	for _, s := range sums {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		if a.Identity != b.Identity {
			return a.Identity < b.Identity
		}
		return a.Channel < b.Channel
	})
	return out
}

// diffDocs lists the leaves that differ between two rendered documents,
// by path. systemData is left out: every write changes it.
func diffDocs(before, after any) []propertyChange {
	out := []propertyChange{}
	var walk func(path string, b, a any)
	walk = func(path string, b, a any) {
		bm, bok := b.(map[string]any)
		am, aok := a.(map[string]any)
		if !(bok && aok || bok && a == nil || aok && b == nil) {
			if !reflect.DeepEqual(b, a) {
				out = append(out, propertyChange{Path: path, Before: b, After: a})
			}
			return
		}
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		for k := range keys {
			if path == "" && k == "systemData" {
				continue
			}
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			walk(sub, bm[k], am[k])
		}
	}
	walk("", before, after)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
