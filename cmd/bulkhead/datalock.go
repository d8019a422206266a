package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in a data directory that a serving process holds an
// exclusive lock on.
const lockFile = "serve.lock"

// lockDir takes an exclusive advisory lock on dir for as long as the
// process lives (or until release). Two servers on one directory would
// both run garbage collection and sweep each other's uploads; scale-out
// nodes share PostgreSQL and an object store, never a directory. The lock
// file holds the owner's pid, for the message the second one prints. The
// kernel drops the lock when the process dies, so a crash leaves nothing
// to clean up.
func lockDir(dir, what string) (release func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			owner := "another process"
			if b, err := os.ReadFile(path); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					owner = fmt.Sprintf("bulkhead serve (pid %d)", pid)
				}
			}
			return nil, fmt.Errorf("%s %s is in use by %s: one server per directory; stop it, or give this one another --data", what, dir, owner)
		}
		return nil, fmt.Errorf("lock %s %s: %w", what, dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
