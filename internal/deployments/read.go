package deployments

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// get serves Deployments_Get: the stored deployment document.
func (s *Service) get(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var res meta.Resource
	err := s.meta.View(ctx, func(tx meta.Tx) (err error) {
		res, err = tx.GetResource(q.ID.String())
		if errors.Is(err, errdef.ErrNotFound) {
			return errDeploymentNotFound(q.ID.Name())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Raw: res.Document}, nil
}

// list serves Deployments_ListByResourceGroup.
func (s *Service) list(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []json.RawMessage{}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		res, err := tx.ListResources(q.ID.String()+"/providers/"+DeploymentType, DeploymentType, meta.Page{})
		for _, x := range res {
			out = append(out, x.Document)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

// operations lists one operation per applied resource, and one per
// failure.
func (s *Service) operations(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var doc struct {
		Properties struct {
			OutputResources []struct{ ID string } `json:"outputResources"`
			Error           *struct {
				Details []map[string]string `json:"details"`
			} `json:"error"`
			Timestamp time.Time `json:"timestamp"`
		} `json:"properties"`
	}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(q.ID.String())
		if errors.Is(err, errdef.ErrNotFound) {
			return errDeploymentNotFound(q.ID.Name())
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(res.Document, &doc)
	})
	if err != nil {
		return nil, err
	}
	ops := []map[string]any{}
	add := func(target, state string, status any) {
		id := uuid.NewSHA1(uuid.NameSpaceURL, []byte(q.ID.String()+target)).String()
		ops = append(ops, map[string]any{"id": q.ID.String() + "/operations/" + id, "operationId": id, "properties": map[string]any{
			"provisioningOperation": "Create", "provisioningState": state, "timestamp": doc.Properties.Timestamp,
			"targetResource": map[string]any{"id": target}, "statusMessage": status}})
	}
	for _, o := range doc.Properties.OutputResources {
		add(o.ID, "Succeeded", nil)
	}
	if doc.Properties.Error != nil {
		for _, d := range doc.Properties.Error.Details {
			add(d["target"], "Failed", map[string]any{"error": d})
		}
	}
	return arm.OK(map[string]any{"value": ops}), nil
}

// delete serves Deployments_Delete: the record goes; what it deployed
// stays, as in ARM.
func (s *Service) delete(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	return arm.DeleteDocument(ctx, s.meta, q.ID.String())
}
