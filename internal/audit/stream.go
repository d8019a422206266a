package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// Checkpoint reasons.
const (
	reasonRecords  = "records"
	reasonInterval = "interval"
	reasonShutdown = "shutdown"
)

// stream is one chain: a resource's records of one category on this node.
type stream struct {
	name, category, resourceID string
	seq                        uint64
	prev                       string // hash of the last line written
	lastTime                   time.Time
	unsealed                   int
	firstUnsealed              time.Time
	// closedClean is true while the last line is a shutdown checkpoint.
	closedClean bool
	// link is the chain link of the record being written, reused.
	link Link

	file *os.File
	bw   *bufio.Writer
	hour time.Time // of the open file
}

func (l *Log) stream(category, resourceID string) *stream {
	key := StreamName(category, resourceID)
	s := l.streams[key]
	if s == nil {
		s = &stream{name: key, category: category, resourceID: resourceID, closedClean: true}
		l.streams[key] = s
	}
	return s
}

// append links rec to the chain and writes its line to the hour's file.
// A record never goes to an hour before the open file's, so the file
// order is the chain order.
func (s *stream) append(l *Log, rec *Record) error {
	s.link = Link{Stream: s.name, Node: l.o.Node, Seq: s.seq + 1, Prev: s.prev}
	rec.Chain = &s.link
	line, err := l.enc.encode(rec, l.o.Key)
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	hour := rec.Time.Truncate(time.Hour)
	if hour.Before(s.hour) {
		hour = s.hour
	}
	if s.file == nil || !hour.Equal(s.hour) {
		if s.file == nil {
			l.fault(l.limitOpen())
		}
		if err := s.open(l.o.Dir, hour); err != nil {
			return err
		}
	}
	s.bw.Write(line)
	if err := s.bw.WriteByte('\n'); err != nil {
		return err
	}
	s.seq++
	s.prev = LineHash(line)
	s.lastTime = rec.Time
	isCheckpoint := rec.Properties.Checkpoint != nil
	s.closedClean = isCheckpoint && rec.Properties.Checkpoint.Reason == reasonShutdown
	if !isCheckpoint {
		if s.unsealed == 0 {
			s.firstUnsealed = l.o.Now()
		}
		s.unsealed++
	}
	return nil
}

// maxOpenStreams bounds the stream files kept open: a service with
// thousands of registries must not run out of file descriptors for its
// audit trail. The least recently written are closed first; they reopen
// in append mode when they are written again.
const maxOpenStreams = 256

