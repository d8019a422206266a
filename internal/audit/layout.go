package audit

import (
	"fmt"
	"strings"
	"time"
)

// Containers of the layout. Resource log categories go to
// insights-logs-<category> and the activity log to insights-activity-logs,
// as Azure writes them to a storage account.
const (
	ContainerActivity = "insights-activity-logs"
	containerPrefix   = "insights-logs-"
)

// Container is the storage container of a category's records.
func Container(category string) string {
	if category == CategoryAdministrative {
		return ContainerActivity
	}
	return containerPrefix + strings.ToLower(category)
}

// BlobDir is the directory of a stream's hourly files inside its
// container: resourceId=<RESOURCE ID>/.
func BlobDir(resourceID string) string {
	return "resourceId=" + strings.ToUpper(resourceID) + "/"
}

// BlobPath is where a record of category about resourceID at t goes:
// the container, and the blob name of its hour,
// resourceId=<ID>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json.
func BlobPath(category, resourceID string, t time.Time) (container, name string) {
	t = t.UTC()
	return Container(category), fmt.Sprintf("%sy=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json",
		BlobDir(resourceID), t.Year(), t.Month(), t.Day(), t.Hour())
}

// StreamName names a stream in its records' chain links.
func StreamName(category, resourceID string) string {
	return category + "|" + strings.ToUpper(resourceID)
}

// HourOf parses the hour of a blob name BlobPath made; ok is false for
// any other name.
func HourOf(name string) (t time.Time, ok bool) {
	i := strings.LastIndex(name, "/y=")
	if i < 0 {
		return time.Time{}, false
	}
	var y, mo, d, h, mi int
	if _, err := fmt.Sscanf(name[i:], "/y=%04d/m=%02d/d=%02d/h=%02d/m=%02d/PT1H.json", &y, &mo, &d, &h, &mi); err != nil {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC), true
}

// maxResourceID bounds a stream's resource id.
const maxResourceID = 1024

// safeResourceID returns id when it can name a directory of the layout
// without leaving it: absolute, no "." or ".." segment, no empty segment,
// no control character or backslash, within maxResourceID. Any other id
// becomes one stream of its own under "/providers/Bulkhead/invalidIds/",
// named by its hash, so a hostile name can neither escape the log's
// directory nor go unrecorded.
func safeResourceID(id string) string {
	ok := strings.HasPrefix(id, "/") && len(id) <= maxResourceID
	for _, seg := range strings.Split(strings.TrimPrefix(id, "/"), "/") {
		if !ok {
			break
		}
		ok = seg != "" && seg != "." && seg != ".." && !strings.ContainsFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' })
	}
	if ok {
		return id
	}
	return "/providers/Bulkhead/invalidIds/" + LineHash([]byte(id))[:16]
}
