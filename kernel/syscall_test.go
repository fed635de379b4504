package kernel

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// Guest memory the syscall tests point into, mapped by loadTestTask.
const (
	scratchRW   = mm.Addr(0x10000000) // 16 pages, read-write
	scratchRO   = scratchRW + 16*mm.PageSize
	scratchNone = scratchRO + mm.PageSize   // no access
	scratchEnd  = scratchNone + mm.PageSize // nothing mapped from here
	unmapped    = mm.Addr(0x1000)
)

var (
	builtOnce sync.Once
	builtPath string
	builtErr  error
)

// testProgram returns a static x86-64 program for Exec to load. The tests never run it:
// they only need a process with a real address space around it.
func testProgram(tb testing.TB) string {
	for _, name := range []string{"exit42", "hello.glibc", "hello.musl"} {
		p, _ := filepath.Abs(filepath.Join("..", "testdata", "out", name))
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	builtOnce.Do(func() {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			builtErr = err
			return
		}
		dir, err := os.MkdirTemp("", "vemu-kernel-test-")
		if err != nil {
			builtErr = err
			return
		}
		src := filepath.Join(dir, "main.c")
		if builtErr = os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); builtErr != nil {
			return
		}
		out := filepath.Join(dir, "main")
		if b, err := exec.Command(gcc, "-static", "-O2", "-o", out, src).CombinedOutput(); err != nil {
			builtErr = fmt.Errorf("gcc -static: %v\n%s", err, b)
			return
		}
		builtPath = out
	})
	if builtErr != nil {
		tb.Skipf("no guest program (run make -C testdata): %v", builtErr)
	}
	return builtPath
}

// loadTestTask loads a static program into a new process without running it, with
// /dev/null as its standard files, a deterministic layout and the virtual clock (so that
// no call sleeps), and maps the scratch pages.
func loadTestTask(tb testing.TB) *Task {
	tb.Helper()
	path := testProgram(tb)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	require.NoError(tb, err)
	k := New(Config{Seed: 1, HasSeed: true, NoASLR: true, Clock: ClockVirtual, Stdin: null, Stdout: null, Stderr: null})
	task, err := k.Exec(path, []string{path}, []string{"HOME=/nonexistent"})
	null.Close()
	require.NoError(tb, err)
	tb.Cleanup(func() {
		// Every process of the run, the children a fork or clone made (which never run
		// here) with the first: each holds an engine.
		k.pt.mu.Lock()
		procs := make([]*Process, 0, len(k.pt.procs))
		for _, q := range k.pt.procs {
			procs = append(procs, q)
		}
		k.pt.mu.Unlock()
		for _, q := range procs { // task.p among them
			q.close()
		}
	})

	s := task.p.mm
	_, err = s.Map(scratchRW, uint64(scratchRO-scratchRW), emu.ProtRead|emu.ProtWrite, "")
	require.NoError(tb, err)
	ro, err := s.Map(scratchRO, mm.PageSize, emu.ProtRead, "")
	require.NoError(tb, err)
	copy(ro.Host(), "/nonexistent/ro\x00")
	_, err = s.Map(scratchNone, mm.PageSize, emu.ProtNone, "")
	require.NoError(tb, err)
	// A string that runs into unmapped memory.
	require.NoError(tb, s.Write(scratchEnd-4, []byte("abcd")))
	return task
}

// call makes system call nr through the SYSCALL entry and returns rax as a signed value.
func call(t *Task, nr uint64, args ...uint64) int64 {
	s := emu.Syscall{Nr: nr}
	copy(s.Args[:], args)
	t.onSyscall(&s)
	return int64(s.Ret)
}

func neg(e unix.Errno) int64 { return -int64(e) }

// putString writes a NUL-terminated string into the scratch memory at off.
func putString(tb testing.TB, t *Task, off uint64, str string) uint64 {
	tb.Helper()
	addr := scratchRW + mm.Addr(off)
	require.NoError(tb, t.p.mm.CopyOut(addr, append([]byte(str), 0)))
	return uint64(addr)
}

// fdcwd is AT_FDCWD as a register value.
const fdcwd = uint64(1<<64 + abi.AT_FDCWD)

// openHostFile creates a file with content and opens it in the guest with flags.
func openHostFile(tb testing.TB, t *Task, content string, flags uint64) uint64 {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "data")
	require.NoError(tb, os.WriteFile(p, []byte(content), 0o644))
	fd := call(t, abi.SYS_OPENAT, fdcwd, putString(tb, t, 0x3000, p), flags, 0)
	require.GreaterOrEqual(tb, fd, int64(0), "openat %s: %d", p, fd)
	return uint64(fd)
}

