package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Query budgets: a query reads at most maxQueryLine bytes per line and
// returns at most MaxQueryRecords records.
const (
	maxQueryLine    = 1 << 20
	MaxQueryRecords = 10000
)

// Filter selects records. Zero fields select everything.
type Filter struct {
	// Category is one category; "" means all.
	Category string
	// ResourceID selects the records of a resource and of what lies under
	// it: its streams, its children's (a group's registries), and activity
	// log entries that wrote to it or under it (case-insensitive prefix on
	// a segment boundary).
	ResourceID string
	// Since and Until bound the record time: Since <= time < Until.
	Since, Until time.Time
	// Identity, Operation, Repository and Result match exactly
	// (case-insensitively); Operation also matches the activity log's
	// action.
	Identity, Operation, Repository, Result string
	// Markers includes the chain's own records (checkpoints, restarts,
	// gaps); they are left out by default.
	Markers bool
	// Limit caps the records returned (newest kept); 0 or more than
	// MaxQueryRecords means MaxQueryRecords.
	Limit int
}

// Query reads the records of the layout under dir that f selects, oldest
// first. Hours outside [Since, Until) are not read at all.
func Query(dir string, f Filter) ([]Record, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxQueryRecords {
		limit = MaxQueryRecords
	}
	files, err := queryFiles(dir, f)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, name := range files {
		recs, err := readFile(filepath.Join(dir, filepath.FromSlash(name)), f)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// queryFiles lists the hourly files f may need, as slash names relative
// to dir.
func queryFiles(dir string, f Filter) ([]string, error) {
	var out []string
	root := os.DirFS(dir)
	containers, err := fs.ReadDir(root, ".")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		if !c.IsDir() || !strings.HasPrefix(c.Name(), "insights-") {
			continue
		}
		if f.Category != "" && !strings.EqualFold(c.Name(), Container(f.Category)) {
			continue
		}
		err := fs.WalkDir(root, c.Name(), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || d.Name() != "PT1H.json" {
				return nil
			}
			hour, ok := HourOf(p)
			if !ok {
				return nil
			}
			if !f.Since.IsZero() && !hour.Add(time.Hour).After(f.Since) || !f.Until.IsZero() && !hour.Before(f.Until) {
				return nil
			}
			if f.ResourceID != "" && !resourceMatch(streamResource(p), f.ResourceID, f.Category == "" || f.Category == CategoryAdministrative) {
				return nil
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// streamResource is the resource id of a layout path: what lies between
// "resourceId=" and "/y=".
func streamResource(p string) string {
	_, rest, _ := strings.Cut(p, "/resourceId=")
	id, _, _ := strings.Cut(rest, "/y=")
	return id
}

// resourceMatch reports whether the stream of resource id may hold
// records of the filter's resource: the same resource, a resource under
// it (a registry's streams under its group or subscription), or, for the
// activity log (whose streams are subscriptions), a stream the filter's id
// lies under.
func resourceMatch(streamID, want string, parents bool) bool {
	s, w := strings.ToUpper(strings.TrimSuffix(streamID, "/")), strings.ToUpper(strings.TrimSuffix(want, "/"))
	if s == w || strings.HasPrefix(s, w+"/") {
		return true
	}
	return parents && strings.HasPrefix(w, s+"/")
}

// underResource reports whether id is want or lies under it.
func underResource(id, want string) bool {
	i, w := strings.ToUpper(strings.TrimSuffix(id, "/")), strings.ToUpper(strings.TrimSuffix(want, "/"))
	return i == w || strings.HasPrefix(i, w+"/")
}

func readFile(path string, f Filter) ([]Record, error) {
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // removed by retention meanwhile
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64<<10), maxQueryLine)
	var out []Record
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // a torn last line; audit verify reports it
		}
		if f.match(&r) {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return nil, err
	}
	return out, nil
}

func (f *Filter) match(r *Record) bool {
	switch {
	case !f.Markers && strings.HasPrefix(r.OperationName, "BulkheadAudit"):
		return false
	case f.Category != "" && !strings.EqualFold(r.Category, f.Category):
		return false
	case !f.Since.IsZero() && r.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !r.Time.Before(f.Until):
		return false
	case f.ResourceID != "" && !underResource(r.ResourceID, f.ResourceID) && !underResource(r.Properties.Target, f.ResourceID):
		return false
	case f.Identity != "" && !strings.EqualFold(r.Identity, f.Identity) && !strings.EqualFold(r.Properties.Caller, f.Identity):
		return false
	case f.Operation != "" && !strings.EqualFold(r.OperationName, f.Operation) && !strings.EqualFold(r.Properties.Action, f.Operation):
		return false
	case f.Repository != "" && !strings.EqualFold(r.Properties.Repository, f.Repository):
		return false
	case f.Result != "" && !strings.EqualFold(r.ResultType, f.Result) && r.ResultDescription != f.Result:
		return false
	}
	return true
}

// StreamFiles lists the hourly files of one stream under dir, oldest
// first, as slash paths relative to dir (container/blob name).
func StreamFiles(dir, category, resourceID string) ([]string, error) {
	base := Container(category) + "/" + strings.TrimSuffix(BlobDir(resourceID), "/")
	var out []string
	err := fs.WalkDir(os.DirFS(dir), base, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "PT1H.json" {
			if _, ok := HourOf(p); ok {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}
