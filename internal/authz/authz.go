// Package authz decides whether a principal may perform an action at a
// scope, from Azure-style role assignments stored as ARM resources.
//
// This is the one authorization hook of both planes. Built-in roles are
// defined here; custom roles, deny assignments and repository-scoped tokens
// plug in later without changing callers.
package authz

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// RoleAssignmentType is the ARM type under which assignments are stored.
const RoleAssignmentType = "Microsoft.Authorization/roleAssignments"

// Data-plane and management actions used by Bulkhead's handlers.
const (
	ActionPull   = "Microsoft.ContainerRegistry/registries/pull/read"
	ActionPush   = "Microsoft.ContainerRegistry/registries/push/write"
	ActionDelete = "Microsoft.ContainerRegistry/registries/artifacts/delete"
)

// Role is a role definition: allowed actions (with '*' wildcards) minus
// NotActions.
type Role struct {
	ID         string
	Name       string
	Actions    []string
	NotActions []string
}

// Built-in role definition ids (acr-api.md §11.1).
const (
	OwnerRoleID       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ContributorRoleID = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ReaderRoleID      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	AcrPullRoleID     = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	AcrPushRoleID     = "8311e382-0749-4cb8-b61a-304f252e45ec"
	AcrDeleteRoleID   = "c2f4ef07-c644-48eb-af81-4b1b4947fb11"
)

// BuiltinRoles returns the built-in role definitions keyed by id.
func BuiltinRoles() map[string]Role {
	return map[string]Role{
		OwnerRoleID:       {ID: OwnerRoleID, Name: "Owner", Actions: []string{"*"}},
		ContributorRoleID: {ID: ContributorRoleID, Name: "Contributor", Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"}},
		ReaderRoleID:      {ID: ReaderRoleID, Name: "Reader", Actions: []string{"*/read"}},
		AcrPullRoleID:     {ID: AcrPullRoleID, Name: "AcrPull", Actions: []string{ActionPull}},
		AcrPushRoleID:     {ID: AcrPushRoleID, Name: "AcrPush", Actions: []string{ActionPull, ActionPush}},
		AcrDeleteRoleID:   {ID: AcrDeleteRoleID, Name: "AcrDelete", Actions: []string{ActionDelete}},
	}
}

// Assignment is the stored body of a role assignment.
type Assignment struct {
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		Scope            string `json:"scope"`
	} `json:"properties"`
}

// NewAssignment builds the document of a role assignment.
func NewAssignment(id, scope, roleID, principalID string) meta.Resource {
	var a Assignment
	a.Properties.Scope = scope
	a.Properties.PrincipalID = principalID
	a.Properties.RoleDefinitionID = scope + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID
	if sub, ok := subscriptionOf(scope); ok {
		a.Properties.RoleDefinitionID = "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID
	}
	doc, _ := json.Marshal(a)
	return meta.Resource{ID: scope + "/providers/" + RoleAssignmentType + "/" + id, Type: RoleAssignmentType, Document: doc}
}

// Check returns nil when principalID holds a role assignment at scope or an
// ancestor of it whose role allows action, and an error wrapping
// errdef.ErrDenied otherwise. scope is an ARM resource id.
func Check(tx meta.Resources, principalID, scope, action string) error {
	sub, ok := subscriptionOf(scope)
	if !ok {
		return fmt.Errorf("scope %q: %w", scope, errdef.ErrInvalidArgument)
	}
	assignments, err := tx.ListResources("/subscriptions/"+sub, RoleAssignmentType, meta.Page{})
	if err != nil {
		return err
	}
	roles := BuiltinRoles()
	lscope := strings.ToLower(scope)
	for _, r := range assignments {
		var a Assignment
		if json.Unmarshal(r.Document, &a) != nil || !strings.EqualFold(a.Properties.PrincipalID, principalID) {
			continue
		}
		as := strings.ToLower(strings.TrimSuffix(a.Properties.Scope, "/"))
		if lscope != as && !strings.HasPrefix(lscope, as+"/") {
			continue
		}
		role, ok := roles[strings.ToLower(path.Base(a.Properties.RoleDefinitionID))]
		if ok && role.Allows(action) {
			return nil
		}
	}
	return fmt.Errorf("principal %s may not %s at %s: %w", principalID, action, scope, errdef.ErrDenied)
}

// Allows reports whether the role grants action.
func (r Role) Allows(action string) bool {
	for _, n := range r.NotActions {
		if matchAction(n, action) {
			return false
		}
	}
	for _, a := range r.Actions {
		if matchAction(a, action) {
			return true
		}
	}
	return false
}

// matchAction matches ARM action patterns, where '*' spans any characters,
// case-insensitively.
func matchAction(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == a
	}
	if !strings.HasPrefix(a, parts[0]) {
		return false
	}
	a = a[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(a, mid)
		if i < 0 {
			return false
		}
		a = a[i+len(mid):]
	}
	return strings.HasSuffix(a, parts[len(parts)-1])
}

func subscriptionOf(scope string) (string, bool) {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") && parts[1] != "" {
		return parts[1], true
	}
	return "", false
}
