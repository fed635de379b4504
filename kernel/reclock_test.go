package kernel

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const eof = math.MaxInt64

func rd(owner int, start, end int64) recLock { return recLock{owner, lockRead, start, end} }
func wr(owner int, start, end int64) recLock { return recLock{owner, lockWrite, start, end} }
func un(owner int, start, end int64) recLock { return recLock{owner, lockNone, start, end} }

func TestSetLockMergesAndSplits(t *testing.T) {
	cases := []struct {
		name string
		ops  []recLock
		want []recLock
	}{
		{"overlapping-reads-merge", []recLock{rd(1, 0, 9), rd(1, 5, 19)}, []recLock{rd(1, 0, 19)}},
		{"touching-reads-merge", []recLock{rd(1, 0, 9), rd(1, 10, 19)}, []recLock{rd(1, 0, 19)}},
		{"touching-before-merges", []recLock{rd(1, 10, 19), rd(1, 0, 9)}, []recLock{rd(1, 0, 19)}},
		{"bridge-merges-three", []recLock{rd(1, 0, 4), rd(1, 10, 14), rd(1, 5, 9)}, []recLock{rd(1, 0, 14)}},
		{"gap-stays", []recLock{rd(1, 0, 9), rd(1, 11, 19)}, []recLock{rd(1, 0, 9), rd(1, 11, 19)}},
		{"write-splits-read", []recLock{rd(1, 0, 99), wr(1, 40, 59)}, []recLock{rd(1, 0, 39), wr(1, 40, 59), rd(1, 60, 99)}},
		{"touching-other-type-stays", []recLock{rd(1, 0, 9), wr(1, 10, 19)}, []recLock{rd(1, 0, 9), wr(1, 10, 19)}},
		{"unlock-makes-hole", []recLock{wr(1, 0, 99), un(1, 10, 19)}, []recLock{wr(1, 0, 9), wr(1, 20, 99)}},
		{"unlock-all", []recLock{wr(1, 0, 9), rd(1, 20, 29), un(1, 0, eof)}, []recLock{}},
		{"to-eof-replaces", []recLock{rd(1, 0, 9), wr(1, 20, 29), wr(1, 5, eof)}, []recLock{rd(1, 0, 4), wr(1, 5, eof)}},
		{"read-to-eof-then-more", []recLock{rd(1, 100, eof), rd(1, 0, 99)}, []recLock{rd(1, 0, eof)}},
		{"downgrade-in-middle", []recLock{wr(1, 0, 29), rd(1, 10, 19)}, []recLock{wr(1, 0, 9), rd(1, 10, 19), wr(1, 20, 29)}},
		{"other-owner-untouched", []recLock{rd(2, 0, 9), rd(1, 0, 9), un(1, 0, eof)}, []recLock{rd(2, 0, 9)}},
		{"other-owner-not-merged", []recLock{rd(2, 0, 9), rd(1, 10, 19)}, []recLock{rd(2, 0, 9), rd(1, 10, 19)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var locks []recLock
			for _, op := range c.ops {
				locks = setLock(locks, op)
			}
			assert.Equal(t, c.want, locks)
		})
	}
}

func TestConflictAndUnion(t *testing.T) {
	locks := []recLock{rd(1, 0, 9), rd(2, 5, 14), wr(3, 20, 29)}
	_, ok := conflict(locks, rd(4, 0, 19))
	assert.False(t, ok, "reads share")
	o, ok := conflict(locks, wr(4, 12, 12))
	assert.True(t, ok)
	assert.Equal(t, 2, o.owner)
	_, ok = conflict(locks, wr(3, 25, 25))
	assert.False(t, ok, "an owner's own lock is no conflict")
	_, ok = conflict(locks, rd(1, 29, eof))
	assert.True(t, ok, "a read meets a write")
	assert.Equal(t, []span{{0, 14, lockRead}, {15, 19, lockNone}, {20, 29, lockWrite}, {30, eof, lockNone}}, union(locks, 0, eof))
	assert.Equal(t, []span{{7, 8, lockRead}}, union(locks, 7, 8))
}

func TestDeadlockWalk(t *testing.T) {
	rl := newRecordLocks()
	rl.waiting[2] = 3
	rl.waiting[3] = 1
	assert.True(t, rl.deadlock(1, 2), "1 → 2 → 3 → 1")
	assert.False(t, rl.deadlock(4, 2), "4 is in no cycle")
	for i := 10; i < 30; i++ {
		rl.waiting[i] = i + 1
	}
	assert.False(t, rl.deadlock(30, 10), "a chain longer than the walk is not followed")
}

// The union of the guest's locks is held on the host, so other host processes (here, an
// OFD lock of the test's own) are kept out, and a lock the host refuses changes nothing.
func TestRecordLocksOnHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o644))
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(fd, &st))
	id := fileID{st.Dev, st.Ino}
	other, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(other)

	rl := newRecordLocks()
	rl.mu.Lock()
	require.NoError(t, rl.apply(id, rl.file(id, fd), wr(1, 0, 9)))
	rl.mu.Unlock()
	probe := unix.Flock_t{Type: unix.F_WRLCK, Start: 5, Len: 1}
	require.NoError(t, unix.FcntlFlock(uintptr(other), unix.F_OFD_GETLK, &probe))
	assert.Equal(t, int16(unix.F_WRLCK), probe.Type, "the host sees the guest's lock")

	held := unix.Flock_t{Type: unix.F_RDLCK, Start: 20, Len: 5}
	require.NoError(t, unix.FcntlFlock(uintptr(other), unix.F_OFD_SETLK, &held))
	rl.mu.Lock()
	err = rl.apply(id, rl.file(id, fd), wr(2, 15, 29))
	locks := append([]recLock(nil), rl.files[id].locks...)
	rl.mu.Unlock()
	assert.Equal(t, unix.EAGAIN, err)
	assert.Equal(t, []recLock{wr(1, 0, 9)}, locks, "a refused lock leaves the table as it was")

	rl.releaseOwner(1)
	assert.Empty(t, rl.files, "no locks, no entry (and no host descriptor)")
	probe = unix.Flock_t{Type: unix.F_WRLCK, Start: 5, Len: 1}
	require.NoError(t, unix.FcntlFlock(uintptr(other), unix.F_OFD_GETLK, &probe))
	assert.Equal(t, int16(unix.F_UNLCK), probe.Type, "released on the host too")
}

// A guest that makes more locks than the table holds gets ENOLCK, not vemu's memory.
func TestRecordLocksBounded(t *testing.T) {
	rl := newRecordLocks()
	id := fileID{1, 2}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	lf := &lockedFile{hostFd: -1, changed: make(chan struct{})}
	rl.files[id] = lf
	var err error
	for i := int64(0); i < maxFileLocks+10 && err == nil; i++ {
		err = rl.apply(id, lf, rd(1, 2*i, 2*i))
	}
	assert.Equal(t, unix.ENOLCK, err)
	assert.Equal(t, maxFileLocks, rl.count)
	assert.NoError(t, rl.apply(id, lf, un(1, 0, 0)), "unlocking is never refused")
	assert.NoError(t, rl.apply(id, lf, rd(1, 1, 1)), "a merge does not add")
}
