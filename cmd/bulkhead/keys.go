package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dataKey reads the 32-byte key at path, creating it on first start
// (mode 0600, in a 0700 directory): the key that seals Key Vault secret
// values at rest.
func dataKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s holds %d bytes, want 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	return key, writeOnce(path, key)
}

// nodeID names this server across restarts of the same data directory,
// so the pipeline runner knows which runs it held when it stopped.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	id := make([]byte, 8)
	rand.Read(id)
	s := hex.EncodeToString(id)
	return s, writeOnce(path, []byte(s+"\n"))
}

// writeOnce writes a new file durably: temp file, fsync, rename.
func writeOnce(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// triggerInterval maps the flag (0 = off) to the runner's option (< 0 =
// off).
func triggerInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
