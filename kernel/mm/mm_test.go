package mm

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/emu"
)

const (
	rw  = emu.ProtRead | emu.ProtWrite
	ro  = emu.ProtRead
	rx  = emu.ProtRead | emu.ProtExec
	pg  = PageSize
	at0 = Addr(0x100000)
)

// span is a VMA's range and permissions, for comparing layouts.
type span struct {
	Start, End Addr
	Prot       Prot
}

func layout(s *Space) []span {
	var out []span
	for v := range s.VMAs() {
		out = append(out, span{v.Start, v.End, v.Prot})
	}
	return out
}

func newSpace(t *testing.T) *Space {
	s := New(nil)
	t.Cleanup(s.Close)
	return s
}

func mustMap(t *testing.T, s *Space, start Addr, length uint64, prot Prot, name string) *VMA {
	t.Helper()
	v, err := s.Map(start, length, prot, name)
	require.NoError(t, err)
	return v
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestNilCPU(t *testing.T) {
	s := newSpace(t)
	v := mustMap(t, s, at0, 4*pg, rw, "")
	require.NoError(t, s.Protect(at0+pg, pg, ro))
	require.NoError(t, s.Unmap(at0+2*pg, pg))
	require.NoError(t, s.CopyOut(at0, []byte("x")))
	assert.Equal(t, byte('x'), v.Host()[0])
}

func TestMapUnmapProtect(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, s *Space)
		want []span
	}{
		{
			name: "map-one",
			run:  func(t *testing.T, s *Space) { mustMap(t, s, at0, 4*pg, rw, "") },
			want: []span{{at0, at0 + 4*pg, rw}},
		},
		{
			name: "map-sorted",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0+8*pg, pg, ro, "")
				mustMap(t, s, at0, pg, rw, "")
				mustMap(t, s, at0+4*pg, pg, rx, "")
			},
			want: []span{{at0, at0 + pg, rw}, {at0 + 4*pg, at0 + 5*pg, rx}, {at0 + 8*pg, at0 + 9*pg, ro}},
		},
		{
			name: "map-overlap-eexist",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				_, err := s.Map(at0+3*pg, 2*pg, rw, "")
				assert.Equal(t, unix.EEXIST, err)
				_, err = s.Map(at0-pg, 2*pg, rw, "")
				assert.Equal(t, unix.EEXIST, err)
			},
			want: []span{{at0, at0 + 4*pg, rw}},
		},
		{
			name: "map-bad-arguments-einval",
			run: func(t *testing.T, s *Space) {
				for _, c := range []struct {
					start  Addr
					length uint64
				}{{at0 + 1, pg}, {at0, pg + 1}, {at0, 0}} {
					_, err := s.Map(c.start, c.length, rw, "")
					assert.Equal(t, unix.EINVAL, err, "Map(%#x, %#x)", c.start, c.length)
				}
			},
		},
		{
			name: "unmap-middle-splits",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				require.NoError(t, s.Unmap(at0+pg, 2*pg))
			},
			want: []span{{at0, at0 + pg, rw}, {at0 + 3*pg, at0 + 4*pg, rw}},
		},
		{
			name: "unmap-head",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				require.NoError(t, s.Unmap(at0, pg))
			},
			want: []span{{at0 + pg, at0 + 4*pg, rw}},
		},
		{
			name: "unmap-tail",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				require.NoError(t, s.Unmap(at0+3*pg, pg))
			},
			want: []span{{at0, at0 + 3*pg, rw}},
		},
		{
			name: "unmap-across-mappings-and-holes",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 2*pg, rw, "")
				mustMap(t, s, at0+4*pg, 2*pg, ro, "")
				mustMap(t, s, at0+8*pg, 2*pg, rx, "")
				require.NoError(t, s.Unmap(at0+pg, 8*pg))
			},
			want: []span{{at0, at0 + pg, rw}, {at0 + 9*pg, at0 + 10*pg, rx}},
		},
		{
			name: "unmap-nothing-mapped",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, pg, rw, "")
				require.NoError(t, s.Unmap(at0+16*pg, 4*pg))
			},
			want: []span{{at0, at0 + pg, rw}},
		},
		{
			name: "protect-middle-splits-in-three",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				require.NoError(t, s.Protect(at0+pg, 2*pg, ro))
			},
			want: []span{{at0, at0 + pg, rw}, {at0 + pg, at0 + 3*pg, ro}, {at0 + 3*pg, at0 + 4*pg, rw}},
		},
		{
			name: "protect-restore-merges",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				require.NoError(t, s.Protect(at0+pg, 2*pg, ro))
				require.Equal(t, 3, s.Len())
				require.NoError(t, s.Protect(at0+pg, 2*pg, rw))
			},
			want: []span{{at0, at0 + 4*pg, rw}},
		},
		{
			name: "protect-page-by-page-then-whole",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				for i := range 4 {
					p := []Prot{ro, rx, emu.ProtNone, rw}[i]
					require.NoError(t, s.Protect(at0+Addr(i)*pg, pg, p))
				}
				require.Equal(t, 4, s.Len())
				require.NoError(t, s.Protect(at0, 4*pg, rx))
			},
			want: []span{{at0, at0 + 4*pg, rx}},
		},
		{
			name: "protect-same-permission-is-a-no-op",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 4*pg, rw, "")
				require.NoError(t, s.Protect(at0+pg, pg, rw))
			},
			want: []span{{at0, at0 + 4*pg, rw}},
		},
		{
			name: "protect-hole-enomem-changes-nothing",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 2*pg, rw, "")
				mustMap(t, s, at0+3*pg, 2*pg, rw, "")
				assert.Equal(t, unix.ENOMEM, s.Protect(at0+pg, 3*pg, ro))
			},
			want: []span{{at0, at0 + 2*pg, rw}, {at0 + 3*pg, at0 + 5*pg, rw}},
		},
		{
			name: "unmap-part-of-split-then-restore",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, at0, 6*pg, rw, "")
				require.NoError(t, s.Protect(at0+2*pg, 2*pg, ro))
				require.NoError(t, s.Unmap(at0+3*pg, pg))
				require.NoError(t, s.Protect(at0+2*pg, pg, rw))
			},
			want: []span{{at0, at0 + 3*pg, rw}, {at0 + 4*pg, at0 + 6*pg, rw}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSpace(t)
			c.run(t, s)
			assert.Equal(t, c.want, layout(s))
		})
	}
}

