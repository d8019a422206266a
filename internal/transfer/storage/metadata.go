package storage

import (
	"fmt"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
)

// MaxMetadataSize is the most metadata one object may carry, keys and
// values added up: Azure's limit for blob metadata.
const MaxMetadataSize = 8 << 10

// CheckMetadata reports whether every backend can store md as given, so
// that an archive written to a directory can be copied to Azure unchanged.
// Azure sends metadata as HTTP headers (x-ms-meta-<key>) and folds their
// case, so a key is a lower-case identifier ([a-z_][a-z0-9_]*) and a value
// is printable ASCII without leading or trailing spaces. A violation wraps
// errdef.ErrInvalidArgument.
func CheckMetadata(md map[string]string) error {
	total := 0
	for k, v := range md {
		total += len(k) + len(v)
		if !metadataKey(k) {
			return fmt.Errorf("metadata key %q: want a lower-case identifier ([a-z_][a-z0-9_]*): %w", k, errdef.ErrInvalidArgument)
		}
		if !metadataValue(v) {
			return fmt.Errorf("metadata %s: the value must be printable ASCII without leading or trailing spaces: %w", k, errdef.ErrInvalidArgument)
		}
	}
	if total > MaxMetadataSize {
		return fmt.Errorf("metadata is %d bytes, more than %d: %w", total, MaxMetadataSize, errdef.ErrInvalidArgument)
	}
	return nil
}

func metadataKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func metadataValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return v == "" || (v[0] != ' ' && v[len(v)-1] != ' ')
}
