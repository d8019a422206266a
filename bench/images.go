package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pushImage pushes an OCI image to t's repository under tag: one layer of
// each size in layers, streamed from a generator in PATCH chunks of at
// most 64 MiB and hashed on the fly (nothing is held whole), a small
// config and the manifest. block is the generator's 1 MiB pattern; every
// layer gets its own seed, so no two layers share bytes. It returns the
// manifest's digest.
func pushImage(ctx context.Context, t *target, tag string, block []byte, layers []int64) (string, error) {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	var ls []desc
	var ids []string
	for _, size := range layers {
		gen := &genReader{block: block, size: size, seed: binary.BigEndian.Uint64(randomBytes(8))}
		h := sha256.New()
		if err := chunkedPush(ctx, t, io.TeeReader(gen, h), size, min(size, 64*mib), h); err != nil {
			return "", fmt.Errorf("push layer of %s:%s: %w", t.repo, tag, err)
		}
		d := fmt.Sprintf("sha256:%x", h.Sum(nil))
		ls = append(ls, desc{"application/vnd.oci.image.layer.v1.tar", d, size})
		ids = append(ids, d)
	}
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": ids}})
	cd, err := t.pushBytes(ctx, config)
	if err != nil {
		return "", fmt.Errorf("push config of %s:%s: %w", t.repo, tag, err)
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociManifest,
		"config": desc{"application/vnd.oci.image.config.v1+json", cd, int64(len(config))}, "layers": ls})
	resp, err := t.do(ctx, http.MethodPut, t.url("/v2/"+t.repo+"/manifests/"+tag), bytes.NewReader(manifest),
		int64(len(manifest)), http.Header{"Content-Type": {ociManifest}})
	if err != nil {
		return "", err
	}
	if err := expect(resp, http.StatusCreated); err != nil {
		return "", err
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(manifest)), nil
}

// manifestDigest is the Docker-Content-Digest of t's repository's tag.
func manifestDigest(ctx context.Context, t *target, tag string) (string, error) {
	resp, err := t.do(ctx, http.MethodHead, t.url("/v2/"+t.repo+"/manifests/"+tag), nil, 0, http.Header{"Accept": {ociManifest}})
	if err != nil {
		return "", err
	}
	if err := expect(resp, http.StatusOK); err != nil {
		return "", err
	}
	return resp.Header.Get("Docker-Content-Digest"), nil
}

// crane is the pinned crane (go.mod's tool), built once, with a Docker
// config that gives it Bulkhead's Basic credentials.
type crane struct {
	bin, dockerConfig string
}

// buildCrane builds the module's pinned crane into root/bin and writes a
// Docker config with auth for the Bulkhead host.
func buildCrane(ctx context.Context, root string, bh *bulkhead) (*crane, error) {
	mod, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	c := &crane{bin: filepath.Join(root, "bin", "crane"), dockerConfig: filepath.Join(root, "docker")}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "github.com/google/go-containerregistry/cmd/crane")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build crane: %w\n%s", err, out)
	}
	if err := os.MkdirAll(c.dockerConfig, 0o700); err != nil {
		return nil, err
	}
	auth := strings.TrimPrefix(bh.auth, "Basic ")
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{bh.base.Host: map[string]string{"auth": auth}}})
	return c, os.WriteFile(filepath.Join(c.dockerConfig, "config.json"), cfg, 0o600)
}

// version is `crane version`.
func (c *crane) version() string {
	out, _ := exec.Command(c.bin, "version").Output()
	return strings.TrimSpace(string(out))
}

// copy runs `crane copy --insecure src dst` and returns its wall time and
// the CPU time the crane process used.
func (c *crane) copy(ctx context.Context, src, dst string) (wall, cpu time.Duration, err error) {
	cmd := exec.CommandContext(ctx, c.bin, "copy", "--insecure", src, dst)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+c.dockerConfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	begin := time.Now()
	err = cmd.Run()
	wall = time.Since(begin)
	if err != nil {
		return 0, 0, fmt.Errorf("crane copy %s %s: %w\n%s", src, dst, err, out.String())
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}
