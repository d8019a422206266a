package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"time"
)

// genReader streams size pseudo-random bytes without holding them: a 1 MiB
// random block repeated, with the first 8 bytes of every MiB replaced by
// the MiB's index XOR a seed, so the content never repeats within a blob
// and differs between runs.
type genReader struct {
	block []byte
	seed  uint64
	off   int64
	size  int64
}

// Read fills p with the next bytes of the stream.
func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	if rem := g.size - g.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		bs := int64(len(g.block))
		pos := int(g.off % bs)
		m := copy(p[n:], g.block[pos:])
		if pos < 8 {
			var hdr [8]byte
			binary.BigEndian.PutUint64(hdr[:], uint64(g.off/bs)^g.seed)
			copy(p[n:n+m], hdr[pos:])
		}
		n += m
		g.off += int64(m)
	}
	return n, nil
}

// giantPush pushes one blob of size bytes as PATCH chunks of chunk bytes
// streamed from a generator (hashed on the fly, never held in memory), then
// PUT ?digest with an empty body. It reports the server's peak RSS during
// the push: VmHWM after resetting it through clear_refs, or, if the reset
// is refused, the highest VmRSS sampled every 10 ms.
func giantPush(ctx context.Context, t *target, size, chunk int64) measurement {
	pid := t.pid()
	resetErr := resetPeakRSS(pid)
	stopSampling, sampled := sampleRSS(pid, 10*time.Millisecond)

	gen := &genReader{block: randomBytes(mib), size: size}
	gen.seed = binary.BigEndian.Uint64(randomBytes(8))
	h := sha256.New()
	begin := time.Now()
	err := chunkedPush(ctx, t, io.TeeReader(gen, h), size, chunk, h)
	elapsed := time.Since(begin)
	stopSampling()

	m := measurement{ops: 1, elapsed: elapsed, bytes: size, err: err}
	m.finish([]time.Duration{elapsed})
	if err != nil {
		return m
	}
	if resetErr == nil {
		if m.peakRSS, err = procStatus(pid, "VmHWM"); err != nil {
			m.err = err
		}
		m.note = "VmHWM, reset before the push"
	} else {
		m.peakRSS = sampled()
		m.note = fmt.Sprintf("max VmRSS sampled every 10 ms (VmHWM reset refused: %v)", resetErr)
	}
	return m
}

// chunkedPush does POST, PATCH × ceil(size/chunk) with Content-Range,
// following the Location of every answer, then PUT ?digest=<h's sum>.
func chunkedPush(ctx context.Context, t *target, src io.Reader, size, chunk int64, h hash.Hash) error {
	loc, err := t.startUpload(ctx)
	if err != nil {
		return err
	}
	for off := int64(0); off < size; off += chunk {
		n := min(chunk, size-off)
		hdr := http.Header{
			"Content-Type":  {"application/octet-stream"},
			"Content-Range": {fmt.Sprintf("%d-%d", off, off+n-1)},
		}
		resp, err := t.do(ctx, http.MethodPatch, loc, io.LimitReader(src, n), n, hdr)
		if err != nil {
			return err
		}
		if err := expect(resp, http.StatusAccepted); err != nil {
			return err
		}
		if loc, err = t.resolve(resp.Header.Get("Location")); err != nil {
			return err
		}
	}
	dgst := fmt.Sprintf("sha256:%x", h.Sum(nil))
	resp, err := t.do(ctx, http.MethodPut, withDigest(loc, dgst), nil, 0, nil)
	if err != nil {
		return err
	}
	return expect(resp, http.StatusCreated)
}

// sampleRSS polls /proc/<pid>/status VmRSS every period until stop is
// called; highest returns the largest value seen, in bytes.
func sampleRSS(pid int, period time.Duration) (stop func(), highest func() int64) {
	var (
		mu   sync.Mutex
		peak int64
		wg   sync.WaitGroup
		once sync.Once
	)
	done := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	stop = func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
	highest = func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
	return stop, highest
}
