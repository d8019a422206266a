package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	mib = 1 << 20
	gib = 1 << 30

	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	manifestTag = "bench-v1"
)

// loadID names a row group of the report.
type loadID int

// The loads, in report order.
const (
	pushSmall       loadID = iota // 1 MiB pushes, 4 writers
	pushLarge                     // 16 MiB pushes, 4 writers
	pullSmall                     // 1 MiB blob GETs, 8 readers (wrk)
	pullHuge                      // 64 MiB blob GETs, 1 reader
	pullHugeDiscard               // the same, body dropped in the client's kernel
	manifestGet                   // manifest GET by tag, 8 readers (wrk)
	pushGiant                     // one 1 GiB chunked push; peak RSS
	numLoads
)

// load is one benchmark, run the same way against each target.
type load struct {
	id   loadID
	name string
	run  func(ctx context.Context, t *target, fx fixtures) measurement
}

// measurement is what one load measured on one target.
type measurement struct {
	ops       int
	elapsed   time.Duration
	bytes     int64 // payload bytes moved
	opsPerSec float64
	mbPerSec  float64 // payload, 10^6 bytes per second
	p50, p99  time.Duration
	peakRSS   int64  // bytes; pushGiant only
	note      string // how the figure was taken, warnings
	err       error
}

// summary is the one-line progress form of m.
func (m measurement) summary() string {
	if m.peakRSS > 0 {
		return fmt.Sprintf("%.1f MB/s, peak RSS %.1f MiB (%s)", m.mbPerSec, float64(m.peakRSS)/mib, m.note)
	}
	s := fmt.Sprintf("%d ops in %v: %.1f ops/s", m.ops, m.elapsed.Round(time.Millisecond), m.opsPerSec)
	if m.bytes > 0 {
		s += fmt.Sprintf(", %.1f MB/s", m.mbPerSec)
	}
	s += fmt.Sprintf(", p50 %v, p99 %v", m.p50.Round(time.Microsecond), m.p99.Round(time.Microsecond))
	if m.note != "" {
		s += " (" + m.note + ")"
	}
	return s
}

// fixtures are the objects the pull loads read, pushed once per target.
type fixtures struct {
	blob1MiB, blob64MiB string // digests
}

// loadTable lists the loads with the concurrency the brief fixes.
func loadTable(o options) []load {
	return []load{
		{pushSmall, "push 1 MiB blobs, 4 writers", func(ctx context.Context, t *target, _ fixtures) measurement {
			return pushLoad(ctx, t, mib, 4, o.duration)
		}},
		{pushLarge, "push 16 MiB blobs, 4 writers", func(ctx context.Context, t *target, _ fixtures) measurement {
			return pushLoad(ctx, t, 16*mib, 4, o.duration)
		}},
		{pullSmall, "pull a 1 MiB blob, 8 readers", func(ctx context.Context, t *target, fx fixtures) measurement {
			return getLoad(ctx, o, t, "/v2/"+t.repo+"/blobs/"+fx.blob1MiB, nil, 8, mib)
		}},
		{pullHuge, "pull a 64 MiB blob, 1 reader", func(ctx context.Context, t *target, fx fixtures) measurement {
			return goGetLoad(ctx, t, "/v2/"+t.repo+"/blobs/"+fx.blob64MiB, nil, 1, o.duration, 64*mib)
		}},
		{pullHugeDiscard, "pull a 64 MiB blob, 1 reader, body dropped in the kernel", func(ctx context.Context, t *target, fx fixtures) measurement {
			return discardGetLoad(ctx, t, "/v2/"+t.repo+"/blobs/"+fx.blob64MiB, 1, o.duration, 64*mib)
		}},
		{manifestGet, "GET manifest by tag, 8 readers", func(ctx context.Context, t *target, _ fixtures) measurement {
			return getLoad(ctx, o, t, "/v2/"+t.repo+"/manifests/"+manifestTag, http.Header{"Accept": {ociManifest}}, 8, -1)
		}},
		{pushGiant, "push a 1 GiB blob in 64 MiB PATCH chunks", func(ctx context.Context, t *target, _ fixtures) measurement {
			return giantPush(ctx, t, gib, 64*mib)
		}},
	}
}

