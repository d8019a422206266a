//go:build linux || darwin || freebsd

package server

import "syscall"

// diskSpace returns the bytes available to this process (statfs f_bavail,
// which leaves out blocks reserved for root) and the total bytes of the
// filesystem holding path.
func diskSpace(path string) (free, size int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := int64(st.Bsize)
	return int64(st.Bavail) * bs, int64(st.Blocks) * bs, nil
}