func TestSyscallErrors(t *testing.T) {
	task := loadTestTask(t)
	rfd := openHostFile(t, task, "hello, world\n", 0)
	wfd := openHostFile(t, task, "", abi.O_WRONLY)
	okPath := putString(t, task, 0x100, "/")
	okBuf := uint64(scratchRW + 0x1000)
	ro, none := uint64(scratchRO), uint64(scratchNone)
	runsOff := uint64(scratchEnd - 4)
	sigsetOK := uint64(abi.SigsetSize)
	act := uint64(scratchRW + 0x2000)
	const (
		private = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
		rwProt  = abi.PROT_READ | 2
	)

	cases := []struct {
		name string
		nr   uint64
		args []uint64
		want int64
	}{
		{"read-unmapped-buffer", abi.SYS_READ, []uint64{rfd, uint64(unmapped), 5}, neg(unix.EFAULT)},
		{"read-into-read-only", abi.SYS_READ, []uint64{rfd, ro, 5}, neg(unix.EFAULT)},
		{"read-into-no-access", abi.SYS_READ, []uint64{rfd, none, 5}, neg(unix.EFAULT)},
		{"read-kernel-address", abi.SYS_READ, []uint64{rfd, 0xffffffffff600000, 5}, neg(unix.EFAULT)},
		{"read-bad-fd", abi.SYS_READ, []uint64{99, okBuf, 5}, neg(unix.EBADF)},
		{"write-unmapped-buffer", abi.SYS_WRITE, []uint64{wfd, uint64(unmapped), 5}, neg(unix.EFAULT)},
		{"write-from-no-access", abi.SYS_WRITE, []uint64{wfd, none, 5}, neg(unix.EFAULT)},
		{"write-wrapping-buffer", abi.SYS_WRITE, []uint64{wfd, ^uint64(0) - 2, 5}, neg(unix.EFAULT)},
		{"write-bad-fd", abi.SYS_WRITE, []uint64{^uint64(0), okBuf, 5}, neg(unix.EBADF)},
		{"stat-unmapped-path", abi.SYS_STAT, []uint64{uint64(unmapped), okBuf}, neg(unix.EFAULT)},
		{"stat-null-path", abi.SYS_STAT, []uint64{0, okBuf}, neg(unix.EFAULT)},
		{"stat-path-without-access", abi.SYS_STAT, []uint64{none, okBuf}, neg(unix.EFAULT)},
		{"stat-path-runs-off-memory", abi.SYS_STAT, []uint64{runsOff, okBuf}, neg(unix.EFAULT)},
		{"stat-unmapped-buffer", abi.SYS_STAT, []uint64{okPath, uint64(unmapped)}, neg(unix.EFAULT)},
		{"stat-read-only-buffer", abi.SYS_STAT, []uint64{okPath, ro}, neg(unix.EFAULT)},
		{"stat-buffer-runs-into-read-only", abi.SYS_STAT, []uint64{okPath, ro - 16}, neg(unix.EFAULT)},
		{"lstat-null-path", abi.SYS_LSTAT, []uint64{0, okBuf}, neg(unix.EFAULT)},
		{"fstat-unmapped-buffer", abi.SYS_FSTAT, []uint64{rfd, uint64(unmapped)}, neg(unix.EFAULT)},
		{"newfstatat-null-path", abi.SYS_NEWFSTATAT, []uint64{fdcwd, 0, okBuf, 0}, neg(unix.EFAULT)},
		{"clock_gettime-unmapped", abi.SYS_CLOCK_GETTIME, []uint64{abi.CLOCK_MONOTONIC, uint64(unmapped)}, neg(unix.EFAULT)},
		{"clock_gettime-read-only", abi.SYS_CLOCK_GETTIME, []uint64{abi.CLOCK_MONOTONIC, ro}, neg(unix.EFAULT)},
		{"clock_gettime-null", abi.SYS_CLOCK_GETTIME, []uint64{abi.CLOCK_REALTIME, 0}, neg(unix.EFAULT)},
		{"clock_gettime-bad-clock", abi.SYS_CLOCK_GETTIME, []uint64{1000, okBuf}, neg(unix.EINVAL)},
		{"gettimeofday-unmapped", abi.SYS_GETTIMEOFDAY, []uint64{uint64(unmapped), 0}, neg(unix.EFAULT)},
		{"time-read-only", abi.SYS_TIME, []uint64{ro}, neg(unix.EFAULT)},
		{"nanosleep-unmapped", abi.SYS_NANOSLEEP, []uint64{uint64(unmapped), 0}, neg(unix.EFAULT)},
		{"openat-unmapped-path", abi.SYS_OPENAT, []uint64{fdcwd, uint64(unmapped), 0, 0}, neg(unix.EFAULT)},
		{"openat-null-path", abi.SYS_OPENAT, []uint64{fdcwd, 0, 0, 0}, neg(unix.EFAULT)},
		{"openat-path-without-access", abi.SYS_OPENAT, []uint64{fdcwd, none, 0, 0}, neg(unix.EFAULT)},
		{"openat-path-runs-off-memory", abi.SYS_OPENAT, []uint64{fdcwd, runsOff, 0, 0}, neg(unix.EFAULT)},
		{"openat-path-above-user-space", abi.SYS_OPENAT, []uint64{fdcwd, 0xffffffffff600000, 0, 0}, neg(unix.EFAULT)},
		{"openat-read-only-path", abi.SYS_OPENAT, []uint64{fdcwd, ro, 0, 0}, neg(unix.ENOENT)},
		{"openat-empty-path", abi.SYS_OPENAT, []uint64{fdcwd, putString(t, task, 0x200, ""), 0, 0}, neg(unix.ENOENT)},
		{"openat-bad-dirfd", abi.SYS_OPENAT, []uint64{77, putString(t, task, 0x300, "rel"), 0, 0}, neg(unix.EBADF)},
		{"open-null-path", abi.SYS_OPEN, []uint64{0, 0, 0}, neg(unix.EFAULT)},
		{"access-null-path", abi.SYS_ACCESS, []uint64{0, 0}, neg(unix.EFAULT)},
		{"unknown-1000", 1000, nil, neg(unix.ENOSYS)},
		{"unknown-uselib", 134, nil, neg(unix.ENOSYS)},
		{"unknown-table-size", abi.SyscallCount, nil, neg(unix.ENOSYS)},
		{"unknown-huge", 1 << 63, nil, neg(unix.ENOSYS)},
		{"unknown-all-ones", ^uint64(0), nil, neg(unix.ENOSYS)},
		{"rseq-short", abi.SYS_RSEQ, []uint64{0x10000, 16, 0, 0}, neg(unix.EINVAL)},
		{"rseq-misaligned", abi.SYS_RSEQ, []uint64{0x10010, 32, 0, 0}, neg(unix.EINVAL)},
		{"rseq-above-user-space", abi.SYS_RSEQ, []uint64{0xffffffffff600000, 32, 0, 0}, neg(unix.EFAULT)},
		{"rseq-runs-past-user-space", abi.SYS_RSEQ, []uint64{0x7fffffffefe0, 64, 0, 0}, neg(unix.EFAULT)},
		{"rseq-unknown-flag", abi.SYS_RSEQ, []uint64{0x10000, 32, 2, 0}, neg(unix.EINVAL)},
		{"rseq-unregister-unregistered", abi.SYS_RSEQ, []uint64{0x10000, 32, abi.RSEQ_FLAG_UNREGISTER, 0}, neg(unix.EINVAL)},
		{"rseq-slice-yield-without-grant", abi.SYS_RSEQ_SLICE_YIELD, nil, 0},
		{"clone3-short-args", abi.SYS_CLONE3, []uint64{0, 0}, neg(unix.EINVAL)},
		{"clone3-huge-args", abi.SYS_CLONE3, []uint64{0, 1 << 20}, neg(unix.E2BIG)},
		{"close-negative", abi.SYS_CLOSE, []uint64{^uint64(0)}, neg(unix.EBADF)},
		{"close-unopened", abi.SYS_CLOSE, []uint64{1000}, neg(unix.EBADF)},
		{"close-upper-bits-ignored", abi.SYS_CLOSE, []uint64{1 << 32}, 0},
		{"close-huge", abi.SYS_CLOSE, []uint64{1 << 40}, neg(unix.EBADF)},
		{"mmap-no-type", abi.SYS_MMAP, []uint64{0, mm.PageSize, rwProt, abi.MAP_ANONYMOUS, ^uint64(0), 0}, neg(unix.EINVAL)},
		{"mmap-bad-type", abi.SYS_MMAP, []uint64{0, mm.PageSize, rwProt, 0xf | abi.MAP_ANONYMOUS, ^uint64(0), 0}, neg(unix.EINVAL)},
		{"mmap-zero-length", abi.SYS_MMAP, []uint64{0, 0, rwProt, private, ^uint64(0), 0}, neg(unix.EINVAL)},
		{"mmap-unaligned-offset", abi.SYS_MMAP, []uint64{0, mm.PageSize, rwProt, abi.MAP_PRIVATE, rfd, 1}, neg(unix.EINVAL)},
		{"mmap-fixed-unaligned", abi.SYS_MMAP, []uint64{0x20000001, mm.PageSize, rwProt, private | abi.MAP_FIXED, ^uint64(0), 0}, neg(unix.EINVAL)},
		{"mmap-huge-length", abi.SYS_MMAP, []uint64{0, 1 << 62, rwProt, private, ^uint64(0), 0}, neg(unix.ENOMEM)},
		{"mmap-file-bad-fd", abi.SYS_MMAP, []uint64{0, mm.PageSize, rwProt, abi.MAP_PRIVATE, 99, 0}, neg(unix.EBADF)},
		{"mmap-shared-write-read-only-file", abi.SYS_MMAP, []uint64{0, mm.PageSize, rwProt, 1, rfd, 0}, neg(unix.EACCES)},
		{"mmap-write-only-file", abi.SYS_MMAP, []uint64{0, mm.PageSize, abi.PROT_READ, abi.MAP_PRIVATE, wfd, 0}, neg(unix.EACCES)},
		{"munmap-unaligned", abi.SYS_MUNMAP, []uint64{uint64(scratchRW) + 1, mm.PageSize}, neg(unix.EINVAL)},
		{"munmap-zero-length", abi.SYS_MUNMAP, []uint64{uint64(scratchRW), 0}, neg(unix.EINVAL)},
		{"munmap-above-user-space", abi.SYS_MUNMAP, []uint64{uint64(mm.TaskSize), mm.PageSize}, neg(unix.EINVAL)},
		{"munmap-wrapping", abi.SYS_MUNMAP, []uint64{uint64(scratchRW), ^uint64(0) - 0xfff}, neg(unix.EINVAL)},
		{"munmap-nothing-there", abi.SYS_MUNMAP, []uint64{0x30000000, mm.PageSize}, 0},
		{"mprotect-unaligned", abi.SYS_MPROTECT, []uint64{uint64(scratchRW) + 1, mm.PageSize, abi.PROT_READ}, neg(unix.EINVAL)},
		{"mprotect-bad-prot", abi.SYS_MPROTECT, []uint64{uint64(scratchRW), mm.PageSize, 0x100}, neg(unix.EINVAL)},
		{"mprotect-unmapped", abi.SYS_MPROTECT, []uint64{0x30000000, mm.PageSize, abi.PROT_READ}, neg(unix.ENOMEM)},
		{"rt_sigaction-sigsetsize-4", abi.SYS_RT_SIGACTION, []uint64{abi.SIGUSR1, act, 0, 4}, neg(unix.EINVAL)},
		{"rt_sigaction-sigsetsize-16", abi.SYS_RT_SIGACTION, []uint64{abi.SIGUSR1, 0, act, 16}, neg(unix.EINVAL)},
		{"rt_sigaction-set-sigkill", abi.SYS_RT_SIGACTION, []uint64{abi.SIGKILL, act, 0, sigsetOK}, neg(unix.EINVAL)},
		{"rt_sigaction-set-sigstop", abi.SYS_RT_SIGACTION, []uint64{abi.SIGSTOP, act, 0, sigsetOK}, neg(unix.EINVAL)},
		{"rt_sigaction-query-sigkill", abi.SYS_RT_SIGACTION, []uint64{abi.SIGKILL, 0, act, sigsetOK}, 0},
		{"rt_sigaction-signal-0", abi.SYS_RT_SIGACTION, []uint64{0, act, 0, sigsetOK}, neg(unix.EINVAL)},
		{"rt_sigaction-signal-65", abi.SYS_RT_SIGACTION, []uint64{65, act, 0, sigsetOK}, neg(unix.EINVAL)},
		{"rt_sigaction-negative-signal", abi.SYS_RT_SIGACTION, []uint64{^uint64(0), act, 0, sigsetOK}, neg(unix.EINVAL)},
		{"rt_sigaction-unmapped-act", abi.SYS_RT_SIGACTION, []uint64{abi.SIGUSR1, uint64(unmapped), 0, sigsetOK}, neg(unix.EFAULT)},
		{"rt_sigaction-read-only-oldact", abi.SYS_RT_SIGACTION, []uint64{abi.SIGUSR1, 0, ro, sigsetOK}, neg(unix.EFAULT)},
		{"rt_sigprocmask-sigsetsize", abi.SYS_RT_SIGPROCMASK, []uint64{abi.SIG_BLOCK, act, 0, 4}, neg(unix.EINVAL)},
		{"rt_sigprocmask-bad-how", abi.SYS_RT_SIGPROCMASK, []uint64{7, act, 0, sigsetOK}, neg(unix.EINVAL)},
		{"rt_sigprocmask-unmapped-set", abi.SYS_RT_SIGPROCMASK, []uint64{abi.SIG_BLOCK, uint64(unmapped), 0, sigsetOK}, neg(unix.EFAULT)},
		{"uname-read-only", abi.SYS_UNAME, []uint64{ro}, neg(unix.EFAULT)},
		{"pipe-unmapped", abi.SYS_PIPE, []uint64{uint64(unmapped)}, neg(unix.EFAULT)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := call(task, c.nr, c.args...)
			assert.Equal(t, c.want, got, "%s = %d (%v)", syscallName(c.nr, argsOf(c.args)), got, errnoOf(got))
			assert.Nil(t, task.p.exit, "the call ended the process")
		})
	}
}

