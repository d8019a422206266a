package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/google/uuid"
)

// Bootstrap is the content of <data>/bootstrap.json: the first tenant,
// subscription and service principal, and the principal's secret.
type Bootstrap struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	ObjectID       string `json:"objectId"`
}

// Bootstrap returns the bootstrap identity, creating it on first start.
// secret, when not empty, becomes the principal's secret on first start.
//
// Crash safety: the file is first written as bootstrap.json.pending, then
// the rows are committed, then the file is renamed. A crash before the
// commit leaves a pending file whose principal does not exist (discarded);
// a crash after it leaves one whose principal exists (completed here).
func (s *Service) Bootstrap(ctx context.Context, dataDir, secret string) (Bootstrap, error) {
	final := filepath.Join(dataDir, "bootstrap.json")
	pending := final + ".pending"
	for _, p := range []string{final, pending} {
		b, ok, err := s.readBootstrap(ctx, p)
		if err != nil {
			return Bootstrap{}, err
		}
		if ok {
			if p == pending {
				if err := os.Rename(pending, final); err != nil {
					return Bootstrap{}, err
				}
			}
			return b, nil
		}
	}
	if secret == "" {
		secret = NewSecret()
	}
	b := Bootstrap{TenantID: uuid.NewString(), SubscriptionID: uuid.NewString(), ClientID: uuid.NewString(),
		ObjectID: uuid.NewString(), ClientSecret: secret}
	hash, err := HashSecret(secret)
	if err != nil {
		return Bootstrap{}, err
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return Bootstrap{}, err
	}
	if err := writeFileAtomic(pending, append(data, '\n')); err != nil {
		return Bootstrap{}, fmt.Errorf("write %s: %w", pending, err)
	}
	now := s.now().UTC()
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		if err := tx.PutTenant(meta.Tenant{ID: b.TenantID, DisplayName: "Bulkhead", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutSubscription(meta.Subscription{ID: b.SubscriptionID, TenantID: b.TenantID, DisplayName: "Bulkhead", CreatedAt: now}); err != nil {
			return err
		}
		return tx.PutPrincipal(meta.Principal{ObjectID: b.ObjectID, ClientID: b.ClientID, TenantID: b.TenantID,
			DisplayName: "bulkhead-bootstrap", Secrets: []meta.SecretHash{hash}, CreatedAt: now})
	})
	if err != nil {
		os.Remove(pending)
		return Bootstrap{}, err
	}
	if err := os.Rename(pending, final); err != nil {
		return Bootstrap{}, err
	}
	return b, nil
}

// readBootstrap reads a bootstrap file and reports whether its principal
// exists in the store.
func (s *Service) readBootstrap(ctx context.Context, path string) (Bootstrap, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Bootstrap{}, false, nil
	}
	if err != nil {
		return Bootstrap{}, false, err
	}
	var b Bootstrap
	if err := json.Unmarshal(data, &b); err != nil {
		return Bootstrap{}, false, fmt.Errorf("%s: %w", path, err)
	}
	err = s.store.View(ctx, func(tx meta.Tx) error {
		p, err := tx.PrincipalByClientID(b.ClientID)
		if err == nil {
			b.ObjectID = p.ObjectID
		}
		return err
	})
	if err != nil {
		if filepath.Ext(path) == ".pending" {
			os.Remove(path)
			return Bootstrap{}, false, nil
		}
		return Bootstrap{}, false, fmt.Errorf("%s names principal %s, which the metadata store does not have: %w", path, b.ClientID, err)
	}
	return b, true, nil
}