func TestSplitAndMergeKeepContents(t *testing.T) {
	s := newSpace(t)
	mustMap(t, s, at0, 4*pg, rw, "/bin/prog")
	want := pattern(4*pg, 3)
	require.NoError(t, s.Write(at0, want))

	require.NoError(t, s.Protect(at0+pg, 2*pg, ro))
	got := make([]byte, 4*pg)
	require.NoError(t, s.CopyIn(at0, got))
	assert.True(t, bytes.Equal(want, got), "contents changed by the split")
	for v := range s.VMAs() {
		assert.Equal(t, "/bin/prog", v.Name)
	}

	require.NoError(t, s.Protect(at0+pg, 2*pg, rw))
	require.Equal(t, 1, s.Len())
	clear(got)
	require.NoError(t, s.CopyIn(at0, got))
	assert.True(t, bytes.Equal(want, got), "contents changed by the merge")
}

func TestSplitKeepsFileOffsets(t *testing.T) {
	s := newSpace(t)
	v := mustMap(t, s, at0, 4*pg, rx, "/bin/prog")
	v.Ino, v.FileOff = 42, 0x3000
	require.NoError(t, s.Protect(at0+pg, pg, ro))
	vs := slices.Collect(s.VMAs())
	require.Len(t, vs, 3)
	assert.Equal(t, []uint64{0x3000, 0x4000, 0x5000}, []uint64{vs[0].FileOff, vs[1].FileOff, vs[2].FileOff})

	mustMap(t, s, at0+16*pg, 4*pg, rw, "")
	require.NoError(t, s.Protect(at0+17*pg, pg, ro))
	for _, v := range slices.Collect(s.VMAs())[3:] {
		assert.Zero(t, v.FileOff, "anonymous mapping at %#x", v.Start)
	}
}

