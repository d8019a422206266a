package insights

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/audit"
)

// shipJob copies what is new in a job's stream: its files in order, from
// the job's start, each from its cursor to its last whole line.
func (s *Shipper) shipJob(ctx context.Context, j job, d destination) error {
	c, err := s.loadCursor(j)
	if err != nil {
		return errBehind(j, err)
	}
	if dest := strings.ToLower(j.account) + "|" + j.acc.Endpoint; c.Dest != dest {
		for _, fc := range c.Files {
			fc.fresh, fc.checked = true, false
		}
		c.Dest = dest
	}
	files, err := audit.StreamFiles(s.o.AuditDir, j.category, j.registry)
	if err != nil {
		return errBehind(j, err)
	}
	now := s.o.Now()
	appends := s.stats.appends.Load()
	done, prefix := c.Done, true
	for _, name := range files {
		if c.Done != "" && name <= c.Done || j.start.File != "" && name < j.start.File {
			continue
		}
		fc := c.Files[name]
		if fc == nil {
			fc = &fileCur{fresh: true}
			if name == j.start.File {
				fc.Src = j.start.Offset
			}
			c.Files[name] = fc
		}
		atEnd, err := s.copyFile(ctx, j, c, name, fc, d)
		if err != nil {
			return errBehind(j, err)
		}
		hour, ok := audit.HourOf(name)
		if prefix && atEnd && ok && now.Sub(hour) > time.Hour+finishedAfter {
			done = name
		} else {
			prefix = false
		}
	}
	// The public key goes where records went, once per run.
	keyAt := strings.ToLower(j.account) + "|" + audit.Container(j.category)
	if s.o.PublicKey != nil && !s.keys[keyAt] && s.stats.appends.Load() > appends {
		if err := d.PutKey(ctx, audit.Container(j.category), s.o.PublicKey); err != nil {
			return errBehind(j, err)
		}
		s.keys[keyAt] = true
	}
	if done != c.Done {
		c.Done = done
		for name := range c.Files {
			if name <= done {
				delete(c.Files, name)
			}
		}
		if err := c.save(s.o.CursorDir, j.key); err != nil {
			return errBehind(j, err)
		}
	}
	return nil
}

// copyFile copies one stream file's new whole lines in appends of at
// most MaxChunk bytes, saving the cursor after each. It reports whether
// it reached the end of the file.
func (s *Shipper) copyFile(ctx context.Context, j job, c *cursor, name string, fc *fileCur, d destination) (bool, error) {
	f, err := os.Open(fileIn(s.o.AuditDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil // removed by retention meanwhile
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	if fc.Src > size {
		s.o.Logger.Warn("diagnostic logs: a stream file is shorter than what was copied from it; copying goes on from its end",
			"file", name, "copied", fc.Src, "size", size)
		fc.Src = size
	}
	container, blob, _ := strings.Cut(name, "/")
	misses := 0
	for fc.Src < size {
		if !fc.checked {
			if err := s.reconcile(ctx, j, c, d, name, fc, size); err != nil {
				return false, err
			}
			continue
		}
		n, err := f.ReadAt(s.buf[:min(int64(len(s.buf)), size-fc.Src)], fc.Src)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		cut := bytes.LastIndexByte(s.buf[:n], '\n') + 1
		if cut == 0 {
			if n < len(s.buf) {
				return false, nil // the last line is still being written
			}
			// A line longer than the buffer goes in pieces, once whole.
			whole, err := newlineFrom(f, fc.Src+int64(n), s.probe)
			if err != nil || !whole {
				return false, err
			}
			cut = n
		}
		dst, err := d.Append(ctx, container, blob, fc.Dst, s.buf[:cut])
		if errors.Is(err, errPosition) {
			if misses++; misses > 2 {
				return false, fmt.Errorf("%s/%s: the destination blob keeps changing length: another writer appends to it", container, blob)
			}
			fc.checked = false
			continue
		}
		if err != nil {
			return false, err
		}
		fc.Src += int64(cut)
		fc.Dst = dst
		s.stats.appends.Add(1)
		s.stats.bytes.Add(int64(cut))
		if err := c.save(s.o.CursorDir, j.key); err != nil {
			return false, err
		}
	}
	return true, nil
}

// reconcile compares a file's cursor with its destination blob. A new
// entry takes the blob's length as its start and is saved before the
// first append. A blob longer than the cursor says an append landed
// whose cursor was not written (a crash between the two): those bytes
// are counted as copied. A shorter blob was cut by someone else: new
// lines go at its end.
func (s *Shipper) reconcile(ctx context.Context, j job, c *cursor, d destination, name string, fc *fileCur, size int64) error {
	container, blob, _ := strings.Cut(name, "/")
	actual, err := d.Size(ctx, container, blob)
	if err != nil {
		return err
	}
	switch diff := actual - fc.Dst; {
	case fc.fresh:
		fc.Dst = actual
	case diff > 0:
		move := min(diff, size-fc.Src)
		if move < diff {
			s.o.Logger.Warn("diagnostic logs: the destination blob holds more than was copied to it; another writer may append to it",
				"storage_account", j.account, "blob", name, "extra", diff-move)
		}
		fc.Src += move
		fc.Dst = actual
	case diff < 0:
		s.o.Logger.Warn("diagnostic logs: the destination blob is shorter than what was copied to it (it was cut or deleted); new records go at its end",
			"storage_account", j.account, "blob", name, "missing", -diff)
		fc.Dst = actual
	}
	fc.fresh, fc.checked = false, true
	return c.save(s.o.CursorDir, j.key)
}
