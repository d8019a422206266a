package metatest

import (
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/meta"
)

// testEgress: counts add up per (registry, day, channel, identity), a
// registry sees only its own, days before "since" are left out, purge
// removes old days, and deleting a registry takes its totals with it.
func testEgress(t *testing.T, s meta.Store) {
	a, b := registry("ka", "egressa", "sub-1", "rg"), registry("kb", "egressb", "sub-1", "rg")
	update(t, s, func(tx meta.Tx) error {
		if err := tx.CreateRegistry(a); err != nil {
			return err
		}
		return tx.CreateRegistry(b)
	})
	update(t, s, func(tx meta.Tx) error {
		return tx.AddEgress([]meta.EgressCount{
			{RegistryKey: a.Key, Day: "2026-12-01", Channel: "pullPublic", Identity: "sp1", Bytes: 10, Artifacts: 1, Attempts: 1},
			{RegistryKey: a.Key, Day: "2026-12-02", Channel: "pullPublic", Identity: "sp1", Bytes: 5, Artifacts: 1, Attempts: 1},
			{RegistryKey: b.Key, Day: "2026-12-02", Channel: "importSource", Identity: "sp2", Bytes: 7, Artifacts: 1, Attempts: 1},
		})
	})
	update(t, s, func(tx meta.Tx) error {
		return tx.AddEgress([]meta.EgressCount{{RegistryKey: a.Key, Day: "2026-12-02", Channel: "pullPublic", Identity: "sp1", Bytes: 3, Attempts: 1}})
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.EgressTotals(a.Key, "2026-12-02")
		if err != nil {
			return err
		}
		want := meta.EgressCount{RegistryKey: a.Key, Day: "2026-12-02", Channel: "pullPublic", Identity: "sp1", Bytes: 8, Artifacts: 1, Attempts: 2}
		if len(got) != 1 || got[0] != want {
			t.Errorf("totals of a since 12-02 = %+v, want [%+v]", got, want)
		}
		all, err := tx.EgressTotals(a.Key, "")
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].Day != "2026-12-01" {
			t.Errorf("all totals of a = %+v, want two days in order", all)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.PurgeEgress("2026-12-02") })
	update(t, s, func(tx meta.Tx) error { return tx.DeleteRegistry(b.Key) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.EgressTotals(a.Key, "")
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Day != "2026-12-02" {
			t.Errorf("after purge, totals of a = %+v, want only 12-02", got)
		}
		if got, _ := tx.EgressTotals(b.Key, ""); len(got) != 0 {
			t.Errorf("a deleted registry kept its totals: %+v", got)
		}
		return nil
	})
}
