package acr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/audit"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
)

// importEvent is what an importImage did, for the audit trail.
type importEvent struct {
	source  meta.Registry // zero when the source was never loaded
	target  string        // the target registry's id
	image   transfer.Image
	result  transfer.ImportResult
	refused bool // the egress gate refused the source
	err     error
	start   time.Time
}

// recordImport writes an import's repository events: in the source
// registry's stream, what left it (or tried to, and was refused), and in
// the target's, what arrived. The activity log has the write itself.
func (p *Provider) recordImport(ctx context.Context, aq *arm.Request, e importEvent) {
	if p.audit == nil {
		return
	}
	base := audit.Record{Time: e.start, Category: audit.CategoryRepository, OperationName: audit.OpImportImage,
		ResultType: audit.ResultSucceeded, ResultDescription: "200", DurationMs: p.now().Sub(e.start).Milliseconds(),
		CallerIPAddress: audit.NoteFrom(ctx).ClientAddr, CorrelationID: audit.NoteFrom(ctx).RequestID, Identity: aq.Caller.ObjectID,
		Properties: audit.Properties{Repository: e.image.Repository, Tag: e.image.Tag, Digest: e.image.Digest.String(),
			IdentityType: audit.IdentityServicePrincipal, UserTenantID: aq.Caller.TenantID, Route: aq.HTTP.Method + " " + aq.HTTP.URL.Path}}
	if e.err != nil {
		ae := arm.ToError(e.err)
		base.ResultType, base.ResultDescription = audit.ResultFailed, strconv.Itoa(ae.Status)
		base.Properties.ErrorCode, base.Properties.Message = ae.Code, ae.Message
	}
	if e.result.Digest != "" {
		base.Properties.Digest, base.Properties.Size = e.result.Digest.String(), e.result.Bytes
	}
	if e.source.Key != "" {
		src := base
		src.ResourceID, src.RegistryKey, src.Properties.Target = e.source.ResourceID, e.source.Key, e.target
		switch {
		case e.refused:
			src.Properties.RefusedBy = "egressGate"
			src.Egress = &audit.Egress{Channel: audit.EgressRefused}
		case e.err == nil:
			src.Egress = &audit.Egress{Channel: audit.EgressImportSource, Bytes: e.result.Bytes, Artifacts: 1}
		}
		p.audit.Record(src)
	}
	dst := base
	dst.ResourceID, dst.Properties.Source = e.target, e.source.ResourceID
	p.audit.Record(dst)
}

// maxRunArtifactsListed bounds the artifacts a run's record names.
const maxRunArtifactsListed = 50

// recordRun writes a pipeline run's repository event in its registry's
// stream: what an export run took out (egress by pipelineRun), or what
// an import run brought in, and how it ended.
func (r *Runner) recordRun(id string, run storedRun, export bool, out *outcome, err error, start time.Time) {
	if r.o.Audit == nil || run.ID == nil {
		return
	}
	runID, perr := arm.ParseID(id)
	if perr != nil || len(runID.Names) == 0 {
		return
	}
	regID := arm.ID{Subscription: runID.Subscription, ResourceGroup: runID.ResourceGroup, Provider: runID.Provider,
		Types: runID.Types[:1], Names: runID.Names[:1]}
	pipeline, _ := arm.ParseID(deref(run.Properties.Request.PipelineResourceID))
	kind := "import"
	if export {
		kind = "export"
	}
	arts := out.artifacts
	if len(arts) > maxRunArtifactsListed {
		arts = arts[:maxRunArtifactsListed]
	}
	rec := audit.Record{Time: start, ResourceID: regID.String(), RegistryKey: run.State.Registry, Category: audit.CategoryRepository,
		OperationName: audit.OpPipelineRun, ResultType: audit.ResultSucceeded, ResultDescription: "200",
		DurationMs: r.o.Now().Sub(start).Milliseconds(), Identity: pipeline.String(),
		Properties: audit.Properties{IdentityType: "Pipeline", Size: out.progress.Bytes, Digest: out.catalog.String(),
			Message: fmt.Sprintf("%s run %s: %d artifacts: %s", kind, id, len(out.artifacts), strings.Join(arts, ", "))}}
	if t := run.Properties.Request.Target; export && t != nil {
		rec.Properties.Target = deref(t.Name)
	} else if s := run.Properties.Request.Source; !export && s != nil {
		rec.Properties.Source = deref(s.Name)
	}
	switch {
	case err != nil:
		rec.ResultType, rec.ResultDescription, rec.Properties.Message = audit.ResultFailed, "409", rec.Properties.Message+"; "+err.Error()
		var refusal *egress.Refusal
		if export && errors.As(err, &refusal) {
			rec.Properties.RefusedBy, rec.Properties.ErrorCode = "egressGate", refusal.Code
			rec.Egress = &audit.Egress{Channel: audit.EgressRefused}
		}
	case export:
		rec.Egress = &audit.Egress{Channel: audit.EgressPipelineRun, Bytes: out.progress.Bytes, Artifacts: int64(len(out.artifacts))}
	}
	r.o.Audit.Record(rec)
}

// recordRefusal writes a repository event for a management request the
// egress gate refused on registry row (creating an export pipeline): every
// refusal is in the registry's own stream, with the route that was tried.
func (p *Provider) recordRefusal(ctx context.Context, q *arm.Request, row meta.Registry, err error) {
	if p.audit == nil {
		return
	}
	n := audit.NoteFrom(ctx)
	rec := audit.Record{Time: p.now().UTC(), ResourceID: row.ResourceID, RegistryKey: row.Key, Category: audit.CategoryRepository,
		OperationName: q.HTTP.Method + " " + lastSegments(q.ID.String(), 2), ResultType: audit.ResultFailed, ResultDescription: strconv.Itoa(arm.ToError(asARM(err)).Status),
		CallerIPAddress: n.ClientAddr, CorrelationID: n.RequestID, Identity: q.Caller.ObjectID,
		Properties: audit.Properties{IdentityType: audit.IdentityServicePrincipal, UserTenantID: q.Caller.TenantID, RefusedBy: "egressGate",
			Route: q.HTTP.Method + " " + q.HTTP.URL.Path},
		Egress: &audit.Egress{Channel: audit.EgressRefused}}
	var refusal *egress.Refusal
	if errors.As(err, &refusal) {
		rec.Properties.ErrorCode, rec.Properties.Message = refusal.Code, refusal.Message
	}
	p.audit.Record(rec)
}

// lastSegments is the last n segments of an id: "exportPipelines/p1".
func lastSegments(id string, n int) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	return strings.Join(parts, "/")
}
