// Package signin guards the checks of secrets: service principals' client
// secrets, repository tokens' passwords and registries' admin passwords,
// wherever a client presents one (the token service's client-credentials
// endpoint; HTTP Basic on the data plane, directly or through its
// /oauth2/token).
//
// A wrong secret costs a bcrypt comparison, about 50 ms of CPU, so
// unthrottled guesses are both a brute-force oracle and a way to saturate
// the server's cores. A Guard limits both:
//
//   - Failed sign-ins are counted in token buckets, per (principal, source
//     address) and per source address. When either is empty, a sign-in is
//     refused before any secret is checked (*Throttled, 429 with
//     Retry-After). The principal's budget is keyed by address too, so that
//     someone else's failures from another address never lock a principal
//     out; the address's own budget stops one address from spreading its
//     guesses over many principals. IPv6 addresses count per /64, which one
//     client usually holds whole.
//   - Secret checks run in a bounded number of slots; a check waits for one
//     with its request's context, and when too many already wait it is shed
//     (*Throttled with Busy, 503 with Retry-After).
//
// The attempt is charged before the check runs, so a burst of concurrent
// guesses cannot all pass the gate before the first failure is counted; a
// success, or a check that failed for another reason than the credentials
// (a store fault, a client that went away), is refunded. A throttled
// sign-in is not checked at all: a correct secret is refused like a wrong
// one until the budget refills, so the refusal tells a guesser nothing.
//
// The counters live in memory, bounded by Options.MaxKeys; each node of a
// scale-out keeps its own.
package signin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// Options tune a Guard. The zero value is valid; each field documents its
// default.
type Options struct {
	// PrincipalBurst is how many failed sign-ins one principal may have from
	// one address before it is throttled, and PrincipalEvery how often one
	// more is allowed after that. Default 10 (Entra's smart lockout
	// threshold), and one every 6 s (10 a minute).
	PrincipalBurst int
	PrincipalEvery time.Duration
	// AddressBurst and AddressEvery are the same for all principals from one
	// address together. Default 30, and one every 2 s (30 a minute).
	AddressBurst int
	AddressEvery time.Duration
	// MaxKeys bounds the counters kept. Counters that have refilled are
	// dropped first; past the bound, arbitrary ones (which forgives some
	// failures, and never blocks anyone). Default 50,000 (a few MB).
	MaxKeys int
	// Checks bounds the secret checks that run at once. Default half of
	// GOMAXPROCS, at least one, so that sign-ins never take every core.
	Checks int
	// Queue bounds the checks that wait for a slot; more are shed. Default
	// 16 per slot (under a second of waiting at 50 ms a check).
	Queue int
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Throttled refuses a sign-in without checking its secret. It unwraps to
// errdef.ErrUnavailable, so a plane without a row for it still answers a
// 503 rather than a 401 or a 500.
type Throttled struct {
	// RetryAfter is when the client may try again.
	RetryAfter time.Duration
	// Busy is set when too many checks were waiting (the server is
	// saturated), rather than too many failures from this client.
	Busy bool
}

func (e *Throttled) Error() string {
	if e.Busy {
		return fmt.Sprintf("too many sign-ins are being checked; retry after %d s", e.Seconds())
	}
	return fmt.Sprintf("too many failed sign-ins; retry after %d s", e.Seconds())
}

// Unwrap classifies the refusal.
func (e *Throttled) Unwrap() error { return errdef.ErrUnavailable }

// Seconds is RetryAfter in whole seconds, rounded up, at least 1: the
// value of a Retry-After header.
func (e *Throttled) Seconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// key names one counter: a principal's from an address, or (principal
// zero, all set) the address's own.
type key struct {
	principal [16]byte
	all       bool
	addr      netip.Prefix
}

// bucket holds the failures still allowed (tokens) as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

// Guard throttles failed sign-ins and bounds concurrent secret checks.
// Safe for concurrent use.
type Guard struct {
	o       Options
	slots   chan struct{}
	waiting atomic.Int64

	mu      sync.Mutex
	buckets map[key]bucket
}

// New returns a Guard with o's limits (defaults for zero fields).
func New(o Options) *Guard {
	if o.PrincipalBurst <= 0 {
		o.PrincipalBurst = 10
	}
	if o.PrincipalEvery <= 0 {
		o.PrincipalEvery = 6 * time.Second
	}
	if o.AddressBurst <= 0 {
		o.AddressBurst = 30
	}
	if o.AddressEvery <= 0 {
		o.AddressEvery = 2 * time.Second
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 50000
	}
	if o.Checks <= 0 {
		o.Checks = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if o.Queue <= 0 {
		o.Queue = 16 * o.Checks
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Guard{o: o, slots: make(chan struct{}, o.Checks), buckets: map[key]bucket{}}
}

// Attempt runs check, the whole sign-in of principal (as the client named
// it: a client id, a token or registry name) from addr, unless their
// budget of failures is spent, in which case it returns a *Throttled and
// check does not run. A check that returns an error wrapping
// errdef.ErrUnauthenticated is a failure and stays charged; anything else
// is refunded. Attempt returns check's error.
func (g *Guard) Attempt(principal string, addr netip.Addr, check func() error) error {
	pk, ak := keysFor(principal, addr)
	if wait, ok := g.take(pk, ak); !ok {
		return &Throttled{RetryAfter: wait}
	}
	err := check()
	if !failed(err) {
		g.refund(pk, ak)
	}
	return err
}

// failed reports whether err says the credentials were wrong, as opposed
// to a success, a refusal of the guard itself, a store fault or a client
// that went away.
func failed(err error) bool {
	var th *Throttled
	return errors.Is(err, errdef.ErrUnauthenticated) && !errors.As(err, &th) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// Check runs fn, a secret comparison, in one of the bounded slots. It
// waits for a slot while ctx lives (returning ctx's error when it ends),
// and sheds the check with a busy *Throttled when Options.Queue checks
// already wait.
func (g *Guard) Check(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > int64(g.o.Queue) {
			g.waiting.Add(-1)
			return &Throttled{RetryAfter: time.Second, Busy: true}
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// keysFor returns the counters of principal from addr and of addr: the
// principal folded to lower case (client ids, registry and token names
// are case-insensitive) and hashed to a fixed size, the address as its
// /32 (IPv4) or /64 (IPv6).
func keysFor(principal string, addr netip.Addr) (key, key) {
	addr = addr.Unmap()
	bits := 64
	if addr.Is4() {
		bits = 32
	}
	p, _ := addr.Prefix(bits) // the zero Addr gives the zero Prefix: one shared counter
	sum := sha256.Sum256([]byte(strings.ToLower(principal)))
	pk := key{addr: p}
	copy(pk.principal[:], sum[:])
	return pk, key{all: true, addr: p}
}

// take charges one failure to both counters, or to neither when either is
// empty, and then says how long until it has one again.
func (g *Guard) take(pk, ak key) (time.Duration, bool) {
	now := g.o.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	pb := g.refilled(pk, now, g.o.PrincipalBurst, g.o.PrincipalEvery)
	ab := g.refilled(ak, now, g.o.AddressBurst, g.o.AddressEvery)
	if pb.tokens < 1 || ab.tokens < 1 {
		wait := time.Duration(0)
		if pb.tokens < 1 {
			wait = time.Duration((1 - pb.tokens) * float64(g.o.PrincipalEvery))
		}
		if ab.tokens < 1 {
			wait = max(wait, time.Duration((1-ab.tokens)*float64(g.o.AddressEvery)))
		}
		return wait, false
	}
	pb.tokens--
	ab.tokens--
	g.store(pk, pb)
	g.store(ak, ab)
	return 0, true
}

// refund gives back a charge that turned out not to be a failure.
func (g *Guard) refund(pk, ak key) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range []struct {
		key
		burst int
	}{{pk, g.o.PrincipalBurst}, {ak, g.o.AddressBurst}} {
		if b, ok := g.buckets[k.key]; ok {
			b.tokens = min(float64(k.burst), b.tokens+1)
			g.buckets[k.key] = b
		}
	}
}

// refilled returns k's bucket as of now; g.mu must be held.
func (g *Guard) refilled(k key, now time.Time, burst int, every time.Duration) bucket {
	b, ok := g.buckets[k]
	if !ok {
		return bucket{tokens: float64(burst), at: now}
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(burst), b.tokens+float64(d)/float64(every))
		b.at = now
	}
	return b
}

// store keeps b under k, making room when the table is full: first by
// dropping counters that have refilled (they hold nothing), then
// arbitrary ones. g.mu must be held.
func (g *Guard) store(k key, b bucket) {
	if _, ok := g.buckets[k]; !ok && len(g.buckets) >= g.o.MaxKeys {
		now := g.o.Now()
		for old, ob := range g.buckets {
			burst, every := g.o.PrincipalBurst, g.o.PrincipalEvery
			if old.all {
				burst, every = g.o.AddressBurst, g.o.AddressEvery
			}
			if g.refilledAt(ob, now, burst, every) >= float64(burst) {
				delete(g.buckets, old)
			}
		}
		for old := range g.buckets {
			if len(g.buckets) < g.o.MaxKeys*9/10 {
				break
			}
			delete(g.buckets, old)
		}
	}
	g.buckets[k] = b
}

func (g *Guard) refilledAt(b bucket, now time.Time, burst int, every time.Duration) float64 {
	return min(float64(burst), b.tokens+float64(now.Sub(b.at))/float64(every))
}

// Waiting is the number of checks waiting for a slot, for tests and
// metrics.
func (g *Guard) Waiting() int { return int(g.waiting.Load()) }

// Len is the number of counters kept, for tests and metrics.
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.buckets)
}
