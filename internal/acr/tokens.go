package acr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Scope maps and tokens (acr-api.md §7): ARM resources under a registry.
// The model and the data-plane checks are in package authz.

var scopeMapNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{5,50}$`)

// listChildren decodes a registry's child resources of one type; a
// document that does not decode is left out.
func listChildren[T any](tx meta.Tx, registryID, typ string) ([]T, error) {
	rows, err := tx.ListResources(registryID, typ, meta.Page{Limit: 1000})
	out := make([]T, 0, len(rows))
	for _, row := range rows {
		var v T
		if json.Unmarshal(row.Document, &v) == nil {
			out = append(out, v)
		}
	}
	return out, err
}

func childNotFound(typ, name string) error {
	return fail("ResourceNotFound", "The Resource '%s/%s' was not found.", typ, name)
}

// withRegistry runs fn in a transaction once the registry is found; the
// router has authorized the route's action already.
func (p *Provider) withRegistry(ctx context.Context, q request, write bool, fn func(tx meta.Tx, reg meta.Registry) error) error {
	run := p.meta.View
	if write {
		run = p.meta.Update
	}
	return run(ctx, func(tx meta.Tx) error {
		reg, _, err := loadRegistry(tx, q.sub, q.group, q.name)
		if err != nil {
			return err
		}
		return fn(tx, reg)
	})
}

func (p *Provider) listScopeMaps(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	out := []authz.ScopeMap{}
	err := p.withRegistry(ctx, q, false, func(tx meta.Tx, reg meta.Registry) error {
		user, err := listChildren[authz.ScopeMap](tx, reg.ResourceID, authz.ScopeMapType)
		out = append(append(out, authz.SystemScopeMaps(reg.ResourceID)...), user...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: map[string]any{"value": out}}, nil
}

func (p *Provider) getScopeMap(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var m authz.ScopeMap
	err := p.withRegistry(ctx, q, false, func(tx meta.Tx, reg meta.Registry) (err error) {
		m, err = authz.LoadScopeMap(tx, reg.ResourceID, reg.ResourceID+"/scopeMaps/"+req.ID.Name())
		if errors.Is(err, errdef.ErrNotFound) {
			return childNotFound(authz.ScopeMapType, req.ID.Name())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: m}, nil
}

// putScopeMap creates or replaces a user scope map (PUT), or changes its
// description and actions (PATCH). System scope maps are read-only.
func (p *Provider) putScopeMap(patch bool) arm.Handler {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		q := reqOf(req)
		name := req.ID.Name()
		if !scopeMapNameRE.MatchString(name) {
			return nil, fail("InvalidResourceName", "Scope map name '%s' must be 5 to 50 letters, digits, '-' or '_'.", name)
		}
		var in struct {
			Properties *struct {
				Description *string  `json:"description"`
				Actions     []string `json:"actions"`
			} `json:"properties"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if in.Properties == nil {
			return nil, fail("InvalidRequestContent", "properties.actions is required, for example [\"repositories/hello-world/content/read\"].")
		}
		for _, a := range in.Properties.Actions {
			if err := authz.ValidScopeAction(a); err != nil {
				return nil, fail("InvalidRequestContent", "%s", strings.TrimSuffix(err.Error(), ": "+errdef.ErrInvalidArgument.Error()))
			}
		}
		status := http.StatusCreated
		var out authz.ScopeMap
		var before any
		var opPath string
		start := p.now().UTC()
		err := p.withRegistry(ctx, q, true, func(tx meta.Tx, reg meta.Registry) error {
			for _, s := range authz.SystemScopeMaps(reg.ResourceID) {
				if strings.EqualFold(s.Name, name) {
					return fail("SystemScopeMapReadOnly", "The scope map '%s' is defined by the system and cannot be changed.", name)
				}
			}
			old, err := authz.LoadScopeMap(tx, reg.ResourceID, reg.ResourceID+"/scopeMaps/"+name)
			switch {
			case err == nil:
				status, out, before = http.StatusOK, old, old
			case errors.Is(err, errdef.ErrNotFound):
				if patch {
					return childNotFound(authz.ScopeMapType, name)
				}
				out = authz.ScopeMap{ID: reg.ResourceID + "/scopeMaps/" + name, Name: name, Type: authz.ScopeMapType,
					Properties: authz.ScopeMapProperties{Type: "UserDefined", CreationDate: &start}}
			default:
				return err
			}
			if !patch || in.Properties.Actions != nil {
				out.Properties.Actions = in.Properties.Actions
			}
			if !patch || in.Properties.Description != nil {
				out.Properties.Description = deref(in.Properties.Description)
			}
			if len(out.Properties.Actions) == 0 {
				return fail("InvalidRequestContent", "properties.actions needs at least one action, for example \"repositories/hello-world/content/read\".")
			}
			out.Properties.ProvisioningState = "Succeeded"
			if err := tx.PutResource(meta.Resource{ID: out.ID, Type: authz.ScopeMapType, Document: mustJSON(out), CreatedAt: start, UpdatedAt: start}); err != nil {
				return err
			}
			opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &arm.Response{Status: status, Body: out, AsyncOperation: opPath, Before: before, After: out}, nil
	}
}

