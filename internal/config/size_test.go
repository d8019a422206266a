package config

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "512B": 512, "1k": 1000, "2KB": 2000, "1KiB": 1 << 10, "3MiB": 3 << 20, "1 GiB": 1 << 30,
		"1gib": 1 << 30, "2GB": 2e9, "1TiB": 1 << 40, "1.5GiB": 3 << 29,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1XB", "GiB", "1e3", "10000000000TiB", "1..5GB", "NaN"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// --min-free-space is the readiness threshold: 1 GiB unless set, 0 turns
// the check off, a bad value is reported with the flag's name.
func TestMinFreeSpace(t *testing.T) {
	c, err := load(t, nil, "--data", t.TempDir())
	if err != nil || c.MinFreeSpace != 1<<30 {
		t.Errorf("default: %v %v, want 1 GiB", c, err)
	}
	if c, err = load(t, env{"BULKHEAD_MIN_FREE_SPACE": "256MiB"}, "--data", t.TempDir()); err != nil || c.MinFreeSpace != 256<<20 {
		t.Errorf("env: %v %v", c, err)
	}
	if c, err = load(t, env{"BULKHEAD_MIN_FREE_SPACE": "256MiB"}, "--data", t.TempDir(), "--min-free-space", "0"); err != nil || c.MinFreeSpace != 0 {
		t.Errorf("flag wins and 0 turns the check off: %v %v", c, err)
	}
	if _, err := load(t, nil, "--data", t.TempDir(), "--min-free-space", "lots"); err == nil || !strings.Contains(err.Error(), "--min-free-space") {
		t.Errorf("bad value: %v", err)
	}
}
