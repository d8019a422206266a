package acr

import (
	"context"
	"errors"
	"net/http"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/remote"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
	"github.com/google/uuid"
)

// importRemote serves an importImage whose registryUri is not a registry
// of this service: the copy runs in the request, outside any transaction
// (internal/remote fetches and verifies everything into the content
// store), then one transaction makes it visible and records the finished
// operation, as the local import does. Nothing is read from a registry of
// this service, so no egress permit is asked for here; a road that leads
// back into the service meets the gate in the data plane.
func (p *Provider) importRemote(ctx context.Context, aq *arm.Request, req transfer.ImportRequest, src sourceRef) (*arm.Response, error) {
	q := reqOf(aq)
	targetID := q.registryID().String()
	if p.remote == nil {
		return nil, errInvalidParameters("Importing from registries outside this service is not configured on this server.")
	}
	var target meta.Registry
	var location string
	if err := p.meta.View(ctx, func(tx meta.Tx) error {
		row, doc, err := loadRegistry(tx, q.sub, q.group, q.name)
		target, location = row, deref(doc.Location)
		return err
	}); err != nil {
		return nil, err
	}
	start := p.now().UTC()
	fetched, err := p.remote.Fetch(ctx, remote.Request{Source: *src.remote, Image: req.Image, Username: src.username, Password: src.password,
		Target: target, TargetTags: req.TargetTags, Untagged: req.Untagged, Force: req.Force})
	if err != nil {
		return nil, remoteImportError(err, targetID)
	}
	var opPath string
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := fetched.Commit(tx, p.now().UTC()); err != nil {
			return remoteImportError(err, targetID)
		}
		var err error
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, location, start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusAccepted, LocationOperation: opPath}, nil
}

// remoteImportError maps a remote import's failure to an ARM error. The
// source's failures are the user's or the source's, never ours: all 4xx.
// When the source answered with a status, the message quotes it the way
// ACR does (acr-api.md §9.2: "Operation registries-<id> failed. Resource
// <target> Invalid message Forbidden Forbidden {"errors":[…]}"), so a
// refusal by a registry of this service's egress gate reads as the gate
// wrote it.
func remoteImportError(err error, targetID string) error {
	var re *remote.Error
	if errors.As(err, &re) {
		if re.Kind == remote.NotFound {
			return fail("ImageNotFound", "%s", re.Message).WithCause(err)
		}
		if body := re.Body(); body != "" {
			return fail("InvalidParameters", "Operation registries-%s failed. Resource %s Invalid message %s", uuid.NewString(), targetID, body).WithCause(err)
		}
		return fail("InvalidParameters", "%s", re.Message).WithCause(err)
	}
	if errors.Is(err, remote.ErrTargetChanged) {
		return fail("Conflict", "%s", err.Error()).WithCause(err)
	}
	return importError(err)
}