// limitOpen closes stream files until there is room for one more.
func (l *Log) limitOpen() error {
	var open []*stream
	for _, s := range l.streams {
		if s.file != nil {
			open = append(open, s)
		}
	}
	if len(open) < maxOpenStreams {
		return nil
	}
	slices.SortFunc(open, func(a, b *stream) int { return a.lastTime.Compare(b.lastTime) })
	var errs []error
	for _, s := range open[:len(open)-maxOpenStreams+1] {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// seal writes a signed checkpoint over the stream's last record.
func (s *stream) seal(l *Log, reason string) error {
	if s.seq == 0 {
		return nil
	}
	cp := &Checkpoint{Seq: s.seq, Hash: s.prev, KeyID: l.keyID, Reason: reason}
	rec := Record{Time: l.o.Now().UTC(), ResourceID: s.resourceID, Category: s.category, OperationName: OpCheckpoint,
		ResultType: ResultSucceeded, Level: "Informational", Properties: Properties{Checkpoint: cp}}
	if err := s.append(l, &rec); err != nil {
		return err
	}
	s.unsealed = 0
	if reason == reasonShutdown || reason == reasonInterval {
		return s.sync()
	}
	return nil
}

func (s *stream) open(dir string, hour time.Time) error {
	if err := s.close(); err != nil {
		return err
	}
	c, name := BlobPath(s.category, s.resourceID, hour)
	p := filepath.Join(dir, c, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.file, s.bw, s.hour = f, bufio.NewWriterSize(f, 64<<10), hour
	return nil
}

func (s *stream) flush() error {
	if s.bw == nil || s.bw.Buffered() == 0 {
		return nil
	}
	return s.bw.Flush()
}

func (s *stream) sync() error {
	if s.file == nil {
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	return s.file.Sync()
}

func (s *stream) close() error {
	if s.file == nil {
		return nil
	}
	err := s.sync()
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	s.file, s.bw = nil, nil
	return err
}

// recover finds every stream's end in the directory, cuts a torn last
// line (a write the last run did not finish), and, for each stream the
// last run did not close with a shutdown checkpoint, writes a signed
// restart marker that says where the chain broke off: a crash is not
// tampering, but what it may have lost is said, not hidden.
func (l *Log) recover() error {
	ends, err := findStreamEnds(l.o.Dir)
	if err != nil {
		return fmt.Errorf("audit: read the log: %w", err)
	}
	for _, e := range ends {
		s := l.stream(e.last.Category, e.last.ResourceID)
		s.seq, s.prev, s.lastTime, s.hour = e.last.Chain.Seq, e.hash, e.last.Time, e.hour
		cp := e.last.Properties.Checkpoint
		if cp != nil && cp.Reason == reasonShutdown && e.torn == 0 {
			continue
		}
		s.closedClean = false
		r := &Restart{AfterSeq: s.seq, LastTime: s.lastTime, TornBytes: e.torn, KeyID: l.keyID,
			Message: fmt.Sprintf("the service stopped without closing this chain after record %d (%s); records of work done after that and before this restart may be missing",
				s.seq, s.lastTime.UTC().Format(time.RFC3339Nano))}
		if e.torn > 0 {
			r.Message += fmt.Sprintf("; an unfinished line of %d bytes was cut", e.torn)
		}
		rec := Record{Time: l.o.Now().UTC(), ResourceID: s.resourceID, Category: s.category, OperationName: OpRestart,
			ResultType: ResultFailed, Level: "Warning", Properties: Properties{Restart: r, Message: r.Message}}
		if err := s.append(l, &rec); err != nil {
			return fmt.Errorf("audit: mark the restart: %w", err)
		}
		s.unsealed = 0
		if err := s.sync(); err != nil {
			return fmt.Errorf("audit: mark the restart: %w", err)
		}
	}
	return nil
}

type streamEnd struct {
	last Record
	hash string
	hour time.Time
	torn int64
}

// findStreamEnds reads the last complete line of every stream's newest
// file (an older file when the newest holds none), cutting torn tails.
func findStreamEnds(dir string) ([]streamEnd, error) {
	byStream := map[string][]string{} // stream dir → its files, sorted
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "PT1H.json" {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "insights-") {
			return nil
		}
		if _, ok := HourOf(rel); !ok {
			return nil
		}
		i := strings.LastIndex(rel, "/y=")
		byStream[rel[:i]] = append(byStream[rel[:i]], rel)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []streamEnd
	for _, files := range byStream {
		// WalkDir visits in lexical order, which is hour order.
		var torn int64
		for i := len(files) - 1; i >= 0; i-- {
			p := filepath.Join(dir, filepath.FromSlash(files[i]))
			line, cut, err := lastLine(p)
			if err != nil {
				return nil, err
			}
			torn += cut
			if line == nil {
				continue
			}
			var rec Record
			if err := json.Unmarshal(line, &rec); err != nil || rec.Chain == nil {
				return nil, fmt.Errorf("%s: the last line is not an audit record; run `bulkhead audit verify` on this directory", p)
			}
			hour, _ := HourOf(files[i])
			out = append(out, streamEnd{last: rec, hash: LineHash(line), hour: hour, torn: torn})
			break
		}
	}
	return out, nil
}

// lastLine returns the last newline-terminated line of the file at p,
// first cutting any bytes after it (cut says how many).
func lastLine(p string) (line []byte, cut int64, err error) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := st.Size()
	end, err := lastNewline(f, size)
	if err != nil {
		return nil, 0, err
	}
	if cut = size - (end + 1); cut > 0 {
		if err := f.Truncate(end + 1); err != nil {
			return nil, 0, err
		}
	}
	if end < 0 {
		return nil, cut, nil
	}
	start, err := lastNewline(f, end)
	if err != nil {
		return nil, 0, err
	}
	line = make([]byte, end-start-1)
	if _, err := f.ReadAt(line, start+1); err != nil {
		return nil, 0, err
	}
	return line, cut, nil
}

// lastNewline is the offset of the last '\n' before offset before, or -1.
func lastNewline(f *os.File, before int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for off := before; off > 0; {
		n := min(int64(len(buf)), off)
		off -= n
		if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i), nil
		}
	}
	return -1, nil
}

// applyRetention removes hourly files older than the retention, and the
// egress totals of days before it.
func (l *Log) applyRetention(now time.Time) {
	if l.o.Retention <= 0 {
		return
	}
	limit := now.Add(-l.o.Retention)
	open := map[string]bool{}
	for _, s := range l.streams {
		if s.file != nil {
			open[s.file.Name()] = true
		}
	}
	filepath.WalkDir(l.o.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "PT1H.json" || open[p] {
			return nil
		}
		hour, ok := HourOf(filepath.ToSlash(p))
		if ok && hour.Add(time.Hour).Before(limit) {
			os.Remove(p)
			removeEmptyParents(l.o.Dir, filepath.Dir(p))
		}
		return nil
	})
	if l.o.Meta != nil {
		day := limit.UTC().Format(time.DateOnly)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.o.Meta.Update(ctx, func(tx meta.Tx) error { return tx.PurgeEgress(day) }); err != nil {
			l.o.Logger.Warn("audit: purge old egress totals", "err", err)
		}
	}
}

func removeEmptyParents(root, dir string) {
	for dir != root && strings.HasPrefix(dir, root) {
		if os.Remove(dir) != nil {
			return
		}
		dir = path.Dir(filepath.ToSlash(dir))
		dir = filepath.FromSlash(dir)
	}
}
