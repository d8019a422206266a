package metatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// testFlagRace models the export-policy rule meta's Update contract exists
// for: a registry's flag {"disabled":true} and its pipelines. Creating a
// pipeline reads the flag and refuses when it is set; disabling lists the
// pipelines and refuses when there are any. The invariant is "flag set =>
// zero pipelines", and the counts must match what the Updates returned.
//
// Each trial starts some creators together with the disabler (in odd
// trials, once one of them has finished) and holds the rest back until the
// disabler has read the pipeline list; the disabler then waits briefly for
// one of them to read the flag before it writes. A backend that serializes Updates makes the late creators wait
// and then refuse. A backend with plain snapshot isolation lets both sides
// read "nothing in the way" and commit (write skew), which breaks the
// invariant.
func testFlagRace(t *testing.T, s meta.Store) {
	const (
		trials   = 8
		creators = 20
		flagType = "X.Provider/registries/flags"
		pipeType = "X.Provider/registries/exportPipelines"
	)
	errRefused := errors.New("refused")
	type flag struct {
		Disabled bool `json:"disabled"`
	}
	outcomes := map[bool]int{}
	for trial := range trials {
		scope := fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/X.Provider/registries/r%d", trial)
		flagID := scope + "/flags/export"
		update(t, s, func(tx meta.Tx) error {
			return tx.PutResource(meta.Resource{ID: flagID, Type: flagType, Document: []byte(`{"disabled":false}`)})
		})

		early := trial * creators / trials // creators racing the disabler from the start: 0, 2, 5, ...
		start, disablerRead := make(chan struct{}), make(chan struct{})
		var once, firstOnce sync.Once
		firstDone := make(chan struct{}) // closed when a creator's Update has returned
		creatorRead := make(chan struct{}, creators)
		created := make(chan error, creators)
		var disableErr error
		var wg sync.WaitGroup
		for i := range creators {
			wg.Go(func() {
				<-start
				if i >= early {
					<-disablerRead
				}
				defer firstOnce.Do(func() { close(firstDone) })
				created <- s.Update(context.Background(), func(tx meta.Tx) error {
					r, err := tx.GetResource(flagID)
					if err != nil {
						return err
					}
					var f flag
					if err := json.Unmarshal(r.Document, &f); err != nil {
						return err
					}
					select {
					case creatorRead <- struct{}{}:
					default:
					}
					if f.Disabled {
						return errRefused
					}
					id := fmt.Sprintf("%s/exportPipelines/p%d", scope, i)
					return tx.PutResource(meta.Resource{ID: id, Type: pipeType, Document: []byte("{}")})
				})
			})
		}
		wg.Go(func() {
			<-start
			if trial%2 == 1 && early > 0 { // odd trials: an early creator goes first, so disabling must refuse
				<-firstDone
			}
			disableErr = s.Update(context.Background(), func(tx meta.Tx) error {
				ps, err := tx.ListResources(scope, pipeType, meta.Page{Limit: 1})
				if err != nil {
					return err
				}
				once.Do(func() { close(disablerRead) })
				select { // fn may run again on a retry: never block for good
				case <-creatorRead:
				case <-time.After(20 * time.Millisecond):
				}
				if len(ps) > 0 {
					return errRefused
				}
				return tx.PutResource(meta.Resource{ID: flagID, Type: flagType, Document: []byte(`{"disabled":true}`)})
			})
		})
		close(start)
		wg.Wait()
		close(created)

		succeeded := 0
		for err := range created {
			switch {
			case err == nil:
				succeeded++
			case !errors.Is(err, errRefused):
				t.Fatalf("trial %d: create pipeline: %v", trial, err)
			}
		}
		if disableErr != nil && !errors.Is(disableErr, errRefused) {
			t.Fatalf("trial %d: disable: %v", trial, disableErr)
		}
		view(t, s, func(tx meta.Tx) error {
			r, err := tx.GetResource(flagID)
			wantNoErr(t, "flag", err)
			var f flag
			wantNoErr(t, "flag document", json.Unmarshal(r.Document, &f))
			ps, err := tx.ListResources(scope, pipeType, meta.Page{})
			wantNoErr(t, "pipelines", err)
			if f.Disabled && len(ps) != 0 {
				t.Fatalf("trial %d: flag set with %d pipelines", trial, len(ps))
			}
			if f.Disabled != (disableErr == nil) {
				t.Fatalf("trial %d: disable returned %v but the flag is %v", trial, disableErr, f.Disabled)
			}
			if len(ps) != succeeded {
				t.Fatalf("trial %d: %d creates succeeded but %d pipelines exist", trial, succeeded, len(ps))
			}
			outcomes[f.Disabled]++
			return nil
		})
	}
	t.Logf("outcomes over %d trials: disabled %d, pipelines created %d", trials, outcomes[true], outcomes[false])
}