func TestFindFree(t *testing.T) {
	const top = Addr(0x7f0000000000)
	cases := []struct {
		name   string
		maps   []span
		length uint64
		top    Addr
		want   Addr
		err    error
	}{
		{name: "empty", length: 2 * pg, top: top, want: top - 2*pg},
		{name: "below-a-mapping-at-top", maps: []span{{top - 4*pg, top, rw}}, length: pg, top: top, want: top - 5*pg},
		{name: "mapping-above-top-is-ignored", maps: []span{{top, top + 4*pg, rw}}, length: pg, top: top, want: top - pg},
		{
			name:   "gap-too-small-is-skipped",
			maps:   []span{{top - 2*pg, top, rw}, {top - 5*pg, top - 3*pg, rw}},
			length: 2 * pg, top: top, want: top - 7*pg,
		},
		{
			name:   "exact-gap-is-used",
			maps:   []span{{top - 2*pg, top, rw}, {top - 5*pg, top - 3*pg, rw}},
			length: pg, top: top, want: top - 3*pg,
		},
		{name: "lowest-possible", length: pg, top: MinAddr + pg, want: MinAddr},
		{name: "below-min-addr", length: 2 * pg, top: MinAddr + pg, err: unix.ENOMEM},
		{name: "zero-length", length: 0, top: top, err: unix.ENOMEM},
		{name: "longer-than-top", length: uint64(top) + pg, top: top, err: unix.ENOMEM},
		{name: "full", maps: []span{{MinAddr, MinAddr + 8*pg, rw}}, length: pg, top: MinAddr + 8*pg, err: unix.ENOMEM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSpace(t)
			for _, m := range c.maps {
				mustMap(t, s, m.Start, uint64(m.End-m.Start), m.Prot, "")
			}
			got, err := s.FindFree(c.length, c.top)
			if c.err != nil {
				assert.Equal(t, c.err, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			assert.True(t, s.Free(got, got+Addr(c.length)), "FindFree returned a used range")
			_, err = s.Map(got, c.length, rw, "")
			assert.NoError(t, err)
		})
	}
}

func TestFindFreeMappingAcrossTop(t *testing.T) {
	s := newSpace(t)
	mustMap(t, s, 0x200000, 0x200000, rw, "")
	got, err := s.FindFree(pg, 0x300000)
	require.NoError(t, err)
	assert.True(t, s.Free(got, got+pg), "FindFree returned %#x, inside [0x200000, 0x400000)", got)
	assert.Equal(t, Addr(0x1ff000), got)
}

func heapSpace(t *testing.T) *Space {
	s := newSpace(t)
	require.NoError(t, s.SetupHeap(0x600000, 64<<20))
	return s
}

func TestSetBrk(t *testing.T) {
	const start = Addr(0x600000)
	cases := []struct {
		name string
		run  func(t *testing.T, s *Space)
		brk  Addr
		want []span
	}{
		{name: "initial", brk: start},
		{
			name: "grow-to-unaligned",
			run:  func(t *testing.T, s *Space) { assert.Equal(t, start+0x1800, s.SetBrk(start+0x1800)) },
			brk:  start + 0x1800,
			want: []span{{start, start + 2*pg, rw}},
		},
		{
			name: "shrink",
			run: func(t *testing.T, s *Space) {
				s.SetBrk(start + 8*pg)
				assert.Equal(t, start+pg+1, s.SetBrk(start+pg+1))
			},
			brk:  start + pg + 1,
			want: []span{{start, start + 2*pg, rw}},
		},
		{
			name: "shrink-to-start",
			run: func(t *testing.T, s *Space) {
				s.SetBrk(start + 8*pg)
				assert.Equal(t, start, s.SetBrk(start))
			},
			brk: start,
		},
		{
			name: "below-start-is-refused",
			run: func(t *testing.T, s *Space) {
				s.SetBrk(start + pg)
				assert.Equal(t, start+pg, s.SetBrk(start-pg))
			},
			brk:  start + pg,
			want: []span{{start, start + pg, rw}},
		},
		{
			name: "query-with-zero",
			run:  func(t *testing.T, s *Space) { assert.Equal(t, start, s.SetBrk(0)) },
			brk:  start,
		},
		{
			name: "beyond-reserve-is-refused",
			run:  func(t *testing.T, s *Space) { assert.Equal(t, start, s.SetBrk(start+64<<20+pg)) },
			brk:  start,
		},
		{
			name: "into-a-mapping-is-refused",
			run: func(t *testing.T, s *Space) {
				mustMap(t, s, start+4*pg, pg, ro, "")
				assert.Equal(t, start+2*pg, s.SetBrk(start+2*pg))
				assert.Equal(t, start+2*pg, s.SetBrk(start+6*pg))
			},
			brk:  start + 2*pg,
			want: []span{{start, start + 2*pg, rw}, {start + 4*pg, start + 5*pg, ro}},
		},
		{
			name: "many-small-increments-stay-one-vma",
			run: func(t *testing.T, s *Space) {
				for i := 1; i <= 2000; i++ {
					require.Equal(t, start+Addr(i*100), s.SetBrk(start+Addr(i*100)))
				}
			},
			brk:  start + 200000,
			want: []span{{start, start + 49*pg, rw}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := heapSpace(t)
			if c.run != nil {
				c.run(t, s)
			}
			assert.Equal(t, c.brk, s.Brk)
			assert.Equal(t, c.want, layout(s))
			for v := range s.VMAs() {
				if v.Start >= start && v.Prot == rw {
					assert.Equal(t, "[heap]", v.Name)
				}
			}
		})
	}
}

func TestSetBrkWithoutHeap(t *testing.T) {
	s := newSpace(t)
	assert.Equal(t, Addr(0), s.SetBrk(0x600000))
	assert.Zero(t, s.Len())
}

func TestBrkContents(t *testing.T) {
	const start = Addr(0x600000)
	s := heapSpace(t)
	s.SetBrk(start + 3*pg)
	data := pattern(3*pg, 1)
	require.NoError(t, s.CopyOut(start, data))

	// Growing keeps what is there.
	require.Equal(t, start+1<<20, s.SetBrk(start+1<<20))
	got := make([]byte, 3*pg)
	require.NoError(t, s.CopyIn(start, got))
	assert.True(t, bytes.Equal(data, got), "heap contents lost when brk grew")
	require.Equal(t, 1, s.Len())

	// Shrinking into the first page and growing again exposes zeros only.
	require.Equal(t, start+0x100, s.SetBrk(start+0x100))
	require.Equal(t, start+3*pg, s.SetBrk(start+3*pg))
	clear(got)
	require.NoError(t, s.CopyIn(start, got))
	assert.Equal(t, data[:0x100], got[:0x100], "memory below brk changed")
	assert.Equal(t, make([]byte, 3*pg-0x100), got[0x100:], "memory beyond a shrunk brk is not zero")
}

// twoMappings maps [at0, at0+2pg) and [at0+2pg, at0+4pg) read-write as separate mappings,
// then [at0+4pg, at0+5pg) read-only and [at0+5pg, at0+6pg) without access.
func twoMappings(t *testing.T) *Space {
	s := newSpace(t)
	mustMap(t, s, at0, 2*pg, rw, "a")
	mustMap(t, s, at0+2*pg, 2*pg, rw, "b")
	mustMap(t, s, at0+4*pg, pg, ro, "c")
	mustMap(t, s, at0+5*pg, pg, emu.ProtNone, "d")
	require.Equal(t, 4, s.Len())
	return s
}

func TestCopyAcrossMappings(t *testing.T) {
	s := twoMappings(t)
	edge := at0 + 2*pg
	data := pattern(64, 9)
	require.NoError(t, s.CopyOut(edge-32, data))
	got := make([]byte, 64)
	require.NoError(t, s.CopyIn(edge-32, got))
	assert.Equal(t, data, got)
	assert.Equal(t, data[:32], slices.Collect(s.VMAs())[0].Host()[2*pg-32:])
	assert.Equal(t, data[32:], slices.Collect(s.VMAs())[1].Host()[:32])

	require.NoError(t, s.CopyOut(edge-3, []byte("hello\x00")))
	str, err := s.CopyString(edge-3, 4096)
	require.NoError(t, err)
	assert.Equal(t, "hello", str)

	bufs, err := s.Bufs(edge-100, 300, emu.ProtWrite, nil)
	require.NoError(t, err)
	require.Len(t, bufs, 2)
	assert.Len(t, bufs[0], 100)
	assert.Len(t, bufs[1], 200)
	bufs[1][0] = 0x5a
	var b [1]byte
	require.NoError(t, s.CopyIn(edge, b[:]))
	assert.Equal(t, byte(0x5a), b[0], "Bufs does not alias guest memory")

	// Empty copies never fault, wherever they point.
	assert.NoError(t, s.CopyIn(0, nil))
	assert.NoError(t, s.CopyOut(0, nil))
	bufs, err = s.Bufs(0, 0, emu.ProtRead, nil)
	assert.NoError(t, err)
	assert.Empty(t, bufs)
}

func TestCopyFaults(t *testing.T) {
	ro0, none0 := at0+4*pg, at0+5*pg
	cases := []struct {
		name string
		do   func(s *Space) error
		err  error
	}{
		{"copyin-unmapped", func(s *Space) error { return s.CopyIn(at0-pg, make([]byte, 8)) }, unix.EFAULT},
		{"copyin-runs-into-unmapped", func(s *Space) error { return s.CopyIn(none0+pg-4, make([]byte, 8)) }, unix.EFAULT},
		{"copyin-no-access", func(s *Space) error { return s.CopyIn(none0, make([]byte, 8)) }, unix.EFAULT},
		{"copyin-read-only", func(s *Space) error { return s.CopyIn(ro0, make([]byte, 8)) }, nil},
		{"copyin-wraps", func(s *Space) error { return s.CopyIn(^Addr(0)-3, make([]byte, 8)) }, unix.EFAULT},
		{"copyin-above-user-space", func(s *Space) error { return s.CopyIn(TaskSize, make([]byte, 8)) }, unix.EFAULT},
		{"copyout-read-only", func(s *Space) error { return s.CopyOut(ro0, make([]byte, 8)) }, unix.EFAULT},
		{"copyout-unmapped", func(s *Space) error { return s.CopyOut(0, make([]byte, 8)) }, unix.EFAULT},
		{"string-unmapped", func(s *Space) error { _, err := s.CopyString(0x1000, 100); return err }, unix.EFAULT},
		{"string-no-access", func(s *Space) error { _, err := s.CopyString(none0, 100); return err }, unix.EFAULT},
		{"string-unterminated", func(s *Space) error { _, err := s.CopyString(at0, 1<<20); return err }, unix.EFAULT},
		{"string-too-long", func(s *Space) error { _, err := s.CopyString(at0, 100); return err }, unix.ENAMETOOLONG},
		{"bufs-unmapped", func(s *Space) error { _, err := s.Bufs(0x1000, 8, emu.ProtRead, nil); return err }, unix.EFAULT},
		{"bufs-write-read-only", func(s *Space) error { _, err := s.Bufs(ro0, 8, emu.ProtWrite, nil); return err }, unix.EFAULT},
		{"bufs-above-user-space", func(s *Space) error { _, err := s.Bufs(TaskSize, 8, emu.ProtRead, nil); return err }, unix.EFAULT},
		{"bufs-unmapped", func(s *Space) error { _, err := s.Bufs(0x1000, 8, emu.ProtRead, nil); return err }, unix.EFAULT},
		{"bufs-write-read-only", func(s *Space) error { _, err := s.Bufs(ro0, 8, emu.ProtWrite, nil); return err }, unix.EFAULT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := twoMappings(t)
			// Fill [at0, none0) with non-zero bytes so no string ends there.
			require.NoError(t, s.Write(at0, bytes.Repeat([]byte{'x'}, int(none0-at0))))
			before := s.Maps()
			snapshot := make([]byte, none0-at0)
			require.NoError(t, s.CopyIn(at0, snapshot))
			err := c.do(s)
			if c.err == nil {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, c.err, err)
			}
			after := make([]byte, none0-at0)
			require.NoError(t, s.CopyIn(at0, after))
			assert.True(t, bytes.Equal(snapshot, after), "a failed access changed memory")
			assert.Equal(t, before, s.Maps())
		})
	}
}

