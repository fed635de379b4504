package mm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vemu/emu"
)

func TestPagemapBits(t *testing.T) {
	for _, how := range []string{"host pagemap", "mincore"} {
		t.Run(how, func(t *testing.T) {
			if how == "mincore" {
				defer func(f func() int) { hostPagemap = f }(hostPagemap)
				hostPagemap = func() int { return -1 }
			} else if hostPagemap() < 0 {
				t.Skip("no /proc/self/pagemap here")
			}
			testPagemapBits(t)
		})
	}
}

func testPagemapBits(t *testing.T) {
	s := newSpace(t)
	rw := emu.ProtRead | emu.ProtWrite
	mustMap(t, s, 0x10000000, 8*PageSize, rw, "")
	_, err := s.MapSharedAnon(0x10010000, 4*PageSize, rw, "/dev/zero (deleted)")
	require.NoError(t, err)
	require.NoError(t, s.Write(0x10000000, []byte{1}))
	require.NoError(t, s.Write(0x10002000, []byte{1}))
	require.NoError(t, s.Write(0x10010000, []byte{1}))

	out := make([]uint64, 0x14)
	s.Pagemap(0x10000000/PageSize, out)
	const flags = PMPresent | PMSwapped | PMFile | PMExclusive
	for i, e := range out {
		assert.Zero(t, e&^(pmKept), "page %d: no frame number", i)
		switch i {
		case 0, 2:
			assert.Equal(t, uint64(PMPresent|PMExclusive), e&flags, "private page %d written", i)
		case 0x10:
			assert.Equal(t, uint64(PMPresent|PMFile), e&(PMPresent|PMSwapped|PMFile), "shared memory written")
		default:
			assert.Zero(t, e&flags, "page %d untouched or unmapped", i)
		}
	}

	// An offset in the middle: the same entries.
	mid := make([]uint64, 3)
	s.Pagemap(0x10000000/PageSize+1, mid)
	assert.Equal(t, out[1:4], mid)
}

func TestPagemapVastReservation(t *testing.T) {
	s := newSpace(t)
	const n = 1 << 40
	start := Addr(0x100000000000)
	if _, err := s.Map(start, n, emu.ProtNone, ""); err != nil {
		t.Skipf("no 1 TiB reservation here: %v", err)
	}
	require.NoError(t, s.Write(start+n-PageSize, []byte{1}))
	// A window at its end, and one in its middle: what they cost follows their size.
	out := make([]uint64, 4)
	begin := time.Now()
	s.Pagemap(uint64(start+n)/PageSize-4, out)
	s.Pagemap(uint64(start+n/2)/PageSize, make([]uint64, 4))
	assert.Equal(t, uint64(PMPresent), out[3]&PMPresent)
	assert.Zero(t, out[0]&PMPresent)
	t.Logf("two small reads of a 1 TiB mapping: %v", time.Since(begin))
}
