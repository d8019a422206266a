package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// LineHash is the hash a record's successor holds: the SHA-256 of the
// record's line as written, without its newline.
func LineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// checkpointMessage is what a checkpoint signs: the stream, the node,
// the record it seals (by sequence number and line hash), and the hash of
// the checkpoint's own line written with an empty signature, so that not
// one byte of the last line of a chain can change unseen either.
func checkpointMessage(stream, node string, seq uint64, hash, self string) []byte {
	return fmt.Appendf(nil, "bulkhead-audit-checkpoint/v1\n%s\n%s\n%d\n%s\n%s\n", stream, node, seq, hash, self)
}

// restartMessage is what a restart marker signs: where the chain broke
// off, what was cut from its torn tail, and its own line (as above).
func restartMessage(stream, node string, afterSeq uint64, prev string, torn int64, self string) []byte {
	return fmt.Appendf(nil, "bulkhead-audit-restart/v1\n%s\n%s\n%d\n%s\n%d\n%s\n", stream, node, afterSeq, prev, torn, self)
}

// unsigned is a marker's line with its signature emptied: what its
// signature covers.
func unsigned(line []byte, sig string) []byte {
	return bytes.Replace(line, []byte(`"signature":"`+sig+`"`), []byte(`"signature":""`), 1)
}

// lineEncoder encodes records into one reused buffer: the writer
// encodes every record, and a fresh buffer each time would be most of
// what auditing allocates.
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newLineEncoder() *lineEncoder {
	e := &lineEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}

// line encodes v and returns its line without the newline; the slice is
// valid until the next call.
func (e *lineEncoder) line(v any) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	b := e.buf.Bytes()
	return b[:len(b)-1], nil
}

// encode writes rec's line. Markers are encoded twice: with an empty
// signature, whose hash their signature covers, then signed.
func (e *lineEncoder) encode(rec *Record, key ed25519.PrivateKey) ([]byte, error) {
	p := &rec.Properties
	if p.Checkpoint == nil && p.Restart == nil {
		return e.line(rec)
	}
	if p.Checkpoint != nil {
		p.Checkpoint.Signature = ""
	} else {
		p.Restart.Signature = ""
	}
	line, err := e.line(rec)
	if err != nil {
		return nil, err
	}
	c, self := rec.Chain, LineHash(line)
	if cp := p.Checkpoint; cp != nil {
		cp.Signature = sign(key, checkpointMessage(c.Stream, c.Node, cp.Seq, cp.Hash, self))
	} else {
		r := p.Restart
		r.Signature = sign(key, restartMessage(c.Stream, c.Node, r.AfterSeq, c.Prev, r.TornBytes, self))
	}
	return e.line(rec)
}

func sign(key ed25519.PrivateKey, msg []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
}

func verifySig(pub ed25519.PublicKey, msg []byte, sig string) bool {
	b, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && ed25519.Verify(pub, msg, b)
}