func TestCopyOutFaultWritesTheBytesBefore(t *testing.T) {
	s := twoMappings(t)
	ro0 := at0 + 4*pg
	// The first 4 bytes land in writable memory, the rest in the read-only page: as
	// Linux's copy_to_user, those before the fault are written.
	err := s.CopyOut(ro0-4, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	assert.Equal(t, unix.EFAULT, err)
	got := make([]byte, 8)
	require.NoError(t, s.CopyIn(ro0-4, got))
	assert.Equal(t, []byte{1, 2, 3, 4, 0, 0, 0, 0}, got)
}

func TestCopyStringLimits(t *testing.T) {
	s := twoMappings(t)
	edge := at0 + 2*pg
	long := strings.Repeat("p", 100)
	require.NoError(t, s.CopyOut(edge-50, []byte(long+"\x00")))
	got, err := s.CopyString(edge-50, 100)
	require.NoError(t, err, "a string of exactly max bytes")
	assert.Equal(t, long, got)
	_, err = s.CopyString(edge-50, 99)
	assert.Equal(t, unix.ENAMETOOLONG, err)
	got, err = s.CopyString(edge+10, 100)
	require.NoError(t, err)
	assert.Len(t, got, 40)
	got, err = s.CopyString(edge+50, 0)
	require.NoError(t, err, "the empty string fits any max")
	assert.Empty(t, got)
}

func TestBufsPartial(t *testing.T) {
	s := twoMappings(t)
	ro0 := at0 + 4*pg
	// For writing, the transfer stops at the read-only page.
	bufs, err := s.Bufs(ro0-10, 100, emu.ProtWrite, nil)
	require.NoError(t, err)
	require.Len(t, bufs, 1)
	assert.Len(t, bufs[0], 10)
	// For reading, it continues into it and stops at the page without access.
	bufs, err = s.Bufs(ro0-10, 2*pg, emu.ProtRead, nil)
	require.NoError(t, err)
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	assert.Equal(t, 10+pg, total)
	// dst is appended to.
	prev := [][]byte{{1}}
	bufs, err = s.Bufs(at0, 8, emu.ProtRead, prev)
	require.NoError(t, err)
	assert.Len(t, bufs, 2)
}

func TestWriteIgnoresPermissions(t *testing.T) {
	s := twoMappings(t)
	none0 := at0 + 5*pg
	require.NoError(t, s.Write(none0, []byte("kernel")))
	assert.Equal(t, "kernel", string(s.Lookup(none0).Host()[:6]))
	assert.Equal(t, unix.EFAULT, s.Write(none0+pg, []byte("x")))

	// Above user space only the kernel's own writes get through.
	v := mustMap(t, s, 0xffffffffff600000, pg, emu.ProtNone, "[vsyscall]")
	require.NoError(t, s.Write(0xffffffffff600000, []byte{0xcc}))
	assert.Equal(t, byte(0xcc), v.Host()[0])
	assert.Equal(t, unix.EFAULT, s.CopyOut(0xffffffffff600000, []byte{0}))
}

func TestBufsPieces(t *testing.T) {
	s := twoMappings(t)
	b, err := s.Bufs(at0+10, 20, emu.ProtWrite, nil)
	require.NoError(t, err)
	require.Len(t, b, 1, "a range inside one mapping is one piece")
	assert.Len(t, b[0], 20)
	b, err = s.Bufs(at0+2*pg-10, 20, emu.ProtRead, nil)
	require.NoError(t, err)
	require.Len(t, b, 2, "a range across mappings is one piece per mapping")
	assert.Len(t, b[0], 10)
	assert.Len(t, b[1], 10)
	b, err = s.Bufs(0, 0, emu.ProtRead, nil)
	assert.NoError(t, err)
	assert.Empty(t, b)
}

func TestRelocate(t *testing.T) {
	s := newSpace(t)
	mustMap(t, s, at0, 2*pg, rw, "data")
	data := pattern(2*pg, 5)
	require.NoError(t, s.CopyOut(at0, data))

	to := Addr(0x40000000)
	require.NoError(t, s.Relocate(at0, 2*pg, to, 4*pg))
	assert.Nil(t, s.Lookup(at0), "old range still mapped")
	assert.Equal(t, []span{{to, to + 4*pg, rw}}, layout(s))
	assert.Equal(t, "data", s.Lookup(to).Name)
	got := make([]byte, 4*pg)
	require.NoError(t, s.CopyIn(to, got))
	assert.True(t, bytes.Equal(data, got[:2*pg]), "contents not moved")
	assert.Equal(t, make([]byte, 2*pg), got[2*pg:], "the new part is not zero")

	// Shrinking while moving keeps the head.
	to2 := Addr(0x50000000)
	require.NoError(t, s.Relocate(to, 4*pg, to2, pg))
	assert.Equal(t, []span{{to2, to2 + pg, rw}}, layout(s))
	got = make([]byte, pg)
	require.NoError(t, s.CopyIn(to2, got))
	assert.Equal(t, data[:pg], got)

	assert.Equal(t, unix.EFAULT, s.Relocate(0x1000, pg, 0x60000000, pg))
	_, err := s.Map(0x60000000, pg, ro, "")
	require.NoError(t, err)
	assert.Equal(t, unix.EEXIST, s.Relocate(to2, pg, 0x60000000, pg))
	assert.Equal(t, []span{{to2, to2 + pg, rw}, {0x60000000, 0x60000000 + pg, ro}}, layout(s))
}

func TestGrow(t *testing.T) {
	s := newSpace(t)
	v := mustMap(t, s, at0, pg, rx, "lib")
	v.Ino = 7
	require.Equal(t, unix.EFAULT, s.CopyOut(at0, []byte("k")), "an r-x page written by the guest")
	require.NoError(t, s.Write(at0, []byte("keep")))
	require.NoError(t, s.Grow(at0, pg, 3*pg))
	assert.True(t, s.Mapped(at0, at0+3*pg))
	for v := range s.VMAs() {
		assert.Equal(t, rx, v.Prot)
		assert.Equal(t, "lib", v.Name)
		assert.Equal(t, uint64(7), v.Ino)
	}
	got := make([]byte, 3*pg)
	require.NoError(t, s.CopyIn(at0, got))
	assert.Equal(t, "keep", string(got[:4]))
	assert.Equal(t, make([]byte, 2*pg), got[pg:])

	mustMap(t, s, at0+4*pg, pg, rw, "")
	assert.Equal(t, unix.EEXIST, s.Grow(at0, 3*pg, 5*pg))
	assert.Equal(t, unix.EFAULT, s.Grow(0x1000, pg, 2*pg))
}

func TestDiscard(t *testing.T) {
	s := newSpace(t)
	mustMap(t, s, at0, 3*pg, rw, "")
	mustMap(t, s, at0+4*pg, pg, rw, "")
	data := bytes.Repeat([]byte{0xee}, 3*pg)
	require.NoError(t, s.CopyOut(at0, data))
	require.NoError(t, s.CopyOut(at0+4*pg, data[:pg]))

	s.Discard(at0+pg, pg)
	got := make([]byte, 3*pg)
	require.NoError(t, s.CopyIn(at0, got))
	assert.Equal(t, data[:pg], got[:pg])
	assert.Equal(t, make([]byte, pg), got[pg:2*pg])
	assert.Equal(t, data[2*pg:], got[2*pg:])

	// Discard stops at a hole: the mapping after it keeps its contents.
	s.Discard(at0+2*pg, 3*pg)
	require.NoError(t, s.CopyIn(at0, got))
	assert.Equal(t, make([]byte, pg), got[2*pg:])
	one := make([]byte, pg)
	require.NoError(t, s.CopyIn(at0+4*pg, one))
	assert.Equal(t, data[:pg], one)
	assert.Equal(t, []span{{at0, at0 + 3*pg, rw}, {at0 + 4*pg, at0 + 5*pg, rw}}, layout(s))
}

func TestMaps(t *testing.T) {
	s := newSpace(t)
	prog := mustMap(t, s, 0x400000, pg, rx, "/usr/bin/prog")
	prog.Dev, prog.Ino, prog.FileOff = unix.Mkdev(8, 1), 1234, 0x1000
	mustMap(t, s, 0x401000, 2*pg, rw, "")
	require.NoError(t, s.SetupHeap(0x600000, 1<<20))
	s.SetBrk(0x601000)
	sh := mustMap(t, s, 0x7f0000000000, pg, ro, "/dev/shm/x")
	sh.Shared, sh.Dev, sh.Ino = true, unix.Mkdev(0, 0x19), 99
	mustMap(t, s, 0x7ffffffde000, 0x21000, rw, "[stack]")
	v := mustMap(t, s, 0xffffffffff600000, pg, emu.ProtNone, "[vsyscall]")
	v.MapsPerm = "--xp"

	want := "" +
		"00400000-00401000 r-xp 00001000 08:01 1234                               /usr/bin/prog\n" +
		"00401000-00403000 rw-p 00000000 00:00 0 \n" +
		"00600000-00601000 rw-p 00000000 00:00 0                                  [heap]\n" +
		"7f0000000000-7f0000001000 r--s 00000000 00:19 99                         /dev/shm/x\n" +
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n" +
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
	got := s.Maps()
	assert.Equal(t, want, got)
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 6 {
			assert.Equal(t, 73, strings.Index(line, fields[5]), "name column in %q", line)
		}
	}
}

