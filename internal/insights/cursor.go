package insights

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// cursor is how far one category of one setting has been copied: per
// source file (a stream's hourly file, by its layout path), the bytes
// copied (Src) and the destination blob's length after them (Dst).
// Files up to Done (by name) are finished and no longer listed. It is
// written to its own small file after every append, so a restart neither
// copies a line twice nor skips one: a destination longer than Dst means
// the last append landed but its cursor was not written, and the
// difference is counted as copied.
type cursor struct {
	Setting  string `json:"setting"`
	Category string `json:"category"`
	Epoch    string `json:"epoch"`
	// Dest names the destination the Dst lengths are of: when the
	// setting's account, or the account's endpoint, changes, each entry
	// takes the new blob's length as its Dst and copying goes on from
	// its Src.
	Dest  string              `json:"dest"`
	Done  string              `json:"done,omitempty"`
	Files map[string]*fileCur `json:"files"`
}

type fileCur struct {
	Src int64 `json:"src"`
	Dst int64 `json:"dst"`
	// checked says Dst was compared with the destination since this
	// process loaded or made the entry; fresh, that the entry is new
	// and takes the destination's length as its Dst.
	checked, fresh bool
}

// cursorKey names a cursor: its setting, category and epoch.
func cursorKey(setting, category, epoch string) string {
	h := sha256.Sum256([]byte(strings.ToLower(setting) + "|" + category + "|" + epoch))
	return hex.EncodeToString(h[:12])
}

// loadCursor reads a cursor; a missing one is new and empty.
func loadCursor(dir, key string) (*cursor, error) {
	c := &cursor{Files: map[string]*fileCur{}}
	b, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, errors.New("cursor " + key + " is damaged: " + err.Error())
	}
	if c.Files == nil {
		c.Files = map[string]*fileCur{}
	}
	return c, nil
}

// save writes the cursor durably: temp file, fsync, rename.
func (c *cursor) save(dir, key string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, key+".json")
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
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

// dropCursors removes the cursor files of keys not in live.
func dropCursors(dir string, live map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		key, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && !live[key] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// fileIn is the path of a layout path (container/blob) under dir.
func fileIn(dir, rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }

// completeEnd is the length of a file's whole lines: the offset after
// its last '\n' (0 for a missing file).
func completeEnd(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	for end := fi.Size(); end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// newlineFrom reports whether f holds a '\n' at or after off: whether the
// line that runs on past a full buffer is complete.
func newlineFrom(f *os.File, off int64, buf []byte) (bool, error) {
	for {
		n, err := f.ReadAt(buf, off)
		for i := 0; i < n; i++ {
			if buf[i] == '\n' {
				return true, nil
			}
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		off += int64(n)
	}
}
