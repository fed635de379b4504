package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/emu"
)

// touch writes a byte to every step-th page of [start, start+n).
func touch(t *testing.T, s *Space, start Addr, n, step uint64) {
	t.Helper()
	for off := uint64(0); off < n; off += step * PageSize {
		require.NoError(t, s.Write(start+Addr(off), []byte{1}))
	}
}

func TestUsageFollowsTouchedPages(t *testing.T) {
	for _, how := range []string{"page tables", "mincore"} {
		t.Run(how, func(t *testing.T) {
			if how == "mincore" {
				defer func(f func() int) { pagemap = f }(pagemap)
				pagemap = func() int { return -1 }
			} else if pagemap() < 0 {
				t.Skip("the host has no PAGEMAP_SCAN")
			}
			s := newSpace(t)
			rw := emu.ProtRead | emu.ProtWrite
			const n = 16 << 20
			mustMap(t, s, 0x10000000, n, rw, "")
			u := s.Usage()
			assert.Equal(t, uint64(n), u.Size)
			assert.Equal(t, uint64(n), u.Data, "private and writable: data")
			assert.Zero(t, u.RSS(), "nothing touched yet")

			touch(t, s, 0x10000000, n, 2)
			u = s.Usage()
			assert.Equal(t, uint64(n/2), u.Anon)
			assert.Zero(t, u.File+u.Shmem)
			assert.NotZero(t, u.PageTables)

			_, err := s.MapSharedAnon(0x20000000, n, rw, "/dev/zero (deleted)")
			require.NoError(t, err)
			touch(t, s, 0x20000000, n/4, 1)
			u = s.Usage()
			assert.Equal(t, uint64(n/4), u.Shmem)
			assert.Equal(t, uint64(n), u.Data, "shared memory is not data")
			assert.Equal(t, uint64(2*n), u.Size)

			mustMap(t, s, 0x30000000, PageSize, emu.ProtRead|emu.ProtExec, "")
			mustMap(t, s, 0x40000000, 8*PageSize, rw, "[stack]")
			u = s.Usage()
			assert.Equal(t, uint64(PageSize), u.Exec)
			assert.Equal(t, uint64(8*PageSize), u.Stack)

			require.NoError(t, s.Unmap(0x10000000, n))
			u = s.Usage()
			assert.Zero(t, u.Anon, "unmapped pages are not held")
			assert.Equal(t, uint64(n+9*PageSize), u.Size)
			assert.Equal(t, uint64(2*n+9*PageSize), u.Peak, "the peak stays")
		})
	}
}

// A reservation of terabytes with a page touched here and there is counted by what was
// touched, not by its size.
func TestUsageVastReservation(t *testing.T) {
	s := newSpace(t)
	const n = 1 << 40
	_, err := s.Map(0x100000000000, n, emu.ProtRead|emu.ProtWrite, "")
	if err != nil {
		t.Skipf("no room for 1 TiB here: %v", err)
	}
	for off := uint64(0); off < n; off += 1 << 34 {
		require.NoError(t, s.Write(0x100000000000+Addr(off), []byte{1}))
	}
	assert.Equal(t, uint64(n/(1<<34))*PageSize, s.Usage().Anon)
}
