//go:build !(linux || darwin || freebsd)

package server

import "errors"

// diskSpace is not implemented on this platform: no space metrics, and
// the readiness check skips free space.
func diskSpace(string) (free, size int64, err error) { return 0, 0, errors.ErrUnsupported }
