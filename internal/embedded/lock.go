package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/idvbus/idvbus/internal/config"
)

// lockFile is the file in the store directory that one process at a time
// holds an flock on. Two nats-servers on one JetStream store corrupt each
// other's view of it (a second one made the first "rebuild" its filestore),
// and different ports do not stop that; the lock does.
const lockFile = "idvbus.lock"

// ErrStoreInUse is matched (errors.Is) by Start's error when another process
// holds the store directory.
var ErrStoreInUse = errors.New("is in use")

// dirLock is a held lock on a store directory.
type dirLock struct{ f *os.File }

// lockStore takes the lock on dir (created if missing) without waiting and
// writes this process's id into the lock file. The kernel drops an flock
// when its holder exits, however it exits (kill -9 included), so a stale lock
// file never blocks a start.
func lockStore(dir string) (*dirLock, error) {
	key := "nats.embedded.store_dir"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", key, config.EnvName(key), err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", key, config.EnvName(key), err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = "process " + strconv.Itoa(pid)
			}
		}
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s %w by %s (another idvbus?) — stop it, or give this one another %s (%s)",
				dir, ErrStoreInUse, holder, key, config.EnvName(key))
		}
		return nil, fmt.Errorf("%s (%s): lock %s: %w", key, config.EnvName(key), path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock. The file stays: removing it would let a process
// that opened it meanwhile lock a file no longer in the directory.
func (l *dirLock) release() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		_ = l.f.Close()
		l.f = nil
	}
}