func TestMapsLongLine(t *testing.T) {
	s := newSpace(t)
	// 71 characters before the name: padded to 72, then the separating space.
	v := mustMap(t, s, 0x7f0000000000, pg, ro, "/x")
	v.Dev, v.Ino, v.FileOff = unix.Mkdev(259, 3), 18446744073709551615, 0x123456789000
	// Longer than the name column: Linux still puts one space before the name.
	w := mustMap(t, s, 0xffffffffff600000, pg, ro, "/y")
	w.Dev, w.Ino, w.FileOff = unix.Mkdev(259, 3), 18446744073709551615, 0x123456789000
	assert.Equal(t, ""+
		"7f0000000000-7f0000001000 r--p 123456789000 103:03 18446744073709551615  /x\n"+
		"ffffffffff600000-ffffffffff601000 r--p 123456789000 103:03 18446744073709551615 /y\n", s.Maps())
}

func TestCPURegionsFollowVMAs(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	s := New(cpu)
	defer cpu.Close()
	defer s.Close()

	check := func(what string) {
		t.Helper()
		assert.NoError(t, s.CheckCPU(), "after %s", what)
		assert.LessOrEqual(t, cpu.Regions(), s.Len()+1, "after %s", what)
	}
	mustMap(t, s, at0, 8*pg, rw, "")
	check("map")
	require.NoError(t, s.Protect(at0+2*pg, 2*pg, ro))
	assert.Equal(t, 3, s.Len())
	check("protect in the middle")
	require.NoError(t, s.Protect(at0+2*pg, 2*pg, rw))
	assert.Equal(t, 1, s.Len())
	check("protect back")
	require.NoError(t, s.Unmap(at0+pg, pg))
	check("unmap in the middle")
	require.NoError(t, s.Relocate(at0+4*pg, 2*pg, 0x40000000, 4*pg))
	check("relocate")
	require.NoError(t, s.Grow(0x40000000, 4*pg, 6*pg))
	check("grow")

	require.NoError(t, s.SetupHeap(0x600000, 16<<20))
	for i := 1; i <= 500; i++ {
		s.SetBrk(0x600000 + Addr(i*1000))
	}
	check("brk growth")
	s.SetBrk(0x600000 + pg)
	check("brk shrink")

	// The CPU sees the same memory.
	require.NoError(t, s.CopyOut(at0+10, []byte("shared")))
	b := make([]byte, 6)
	require.NoError(t, cpu.ReadMem(uint64(at0+10), b))
	assert.Equal(t, "shared", string(b))

	require.NoError(t, s.Unmap(0, uint64(TaskSize)))
	assert.Zero(t, s.Len())
	check("unmap all")
}

