package authz

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/reference"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// Repository-scoped tokens and scope maps (acr-api.md §7): a token names a
// scope map, whose actions grant content and metadata rights on
// repositories of one registry. Token passwords are shown once, when they
// are generated, and stored as bcrypt hashes only.

// Resource types.
const (
	ScopeMapType = "Microsoft.ContainerRegistry/registries/scopeMaps"
	TokenType    = "Microsoft.ContainerRegistry/registries/tokens"
	// secretsType keeps a token's password hashes apart from the token
	// document, which is served.
	secretsType = "Microsoft.ContainerRegistry/registries/tokenSecrets"
)

// Scope map actions a data-plane action needs.
const (
	ScopeContentRead   = "content/read"
	ScopeContentWrite  = "content/write"
	ScopeContentDelete = "content/delete"
	ScopeMetadataRead  = "metadata/read"
	ScopeMetadataWrite = "metadata/write"
)

var tokenNameRE = regexp.MustCompile(`^[a-zA-Z0-9-]{5,50}$`)

// ValidTokenName is ACR's token name rule (5 to 50 letters, digits or
// '-'), less names shaped like a GUID: those are service principals'
// client ids on the data plane, so Basic sign-in never has to look for a
// token under one.
func ValidTokenName(name string) bool {
	if !tokenNameRE.MatchString(name) {
		return false
	}
	_, err := uuid.Parse(name)
	return err != nil
}

var scopeActionRE = regexp.MustCompile(`^repositories/(\*|` + reference.Repository + `(?:/\*)?)/(content/(?:read|write|delete)|metadata/(?:read|write))$`)

// ValidScopeAction checks one scope map action, such as
// repositories/samples/hello-world/content/read or repositories/samples/*/metadata/read.
func ValidScopeAction(a string) error {
	if !scopeActionRE.MatchString(a) {
		return fmt.Errorf("the action '%s' is not valid: use repositories/<repository or prefix/* or *>/<content/read|content/write|content/delete|metadata/read|metadata/write>: %w", a, errdef.ErrInvalidArgument)
	}
	return nil
}

// ScopeMap is a scope map as stored and served.
type ScopeMap struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	SystemData json.RawMessage    `json:"systemData,omitempty"`
	Properties ScopeMapProperties `json:"properties"`
}

// ScopeMapProperties are a scope map's properties.
type ScopeMapProperties struct {
	Description       string     `json:"description,omitempty"`
	Type              string     `json:"type"` // SystemDefined or UserDefined
	CreationDate      *time.Time `json:"creationDate,omitempty"`
	ProvisioningState string     `json:"provisioningState"`
	Actions           []string   `json:"actions"`
}

// systemScopeMaps are the scope maps every registry has.
var systemScopeMaps = []struct {
	name, description string
	actions           []string
}{
	{"_repositories_admin", "Can perform all read, write and delete operations on the registry", []string{"content/read", "content/write", "content/delete", "metadata/read", "metadata/write"}},
	{"_repositories_pull", "Can pull any repository of the registry", []string{"content/read"}},
	{"_repositories_pull_metadata_read", "Can perform all read operations on the registry", []string{"content/read", "metadata/read"}},
	{"_repositories_push", "Can push to any repository of the registry", []string{"content/read", "content/write"}},
	{"_repositories_push_metadata_write", "Can perform all read and write operations on the registry", []string{"content/read", "content/write", "metadata/read", "metadata/write"}},
}

// SystemScopeMaps lists the built-in scope maps of a registry.
func SystemScopeMaps(registryID string) []ScopeMap {
	var out []ScopeMap
	for _, s := range systemScopeMaps {
		m := ScopeMap{ID: registryID + "/scopeMaps/" + s.name, Name: s.name, Type: ScopeMapType,
			Properties: ScopeMapProperties{Description: s.description, Type: "SystemDefined", ProvisioningState: "Succeeded"}}
		for _, a := range s.actions {
			m.Properties.Actions = append(m.Properties.Actions, "repositories/*/"+a)
		}
		out = append(out, m)
	}
	return out
}

// LoadScopeMap reads a scope map by id: a system one, or a stored one.
func LoadScopeMap(tx meta.Tx, registryID, id string) (ScopeMap, error) {
	for _, s := range SystemScopeMaps(registryID) {
		if strings.EqualFold(s.ID, id) {
			return s, nil
		}
	}
	var m ScopeMap
	res, err := tx.GetResource(id)
	if err == nil && !strings.EqualFold(res.Type, ScopeMapType) {
		err = errdef.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("scope map %s: %w", id, err)
	}
	if err := json.Unmarshal(res.Document, &m); err != nil {
		return m, fmt.Errorf("scope map %s: %w", id, err)
	}
	return m, nil
}

// Token is a token as stored and served.
type Token struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	SystemData json.RawMessage `json:"systemData,omitempty"`
	Properties TokenProperties `json:"properties"`
}

// TokenProperties are a token's properties.
type TokenProperties struct {
	CreationDate      *time.Time       `json:"creationDate,omitempty"`
	ProvisioningState string           `json:"provisioningState"`
	ScopeMapID        string           `json:"scopeMapId"`
	Status            string           `json:"status"` // enabled or disabled
	Credentials       TokenCredentials `json:"credentials"`
}

// TokenCredentials describe a token's passwords; their values are never
// stored.
type TokenCredentials struct {
	Certificates []any           `json:"certificates"`
	Passwords    []TokenPassword `json:"passwords"`
}

// TokenPassword is one password of a token.
type TokenPassword struct {
	CreationTime time.Time  `json:"creationTime"`
	Expiry       *time.Time `json:"expiry,omitempty"`
	Name         string     `json:"name"`
	Value        string     `json:"value,omitempty"`
}

