package arm

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Versions is the api-version table of one resource type: which versions
// it accepts and how a refusal is worded. Build it once with APIVersions
// or PlatformAPIVersions; it is read-only afterwards and safe for
// concurrent use.
type Versions struct {
	resourceType string
	supported    []string // lower-case, oldest first
	platform     bool
	anyVersion   bool
}

// AnyAPIVersion is the gate of routes ARM serves whatever api-version the
// client sends, or none (operation polling, cloud metadata, the token
// service).
func AnyAPIVersion() Versions { return Versions{anyVersion: true} }

// declared reports whether v was built by a constructor, so a route that
// forgot its gate is caught by CheckRoutes.
func (v Versions) declared() bool { return v.anyVersion || v.resourceType != "" }

// String lists the accepted versions for route listings.
func (v Versions) String() string {
	if v.anyVersion {
		return "any"
	}
	if len(v.supported) > 3 {
		return fmt.Sprintf("%s … %s (%d)", v.supported[0], v.Latest(), len(v.supported))
	}
	return strings.Join(v.supported, ", ")
}

// APIVersions declares the api-versions a resource provider's type
// accepts (for example "Microsoft.ContainerRegistry/registries"). An
// unknown version is refused with 400 NoRegisteredProviderFound, as ARM
// does for provider types.
func APIVersions(resourceType string, supported ...string) Versions {
	return newVersions(resourceType, supported, false)
}

// PlatformAPIVersions declares the api-versions of a type ARM serves
// itself (Microsoft.Resources: subscriptions, resource groups, …). An
// unknown version is refused with 400 InvalidApiVersionParameter.
func PlatformAPIVersions(resourceType string, supported ...string) Versions {
	return newVersions(resourceType, supported, true)
}

func newVersions(resourceType string, supported []string, platform bool) Versions {
	s := make([]string, len(supported))
	for i, v := range supported {
		s[i] = strings.ToLower(v)
	}
	slices.Sort(s)
	return Versions{resourceType: resourceType, supported: slices.Compact(s), platform: platform}
}

// Supported lists the accepted versions, oldest first.
func (v Versions) Supported() []string { return slices.Clone(v.supported) }

// Latest is the newest accepted version ("" when none).
func (v Versions) Latest() string {
	if len(v.supported) == 0 {
		return ""
	}
	return v.supported[len(v.supported)-1]
}

// Check returns the request's api-version, lower-cased, or the ARM error
// for a missing or unknown one. ARM compares api-versions
// case-insensitively ("2021-06-01-Preview" is accepted).
func (v Versions) Check(r *http.Request) (string, error) {
	got := r.URL.Query().Get("api-version")
	if v.anyVersion {
		return strings.ToLower(got), nil
	}
	if got == "" {
		return "", errMissingAPIVersion()
	}
	lv := strings.ToLower(got)
	if _, ok := slices.BinarySearch(v.supported, lv); ok {
		return lv, nil
	}
	newestFirst := slices.Clone(v.supported)
	slices.Reverse(newestFirst)
	if v.platform {
		return "", errInvalidAPIVersion(got, newestFirst)
	}
	return "", errNoRegisteredProvider(got, v.resourceType, newestFirst)
}
