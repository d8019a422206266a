package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Verification budgets: a copy may hold at most maxVerifyRecords records
// and lines of at most maxVerifyLine bytes, so a hostile copy cannot make
// the verifier run out of memory.
const (
	maxVerifyLine    = 8 << 20
	maxVerifyRecords = 50_000_000
)

// Source is a copy of an audit log: a directory or a storage account.
type Source interface {
	// List names the hourly files (slash paths: container/blob name).
	List(ctx context.Context) ([]string, error)
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// DirSource reads a copy in a directory laid out as Layout says.
func DirSource(dir string) Source { return dirSource(dir) }

type dirSource string

func (d dirSource) List(ctx context.Context) ([]string, error) {
	var out []string
	root := string(d)
	if _, err := os.Stat(root); err != nil {
		return nil, err
	}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || e.Name() != "PT1H.json" {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if _, ok := HourOf(rel); ok && strings.HasPrefix(rel, "insights-") {
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}

func (d dirSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}

// Problem kinds.
const (
	ProblemAltered   = "altered"
	ProblemRemoved   = "removed"
	ProblemMoved     = "moved"
	ProblemSignature = "signature"
)

// Problem is the first thing wrong in a copy.
type Problem struct {
	Kind    string `json:"kind"`
	Stream  string `json:"stream"`
	Node    string `json:"node"`
	Seq     uint64 `json:"seq"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s line %d: record %d of %s: %s", p.File, p.Line, p.Seq, p.Stream, p.Message)
}

// Report is what Verify found.
type Report struct {
	Streams     int `json:"streams"`
	Records     int `json:"records"`
	Checkpoints int `json:"checkpoints"`
	Restarts    int `json:"restarts"`
	Gaps        int `json:"gaps"`
	// Unsealed counts records after their stream's last checkpoint: the
	// chain links them, but no signature covers them yet.
	Unsealed int `json:"unsealed"`
	// Notes say what is not a problem but worth knowing: a copy that
	// starts after record 1, restarts, gaps, unsealed tails.
	Notes []string `json:"notes,omitempty"`
	// Problem is the first record that was altered, removed or moved, or
	// whose signature fails; nil when the copy is intact.
	Problem *Problem `json:"problem,omitempty"`
}

// entry is what the verifier keeps of one line.
type entry struct {
	file string
	line int
	raw  []byte // nil once checked
	hash string
	rec  Record
	bad  string // why the line is not a record
}

// Verify checks every chain in src: each record's link to the line before
// it, the sequence without holes or moves, and every checkpoint's and
// restart marker's signature with pub (nil skips signatures, with a note).
// It names the first record that was altered, removed or moved.
func Verify(ctx context.Context, src Source, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	files, err := src.List(ctx)
	if err != nil {
		return rep, err
	}
	// Hour order across files; within one hour, the file's line order.
	sort.Slice(files, func(i, j int) bool {
		hi, _ := HourOf(files[i])
		hj, _ := HourOf(files[j])
		if !hi.Equal(hj) {
			return hi.Before(hj)
		}
		return files[i] < files[j]
	})
	chains := map[string][]entry{} // stream|node → entries in order
	var order []string
	total := 0
	for _, name := range files {
		// A line that is no record takes the place of the record before
		// it in the file, so its chain reports it where it lies.
		lastKey := "?|" + name
		if err := readCopy(ctx, src, name, func(e entry) error {
			if total++; total > maxVerifyRecords {
				return fmt.Errorf("the copy holds more than %d records; verify it in parts", maxVerifyRecords)
			}
			key := lastKey
			if e.bad == "" {
				key = e.rec.chainKey()
				lastKey = key
			}
			if _, ok := chains[key]; !ok {
				order = append(order, key)
			}
			chains[key] = append(chains[key], e)
			return nil
		}); err != nil {
			return rep, err
		}
	}
	if pub == nil {
		rep.Notes = append(rep.Notes, "no public key given: checkpoint and restart signatures were not checked")
	}
	for _, key := range order {
		es := chains[key]
		if strings.HasPrefix(key, "?|") {
			e := es[0]
			rep.Problem = &Problem{Kind: ProblemAltered, File: e.file, Line: e.line, Message: e.bad}
			return rep, nil
		}
		rep.Streams++
		if p := verifyChain(es, pub, &rep); p != nil {
			rep.Problem = p
			return rep, nil
		}
	}
	return rep, nil
}

func (r *Record) chainKey() string { return r.Chain.Stream + "|" + r.Chain.Node }

func readCopy(ctx context.Context, src Source, name string, fn func(entry) error) error {
	rc, err := src.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, n, err)
		}
		e := entry{file: name, line: n, hash: LineHash(line)}
		if jerr := json.Unmarshal(line, &e.rec); jerr != nil {
			e.bad = "the line is not an audit record (altered): " + jerr.Error()
		} else if e.rec.Chain == nil || e.rec.Chain.Stream == "" || e.rec.Chain.Seq == 0 {
			e.bad = "the line has no chain link (altered)"
		}
		if e.rec.Properties.Checkpoint != nil || e.rec.Properties.Restart != nil {
			e.raw = line
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// readLine reads one line without its newline, within maxVerifyLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		part, err := br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > maxVerifyLine {
			return nil, fmt.Errorf("a line longer than %d bytes", maxVerifyLine)
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(buf, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			return buf, nil // a last line without newline: checked like any
		default:
			return nil, err
		}
	}
}

// verifyChain checks one stream's entries in order.
func verifyChain(es []entry, pub ed25519.PublicKey, rep *Report) *Problem {
	present := make(map[uint64]bool, len(es))
	var stream, node string
	for _, e := range es {
		if e.bad == "" {
			present[e.rec.Chain.Seq] = true
			stream, node = e.rec.Chain.Stream, e.rec.Chain.Node
		}
	}
	problem := func(e entry, kind, format string, args ...any) *Problem {
		return &Problem{Kind: kind, Stream: stream, Node: node, Seq: e.rec.Chain.Seq, File: e.file, Line: e.line, Message: fmt.Sprintf(format, args...)}
	}
	if es[0].bad == "" && es[0].rec.Chain.Seq != 1 {
		first := es[0].rec.Chain.Seq
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the copy starts at record %d (earlier records are not in it: retention, or a destination added later)", stream, first))
	}
	sinceCheckpoint := 0
	for i, e := range es {
		if e.bad != "" {
			var after uint64
			if i > 0 {
				after = es[i-1].rec.Chain.Seq
			}
			return &Problem{Kind: ProblemAltered, Stream: stream, Node: node, Seq: after + 1, File: e.file, Line: e.line, Message: e.bad}
		}
		c := e.rec.Chain
		rep.Records++
		if i > 0 {
			before := es[i-1]
			want := before.rec.Chain.Seq + 1
			switch {
			case c.Seq > want && !present[want]:
				return problem(before, ProblemRemoved, "records %d to %d after this one were removed", want, c.Seq-1)
			case c.Seq != want:
				return problem(e, ProblemMoved, "record %d is out of place: record %d should come here", c.Seq, want)
			case c.Prev != before.hash:
				// The link breaks between before and e. If e's own
				// successor also fails to match e, e itself was altered;
				// otherwise before was.
				if i+1 < len(es) && (es[i+1].bad != "" || es[i+1].rec.Chain.Prev != e.hash) {
					return problem(e, ProblemAltered, "record %d was altered: its hash is not the one the next record holds", c.Seq)
				}
				return problem(before, ProblemAltered, "record %d was altered: its hash is not the one the next record holds", before.rec.Chain.Seq)
			}
		}
		p := e.rec.Properties
		switch {
		case p.Checkpoint != nil:
			rep.Checkpoints++
			cp := p.Checkpoint
			if cp.Seq+1 != c.Seq || cp.Hash != c.Prev {
				return problem(e, ProblemAltered, "checkpoint %d does not seal the record before it", c.Seq)
			}
			self := LineHash(unsigned(e.raw, cp.Signature))
			if pub != nil && !verifySig(pub, checkpointMessage(stream, node, cp.Seq, cp.Hash, self), cp.Signature) {
				return problem(e, ProblemSignature, "the signature of checkpoint %d does not verify with key %s", c.Seq, KeyID(pub))
			}
			sinceCheckpoint = 0
		case p.Restart != nil:
			rep.Restarts++
			r := p.Restart
			self := LineHash(unsigned(e.raw, r.Signature))
			if pub != nil && !verifySig(pub, restartMessage(stream, node, r.AfterSeq, c.Prev, r.TornBytes, self), r.Signature) {
				return problem(e, ProblemSignature, "the signature of restart marker %d does not verify with key %s", c.Seq, KeyID(pub))
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: record %d: %s", stream, c.Seq, r.Message))
			sinceCheckpoint = 0
		default:
			if p.Gap != nil {
				rep.Gaps++
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s: record %d: %s", stream, c.Seq, p.Message))
			}
			sinceCheckpoint++
		}
	}
	if sinceCheckpoint > 0 {
		rep.Unsealed += sinceCheckpoint
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the last %d records come after the last checkpoint: linked, not yet signed", stream, sinceCheckpoint))
	}
	return nil
}
