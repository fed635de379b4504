package emu

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// windowEngine is newEngine with the stack page in a window: its physical address is not
// its guest address.
func windowEngine(t *testing.T, code []byte) (*Engine, []byte) {
	t.Helper()
	e, err := New()
	require.NoError(t, err)
	t.Cleanup(e.Close)
	mem, err := unix.Mmap(-1, 0, PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	copy(mem, code)
	require.NoError(t, e.MapHost(codeAddr, mem, ProtRead|ProtExec))
	win, err := unix.Mmap(-1, 0, 16*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	AddWindow(win)
	t.Cleanup(func() { DropWindow(win); unix.Munmap(win) })
	require.NoError(t, e.MapHost(0x7ff000, win[5*PageSize:6*PageSize], ProtRead|ProtWrite))
	require.NoError(t, e.SetReg(RSP, 0x800000))
	return e, win[5*PageSize : 6*PageSize]
}

func TestWatchInWindow(t *testing.T) {
	e, stack := windowEngine(t, loopCode)
	require.Equal(t, Halt, e.Run(codeAddr).Kind)
	assert.Equal(t, byte(5), stack[PageSize-8], "the guest's stores reach the window's memory")
	assert.Equal(t, 1, len(e.ucRegions), "the window is no region of the guest range")
	require.NoError(t, e.SetReg(RAX, 0))
	require.NoError(t, e.AddWatch(0x800000-8, 8, true, false))
	ev := e.Run(codeAddr)
	require.Equal(t, Debug, ev.Kind, ev.String())
	assert.Equal(t, WatchHit, ev.Reason)
	assert.Equal(t, uint64(0x800000-8), ev.Addr)
	var b [1]byte
	require.NoError(t, e.ReadMem(0x800000-8, b[:]))
	assert.Equal(t, byte(1), b[0])
}

// slotWindowMaps counts the host mappings in windows of slots, from /proc/self/maps.
func slotWindowMaps(t *testing.T) int {
	t.Helper()
	windows.mu.Lock()
	var spans [][2]uint64
	for _, i := range windows.slotWin {
		h := uint64(windows.list[i].host)
		spans = append(spans, [2]uint64{h, h + windowSize})
	}
	windows.mu.Unlock()
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		lo, _, ok := strings.Cut(line, "-")
		if !ok {
			continue
		}
		a, err := strconv.ParseUint(lo, 16, 64)
		require.NoError(t, err)
		for _, s := range spans {
			if a >= s[0] && a < s[1] {
				n++
			}
		}
	}
	return n
}

// TestWindowSlots hands slots out and back at random, maps a file over each (at offsets
// that never continue another's, so that the host joins none), and checks the slots
// against each other and the host mappings the windows say they hold against the host's
// own count.
func TestWindowSlots(t *testing.T) {
	fd, err := unix.MemfdCreate("slots", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.Ftruncate(fd, 1<<32))
	rng := rand.New(rand.NewPCG(7, 8))
	type live struct {
		mem []byte
		tag byte
	}
	var slots []live
	want := slotWindowMaps(t)
	for step := range 3000 {
		if len(slots) > 0 && rng.IntN(5) < 2 {
			i := rng.IntN(len(slots))
			want += WindowFree(slots[i].mem)
			slots[i] = slots[len(slots)-1]
			slots = slots[:len(slots)-1]
		} else {
			n := uint64(1+rng.IntN(5)) * PageSize
			mem, maps := WindowAlloc(n)
			require.NotNil(t, mem)
			require.LessOrEqual(t, maps, WindowAllocMaps)
			want += maps
			off := int64(step) * 16 * PageSize
			_, err := unix.MmapPtr(fd, off, unsafe.Pointer(&mem[0]), uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED)
			require.NoError(t, err)
			tag := byte(step)
			for p := 0; p < len(mem); p += PageSize {
				mem[p] = tag
			}
			slots = append(slots, live{mem, tag})
		}
		if step%100 == 0 {
			for _, s := range slots {
				for p := 0; p < len(s.mem); p += PageSize {
					require.Equal(t, s.tag, s.mem[p], "step %d: a slot's memory is its own", step)
				}
			}
			require.Equal(t, want, slotWindowMaps(t), "step %d", step)
		}
	}
	for _, s := range slots {
		want += WindowFree(s.mem)
	}
	require.Equal(t, want, slotWindowMaps(t))
	require.Equal(t, 0, WindowSlots())
}

// Code in window memory: another window page mapped at the same address runs its own
// code, and a change Go makes is seen after FlushCode.
func TestCodeInWindow(t *testing.T) {
	e, err := New()
	require.NoError(t, err)
	defer e.Close()
	win, err := unix.Mmap(-1, 0, 4*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	AddWindow(win)
	defer func() { DropWindow(win); unix.Munmap(win) }()
	code := func(v byte) []byte { return []byte{0xb8, v, 0, 0, 0, 0xf4} } // mov eax, v; hlt
	a, b := win[PageSize:2*PageSize], win[3*PageSize:]
	copy(a, code(1))
	copy(b, code(2))
	run := func() uint64 {
		require.NoError(t, e.SetReg(RAX, 0))
		ev := e.Run(codeAddr)
		require.Equal(t, Halt, ev.Kind, ev.String())
		return e.Reg(RAX)
	}
	require.NoError(t, e.MapHost(codeAddr, a, ProtRead|ProtExec))
	assert.Equal(t, uint64(1), run())
	require.NoError(t, e.Unmap(codeAddr, PageSize))
	require.NoError(t, e.MapHost(codeAddr, b, ProtRead|ProtExec))
	assert.Equal(t, uint64(2), run(), "the other page's code")
	copy(b, code(3))
	e.FlushCode(codeAddr, codeAddr+PageSize)
	assert.Equal(t, uint64(3), run(), "Go's change")
	require.NoError(t, e.Unmap(codeAddr, PageSize))
	require.NoError(t, e.MapHost(codeAddr, a, ProtRead|ProtExec))
	assert.Equal(t, uint64(1), run(), "the first page again")
}

// TestBigWindow maps memory larger than a slot from a window of its own at guest
// addresses far apart: no region is made for it, the guest's stores reach it, the range
// faults once unmapped, and the window's next mapping (of the same size class) reuses
// it, so that any number of such mappings cost an engine one region per window.
func TestBigWindow(t *testing.T) {
	e, _ := newEngine(t, []byte{0xc6, 0x07, 0x05, 0xf4}) // mov byte [rdi], 5; hlt
	const n = 64 << 30
	store := func(at uint64) Event {
		require.NoError(t, e.SetReg(RDI, at))
		return e.Run(codeAddr)
	}
	var first *byte
	for i, at := range []uint64{1 << 40, 3 << 40, 1 << 40} {
		mem, maps := WindowAlloc(n - uint64(i)*PageSize)
		require.NotNil(t, mem)
		require.LessOrEqual(t, maps, WindowAllocMaps)
		if i == 0 {
			first = &mem[0]
		} else {
			assert.Same(t, first, &mem[0], "the window is reused")
		}
		_, err := unix.MmapPtr(-1, 0, unsafe.Pointer(&mem[0]), uintptr(len(mem)), unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE|unix.MAP_FIXED)
		require.NoError(t, err)
		regions := e.Regions()
		require.NoError(t, e.MapHost(at, mem, ProtRead|ProtWrite))
		if i > 0 {
			assert.Equal(t, regions, e.Regions(), "no region more")
		}
		ev := store(at + uint64(len(mem)) - 1)
		require.Equal(t, Halt, ev.Kind, ev.String())
		assert.Equal(t, byte(5), mem[len(mem)-1])
		require.NoError(t, e.Unmap(at, uint64(len(mem))))
		ev = store(at + PageSize)
		require.Equal(t, Fault, ev.Kind, ev.String())
		assert.Equal(t, at+PageSize, ev.Addr)
		assert.True(t, ev.Unmapped)
		assert.LessOrEqual(t, WindowFree(mem), 0)
	}
}

// TestBigWindowsSpent: past maxBig windows of one mapping, a mapping of a size class
// without a free window finds none, and one with a free window still does.
func TestBigWindowsSpent(t *testing.T) {
	windows.mu.Lock()
	saved := maxBig
	maxBig = windows.bigMade + 1
	windows.mu.Unlock()
	t.Cleanup(func() {
		windows.mu.Lock()
		maxBig = saved
		windows.mu.Unlock()
	})
	require.False(t, BigWindowsSpent())
	mem, _ := WindowAlloc(5 << 40) // a size class no other test uses
	require.NotNil(t, mem)
	assert.True(t, BigWindowsSpent())
	other, _ := WindowAlloc(3 << 40)
	assert.Nil(t, other, "no window made past maxBig")
	WindowFree(mem)
	again, _ := WindowAlloc(5 << 40)
	require.NotNil(t, again, "the free window of the class")
	WindowFree(again)
}
