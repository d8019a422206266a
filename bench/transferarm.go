package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// API versions the transfer benchmark speaks.
const (
	apiRegistry  = "2025-04-01"         // registries, importImage
	apiPipelines = "2021-06-01-preview" // export/import pipelines, pipeline runs
	apiVault     = "2023-07-01"         // Key Vault vaults and secrets
	transferRG   = "transfer"           // the resource group everything lives in
	vaultName    = "benchkv"
	secretName   = "azuritesas"
)

// bulkhead is a Bulkhead server driven over ARM, for the transfer loads.
type bulkhead struct {
	*target
	boot bootstrap
	rg   string // /subscriptions/{sub}/resourceGroups/transfer
}

// startTransferBulkhead starts `bulkhead serve` in dir with triggers off,
// gets a management token for the bootstrap principal and creates the
// resource group. Data-plane requests use HTTP Basic with the principal's
// secret, which path mode accepts.
func startTransferBulkhead(ctx context.Context, dir, bin string) (*bulkhead, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	t, err := start("Bulkhead", addr, filepath.Join(dir, "bulkhead.log"), bin,
		"serve", "--addr", addr, "--data", data, "--log-level", "error", "--pipeline-trigger-interval", "0")
	if err != nil {
		return nil, err
	}
	b := &bulkhead{target: t}
	progress("Bulkhead: pid %d on %s, data in %s", t.pid(), addr, data)
	if err := t.waitReady(ctx, "/healthz"); err != nil {
		return b, err
	}
	raw, err := os.ReadFile(filepath.Join(data, "bootstrap.json"))
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(raw, &b.boot); err != nil {
		return b, fmt.Errorf("bootstrap.json: %w", err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {b.boot.ClientID}, "client_secret": {b.boot.ClientSecret},
		"scope": {"https://management.azure.com/.default"}}.Encode()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if err := t.call(ctx, http.MethodPost, "/"+b.boot.TenantID+"/oauth2/v2.0/token", hdr, []byte(form), &tok); err != nil {
		return b, fmt.Errorf("management token: %w", err)
	}
	t.arm = http.Header{"Authorization": {"Bearer " + tok.AccessToken}, "Content-Type": {"application/json"}}
	t.sub = b.boot.SubscriptionID
	t.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(b.boot.ClientID+":"+b.boot.ClientSecret))
	b.rg = "/subscriptions/" + t.sub + "/resourceGroups/" + transferRG
	if err := t.call(ctx, http.MethodPut, b.rg+"?api-version=2024-03-01", t.arm, []byte(`{"location":"westus"}`), nil); err != nil {
		return b, fmt.Errorf("create resource group: %w", err)
	}
	return b, nil
}

// registryID is the resource id of registry name.
func (b *bulkhead) registryID(name string) string {
	return b.rg + "/providers/Microsoft.ContainerRegistry/registries/" + name
}

// createRegistry creates the Premium registry name and waits until it is
// provisioned.
func (b *bulkhead) createRegistry(ctx context.Context, name string) error {
	path := b.registryID(name) + "?api-version=" + apiRegistry
	if err := b.call(ctx, http.MethodPut, path, b.arm, []byte(`{"location":"westus","sku":{"name":"Premium"}}`), nil); err != nil {
		return fmt.Errorf("create registry %s: %w", name, err)
	}
	return b.waitProvisioned(ctx, path, b.arm)
}

// repo returns a data-plane view of the repository reg/repo.
func (b *bulkhead) repo(reg, repo string) *target {
	c := *b.target
	c.repo = reg + "/" + repo
	return &c
}

// storeSAS creates the Key Vault and puts sasToken in its secret, and
// returns the keyVaultUri a pipeline names it by.
func (b *bulkhead) storeSAS(ctx context.Context, sasToken string) (string, error) {
	vault := b.rg + "/providers/Microsoft.KeyVault/vaults/" + vaultName
	body := fmt.Sprintf(`{"location":"westus","properties":{"tenantId":%q,"sku":{"family":"A","name":"standard"},"accessPolicies":[]}}`, b.boot.TenantID)
	if err := b.call(ctx, http.MethodPut, vault+"?api-version="+apiVault, b.arm, []byte(body), nil); err != nil {
		return "", fmt.Errorf("create key vault: %w", err)
	}
	secret, _ := json.Marshal(map[string]any{"properties": map[string]string{"value": sasToken}})
	if err := b.call(ctx, http.MethodPut, vault+"/secrets/"+secretName+"?api-version="+apiVault, b.arm, secret, nil); err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	return "https://" + vaultName + ".vault.azure.net/secrets/" + secretName, nil
}

