package keyvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// maxSecretValue is Key Vault's limit on a secret's value: 25 KiB.
const maxSecretValue = 25 * 1024

var secretNameRE = regexp.MustCompile(`^[a-zA-Z0-9-]{1,127}$`)

// SecretURI is the data-plane URI of a secret, as Azure reports it; with
// a version it names that version.
func SecretURI(vault, secret, version string) string {
	u := VaultURI(vault) + "secrets/" + secret
	if version != "" {
		u += "/" + version
	}
	return u
}

// loadSecret reads a stored secret; id is the secret's, its parent the
// vault's.
func loadSecret(tx meta.Tx, id arm.ID, s *storedSecret) (meta.Resource, error) {
	vault, _ := id.Parent()
	return arm.LoadDocument(tx, id.String(), SecretType, s, func() error { return errSecretNotFound(vault.Name(), id.Name(), id.ResourceGroup) })
}

func (p *Provider) getSecret(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var s storedSecret
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		_, err := loadSecret(tx, q.ID, &s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(s.Secret), nil
}

// listSecrets answers a vault's secrets, without values.
func (p *Provider) listSecrets(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	out := []Secret{}
	err := p.meta.View(ctx, func(tx meta.Tx) error {
		var v Vault
		if _, err := p.loadVault(tx, q.ID, &v); err != nil {
			return err
		}
		rows, err := tx.ListResources(q.ID.String(), SecretType, meta.Page{})
		if err != nil {
			return err
		}
		for _, row := range rows {
			var s storedSecret
			if err := json.Unmarshal(row.Document, &s); err != nil {
				return fmt.Errorf("%s document %s: %w", SecretType, row.ID, err)
			}
			out = append(out, s.Secret)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{"value": out}), nil
}

func (p *Provider) putSecret(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	return p.writeSecret(ctx, q, false)
}

func (p *Provider) patchSecret(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	return p.writeSecret(ctx, q, true)
}

// writeSecret creates or replaces (PUT) or updates (PATCH) a secret. A
// new value gets a new version; the old one is not kept. The answer, the
// write hook's documents and every error carry the secret's metadata
// only.
func (p *Provider) writeSecret(ctx context.Context, q *arm.Request, patch bool) (*arm.Response, error) {
	vaultID, _ := q.ID.Parent()
	name := q.ID.Name()
	if !secretNameRE.MatchString(name) {
		return nil, errSecretName(name)
	}
	in, err := decodeSecret(q.Body())
	if err != nil {
		return nil, err
	}
	if in.Properties == nil && !patch {
		return nil, errPropertiesRequired()
	}
	var value, contentType *string
	var attrs *SecretAttributes
	if in.Properties != nil {
		value, contentType, attrs = in.Properties.Value, in.Properties.ContentType, in.Properties.Attributes
	}
	if value != nil && len(*value) > maxSecretValue {
		return nil, errSecretValueTooLarge(len(*value))
	}
	id := q.ID.String()
	status := http.StatusCreated
	var before *Secret
	var next storedSecret
	now := p.now().UTC()
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		if err := arm.RequireGroup(tx, q.ID); err != nil {
			return err
		}
		var v Vault
		if _, err := p.loadVault(tx, vaultID, &v); err != nil {
			return err
		}
		var old storedSecret
		res, err := loadSecret(tx, q.ID, &old)
		switch {
		case err == nil:
			status, before = http.StatusOK, &old.Secret
		case errors.Is(err, errdef.ErrNotFound) && !patch:
			if value == nil {
				return errSecretValueRequired()
			}
			res.CreatedAt = now
		default:
			return err
		}
		next, err = p.nextSecret(old, before != nil, value, id)
		if err != nil {
			return err
		}
		sec := &next.Secret
		sec.ID, sec.Type, sec.Location = ptr(id), ptr(SecretType), v.Location
		if before == nil {
			sec.Name = ptr(name)
		}
		if !patch || in.Tags != nil {
			sec.Tags = in.Tags
		}
		props := sec.Properties
		if !patch || contentType != nil {
			props.ContentType = contentType
		}
		props.Attributes = nextAttributes(props.Attributes, attrs, patch, now)
		props.SecretURI = ptr(SecretURI(deref(v.Name), deref(sec.Name), ""))
		props.SecretURIWithVersion = ptr(SecretURI(deref(v.Name), deref(sec.Name), next.Version))
		return tx.PutResource(meta.Resource{ID: id, Type: SecretType, Document: mustJSON(next), CreatedAt: res.CreatedAt, UpdatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	var was any
	if before != nil {
		was = *before
	}
	return &arm.Response{Status: status, Body: next.Secret, Before: was, After: next.Secret}, nil
}

// nextSecret is old with value (when given) in place of its own: a
// changed value gets a new version, and every write seals afresh, so a
// value written before a seal key was set is sealed at its next write.
// id is the secret's.
func (p *Provider) nextSecret(old storedSecret, exists bool, value *string, id string) (storedSecret, error) {
	next := old
	if next.Secret.Properties == nil {
		next.Secret.Properties = &SecretProperties{}
	} else {
		props := *next.Secret.Properties
		next.Secret.Properties = &props
	}
	current, openErr := "", errdef.ErrNotFound
	if exists {
		current, openErr = p.unseal(old.Sealed, deref(old.Secret.ID), old.Version)
	}
	switch {
	case value == nil && openErr != nil:
		return next, nil // nothing to reseal: keep the stored value as it is
	case value == nil:
		value = &current
	case openErr != nil || *value != current:
		v, err := newVersion()
		if err != nil {
			return next, err
		}
		next.Version = v
	}
	sealed, err := p.seal(*value, id, next.Version)
	if err != nil {
		return next, err
	}
	next.Sealed = sealed
	return next, nil
}

// nextAttributes builds a write's attributes: a PUT replaces the
// settable ones (enabled defaults to true), a PATCH replaces those it
// names; created stays, updated moves.
func nextAttributes(old, in *SecretAttributes, patch bool, now time.Time) *SecretAttributes {
	next := SecretAttributes{}
	if old != nil {
		next = *old
	}
	if !patch {
		next.Enabled, next.NotBefore, next.Expires = nil, nil, nil
	}
	if in != nil {
		if in.Enabled != nil {
			next.Enabled = in.Enabled
		}
		if in.NotBefore != nil {
			next.NotBefore = in.NotBefore
		}
		if in.Expires != nil {
			next.Expires = in.Expires
		}
	}
	if next.Enabled == nil {
		next.Enabled = ptr(true)
	}
	t := now.Unix()
	if next.Created == nil {
		next.Created = &t
	}
	next.Updated = &t
	return &next
}

// deleteSecret deletes a secret: 200 when it deleted one, 204 when there
// was none.
func (p *Provider) deleteSecret(ctx context.Context, q *arm.Request) (*arm.Response, error) {
	var before storedSecret
	err := p.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := loadSecret(tx, q.ID, &before); err != nil {
			return err
		}
		return tx.DeleteResource(q.ID.String())
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return &arm.Response{Status: http.StatusNoContent}, nil
	case err != nil:
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Before: before.Secret}, nil
}

// decodeSecret decodes a secret's body. Its errors say where the body is
// wrong but quote none of it: encoding/json's own messages can quote a
// character of a malformed value.
func decodeSecret(body []byte) (secretParams, error) {
	var in secretParams
	if len(bytes.TrimSpace(body)) == 0 {
		return in, errSecretBody("the request content is empty")
	}
	err := json.Unmarshal(body, &in)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return in, nil
	case errors.As(err, &syn):
		return in, errSecretBody(fmt.Sprintf("malformed JSON at offset %d", syn.Offset))
	case errors.As(err, &typ) && typ.Field != "":
		return in, errSecretBody(fmt.Sprintf("'%s' must be of type %s", typ.Field, typ.Type))
	}
	return in, errSecretBody("malformed JSON")
}