func argsOf(v []uint64) Args {
	var a Args
	copy(a[:], v)
	return a
}

func errnoOf(r int64) error {
	if r < 0 && r >= -4095 {
		return unix.Errno(-r)
	}
	return nil
}

func TestSyscallSuccess(t *testing.T) {
	task := loadTestTask(t)
	buf := uint64(scratchRW + 0x1000)
	fd := openHostFile(t, task, "hello, world\n", 0)

	assert.Equal(t, int64(5), call(task, abi.SYS_READ, fd, buf, 5))
	got := make([]byte, 5)
	require.NoError(t, task.p.mm.CopyIn(mm.Addr(buf), got))
	assert.Equal(t, "hello", string(got))

	// A read across two mappings lands in both.
	edge := uint64(scratchRO) - 3
	require.NoError(t, task.p.mm.Protect(scratchRO, mm.PageSize, emu.ProtRead|emu.ProtWrite))
	assert.Equal(t, int64(6), call(task, abi.SYS_READ, fd, edge, 6))
	require.NoError(t, task.p.mm.CopyIn(mm.Addr(edge), got))
	assert.Equal(t, ", wor", string(got))
	require.NoError(t, task.p.mm.Protect(scratchRO, mm.PageSize, emu.ProtRead))

	// A read that reaches a read-only page is short, as on Linux.
	assert.Equal(t, int64(0), call(task, abi.SYS_LSEEK, fd, 0, 0))
	assert.Equal(t, int64(3), call(task, abi.SYS_READ, fd, uint64(scratchRO)-3, 10))

	assert.Equal(t, int64(0), call(task, abi.SYS_STAT, putString(t, task, 0x100, "/"), buf))
	var st [abi.StatSize]byte
	require.NoError(t, task.p.mm.CopyIn(mm.Addr(buf), st[:]))
	var s abi.Stat
	s.Unmarshal(st[:])
	assert.Equal(t, uint32(unix.S_IFDIR), s.Mode&unix.S_IFMT)

	assert.Equal(t, int64(0), call(task, abi.SYS_CLOSE, fd))
	assert.Equal(t, neg(unix.EBADF), call(task, abi.SYS_CLOSE, fd), "second close")

	assert.Equal(t, int64(task.p.pid), call(task, abi.SYS_GETPID))
	assert.Equal(t, int64(0), call(task, abi.SYS_RT_SIGACTION, abi.SIGKILL, 0, buf, abi.SigsetSize))

	addr := call(task, abi.SYS_MMAP, 0, 3*mm.PageSize, 3, abi.MAP_PRIVATE|abi.MAP_ANONYMOUS, ^uint64(0), 0)
	require.Greater(t, addr, int64(0))
	assert.Zero(t, addr%mm.PageSize)
	assert.Equal(t, int64(0), call(task, abi.SYS_MUNMAP, uint64(addr)+mm.PageSize, 1))
	assert.Nil(t, task.p.mm.Lookup(mm.Addr(addr)+mm.PageSize))
	assert.NotNil(t, task.p.mm.Lookup(mm.Addr(addr)+2*mm.PageSize))
	assert.Nil(t, task.p.exit)
}