func TestShareSeesWritesBothWaysAndCloseKeepsTheParents(t *testing.T) {
	s := newSpace(t)
	mustMap(t, s, 0x10000, 2*PageSize, rw, "")
	require.NoError(t, s.SetupHeap(0x100000, 16*PageSize))
	require.Equal(t, Addr(0x102000), s.SetBrk(0x102000))

	c, err := s.Share(nil)
	require.NoError(t, err)
	require.NoError(t, c.CopyOut(0x10010, []byte("from the child")))
	require.NoError(t, c.CopyOut(0x100100, []byte("heap")))
	got := make([]byte, 14)
	require.NoError(t, s.CopyIn(0x10010, got))
	assert.Equal(t, "from the child", string(got))
	require.NoError(t, s.CopyIn(0x100100, got[:4]))
	assert.Equal(t, "heap", string(got[:4]))

	c.Close()
	require.NoError(t, s.CopyOut(0x10010, []byte("still mine")), "the parent's memory outlives the child")
	require.NoError(t, s.CopyIn(0x100100, got[:4]))
	assert.Equal(t, "heap", string(got[:4]))

	f, err := s.Fork(nil)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.CopyOut(0x10010, []byte("forked")))
	require.NoError(t, s.CopyIn(0x10010, got[:6]))
	assert.Equal(t, "still ", string(got[:6]), "a fork's writes stay its own")
}

func TestShareBeforeTheHeapGrowsKeepsItsReservation(t *testing.T) {
	s := newSpace(t)
	require.NoError(t, s.SetupHeap(0x100000, 16*PageSize))
	c, err := s.Share(nil)
	require.NoError(t, err)
	c.Close() // must not unmap the reservation the parent grows into
	require.NotNil(t, s.heap.mem)
	require.Equal(t, Addr(0x101000), s.SetBrk(0x101000))
	require.NoError(t, s.CopyOut(0x100000, []byte("grown")))
}

// hostBytes is how much of v's memory exists on the host.
func hostBytes(v *VMA) uint64 {
	var n uint64
	v.back.extents(v.off, v.Len(), func(lo, hi uint64) bool { n += hi - lo; return true })
	return n
}

func TestForkCopiesOnlyTouchedPages(t *testing.T) {
	s := newSpace(t)
	const size = 1 << 30
	v := mustMap(t, s, at0, size, rw, "")
	mustMap(t, s, at0+size, 1<<30, 0, "") // a reservation
	require.NoError(t, s.CopyOut(at0+5*pg+7, []byte("five")))
	require.NoError(t, s.CopyOut(at0+size-3, []byte("end")))
	assert.Equal(t, uint64(2*pg), hostBytes(v))

	c, err := s.Fork(nil)
	require.NoError(t, err)
	defer c.Close()
	cv := c.Lookup(at0)
	require.NotNil(t, cv)
	assert.NotSame(t, v.back, cv.back)
	assert.Equal(t, uint64(2*pg), hostBytes(cv), "only the touched pages are copied")
	assert.Zero(t, hostBytes(c.Lookup(at0+size)))
	got := make([]byte, 4)
	require.NoError(t, c.CopyIn(at0+5*pg+7, got))
	assert.Equal(t, "five", string(got))
	require.NoError(t, c.CopyIn(at0+size-3, got[:3]))
	assert.Equal(t, "end", string(got[:3]))

	// Writes after the fork stay on their side.
	require.NoError(t, c.CopyOut(at0+5*pg+7, []byte("kid!")))
	require.NoError(t, s.CopyIn(at0+5*pg+7, got))
	assert.Equal(t, "five", string(got))
}

