package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// Bootstrap is the content of <data>/bootstrap.json: the first tenant,
// subscription and service principal, and the principal's secret. ObjectID
// is the principal's object id, which the caller makes Owner of the
// subscription.
type Bootstrap struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	ObjectID       string `json:"objectId"`
}

// Names of the rows Bootstrap creates.
const (
	bootstrapFile        = "bootstrap.json"
	bootstrapDisplayName = "Bulkhead"
	bootstrapPrincipal   = "bulkhead-bootstrap"
)

// Bootstrap returns the bootstrap identity, creating it on first start:
// a tenant, a subscription and a service principal whose secret is
// secretFromEnv when not empty (used on first start only) or a new random
// one. Only the secret's bcrypt verifier goes to the store; the plain
// secret goes to <dataDir>/bootstrap.json (0600) for the operator.
//
// When bootstrap.json exists it is returned as is, after checking that its
// principal exists in the store (a missing principal is an error: the file
// and the store belong to different data directories).
//
// Crash safety. The store rows and the file cannot be written atomically
// together, and losing either half must not lock the operator out:
//  1. the file is written atomically as bootstrap.json.pending;
//  2. the three rows are committed in one Update transaction;
//  3. the pending file is renamed to bootstrap.json (and the dir synced).
//
// On start, a pending file whose principal is in the store is completed
// (step 3 redone); one whose principal is not is discarded and bootstrap
// starts over. A crash or a failed commit therefore never leaves rows
// whose secret is nowhere, nor a bootstrap.json naming rows that do not
// exist. A failed commit keeps the pending file, since the commit may have
// happened after all; the next start decides by looking.
//
// If bootstrap.json is gone but the store already has a tenant (the
// operator deleted the file, or it was lost), Bootstrap makes a new
// principal with a new secret in the existing tenant and subscription
// instead of a second tenant: deleting bootstrap.json resets the bootstrap
// credentials. Whoever can delete the file can read the store, so this
// grants nothing new. The old principal is not deleted.
func (s *Service) Bootstrap(ctx context.Context, dataDir, secretFromEnv string) (Bootstrap, error) {
	final := filepath.Join(dataDir, bootstrapFile)
	pending := final + ".pending"
	b, err := s.readBootstrap(ctx, final)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Bootstrap{}, err
	}
	switch b, err := s.readBootstrap(ctx, pending); {
	case err == nil:
		if err := renameDurable(pending, final); err != nil {
			return Bootstrap{}, fmt.Errorf("complete bootstrap: %w", err)
		}
		return b, nil
	case errors.Is(err, errdef.ErrNotFound):
		if err := os.Remove(pending); err != nil {
			return Bootstrap{}, fmt.Errorf("discard uncommitted bootstrap: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Bootstrap{}, err
	}
	return s.createBootstrap(ctx, final, pending, secretFromEnv)
}

// createBootstrap runs steps 1-3 of Bootstrap's crash-safety protocol.
func (s *Service) createBootstrap(ctx context.Context, final, pending, secret string) (Bootstrap, error) {
	if secret == "" {
		secret = NewSecret()
	}
	hash, err := HashSecret(secret)
	if err != nil {
		return Bootstrap{}, fmt.Errorf("bootstrap secret: %w", err)
	}
	tenant, sub, err := s.existingHome(ctx)
	if err != nil {
		return Bootstrap{}, err
	}
	newTenant, newSub := tenant == "", sub == ""
	if newTenant {
		tenant = uuid.NewString()
	}
	if newSub {
		sub = uuid.NewString()
	}
	b := Bootstrap{TenantID: tenant, SubscriptionID: sub, ClientID: uuid.NewString(), ObjectID: uuid.NewString(), ClientSecret: secret}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return Bootstrap{}, err
	}
	if err := writeFileAtomic(pending, append(data, '\n')); err != nil {
		return Bootstrap{}, fmt.Errorf("write %s: %w", pending, err)
	}
	now := s.now().UTC()
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		if newTenant {
			if err := tx.PutTenant(meta.Tenant{ID: b.TenantID, DisplayName: bootstrapDisplayName, CreatedAt: now}); err != nil {
				return err
			}
		}
		if newSub {
			if err := tx.PutSubscription(meta.Subscription{ID: b.SubscriptionID, TenantID: b.TenantID, DisplayName: bootstrapDisplayName, CreatedAt: now}); err != nil {
				return err
			}
		}
		return tx.PutPrincipal(meta.Principal{ObjectID: b.ObjectID, ClientID: b.ClientID, TenantID: b.TenantID,
			DisplayName: bootstrapPrincipal, Secrets: []meta.SecretHash{hash}, CreatedAt: now})
	})
	if err != nil {
		return Bootstrap{}, fmt.Errorf("bootstrap identity: %w", err)
	}
	if err := renameDurable(pending, final); err != nil {
		return Bootstrap{}, fmt.Errorf("complete bootstrap: %w", err)
	}
	return b, nil
}

// existingHome returns the tenant and subscription a new bootstrap
// principal should join: the earliest tenant and its earliest
// subscription, or empty strings when there are none yet.
func (s *Service) existingHome(ctx context.Context) (tenant, sub string, err error) {
	err = s.store.View(ctx, func(tx meta.Tx) error {
		tenants, err := tx.ListTenants()
		if err != nil || len(tenants) == 0 {
			return err
		}
		t := slices.MinFunc(tenants, func(a, b meta.Tenant) int {
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		tenant = t.ID
		subs, err := tx.ListSubscriptions()
		if err != nil {
			return err
		}
		subs = slices.DeleteFunc(subs, func(x meta.Subscription) bool { return x.TenantID != tenant })
		if len(subs) > 0 {
			sub = slices.MinFunc(subs, func(a, b meta.Subscription) int {
				if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			}).ID
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("bootstrap: read tenants: %w", err)
	}
	return tenant, sub, nil
}

// readBootstrap reads a bootstrap file and checks that its principal is in
// the store. A missing file wraps fs.ErrNotExist; a missing principal
// wraps errdef.ErrNotFound.
func (s *Service) readBootstrap(ctx context.Context, path string) (Bootstrap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Bootstrap{}, err
	}
	var b Bootstrap
	if err := json.Unmarshal(data, &b); err != nil {
		return Bootstrap{}, fmt.Errorf("%s: %w", path, err)
	}
	if b.TenantID == "" || b.SubscriptionID == "" || b.ClientID == "" || b.ClientSecret == "" {
		return Bootstrap{}, fmt.Errorf("%s: tenantId, subscriptionId, clientId and clientSecret are required", path)
	}
	var p meta.Principal
	err = s.store.View(ctx, func(tx meta.Tx) (err error) {
		p, err = tx.PrincipalByClientID(b.ClientID)
		return err
	})
	if errors.Is(err, errdef.ErrNotFound) {
		return Bootstrap{}, fmt.Errorf("%s names client %s, which the metadata store does not have (a file from another data directory? remove it to create a new bootstrap identity): %w",
			path, b.ClientID, err)
	}
	if err != nil {
		return Bootstrap{}, fmt.Errorf("%s: %w", path, err)
	}
	b.ObjectID = p.ObjectID
	return b, nil
}