func TestSyscallExitGroupStops(t *testing.T) {
	task := loadTestTask(t)
	s := emu.Syscall{Nr: abi.SYS_EXIT_GROUP, Args: [6]uint64{3}}
	task.onSyscall(&s)
	require.NotNil(t, task.p.exit)
	assert.Equal(t, 3, task.p.exit.Code)
	assert.True(t, task.p.stop)
}

// withHandler replaces the handler of nr for the duration of the test.
func withHandler(t *testing.T, nr uint64, h Handler) {
	old := table[nr]
	table[nr] = supported(h)
	t.Cleanup(func() { table[nr] = old })
}

func TestSyscallErrorsReachTheGuestOnce(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		want     int64
		internal bool
	}{
		{"errno", unix.EINVAL, neg(unix.EINVAL), false},
		{"wrapped-errno", fmt.Errorf("open: %w", unix.ENOENT), neg(unix.ENOENT), false},
		{"other-error", errors.New("broken"), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task := loadTestTask(t)
			withHandler(t, abi.SYS_GETPID, func(*Task, Args) (uint64, error) { return 0, c.err })
			got := call(task, abi.SYS_GETPID, 1, 2)
			if !c.internal {
				assert.Equal(t, c.want, got)
				assert.Nil(t, task.p.exit)
				return
			}
			require.NotNil(t, task.p.exit, "an internal error must end the guest")
			assert.Equal(t, 125, task.p.exit.Code)
			assert.Contains(t, task.p.exit.Detail, "getpid(0x1, 0x2")
			assert.Contains(t, task.p.exit.Detail, "broken")
			assert.True(t, task.p.stop)
		})
	}
}