func TestUnmapGivesPagesBack(t *testing.T) {
	s := newSpace(t)
	v := mustMap(t, s, at0, 8*pg, rw, "")
	require.NoError(t, s.CopyOut(at0, bytes.Repeat([]byte{1}, 8*pg)))
	back := v.back
	require.NoError(t, s.Unmap(at0+2*pg, 4*pg))
	var n uint64
	back.extents(0, 8*pg, func(lo, hi uint64) bool { n += hi - lo; return true })
	assert.Equal(t, uint64(4*pg), n, "the unmapped middle is gone from the host")
}

func TestResident(t *testing.T) {
	s := newSpace(t)
	mustMap(t, s, at0, 8*pg, rw, "")
	require.NoError(t, s.CopyOut(at0+3*pg, []byte{1}))
	require.NoError(t, s.CopyOut(at0+6*pg, []byte{1}))
	vec := make([]byte, 8)
	s.Resident(at0, vec)
	assert.Equal(t, []byte{0, 0, 0, 1, 0, 0, 1, 0}, vec)
}

func TestRelocateMovesWithoutCopying(t *testing.T) {
	s := newSpace(t)
	v := mustMap(t, s, at0, 1<<30, rw, "")
	back := v.back
	require.NoError(t, s.CopyOut(at0+pg, []byte("moved")))
	to := Addr(0x200000000)
	require.NoError(t, s.Relocate(at0, 1<<30, to, 1<<30))
	nv := s.Lookup(to)
	require.NotNil(t, nv)
	assert.Same(t, back, nv.back)
	assert.Equal(t, uint64(pg), hostBytes(nv))
	assert.Nil(t, s.Lookup(at0))
	got := make([]byte, 5)
	require.NoError(t, s.CopyIn(to+pg, got))
	assert.Equal(t, "moved", string(got))
}

func TestHeapMovesByCopy(t *testing.T) {
	s := newSpace(t)
	require.NoError(t, s.SetupHeap(0x100000, 64*pg))
	require.Equal(t, Addr(0x102000), s.SetBrk(0x102000))
	require.NoError(t, s.CopyOut(0x100000, []byte("heap")))
	require.NoError(t, s.Relocate(0x100000, 2*pg, 0x40000000, 2*pg))
	require.Equal(t, Addr(0x102000), s.SetBrk(0x102000), "the break is where it was")
	require.Equal(t, Addr(0x100000), s.SetBrk(0x100000))
	require.Equal(t, Addr(0x102000), s.SetBrk(0x102000))
	got := make([]byte, 4)
	require.NoError(t, s.CopyIn(0x40000000, got))
	assert.Equal(t, "heap", string(got), "the moved pages are not the heap's any more")
	require.NoError(t, s.CopyIn(0x100000, got))
	assert.Equal(t, []byte{0, 0, 0, 0}, got)
}

func TestHeapGrowthKeepsFewPiecesAndShowsOne(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	s := New(cpu)
	defer s.Close()
	require.NoError(t, s.SetupHeap(0x1000000, 1<<30))
	step := Addr(33 * pg)
	for i := 1; i <= 4000; i++ {
		want := 0x1000000 + Addr(i)*step
		require.Equal(t, want, s.SetBrk(want))
	}
	assert.Equal(t, 1, s.Len(), "heap pieces join as they grow")
	assert.Less(t, cpu.Regions(), 20, "the CPU's regions grow geometrically")
	assert.NoError(t, s.CheckCPU())
	maps := s.Maps()
	assert.Equal(t, 1, strings.Count(maps, "[heap]"), maps)
	assert.Equal(t, 0x1000000+4000*step, s.MappingEnd(0x1000000))
	require.NoError(t, s.CopyOut(0x1000000+4000*step-8, []byte("the end!")))
}

func TestFindFreeRemembersAndSeesHoles(t *testing.T) {
	s := newSpace(t)
	top := Addr(0x40000000)
	var got []Addr
	for i := 0; i < 100; i++ {
		a, err := s.FindFree(2*pg, top)
		require.NoError(t, err)
		mustMap(t, s, a, 2*pg, 0, "")
		require.NoError(t, s.Unmap(a+pg, pg)) // one-page holes: too small for the next
		got = append(got, a)
	}
	assert.Equal(t, top-2*pg, got[0])
	assert.Equal(t, got[98]-2*pg, got[99], "each search goes on below the last")

	// A hole opened above the last result is found again.
	require.NoError(t, s.Unmap(got[10], pg))
	require.NoError(t, s.Unmap(got[11], pg))
	a, err := s.FindFree(2*pg, top)
	require.NoError(t, err)
	assert.Equal(t, got[10], a, "the top of the hole the two freed pages joined")
	// A request that fits a skipped hole searches from the top again.
	a, err = s.FindFree(pg, top)
	require.NoError(t, err)
	assert.Equal(t, got[0]+pg, a)
}

