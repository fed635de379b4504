package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCoreSegments checks what a core dump takes of each kind of mapping, as Linux's
// default coredump_filter decides: touched anonymous memory whole, untouched anonymous
// memory and memory without access not at all, the vDSO always; and that the data
// handed over is only what the host holds (holes elsewhere).
func TestCoreSegments(t *testing.T) {
	s := newSpace(t)
	big := mustMap(t, s, at0, 1<<30, rw, "")     // 1 GiB, two pages touched
	mustMap(t, s, at0+(1<<30)+pg, 16*pg, rw, "") // untouched
	mustMap(t, s, Addr(1)<<40, 1<<44, 0, "")     // 16 TiB without access
	vd := mustMap(t, s, (Addr(1)<<40)-4*pg, 2*pg, rx, "[vdso]")
	require.NoError(t, s.Write(big.Start+5, []byte("hello")))
	require.NoError(t, s.Write(big.Start+(512<<20)+pg, []byte("world")))
	require.NoError(t, s.Write(vd.Start, []byte{0x7f}))

	segs := s.CoreSegments(DumpFilterDefault)
	require.Len(t, segs, 4)
	want := map[Addr]uint64{at0: 1 << 30, at0 + (1 << 30) + pg: 0, Addr(1) << 40: 0, vd.Start: 2 * pg}
	for _, seg := range segs {
		assert.Equal(t, want[seg.Start], seg.Dump, "dump size of the mapping at %#x", seg.Start)
	}
	var got []Addr
	var bytes uint64
	for i := range segs {
		s.CoreData(&segs[i], func(a Addr, b []byte) bool {
			got = append(got, a)
			bytes += uint64(len(b))
			return true
		})
	}
	assert.Equal(t, []Addr{at0, at0 + (512 << 20) + pg, vd.Start}, got)
	assert.LessOrEqual(t, bytes, uint64(4*pg), "only touched pages are handed over")

	// Stopping ends the walk.
	n := 0
	assert.False(t, s.CoreData(&segs[0], func(Addr, []byte) bool { n++; return false }))
	assert.Equal(t, 1, n)
}

// TestCoreFilter checks that coredump_filter's bits choose the kinds of mapping dumped.
func TestCoreFilter(t *testing.T) {
	s := newSpace(t)
	priv := mustMap(t, s, at0, 4*pg, rw, "")
	shared, err := s.MapSharedAnon(at0+16*pg, 4*pg, rw, "/dev/zero (deleted)")
	require.NoError(t, err)
	require.NoError(t, s.Write(priv.Start, []byte("a")))
	require.NoError(t, s.Write(shared.Start, []byte("b")))
	vd := mustMap(t, s, at0+64*pg, 2*pg, rx, "[vdso]")
	for _, c := range []struct {
		filter             uint32
		priv, shared, vdso uint64
	}{
		{DumpFilterDefault, 4 * pg, 4 * pg, 2 * pg},
		{0, 0, 0, 2 * pg},
		{DumpAnonPrivate, 4 * pg, 0, 2 * pg},
		{DumpAnonShared, 0, 4 * pg, 2 * pg},
	} {
		got := map[Addr]uint64{}
		for _, seg := range s.CoreSegments(c.filter) {
			got[seg.Start] = seg.Dump
		}
		assert.Equal(t, map[Addr]uint64{priv.Start: c.priv, shared.Start: c.shared, vd.Start: c.vdso}, got,
			"filter %#x", c.filter)
	}
}