// getLoad runs a GET load with wrk (-t2, c connections) when available,
// else with the Go client.
func getLoad(ctx context.Context, o options, t *target, path string, hdr http.Header, conns int, size int64) measurement {
	if err := checkGet(ctx, t, path, hdr, size); err != nil {
		return measurement{err: err}
	}
	if o.wrkBin == "" {
		m := goGetLoad(ctx, t, path, hdr, conns, o.duration, size)
		m.note = "wrk missing: measured with the Go client"
		return m
	}
	return wrkLoad(ctx, o, t, path, hdr, conns, size)
}

// do sends a data-plane request with the target's auth header. A nil body
// is sent as an empty one; size is the body's Content-Length.
func (t *target) do(ctx context.Context, method, rawURL string, body io.Reader, size int64, hdr http.Header) (*http.Response, error) {
	if body == nil {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if t.auth != "" {
		req.Header.Set("Authorization", t.auth)
	}
	return t.client.Do(req)
}

// expect drains and closes resp and fails unless its status is want.
func expect(resp *http.Response, want int) error {
	defer resp.Body.Close()
	if resp.StatusCode == want {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Errorf("%s %s: %s, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status, want, bytes.TrimSpace(b))
}

// withDigest appends the digest parameter to an upload Location, which
// may already carry a query (docker-registry's _state) or not (Bulkhead).
func withDigest(loc, dgst string) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + "digest=" + dgst
}

// startUpload opens an upload session and returns its absolute Location.
func (t *target) startUpload(ctx context.Context) (string, error) {
	resp, err := t.do(ctx, http.MethodPost, t.url("/v2/"+t.repo+"/blobs/uploads/"), nil, 0, nil)
	if err != nil {
		return "", err
	}
	if err := expect(resp, http.StatusAccepted); err != nil {
		return "", err
	}
	return t.resolve(resp.Header.Get("Location"))
}

// pushBlob uploads one blob the way docker and containerd do for layers
// that fit one request: POST a session, then PUT the bytes with ?digest.
func (t *target) pushBlob(ctx context.Context, body io.Reader, size int64, dgst string) error {
	loc, err := t.startUpload(ctx)
	if err != nil {
		return err
	}
	resp, err := t.do(ctx, http.MethodPut, withDigest(loc, dgst), body, size, http.Header{"Content-Type": {"application/octet-stream"}})
	if err != nil {
		return err
	}
	return expect(resp, http.StatusCreated)
}

// pushBytes pushes b and returns its digest.
func (t *target) pushBytes(ctx context.Context, b []byte) (string, error) {
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
	return d, t.pushBlob(ctx, bytes.NewReader(b), int64(len(b)), d)
}

// setupFixtures pushes the blobs the pull loads read and a small OCI image
// manifest (config + one layer) tagged manifestTag, and checks that each
// reads back.
func setupFixtures(ctx context.Context, t *target) (fixtures, error) {
	var fx fixtures
	var err error
	if fx.blob1MiB, err = t.pushBytes(ctx, randomBytes(mib)); err != nil {
		return fx, err
	}
	if fx.blob64MiB, err = t.pushBytes(ctx, randomBytes(64*mib)); err != nil {
		return fx, err
	}
	layer := randomBytes(4096)
	layerDigest, err := t.pushBytes(ctx, layer)
	if err != nil {
		return fx, err
	}
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%q]}}`, layerDigest))
	configDigest, err := t.pushBytes(ctx, config)
	if err != nil {
		return fx, err
	}
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		ociManifest, configDigest, len(config), layerDigest, len(layer)))
	resp, err := t.do(ctx, http.MethodPut, t.url("/v2/"+t.repo+"/manifests/"+manifestTag), bytes.NewReader(manifest),
		int64(len(manifest)), http.Header{"Content-Type": {ociManifest}})
	if err != nil {
		return fx, err
	}
	if err := expect(resp, http.StatusCreated); err != nil {
		return fx, err
	}
	for path, size := range map[string]int64{"/blobs/" + fx.blob1MiB: mib, "/blobs/" + fx.blob64MiB: 64 * mib, "/manifests/" + manifestTag: int64(len(manifest))} {
		if err := checkGet(ctx, t, "/v2/"+t.repo+path, http.Header{"Accept": {ociManifest}}, size); err != nil {
			return fx, err
		}
	}
	return fx, nil
}

// checkGet fetches path once and fails unless it answers 200 with size
// bytes (any size when size < 0); it proves auth and fixtures before a load.
func checkGet(ctx context.Context, t *target, path string, hdr http.Header, size int64) error {
	resp, err := t.do(ctx, http.MethodGet, t.url(path), nil, 0, hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err != nil || size >= 0 && n != size {
		return fmt.Errorf("GET %s: read %d bytes, want %d (%v)", path, n, size, err)
	}
	return nil
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// worker is one load goroutine's loop body: it performs one operation and
// returns the payload bytes it moved.
type worker func(ctx context.Context, w, i int) (int64, error)

// runWorkers runs n workers that start operations until d has passed,
// timing each operation, and aggregates the figures. The first error stops
// the load.
func runWorkers(ctx context.Context, n int, d time.Duration, op worker) measurement {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		total int64
		first error
		wg    sync.WaitGroup
	)
	begin := time.Now()
	for w := range n {
		wg.Go(func() {
			var mine []time.Duration
			var moved int64
			for i := 0; time.Since(begin) < d && ctx.Err() == nil; i++ {
				t0 := time.Now()
				b, err := op(ctx, w, i)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					break
				}
				mine = append(mine, time.Since(t0))
				moved += b
			}
			mu.Lock()
			lat = append(lat, mine...)
			total += moved
			mu.Unlock()
		})
	}
	wg.Wait()
	m := measurement{elapsed: time.Since(begin), ops: len(lat), bytes: total, err: first}
	if m.err == nil && len(lat) == 0 {
		m.err = fmt.Errorf("no operation completed")
	}
	m.finish(lat)
	return m
}

// finish derives rates and percentiles from the raw figures.
func (m *measurement) finish(lat []time.Duration) {
	if s := m.elapsed.Seconds(); s > 0 {
		m.opsPerSec = float64(m.ops) / s
		m.mbPerSec = float64(m.bytes) / s / 1e6
	}
	slices.Sort(lat)
	m.p50, m.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// pushLoad pushes unique blobs of size bytes from n writers for d. Every
// blob is a shared random body followed by a 32-byte unique tail (run
// nonce, writer, counter), so no two pushes share a digest. The digest is
// computed from a saved SHA-256 state of the shared body plus the tail, so
// the client spends no time hashing and needs no per-op buffers.
func pushLoad(ctx context.Context, t *target, size int64, n int, d time.Duration) measurement {
	body := randomBytes(int(size) - 32)
	h := sha256.New()
	h.Write(body)
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return measurement{err: err}
	}
	nonce := randomBytes(16)
	return runWorkers(ctx, n, d, func(ctx context.Context, w, i int) (int64, error) {
		tail := make([]byte, 32)
		copy(tail, nonce)
		binary.BigEndian.PutUint64(tail[16:], uint64(w))
		binary.BigEndian.PutUint64(tail[24:], uint64(i))
		th := sha256.New()
		if err := th.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
			return 0, err
		}
		th.Write(tail)
		dgst := "sha256:" + hex.EncodeToString(th.Sum(nil))
		r := io.MultiReader(bytes.NewReader(body), bytes.NewReader(tail))
		return size, t.pushBlob(ctx, r, size, dgst)
	})
}

// goGetLoad GETs path from n concurrent readers for d, reading each body
// through a 1 MiB buffer into nothing. size < 0 accepts any length.
func goGetLoad(ctx context.Context, t *target, path string, hdr http.Header, n int, d time.Duration, size int64) measurement {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, mib)
	}
	u := t.url(path)
	return runWorkers(ctx, n, d, func(ctx context.Context, w, _ int) (int64, error) {
		resp, err := t.do(ctx, http.MethodGet, u, nil, 0, hdr)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var got int64
		for {
			k, err := resp.Body.Read(bufs[w])
			got += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				return got, err
			}
		}
		if resp.StatusCode != http.StatusOK || size >= 0 && got != size {
			return got, fmt.Errorf("GET %s: %s, %d bytes", path, resp.Status, got)
		}
		return got, nil
	})
}
