// Package reference holds the distribution-spec grammar of repository
// names and tags, so that the data plane, imports and scope maps accept
// exactly the same names.
package reference

import (
	"regexp"
	"strings"
)

// Component is one path component of a repository name: lower-case
// alphanumerics separated by '.', '_', '__' or runs of '-'.
const Component = `[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`

// Repository is a whole repository name: components joined by '/'.
const Repository = Component + `(?:/` + Component + `)*`

var (
	componentRE = regexp.MustCompile(`^` + Component + `$`)
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
)

// ValidComponent reports whether c is one repository name component.
func ValidComponent(c string) bool { return componentRE.MatchString(c) }

// ValidRepository reports whether name is a repository name.
func ValidRepository(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if !ValidComponent(c) {
			return false
		}
	}
	return true
}

// ValidTag reports whether t is a tag.
func ValidTag(t string) bool { return tagRE.MatchString(t) }
