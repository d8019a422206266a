package arm

import "time"

// CreatedByType is the kind of identity that created or modified a
// resource (common-types systemData).
type CreatedByType string

// CreatedByType values, named as in the Azure SDK.
const (
	CreatedByTypeApplication     CreatedByType = "Application"
	CreatedByTypeKey             CreatedByType = "Key"
	CreatedByTypeManagedIdentity CreatedByType = "ManagedIdentity"
	CreatedByTypeUser            CreatedByType = "User"
)

// PossibleCreatedByTypeValues lists the CreatedByType values.
func PossibleCreatedByTypeValues() []CreatedByType {
	return []CreatedByType{CreatedByTypeApplication, CreatedByTypeKey, CreatedByTypeManagedIdentity, CreatedByTypeUser}
}

// SystemData is ARM's read-only creation and modification record of a
// resource. Times are UTC.
type SystemData struct {
	CreatedBy          string        `json:"createdBy,omitempty"`
	CreatedByType      CreatedByType `json:"createdByType,omitempty"`
	CreatedAt          time.Time     `json:"createdAt"`
	LastModifiedBy     string        `json:"lastModifiedBy,omitempty"`
	LastModifiedByType CreatedByType `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     time.Time     `json:"lastModifiedAt"`
}

// NewSystemData records a creation by `by` (an appId for applications, a
// UPN for users) at `at`; the last modification is the creation.
func NewSystemData(by string, byType CreatedByType, at time.Time) *SystemData {
	at = at.UTC()
	return &SystemData{CreatedBy: by, CreatedByType: byType, CreatedAt: at,
		LastModifiedBy: by, LastModifiedByType: byType, LastModifiedAt: at}
}

// Modified returns a copy of s with a modification by `by` at `at`. A nil
// s (a resource stored before it had systemData) starts a new record.
func (s *SystemData) Modified(by string, byType CreatedByType, at time.Time) *SystemData {
	if s == nil {
		return NewSystemData(by, byType, at)
	}
	c := *s
	c.LastModifiedBy, c.LastModifiedByType, c.LastModifiedAt = by, byType, at.UTC()
	return &c
}
