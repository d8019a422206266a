package arm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// Operation is an ARM asynchronous-operation status resource
// ({"id","name","status","startTime","endTime","error"?}).
type Operation struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Status    string         `json:"status"` // InProgress, Succeeded, Failed, Canceled
	StartTime time.Time      `json:"startTime"`
	EndTime   *time.Time     `json:"endTime,omitempty"`
	Error     map[string]any `json:"error,omitempty"`
}

// operationRecord is an operation as stored: its status and, for an
// operation that has a result (a what-if's changes), the result its
// Location poll answers and the principal who may read it. Status polls
// show the Operation alone.
type operationRecord struct {
	Operation
	Result json.RawMessage `json:"result,omitempty"`
	Owner  string          `json:"owner,omitempty"`
}

// OperationType is the stored type of operation records.
const OperationType = "Microsoft.Resources/operationStatuses"

// OperationPath is where an operation's status lives:
// /subscriptions/{sub}/providers/{namespace}/locations/{location}/operationStatuses/{id}.
func OperationPath(sub, namespace, location, id string) string {
	return "/subscriptions/" + sub + "/providers/" + namespace + "/locations/" + location + "/operationStatuses/" + id
}

// RecordOperation stores a finished operation inside tx and returns its
// status path. Bulkhead finishes its operations inside the request, so the
// record is terminal from the start; clients still get the ARM LRO shape
// they poll.
func RecordOperation(tx meta.Resources, sub, namespace, location string, start, end time.Time, failure error) (string, error) {
	id := uuid.NewString()
	path := OperationPath(sub, namespace, location, id)
	op := Operation{ID: path, Name: id, Status: "Succeeded", StartTime: start, EndTime: &end}
	if failure != nil {
		ae := ToError(failure)
		op.Status, op.Error = "Failed", ae.Body()
	}
	doc, err := json.Marshal(op)
	if err != nil {
		return "", err
	}
	return path, tx.PutResource(meta.Resource{ID: path, Type: OperationType, Document: doc, CreatedAt: start, UpdatedAt: end})
}

// RecordOperationResult stores a finished, successful operation inside
// tx whose Location poll answers 200 with result, and returns its status
// path. The result (a what-if's changes) can show resource content, so
// only owner, the object id of the principal that started the operation,
// may read it; anyone else is told it does not exist.
func RecordOperationResult(tx meta.Resources, sub, namespace, location string, start, end time.Time, owner string, result any) (string, error) {
	if owner == "" {
		return "", errors.New("an operation result needs an owner")
	}
	raw, err := json.Marshal(result)
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	path := OperationPath(sub, namespace, location, id)
	doc, err := json.Marshal(operationRecord{Operation: Operation{ID: path, Name: id, Status: "Succeeded", StartTime: start, EndTime: &end},
		Result: raw, Owner: owner})
	if err != nil {
		return "", err
	}
	return path, tx.PutResource(operationResource(path, doc, start, end))
}

// OperationRetention is how long operation records stay pollable. Clients
// poll within minutes; a day leaves room for a paused client.
const OperationRetention = 24 * time.Hour

