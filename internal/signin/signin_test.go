package signin_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/signin"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	errWrong = fmt.Errorf("invalid client credentials: %w", errdef.ErrUnauthenticated)
	a        = netip.MustParseAddr("192.0.2.1")
	b        = netip.MustParseAddr("198.51.100.7")
)

func fail() error { return errWrong }
func ok() error   { return nil }

// throttled reports whether err is a *Throttled (and not Busy).
func throttled(err error) bool {
	th, ok := errors.AsType[*signin.Throttled](err)
	return ok && !th.Busy && th.RetryAfter > 0 && th.Seconds() >= 1 && errors.Is(err, errdef.ErrUnavailable)
}

// A principal's failures from one address are throttled after the burst
// and refill with time; the same principal from another address, and a
// success, are not held back by them.
func TestPrincipalFromAddress(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := signin.New(signin.Options{PrincipalBurst: 3, PrincipalEvery: 10 * time.Second, AddressBurst: 100, AddressEvery: time.Second, Now: c.Now})
	for i := range 3 {
		if err := g.Attempt("app", a, fail); err != errWrong {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	ran := false
	err := g.Attempt("APP", a, func() error { ran = true; return nil })
	if !throttled(err) || ran {
		t.Fatalf("fourth attempt (right secret, other casing): ran %v, %v", ran, err)
	}
	if th, _ := errors.AsType[*signin.Throttled](err); th.Seconds() != 10 {
		t.Fatalf("Retry-After %d s, want 10", th.Seconds())
	}
	if err := g.Attempt("app", b, ok); err != nil {
		t.Fatalf("the owner from another address: %v", err)
	}
	if err := g.Attempt("other", a, ok); err != nil {
		t.Fatalf("another principal from the address: %v", err)
	}
	c.Advance(10 * time.Second)
	if err := g.Attempt("app", a, ok); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
	// That success was refunded: one failure more is still allowed.
	if err := g.Attempt("app", a, fail); err != errWrong {
		t.Fatalf("a failure after a refunded success: %v", err)
	}
	if err := g.Attempt("app", a, fail); !throttled(err) {
		t.Fatalf("then throttled again: %v", err)
	}
}

// One address spreading its guesses over many principals is throttled
// as an address; other addresses are not, and IPv6 counts per /64.
func TestAddress(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := signin.New(signin.Options{PrincipalBurst: 5, AddressBurst: 10, AddressEvery: 2 * time.Second, Now: c.Now})
	for i := range 10 {
		if err := g.Attempt(fmt.Sprint("p", i), a, fail); err != errWrong {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if err := g.Attempt("fresh", a, ok); !throttled(err) {
		t.Fatalf("eleventh principal from the address: %v", err)
	}
	if err := g.Attempt("p1", b, ok); err != nil {
		t.Fatalf("another address: %v", err)
	}
	v6 := netip.MustParseAddr("2001:db8:1:2::1")
	for i := range 10 {
		g.Attempt(fmt.Sprint("q", i), netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+2)), fail)
	}
	if err := g.Attempt("q", v6, ok); !throttled(err) {
		t.Fatalf("another address of the same /64: %v", err)
	}
	if err := g.Attempt("q", netip.MustParseAddr("2001:db8:1:3::1"), ok); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	if err := g.Attempt("q", netip.MustParseAddr("::ffff:192.0.2.1"), ok); !throttled(err) {
		t.Fatalf("a v4-mapped address is its IPv4 address: %v", err)
	}
}

// Only wrong credentials are failures: a store fault, a client that went
// away or the guard's own refusal is refunded.
func TestOnlyWrongCredentialsCount(t *testing.T) {
	g := signin.New(signin.Options{PrincipalBurst: 1})
	for _, err := range []error{
		errors.New("sqlite: disk I/O error"), fmt.Errorf("look up: %w", context.Canceled),
		errors.Join(errWrong, context.Canceled), &signin.Throttled{Busy: true, RetryAfter: time.Second},
	} {
		if got := g.Attempt("app", a, func() error { return err }); got != err {
			t.Fatalf("Attempt returned %v, want %v", got, err)
		}
	}
	if err := g.Attempt("app", a, fail); err != errWrong {
		t.Fatalf("the one failure of the burst: %v", err)
	}
	if err := g.Attempt("app", a, ok); !throttled(err) {
		t.Fatalf("after it: %v", err)
	}
}

// A burst of concurrent guesses cannot all pass before the first failure
// is counted: each is charged before its check runs.
func TestConcurrentGuesses(t *testing.T) {
	g := signin.New(signin.Options{PrincipalBurst: 5, AddressBurst: 100})
	var checked atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			g.Attempt("app", a, func() error { checked.Add(1); time.Sleep(time.Millisecond); return errWrong })
		})
	}
	wg.Wait()
	if n := checked.Load(); n != 5 {
		t.Fatalf("%d of 200 concurrent guesses were checked, want 5", n)
	}
}

// The counters stay bounded however many keys come by.
func TestBounded(t *testing.T) {
	g := signin.New(signin.Options{MaxKeys: 1000})
	for i := range 20000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.Attempt(fmt.Sprint("p", i), addr, fail)
	}
	if n := g.Len(); n > 1000 {
		t.Fatalf("%d counters kept, bound 1000", n)
	}
}

// At most Checks secret checks run at once; waiting ones give up with
// their context, and past Queue waiting ones are shed.
func TestCheckSlots(t *testing.T) {
	g := signin.New(signin.Options{Checks: 2, Queue: 3})
	release := make(chan struct{})
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	results := make(chan error, 10)
	for range 5 {
		wg.Go(func() {
			results <- g.Check(context.Background(), func() {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				running.Add(-1)
			})
		})
	}
	// Two run, three wait: the queue is full, and one more is shed.
	for deadline := time.Now().Add(10 * time.Second); running.Load() < 2 || g.Waiting() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d running, %d waiting", running.Load(), g.Waiting())
		}
		time.Sleep(time.Millisecond)
	}
	err := g.Check(context.Background(), func() { t.Error("a shed check ran") })
	if th, ok := errors.AsType[*signin.Throttled](err); !ok || !th.Busy || th.Seconds() != 1 {
		t.Fatalf("over the queue: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("a queued check: %v", err)
		}
	}
	if peak.Load() != 2 {
		t.Fatalf("%d checks ran at once, want 2", peak.Load())
	}
	// A check whose client went away while it waited does not run.
	hold := make(chan struct{})
	g2 := signin.New(signin.Options{Checks: 1})
	started := make(chan struct{})
	go g2.Check(context.Background(), func() { close(started); <-hold })
	<-started
	if err := g2.Check(ctx, func() { t.Error("ran after its context ended") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	close(hold)
}
