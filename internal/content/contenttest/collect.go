package contenttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/content"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/opencontainers/go-digest"
)

// collector returns s as a content.Collector or skips the test.
func collector(t *testing.T, s content.Store) content.Collector {
	c, ok := s.(content.Collector)
	if !ok {
		t.Skip("backend has no Collector")
	}
	return c
}

func testCollectorListsAndDeletes(t *testing.T, s content.Store) {
	c := collector(t, s)
	before := time.Now().Add(-time.Second)
	a := Put(t, s, "a", []byte("blob a"))
	b := Put(t, s, "b", []byte("blob bb"))
	seen := map[digest.Digest]int64{}
	err := c.Blobs(t.Context(), func(d digest.Digest, size int64, committed time.Time) error {
		if committed.Before(before) || committed.After(time.Now().Add(time.Second)) {
			t.Errorf("%s committed at %v, outside the test", d, committed)
		}
		seen[d] = size
		return nil
	})
	if err != nil || len(seen) != 2 || seen[a] != 6 || seen[b] != 7 {
		t.Fatalf("Blobs saw %v (%v)", seen, err)
	}
	stop := errors.New("stop")
	if err := c.Blobs(t.Context(), func(digest.Digest, int64, time.Time) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("an error from fn must stop the walk: %v", err)
	}
	// A cutoff before the commit keeps the blob; one after it deletes.
	if gone, err := c.DeleteIdle(t.Context(), a, before); err != nil || gone {
		t.Fatalf("DeleteIdle with an earlier cutoff: %v %v", gone, err)
	}
	if gone, err := c.DeleteIdle(t.Context(), a, time.Now().Add(time.Minute)); err != nil || !gone {
		t.Fatalf("DeleteIdle with a later cutoff: %v %v", gone, err)
	}
	if _, err := s.Stat(t.Context(), a); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("deleted blob still stored: %v", err)
	}
	if gone, err := c.DeleteIdle(t.Context(), a, time.Now().Add(time.Minute)); err != nil || gone {
		t.Fatalf("DeleteIdle of a missing blob: %v %v", gone, err)
	}
	mustRead(t, s, b, []byte("blob bb"))
}

// A duplicate commit marks the blob committed again, so a collector whose
// cutoff predates the duplicate keeps it.
func testCollectorDuplicateRefreshes(t *testing.T, s content.Store) {
	c := collector(t, s)
	d := Put(t, s, "first", []byte("shared bytes"))
	time.Sleep(20 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(20 * time.Millisecond)
	Put(t, s, "again", []byte("shared bytes"))
	if gone, err := c.DeleteIdle(t.Context(), d, cutoff); err != nil || gone {
		t.Fatalf("a blob committed again after the cutoff was deleted: %v %v", gone, err)
	}
	mustRead(t, s, d, []byte("shared bytes"))
}

// Collecting while the same content is committed again: after every commit
// returns, the blob is stored, whatever the interleaving.
func testCollectorRace(t *testing.T, s content.Store) {
	c := collector(t, s)
	body := []byte("raced content")
	d := Put(t, s, "seed", body)
	for round := range 50 {
		// Every earlier commit is idle by this cutoff; the one racing
		// the collector is not.
		cutoff := time.Now()
		var wg sync.WaitGroup
		wg.Add(2)
		var commitErr error
		go func() {
			defer wg.Done()
			w, err := s.Writer(t.Context(), fmt.Sprintf("race-%d", round))
			if err == nil {
				if _, err = w.Write(body); err == nil {
					err = w.Commit(t.Context(), int64(len(body)), d)
				}
			}
			commitErr = err
		}()
		go func() {
			defer wg.Done()
			c.DeleteIdle(t.Context(), d, cutoff)
		}()
		wg.Wait()
		if commitErr != nil {
			t.Fatal(commitErr)
		}
		if _, err := s.Stat(t.Context(), d); err != nil {
			t.Fatalf("round %d: blob missing after a commit returned: %v", round, err)
		}
	}
}
