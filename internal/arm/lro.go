package arm

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

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

// OperationRoutes serves operation status (Azure-AsyncOperation polling)
// and operation results (Location polling) for a namespace.
func OperationRoutes(mux *http.ServeMux, store meta.Store, namespace string) {
	base := "/subscriptions/{sub}/providers/" + namespace + "/locations/{location}/"
	load := func(r *http.Request) (Operation, error) {
		var op Operation
		err := store.View(r.Context(), func(tx meta.Tx) error {
			res, err := tx.GetResource(OperationPath(r.PathValue("sub"), namespace, r.PathValue("location"), r.PathValue("id")))
			if err != nil {
				return Errorf(http.StatusNotFound, "OperationNotFound", "The operation '%s' was not found.", r.PathValue("id"))
			}
			return json.Unmarshal(res.Document, &op)
		})
		return op, err
	}
	mux.HandleFunc("GET "+base+"operationStatuses/{id}", func(w http.ResponseWriter, r *http.Request) {
		op, err := load(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, op)
	})
	mux.HandleFunc("GET "+base+"operationResults/{id}", func(w http.ResponseWriter, r *http.Request) {
		op, err := load(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		if op.Status == "Failed" {
			WriteJSON(w, http.StatusBadRequest, map[string]any{"error": op.Error})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