// Enabled reports whether the token may sign in.
func (t Token) Enabled() bool { return !strings.EqualFold(t.Properties.Status, "disabled") }

type tokenSecrets struct {
	Hashes map[string]string `json:"hashes"` // password name → bcrypt hash
}

func secretsID(tokenID string) string {
	i := strings.LastIndex(strings.ToLower(tokenID), "/tokens/")
	return tokenID[:i] + "/tokenSecrets/" + tokenID[i+len("/tokens/"):]
}

// GeneratePassword makes a new password for the token (password1 or
// password2), records its metadata on the token and its hash beside it, and
// returns the token and the password with its value, which is never stored.
func GeneratePassword(tx meta.Tx, tok Token, name string, expiry *time.Time, now time.Time) (Token, TokenPassword, error) {
	b := make([]byte, 32)
	rand.Read(b)
	value := strings.NewReplacer("-", "A", "_", "B").Replace(base64.RawURLEncoding.EncodeToString(b))
	hash, err := bcrypt.GenerateFromPassword([]byte(value), 10)
	if err != nil {
		return tok, TokenPassword{}, err
	}
	var sec tokenSecrets
	if res, err := tx.GetResource(secretsID(tok.ID)); err == nil {
		json.Unmarshal(res.Document, &sec)
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return tok, TokenPassword{}, err
	}
	if sec.Hashes == nil {
		sec.Hashes = map[string]string{}
	}
	sec.Hashes[name] = string(hash)
	doc, _ := json.Marshal(sec)
	if err := tx.PutResource(meta.Resource{ID: secretsID(tok.ID), Type: secretsType, Document: doc, CreatedAt: now, UpdatedAt: now}); err != nil {
		return tok, TokenPassword{}, err
	}
	pw := TokenPassword{CreationTime: now, Expiry: expiry, Name: name}
	var kept []TokenPassword
	for _, p := range tok.Properties.Credentials.Passwords {
		if p.Name != name {
			kept = append(kept, p)
		}
	}
	tok.Properties.Credentials.Passwords = append(kept, pw)
	pw.Value = value
	return tok, pw, nil
}

// DeleteTokenSecrets removes a token's password hashes.
func DeleteTokenSecrets(tx meta.Tx, tokenID string) error {
	if err := tx.DeleteResource(secretsID(tokenID)); err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	return nil
}

// TokenSignIn is what a successful token sign-in yields: the token, its
// scope map, and a stamp that changes whenever either or the secrets do,
// for callers that cache the bcrypt check.
type TokenSignIn struct {
	Token    Token
	ScopeMap ScopeMap
	Stamp    string
}

// TokenScope reads an enabled token of a registry and its scope map: what
// a signed-in token may do.
func TokenScope(tx meta.Tx, registryID, name string) (Token, ScopeMap, meta.Resource, error) {
	var tok Token
	res, err := tx.GetResource(registryID + "/tokens/" + name)
	if err == nil && !strings.EqualFold(res.Type, TokenType) {
		err = errdef.ErrNotFound
	}
	if err != nil {
		return tok, ScopeMap{}, res, err
	}
	if err := json.Unmarshal(res.Document, &tok); err != nil {
		return tok, ScopeMap{}, res, fmt.Errorf("token %s: %w", name, err)
	}
	if !tok.Enabled() {
		return tok, ScopeMap{}, res, fmt.Errorf("token %s is disabled: %w", name, errdef.ErrUnauthenticated)
	}
	m, err := LoadScopeMap(tx, registryID, tok.Properties.ScopeMapID)
	return tok, m, res, err
}

// LoadTokenSignIn is TokenScope with the token's password hashes, for
// checking a password.
func LoadTokenSignIn(tx meta.Tx, registryID, name string) (TokenSignIn, map[string]string, error) {
	var in TokenSignIn
	tok, m, res, err := TokenScope(tx, registryID, name)
	if err != nil {
		return in, nil, err
	}
	in.Token, in.ScopeMap = tok, m
	sec, err := tx.GetResource(secretsID(res.ID))
	if err != nil {
		return in, nil, err
	}
	var s tokenSecrets
	if err := json.Unmarshal(sec.Document, &s); err != nil {
		return in, nil, fmt.Errorf("token %s secrets: %w", name, err)
	}
	in.Stamp = fmt.Sprintf("%s|%d|%d", res.ID, res.UpdatedAt.UnixNano(), sec.UpdatedAt.UnixNano())
	return in, s.Hashes, nil
}

// CheckTokenPassword compares password with the token's unexpired
// passwords; every failure is errdef.ErrUnauthenticated.
func CheckTokenPassword(in TokenSignIn, hashes map[string]string, password string, now time.Time) error {
	for _, p := range in.Token.Properties.Credentials.Passwords {
		if p.Expiry != nil && !now.Before(*p.Expiry) {
			continue
		}
		if h, ok := hashes[p.Name]; ok && bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil {
			return nil
		}
	}
	return fmt.Errorf("invalid token credentials: %w", errdef.ErrUnauthenticated)
}

// ScopeAllows reports whether a scope map's actions grant want (one of the
// Scope* constants) on repository repo. An empty repo asks about the whole
// registry, which only a repositories/* action grants.
func ScopeAllows(actions []string, repo, want string) bool {
	for _, a := range actions {
		m := scopeActionRE.FindStringSubmatch(a)
		if m == nil || m[2] != want {
			continue
		}
		pattern := m[1]
		switch {
		case pattern == "*":
			return true
		case repo == "":
		case strings.HasSuffix(pattern, "/*"):
			if strings.HasPrefix(repo, strings.TrimSuffix(pattern, "*")) {
				return true
			}
		case pattern == repo:
			return true
		}
	}
	return false
}