// PurgeOperations deletes operation records that ended before cutoff, a
// page at a time so no transaction grows with the backlog, and returns how
// many it deleted.
func PurgeOperations(ctx context.Context, store meta.Store, cutoff time.Time) (int, error) {
	const batch = 500
	deleted, after := 0, ""
	for {
		var old []string
		var last string
		var n int
		err := store.View(ctx, func(tx meta.Tx) error {
			ops, err := tx.ListResources("", OperationType, meta.Page{After: after, Limit: batch})
			for _, op := range ops {
				if op.UpdatedAt.Before(cutoff) {
					old = append(old, op.ID)
				}
				last = strings.ToLower(op.ID)
			}
			n = len(ops)
			return err
		})
		if err != nil {
			return deleted, err
		}
		if len(old) > 0 {
			err = store.Update(ctx, func(tx meta.Tx) error {
				for _, id := range old {
					if err := tx.DeleteResource(id); err != nil && !errors.Is(err, errdef.ErrNotFound) {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return deleted, err
			}
			deleted += len(old)
		}
		if n < batch {
			return deleted, nil
		}
		after = last
	}
}

// NormLocation is ARM's canonical location name ("West US" → "westus").
func NormLocation(l string) string { return strings.ToLower(strings.ReplaceAll(l, " ", "")) }

// absolute is the polling URL of path, in the api-version of the request.
func absolute(r *http.Request, path string) string {
	return BaseURL(r) + path + "?api-version=" + url.QueryEscape(r.URL.Query().Get("api-version"))
}

// SetAsyncHeaders marks a PUT/PATCH answer as a long-running operation whose
// status is polled at statusPath (Azure-AsyncOperation).
func SetAsyncHeaders(w http.ResponseWriter, r *http.Request, statusPath string) {
	w.Header().Set("Azure-AsyncOperation", absolute(r, statusPath))
	w.Header().Set("Retry-After", "1")
}

// SetLocationHeaders marks a DELETE or POST answer (202) as a long-running
// operation polled at statusPath's operationResults twin (Location).
func SetLocationHeaders(w http.ResponseWriter, r *http.Request, statusPath string) {
	w.Header().Set("Location", absolute(r, resultPath(statusPath)))
	w.Header().Set("Retry-After", "1")
}

func resultPath(statusPath string) string {
	const seg = "/operationStatuses/"
	for i := len(statusPath) - len(seg); i >= 0; i-- {
		if statusPath[i:i+len(seg)] == seg {
			return statusPath[:i] + "/operationResults/" + statusPath[i+len(seg):]
		}
	}
	return statusPath
}

// OperationTable declares the operation-polling routes of a namespace for
// the router: operation status (Azure-AsyncOperation polling) and
// operation results (Location polling). They accept any api-version,
// because the polling URLs carry the version of the request that started
// the operation, whatever its resource type.
func OperationTable(store meta.Store, namespace string) []Route {
	base := "/subscriptions/{sub}/providers/" + namespace + "/locations/{location}/"
	access := AnyCaller("operation ids are random, a status reveals no resource content, and a result is shown only to the caller that started its operation")
	moves := MovesNoContent("an operation record is the status of a finished request, not artifact content")
	return []Route{
		{Method: http.MethodGet, Pattern: base + "operationStatuses/{id}", Versions: AnyAPIVersion(), Access: access, Egress: moves,
			Handle: func(ctx context.Context, q *Request) (*Response, error) {
				rec, err := loadOperation(ctx, store, namespace, q.ID)
				if err != nil {
					return nil, err
				}
				return OK(rec.Operation), nil
			}},
		{Method: http.MethodGet, Pattern: base + "operationResults/{id}", Versions: AnyAPIVersion(), Access: access, Egress: moves,
			Handle: func(ctx context.Context, q *Request) (*Response, error) {
				rec, err := loadOperation(ctx, store, namespace, q.ID)
				if err != nil {
					return nil, err
				}
				switch {
				case rec.Status == "Failed":
					return nil, operationFailed(rec.Error)
				case rec.Result == nil:
					return &Response{Status: http.StatusNoContent}, nil
				case rec.Owner != q.Caller.ObjectID:
					return nil, operationNotFound(rec.Name)
				}
				return &Response{Status: http.StatusOK, Raw: rec.Result}, nil
			}},
	}
}

// loadOperation reads the operation record that id (…/locations/{location}/
// operation{Statuses,Results}/{id}) names.
func loadOperation(ctx context.Context, store meta.Store, namespace string, id ID) (operationRecord, error) {
	var op operationRecord
	location, name := id.Names[0], id.Names[1]
	err := store.View(ctx, func(tx meta.Tx) error {
		res, err := tx.GetResource(OperationPath(id.Subscription, namespace, location, name))
		if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(res.Type, OperationType) {
			return operationNotFound(name)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(res.Document, &op)
	})
	return op, err
}

// StartOperation stores an operation that is still running inside tx and
// returns its status path; FinishOperation ends it. Clients poll it
// (Azure-AsyncOperation) until it is terminal.
func StartOperation(tx meta.Resources, sub, namespace, location string, start time.Time) (string, error) {
	id := uuid.NewString()
	path := OperationPath(sub, namespace, location, id)
	doc, err := json.Marshal(Operation{ID: path, Name: id, Status: "InProgress", StartTime: start})
	if err != nil {
		return "", err
	}
	return path, tx.PutResource(operationResource(path, doc, start, start))
}

// FinishOperation marks the operation at path Succeeded, or Failed with
// failure's ARM error. A missing record (purged, or never written) is not
// an error: nobody polls it any more.
func FinishOperation(tx meta.Resources, path string, end time.Time, failure error) error {
	res, err := tx.GetResource(path)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var op operationRecord
	if err := json.Unmarshal(res.Document, &op); err != nil {
		return err
	}
	op.Status, op.EndTime, op.Error = "Succeeded", &end, nil
	if failure != nil {
		op.Status, op.Error = "Failed", ToError(failure).Body()
	}
	doc, err := json.Marshal(op)
	if err != nil {
		return err
	}
	return tx.PutResource(operationResource(path, doc, res.CreatedAt, end))
}

// operationResource is an operation record as stored.
func operationResource(path string, doc []byte, created, updated time.Time) meta.Resource {
	return meta.Resource{ID: path, Type: OperationType, Document: doc, CreatedAt: created, UpdatedAt: updated}
}
