package server

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/bulkhead-registry/bulkhead/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// volume is a local directory the server writes to. Its filesystem's free
// space is a metric and a readiness check: a full disk fails pushes (503)
// long before anything else notices.
type volume struct {
	name string // data, content or meta: the metric's volume label
	path string
}

// volumes lists the local directories cfg writes to: the data directory
// (keys, TLS, bootstrap), the fs content store and the SQLite database's
// directory. Drivers that keep nothing on local disk add none.
func volumes(cfg *config.Config) []volume {
	vs := []volume{{"data", cfg.DataDir}}
	if cfg.Content.Driver == config.ContentFS {
		vs = append(vs, volume{"content", cfg.Content.FSRoot})
	}
	if cfg.Meta.Driver == config.MetaSQLite {
		vs = append(vs, volume{"meta", filepath.Dir(cfg.Meta.SQLitePath)})
	}
	return vs
}

// spaceCollector exports each volume's free and total bytes, read with
// statfs at scrape time (a cheap call, so no cache to go stale).
type spaceCollector struct {
	vols       []volume
	free, size *prometheus.Desc
}

func newSpaceCollector(vols []volume) *spaceCollector {
	return &spaceCollector{
		vols: vols,
		free: prometheus.NewDesc("bulkhead_storage_free_bytes",
			"Bytes available to the server on the filesystem of a local storage volume (statfs f_bavail).", []string{"volume"}, nil),
		size: prometheus.NewDesc("bulkhead_storage_size_bytes",
			"Total bytes of the filesystem of a local storage volume.", []string{"volume"}, nil),
	}
}

func (c *spaceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.free
	ch <- c.size
}

func (c *spaceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.vols {
		free, size, err := diskSpace(v.path)
		if err != nil {
			continue // unsupported here, or the directory is gone: no sample
		}
		ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(free), v.name)
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(size), v.name)
	}
}

// lowSpace reports every volume with less than minFree bytes available, or
// whose space cannot be read, in one error for GET /readyz (which anyone
// may call, so it names volumes, not paths); nil when all have room or
// minFree is 0 (the check is off).
func lowSpace(vols []volume, minFree int64) error {
	if minFree <= 0 {
		return nil
	}
	var errs []error
	for _, v := range vols {
		free, _, err := diskSpace(v.path)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
		case err != nil:
			errs = append(errs, fmt.Errorf("volume %s: reading its free space: %w", v.name, err))
		case free < minFree:
			errs = append(errs, fmt.Errorf("volume %s: %s free, below --min-free-space %s", v.name, bytesIEC(free), bytesIEC(minFree)))
		}
	}
	return errors.Join(errs...)
}

// bytesIEC formats n for people: 1.5 GiB.
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
