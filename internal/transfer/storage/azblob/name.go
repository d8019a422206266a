package azblob

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// MaxName is the longest blob name, in bytes (Azure counts characters;
// bytes are the stricter count).
const MaxName = 1024

// maxSegments is Azure's limit on the /-separated segments of a blob name.
const maxSegments = 254

// CheckName refuses blob names that Azure would change or that read as
// paths: empty, longer than MaxName bytes, not UTF-8, a control character,
// a backslash (Azure turns it into /), a leading /, an empty, `.` or `..`
// segment, a segment ending in a dot (Azure trims those), or more than 254
// segments. Names may otherwise contain `/`. The error wraps
// errdef.ErrInvalidArgument.
func CheckName(name string) error {
	why := ""
	switch {
	case name == "":
		why = "empty"
	case len(name) > MaxName:
		why = fmt.Sprintf("longer than %d bytes", MaxName)
	case !utf8.ValidString(name):
		why = "not UTF-8"
	case strings.ContainsFunc(name, unicode.IsControl):
		why = "has a control character"
	case strings.ContainsRune(name, '\\'):
		why = `has a backslash (Azure reads it as "/")`
	case name[0] == '/':
		why = "starts with /"
	case strings.Count(name, "/") >= maxSegments:
		why = fmt.Sprintf("more than %d segments", maxSegments)
	default:
		for seg := range strings.SplitSeq(name, "/") {
			switch {
			case seg == "":
				why = "has an empty segment"
			case seg == "." || seg == "..":
				why = "has a . or .. segment"
			case strings.HasSuffix(seg, "."):
				why = "has a segment ending in a dot"
			}
			if why != "" {
				break
			}
		}
	}
	if why != "" {
		return fmt.Errorf("blob name %q: %s: %w", name, why, errdef.ErrInvalidArgument)
	}
	return nil
}