// mprotect, munmap and mmap inside memory the CPU holds change its permission table, not
// its regions: alternating permissions over 2000 pages keep one region.
func TestProtectKeepsOneRegion(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	s := New(cpu)
	defer s.Close()
	const n = 2000
	mustMap(t, s, at0, n*pg, rw, "")
	for i := 0; i < n; i += 2 {
		require.NoError(t, s.Protect(at0+Addr(i)*pg, pg, ro))
	}
	assert.Equal(t, n, s.Len())
	assert.Equal(t, 1, cpu.Regions())
	require.NoError(t, s.CheckCPU())
	require.NoError(t, s.Protect(at0, 10*pg, 0))
	require.NoError(t, s.Unmap(at0+20*pg, 10*pg))
	assert.Equal(t, 1, cpu.Regions())
	require.NoError(t, s.CheckCPU())
	require.NoError(t, s.Protect(at0, 10*pg, rw), "memory kept without access comes back")
	require.NoError(t, s.CheckCPU())
	assert.Equal(t, 1, cpu.Regions())

	// A new mapping in the hole is other memory, carved from the same window: it needs
	// no region of its own, and the pages on either side keep theirs.
	require.NoError(t, s.CopyOut(at0+19*pg, []byte("left")))
	require.NoError(t, s.CopyOut(at0+31*pg, []byte("right")))
	mustMap(t, s, at0+22*pg, 2*pg, rw, "")
	require.NoError(t, s.CheckCPU())
	assert.Equal(t, 1, cpu.Regions())
	require.NoError(t, s.CopyOut(at0+22*pg, []byte("new")))
	for _, c := range []struct {
		a    Addr
		want string
	}{{at0 + 19*pg, "left"}, {at0 + 31*pg, "right"}, {at0 + 22*pg, "new"}} {
		got := make([]byte, len(c.want))
		require.NoError(t, cpu.ReadMem(uint64(c.a), got), "the CPU reads %#x", c.a)
		assert.Equal(t, c.want, string(got))
	}
	b := make([]byte, 1)
	assert.Error(t, cpu.ReadMem(uint64(at0+25*pg), b), "an unmapped page is not read")

	require.NoError(t, s.Unmap(at0, n*pg))
	require.NoError(t, s.CheckCPU())
	assert.Equal(t, 1, cpu.Regions(), "regions without mappings go; the arena's window stays")
}

// A mapping placed in the part of the heap's reservation the CPU holds ahead of the break
// cuts it: the break then grows elsewhere in new regions.
func TestMapInsideTheHeapsReach(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	s := New(cpu)
	defer s.Close()
	require.NoError(t, s.SetupHeap(0x600000, 16<<20))
	require.Equal(t, Addr(0x600000+pg), s.SetBrk(0x600000+pg))
	require.NoError(t, s.CopyOut(0x600000, []byte("heap")))
	mustMap(t, s, 0x600000+4*pg, pg, rw, "")
	require.NoError(t, s.CopyOut(0x600000+4*pg, []byte("mine")))
	require.NoError(t, s.CheckCPU())
	require.Equal(t, Addr(0x600000+3*pg), s.SetBrk(0x600000+3*pg))
	require.NoError(t, s.CheckCPU())
	for a, want := range map[Addr]string{0x600000: "heap", 0x600000 + 4*pg: "mine"} {
		got := make([]byte, 4)
		require.NoError(t, cpu.ReadMem(uint64(a), got))
		assert.Equal(t, want, string(got))
	}
}

// Mappings made one below the other (thread stacks: a guard page, then the stack made
// writable) lie one below the other on the host too: the CPU holds them in few regions,
// and so does a forked child's.
func TestStacksShareRegions(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	s := New(cpu)
	defer s.Close()
	const n, size = 1000, 17 * pg
	var stacks []Addr
	for i := 0; i < n; i++ {
		a, err := s.FindFree(size, 0x7f0000000000)
		require.NoError(t, err)
		mustMap(t, s, a, size, 0, "")
		require.NoError(t, s.Protect(a+pg, size-pg, rw))
		require.NoError(t, s.CopyOut(a+pg, []byte{byte(i)}))
		stacks = append(stacks, a)
	}
	require.NoError(t, s.CheckCPU())
	assert.Less(t, cpu.Regions(), 30, "one region per stack would be %d", n)
	got := make([]byte, 1)
	for i, a := range stacks {
		require.NoError(t, cpu.ReadMem(uint64(a+pg), got))
		require.Equal(t, byte(i), got[0])
		require.Error(t, cpu.ReadMem(uint64(a), got), "a guard page")
	}

	ccpu, err := emu.New()
	require.NoError(t, err)
	defer ccpu.Close()
	c, err := s.Fork(ccpu)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.CheckCPU())
	assert.Less(t, ccpu.Regions(), 30)
	for i, a := range stacks {
		require.NoError(t, ccpu.ReadMem(uint64(a+pg), got))
		require.Equal(t, byte(i), got[0])
	}

	for _, a := range stacks {
		require.NoError(t, s.Unmap(a, size))
	}
	require.NoError(t, s.CheckCPU())
	assert.Equal(t, 1, cpu.Regions(), "the arena's window alone")

	// One-page mappings with a hole between each (nothing joins them) still share.
	for i := 0; i < n; i++ {
		a, err := s.FindFree(2*pg, 0x7f0000000000)
		require.NoError(t, err)
		mustMap(t, s, a, 2*pg, rw, "")
		require.NoError(t, s.Unmap(a+pg, pg))
	}
	require.NoError(t, s.CheckCPU())
	assert.Less(t, cpu.Regions(), 30)
}

// Splits stop at vm.max_map_count mappings, as on Linux: ENOMEM, and nothing changes
// past it (the list and the CPU's table stay bounded).
func TestMapCountLimit(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	s := New(cpu)
	defer s.Close()
	limit := int(maxMapCount())
	n := limit + 10
	mustMap(t, s, at0, uint64(2*n)*pg, rw, "")
	var fail error
	for i := 0; i < 2*n && fail == nil; i += 2 {
		fail = s.Protect(at0+Addr(i)*pg, pg, ro)
	}
	assert.Equal(t, unix.ENOMEM, fail)
	assert.LessOrEqual(t, s.Len(), limit+1)
	require.NoError(t, s.CheckCPU())
}

// One engine handed from space to space, as an image's runs hand it on, keeps the same
// few regions: an ended arena's reservation, a window the engine has, goes to the next.
func TestEngineReusedKeepsRegions(t *testing.T) {
	cpu, err := emu.New()
	require.NoError(t, err)
	defer cpu.Close()
	for i := range 200 {
		s := New(cpu)
		mustMap(t, s, at0, 4*pg, rw, "")
		require.NoError(t, s.CopyOut(at0+pg, []byte{byte(i)}))
		got := make([]byte, 1)
		require.NoError(t, cpu.ReadMem(uint64(at0+pg), got))
		require.Equal(t, byte(i), got[0])
		require.NoError(t, s.CheckCPU())
		s.Retire()
		require.LessOrEqual(t, cpu.Regions(), 2, "run %d", i)
	}
}