// createPipeline creates an export (export true) or import pipeline of
// registry reg on the container uri and returns its resource id.
func (b *bulkhead) createPipeline(ctx context.Context, reg, name string, export bool, uri, kvURI string) (string, error) {
	ep := map[string]string{"type": "AzureStorageBlobContainer", "uri": uri, "keyVaultUri": kvURI}
	props := map[string]any{"options": []string{"OverwriteBlobs"}, "target": ep}
	kind := "exportPipelines"
	if !export {
		kind = "importPipelines"
		props = map[string]any{"options": []string{"OverwriteTags"}, "source": ep,
			"trigger": map[string]any{"sourceTrigger": map[string]string{"status": "Disabled"}}}
	}
	body, _ := json.Marshal(map[string]any{"location": "westus", "identity": map[string]string{"type": "SystemAssigned"}, "properties": props})
	id := b.registryID(reg) + "/" + kind + "/" + name
	if err := b.call(ctx, http.MethodPut, id+"?api-version="+apiPipelines, b.arm, body, nil); err != nil {
		return "", fmt.Errorf("create %s %s: %w", kind, name, err)
	}
	return id, nil
}

// runPipeline starts the pipeline run name of registry reg and polls it
// every 50 ms until it is no longer Running. export says which way blob
// goes. It returns the time from the PUT to the first answer that shows
// the run finished, which is at most one poll period late.
func (b *bulkhead) runPipeline(ctx context.Context, reg, name, pipelineID string, export bool, blob string, artifacts []string) (time.Duration, error) {
	req := map[string]any{"pipelineResourceId": pipelineID}
	if export {
		req["target"] = map[string]string{"type": "AzureStorageBlob", "name": blob}
		req["artifacts"] = artifacts
	} else {
		req["source"] = map[string]string{"type": "AzureStorageBlob", "name": blob}
	}
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{"request": req}})
	path := b.registryID(reg) + "/pipelineRuns/" + name + "?api-version=" + apiPipelines
	begin := time.Now()
	if err := b.call(ctx, http.MethodPut, path, b.arm, body, nil); err != nil {
		return 0, fmt.Errorf("start run %s: %w", name, err)
	}
	for {
		var run struct {
			Properties struct {
				Response struct {
					Status       string `json:"status"`
					ErrorMessage string `json:"pipelineRunErrorMessage"`
				} `json:"response"`
			} `json:"properties"`
		}
		if err := b.call(ctx, http.MethodGet, path, b.arm, nil, &run); err != nil {
			return 0, err
		}
		switch r := run.Properties.Response; r.Status {
		case "Running", "":
		case "Succeeded":
			return time.Since(begin), nil
		default:
			return 0, fmt.Errorf("run %s: %s: %s", name, r.Status, r.ErrorMessage)
		}
		pause(ctx, 50*time.Millisecond)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// importImage imports image from the registry at registryURI (host:port,
// no auth) into registry reg as targetTag, and follows the operation's
// Location should it answer before the copy is done. It returns the time
// until the import is known to be done.
func (b *bulkhead) importImage(ctx context.Context, reg, registryURI, image, targetTag string) (time.Duration, error) {
	body, _ := json.Marshal(map[string]any{"source": map[string]string{"registryUri": registryURI, "sourceImage": image},
		"targetTags": []string{targetTag}})
	begin := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url(b.registryID(reg)+"/importImage?api-version="+apiRegistry), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = b.arm.Clone()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("importImage: %s: %s", resp.Status, msg)
	}
	loc := resp.Header.Get("Azure-AsyncOperation")
	if loc == "" {
		loc = resp.Header.Get("Location")
	}
	for loc != "" {
		u, err := b.base.Parse(loc)
		if err != nil {
			return 0, fmt.Errorf("importImage: bad operation URL: %w", err)
		}
		var op struct {
			Status string          `json:"status"`
			Error  json.RawMessage `json:"error"`
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url(u.RequestURI()), nil)
		req.Header = b.arm.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			return 0, err
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return 0, fmt.Errorf("importImage operation: %s: %s", resp.Status, raw)
		}
		_ = json.Unmarshal(raw, &op)
		switch {
		case resp.StatusCode == http.StatusAccepted || op.Status == "InProgress" || op.Status == "Running":
			pause(ctx, 50*time.Millisecond)
		case op.Status == "" || op.Status == "Succeeded":
			loc = ""
		default:
			return 0, fmt.Errorf("importImage: %s: %s", op.Status, op.Error)
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	return time.Since(begin), nil
}
