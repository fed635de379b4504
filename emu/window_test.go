package emu

import (
	"testing"

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
