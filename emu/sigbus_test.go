package emu

import (
	"os"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A file mapping given to the CPU, truncated under it: the guest's load raises SIGBUS on
// the host, which the engine turns into a Fault event with Lost (instead of the end of
// the test binary); the page reads as zero until mapped again, and a Go read of a page
// still past the end panics under SetPanicOnFault, Go's handler having got the signal.
func TestHostSigbusIsAnEvent(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "bus")
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(2*PageSize))
	mem, err := unix.Mmap(int(f.Fd()), 0, 2*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(mem)
	mem[PageSize+8] = 7

	// mov rax, [0x600000 + 0x1008]; mov rbx, 1; hlt
	code := cat([]byte{0x48, 0x8b, 0x04, 0x25, 0x08, 0x10, 0x60, 0x00}, []byte{0x48, 0xc7, 0xc3, 1, 0, 0, 0}, hlt)
	e, _ := newEngine(t, code)
	require.NoError(t, e.MapHost(0x600000, mem, ProtRead|ProtWrite))
	require.NoError(t, f.Truncate(PageSize))

	ev := e.Run(codeAddr)
	require.Equal(t, Fault, ev.Kind, ev.String())
	assert.Equal(t, []uint64{0x601008}, ev.Lost)
	assert.Equal(t, uint64(0x601008), ev.Addr)
	assert.Zero(t, mem[PageSize+8], "a zero page in its place")

	// Go's own access to a lost page is Go's to handle.
	require.NoError(t, f.Truncate(2*PageSize))
	_, err = unix.MmapPtr(int(f.Fd()), 0, unsafe.Pointer(&mem[0]), 2*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(PageSize))
	assert.Panics(t, func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		busSink = mem[PageSize+8]
	})
}

var busSink byte