func TestMmapAfterMappingAcrossMmapBase(t *testing.T) {
	task := loadTestTask(t)
	base := uint64(task.p.mm.MmapBase)
	const anon = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
	got := call(task, abi.SYS_MMAP, base-mm.PageSize, 2*mm.PageSize, 3, anon|abi.MAP_FIXED, ^uint64(0), 0)
	require.Equal(t, int64(base-mm.PageSize), got)
	// Wherever it goes, a small anonymous mapping must succeed.
	got = call(task, abi.SYS_MMAP, 0, mm.PageSize, 3, anon, ^uint64(0), 0)
	assert.Greater(t, got, int64(0), "mmap = %d (%v)", got, errnoOf(got))
}

func TestMremapFixedOverlapping(t *testing.T) {
	task := loadTestTask(t)
	old := uint64(0x20000000)
	const anon = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS | abi.MAP_FIXED
	require.Equal(t, int64(old), call(task, abi.SYS_MMAP, old, 4*mm.PageSize, 3, anon, ^uint64(0), 0))
	got := call(task, abi.SYS_MREMAP, old, 4*mm.PageSize, 4*mm.PageSize, abi.MREMAP_MAYMOVE|abi.MREMAP_FIXED, old+mm.PageSize)
	assert.Equal(t, neg(unix.EINVAL), got, "mremap = %d (%v)", got, errnoOf(got))
	assert.True(t, task.p.mm.Mapped(mm.Addr(old), mm.Addr(old+4*mm.PageSize)), "the old mapping was damaged")
	if got > 0 {
		assert.True(t, task.p.mm.Mapped(mm.Addr(got), mm.Addr(got)+4*mm.PageSize), "mremap returned %#x, not all mapped", got)
	}
}

func TestMmapHintAboveUserSpace(t *testing.T) {
	const anon = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
	for _, c := range []struct {
		name       string
		hint, size uint64
	}{
		{"last-page", 0xfffffffffffff000, mm.PageSize},
		{"wraps", 0xffffffffffffe000, 3 * mm.PageSize},
		{"vsyscall-page", 0xffffffffff600000, mm.PageSize},
		{"task-size", uint64(mm.TaskSize), mm.PageSize},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := loadTestTask(t)
			got := call(task, abi.SYS_MMAP, c.hint, c.size, 3, anon, ^uint64(0), 0)
			// The hint is only a hint: the mapping goes somewhere in user space.
			require.Nil(t, task.p.exit, "mmap ended the guest")
			assert.Greater(t, got, int64(0), "mmap = %#x", uint64(got))
			assert.LessOrEqual(t, uint64(got)+c.size, uint64(mm.TaskSize), "mmap = %#x", uint64(got))
		})
	}
}