func (p *Provider) deleteScopeMap(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	name := req.ID.Name()
	var opPath string
	start := p.now().UTC()
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, reg meta.Registry) error {
		for _, s := range authz.SystemScopeMaps(reg.ResourceID) {
			if strings.EqualFold(s.Name, name) {
				return fail("SystemScopeMapReadOnly", "The scope map '%s' is defined by the system and cannot be deleted.", name)
			}
		}
		smID := reg.ResourceID + "/scopeMaps/" + name
		if _, err := authz.LoadScopeMap(tx, reg.ResourceID, smID); err != nil {
			return err
		}
		toks, err := listChildren[authz.Token](tx, reg.ResourceID, authz.TokenType)
		if err != nil {
			return err
		}
		for _, t := range toks {
			if strings.EqualFold(t.Properties.ScopeMapID, smID) {
				return fail("ScopeMapInUse", "The scope map '%s' is used by token '%s'; delete the token or give it another scope map first.", name, t.Name)
			}
		}
		if err := tx.DeleteResource(smID); err != nil {
			return err
		}
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, nil, err)
}

func (p *Provider) listTokens(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	out := []authz.Token{}
	err := p.withRegistry(ctx, q, false, func(tx meta.Tx, reg meta.Registry) error {
		toks, err := listChildren[authz.Token](tx, reg.ResourceID, authz.TokenType)
		out = append(out, toks...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: map[string]any{"value": out}}, nil
}

func loadToken(tx meta.Tx, id, name string) (authz.Token, error) {
	var t authz.Token
	res, err := tx.GetResource(id)
	if errors.Is(err, errdef.ErrNotFound) || err == nil && !strings.EqualFold(res.Type, authz.TokenType) {
		return t, childNotFound(authz.TokenType, name)
	}
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(res.Document, &t)
}

func (p *Provider) getToken(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var t authz.Token
	err := p.withRegistry(ctx, q, false, func(tx meta.Tx, reg meta.Registry) (err error) {
		t, err = loadToken(tx, reg.ResourceID+"/tokens/"+req.ID.Name(), req.ID.Name())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: t}, nil
}

// putToken creates or replaces a token (PUT) or changes its status and
// scope map (PATCH). Password values are only made by generateCredentials.
func (p *Provider) putToken(patch bool) arm.Handler {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		q := reqOf(req)
		name := req.ID.Name()
		if !authz.ValidTokenName(name) {
			return nil, fail("InvalidResourceName", "Token name '%s' must be 5 to 50 letters, digits or '-', and not a GUID.", name)
		}
		var in struct {
			Properties *struct {
				ScopeMapID *string `json:"scopeMapId"`
				Status     *string `json:"status"`
			} `json:"properties"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if in.Properties == nil {
			in.Properties = &struct {
				ScopeMapID *string `json:"scopeMapId"`
				Status     *string `json:"status"`
			}{}
		}
		status := "enabled"
		if s := in.Properties.Status; s != nil {
			switch strings.ToLower(*s) {
			case "enabled", "disabled":
				status = strings.ToLower(*s)
			default:
				return nil, fail("InvalidRequestContent", "The token status '%s' is not valid; use enabled or disabled.", *s)
			}
		}
		code := http.StatusCreated
		var out authz.Token
		var before any
		var opPath string
		start := p.now().UTC()
		err := p.withRegistry(ctx, q, true, func(tx meta.Tx, reg meta.Registry) error {
			tokID := reg.ResourceID + "/tokens/" + name
			old, err := loadToken(tx, tokID, name)
			switch {
			case err == nil:
				code, out, before = http.StatusOK, old, withoutPasswords(old)
			case arm.ToError(err).Status == http.StatusNotFound:
				if patch {
					return err
				}
				out = authz.Token{ID: tokID, Name: name, Type: authz.TokenType, Properties: authz.TokenProperties{CreationDate: &start}}
			default:
				return err
			}
			if !patch || in.Properties.Status != nil {
				out.Properties.Status = status
			}
			if in.Properties.ScopeMapID != nil {
				out.Properties.ScopeMapID = *in.Properties.ScopeMapID
			}
			sm := out.Properties.ScopeMapID
			if sm == "" {
				return fail("InvalidRequestContent", "properties.scopeMapId is required: the id of a scope map of registry '%s'.", reg.Name)
			}
			if !strings.HasPrefix(strings.ToLower(sm), strings.ToLower(reg.ResourceID)+"/scopemaps/") {
				return fail("InvalidRequestContent", "The scope map '%s' is not a scope map of registry '%s'.", sm, reg.Name)
			}
			m, err := authz.LoadScopeMap(tx, reg.ResourceID, sm)
			if errors.Is(err, errdef.ErrNotFound) {
				return fail("ScopeMapNotFound", "The scope map '%s' was not found.", sm)
			} else if err != nil {
				return err
			}
			out.Properties.ScopeMapID = m.ID
			if out.Properties.Credentials.Passwords == nil {
				out.Properties.Credentials.Passwords = []authz.TokenPassword{}
			}
			if out.Properties.Credentials.Certificates == nil {
				out.Properties.Credentials.Certificates = []any{}
			}
			out.Properties.ProvisioningState = "Succeeded"
			if err := tx.PutResource(meta.Resource{ID: tokID, Type: authz.TokenType, Document: mustJSON(out), CreatedAt: start, UpdatedAt: start}); err != nil {
				return err
			}
			opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &arm.Response{Status: code, Body: out, AsyncOperation: opPath, Before: before, After: withoutPasswords(out)}, nil
	}
}

// withoutPasswords is t for the activity log: a token's passwords are
// shown once, to whoever generated them, and never recorded.
func withoutPasswords(t authz.Token) authz.Token {
	pw := make([]authz.TokenPassword, len(t.Properties.Credentials.Passwords))
	for i, p := range t.Properties.Credentials.Passwords {
		p.Value = ""
		pw[i] = p
	}
	t.Properties.Credentials.Passwords = pw
	return t
}

func (p *Provider) deleteToken(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	name := req.ID.Name()
	var opPath string
	start := p.now().UTC()
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, reg meta.Registry) error {
		tokID := reg.ResourceID + "/tokens/" + name
		if _, err := loadToken(tx, tokID, name); arm.ToError(err).Status == http.StatusNotFound {
			return errdef.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := tx.DeleteResource(tokID); err != nil {
			return err
		}
		if err := authz.DeleteTokenSecrets(tx, tokID); err != nil {
			return err
		}
		var err error
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, "global", start, p.now().UTC(), nil)
		return err
	})
	return arm.Deleted(opPath, nil, err)
}

// generateCredentials makes new passwords for a token and returns them,
// the only time their values are shown.
func (p *Provider) generateCredentials(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := reqOf(req)
	var in struct {
		TokenID string     `json:"tokenId"`
		Expiry  *time.Time `json:"expiry"`
		Name    string     `json:"name"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	names := []string{"password1", "password2"}
	switch strings.ToLower(in.Name) {
	case "":
	case "password1", "password2":
		names = []string{strings.ToLower(in.Name)}
	default:
		return nil, fail("InvalidRequestContent", "name must be password1 or password2.")
	}
	start := p.now().UTC()
	if in.Expiry != nil && !in.Expiry.After(start) {
		return nil, fail("InvalidRequestContent", "The expiry %s is in the past.", in.Expiry.Format(time.RFC3339))
	}
	var tok authz.Token
	var passwords []authz.TokenPassword
	err := p.withRegistry(ctx, q, true, func(tx meta.Tx, reg meta.Registry) error {
		prefix := strings.ToLower(reg.ResourceID) + "/tokens/"
		if !strings.HasPrefix(strings.ToLower(in.TokenID), prefix) {
			return fail("InvalidRequestContent", "tokenId must be the id of a token of registry '%s'.", reg.Name)
		}
		name := in.TokenID[len(prefix):]
		var err error
		if tok, err = loadToken(tx, reg.ResourceID+"/tokens/"+name, name); err != nil {
			return err
		}
		for _, n := range names {
			var pw authz.TokenPassword
			if tok, pw, err = authz.GeneratePassword(tx, tok, n, in.Expiry, start); err != nil {
				return err
			}
			passwords = append(passwords, pw)
		}
		return tx.PutResource(meta.Resource{ID: tok.ID, Type: authz.TokenType, Document: mustJSON(tok), CreatedAt: start, UpdatedAt: start})
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: map[string]any{"username": tok.Name, "passwords": passwords}}, nil
}
