package kernel

import (
	"os"
	"sync"
	"testing"

	"vemu/abi"
	"vemu/emu"
	"vemu/kernel/mm"
)

// fuzzTame turns a fuzzed system call into one that is safe to make from a test: calls
// that would block, end the process, or change host files other than the guest's own
// become getpid, and open flags lose everything that could create, truncate or write.
func fuzzTame(nr uint64, a [6]uint64) (uint64, [6]uint64) {
	switch nr {
	case abi.SYS_READ, abi.SYS_READV, abi.SYS_PREAD64, abi.SYS_PREADV:
		if int32(a[0]) == 0 {
			return abi.SYS_GETPID, a
		}
	case abi.SYS_NANOSLEEP, abi.SYS_CLOCK_NANOSLEEP, abi.SYS_PAUSE, abi.SYS_EXIT, abi.SYS_EXIT_GROUP,
		abi.SYS_KILL, abi.SYS_TGKILL, abi.SYS_TKILL, abi.SYS_WAIT4, abi.SYS_SYNC,
		abi.SYS_UNLINK, abi.SYS_UNLINKAT, abi.SYS_RMDIR, abi.SYS_RENAME, abi.SYS_RENAMEAT, abi.SYS_RENAMEAT2,
		abi.SYS_TRUNCATE, abi.SYS_FTRUNCATE, abi.SYS_CHMOD, abi.SYS_FCHMOD, abi.SYS_FCHMODAT,
		abi.SYS_CHOWN, abi.SYS_FCHOWN, abi.SYS_LCHOWN, abi.SYS_FCHOWNAT, abi.SYS_LINK, abi.SYS_LINKAT,
		abi.SYS_SYMLINK, abi.SYS_SYMLINKAT, abi.SYS_MKDIR, abi.SYS_MKDIRAT, abi.SYS_CREAT, abi.SYS_UTIMENSAT,
		abi.SYS_SETXATTR, abi.SYS_LSETXATTR, abi.SYS_FSETXATTR, abi.SYS_REMOVEXATTR, abi.SYS_LREMOVEXATTR,
		abi.SYS_FREMOVEXATTR, abi.SYS_FCHMODAT2, abi.SYS_OPENAT2,
		abi.SYS_SEMOP, abi.SYS_SEMTIMEDOP, abi.SYS_MSGSND, abi.SYS_MSGRCV:
		return abi.SYS_GETPID, a
	case abi.SYS_SPLICE, abi.SYS_TEE, abi.SYS_VMSPLICE, abi.SYS_PREADV2, abi.SYS_RECVMMSG:
		if int32(a[0]) == 0 {
			return abi.SYS_GETPID, a
		}
	case abi.SYS_OPEN:
		a[1] = fuzzOpenFlags(a[1])
	case abi.SYS_OPENAT:
		a[2] = fuzzOpenFlags(a[2])
	}
	return nr, a
}

func fuzzOpenFlags(f uint64) uint64 {
	const write = 3 | abi.O_CREAT | abi.O_TRUNC | abi.O_APPEND | abi.O_TMPFILE | abi.O_EXCL
	return f&^write | abi.O_NONBLOCK
}

// checkSpace reports a broken address space: unsorted or overlapping mappings, unaligned
// bounds, or a CPU whose regions do not follow the mappings.
func checkSpace(t *testing.T, task *Task) {
	t.Helper()
	var prev mm.Addr
	i := 0
	for v := range task.p.mm.VMAs() {
		if v.Start >= v.End || uint64(v.Start)%mm.PageSize != 0 || uint64(v.End)%mm.PageSize != 0 {
			t.Fatalf("bad mapping %#x-%#x\n%s", v.Start, v.End, task.p.mm.Maps())
		}
		if i > 0 && v.Start < prev {
			t.Fatalf("mapping %#x-%#x overlaps the one before\n%s", v.Start, v.End, task.p.mm.Maps())
		}
		prev = v.End
		i++
	}
	// The CPU lets the guest access every mapping as its permissions say, and nothing else.
	if err := task.p.mm.CheckCPU(); err != nil {
		t.Fatalf("%v\n%s", err, task.p.mm.Maps())
	}
}

func FuzzSyscall(f *testing.F) {
	const (
		anon  = abi.MAP_PRIVATE | abi.MAP_ANONYMOUS
		none  = ^uint64(0)
		stack = uint64(mm.TaskSize) - 0x1000 // inside the stack with NoASLR
		rw    = uint64(scratchRW)
		ro    = uint64(scratchRO)
		vsys  = uint64(0xffffffffff600000)
	)
	seeds := [][7]uint64{
		{abi.SYS_GETPID},
		{abi.SYS_CAPGET, rw, rw + 8},
		{abi.SYS_PROCESS_VM_READV, 0, rw, 2, rw + 32, 2, 0},
		{abi.SYS_PROCESS_VM_WRITEV, 0, rw, 1 << 20, ro, 1, 0},
		{abi.SYS_SHMGET, 0, 1 << 20, 0o1600},
		{abi.SYS_SHMAT, 0, 0, 0},
		{abi.SYS_SHMCTL, 0, 2, rw},
		{abi.SYS_SEMGET, 0, 4, 0o1600},
		{abi.SYS_SEMCTL, 0, 0, 13, rw},
		{abi.SYS_MSGGET, 0, 0o1600},
		{abi.SYS_MSGCTL, 0, 2, ro},
		{abi.SYS_CAPGET, ro, 0},
		{abi.SYS_CAPSET, rw, rw + 8},
		{abi.SYS_GETXATTR, ro, ro, rw, 1 << 20},
		{abi.SYS_LISTXATTR, ro, rw, 1 << 40},
		{abi.SYS_SPLICE, 1, 0, 2, rw, 1 << 30, 0},
		{abi.SYS_SENDMMSG, 1, rw, 1 << 20, 0},
		{abi.SYS_KCMP, 1, 1, 0, 1, 2},
		{abi.SYS_MEMBARRIER, 0x10},
		{abi.SYS_SCHED_GETATTR, 0, rw, 4096, 0},
		{abi.SYS_SCHED_SETATTR, 0, rw, 0},
		{abi.SYS_UNSHARE, 0x400},
		{abi.SYS_NAME_TO_HANDLE_AT, fdcwd, ro, rw, rw + 256, 0},
		{abi.SYS_PREADV2, 1, rw, 4, none, 0, 8},
		{abi.SYS_WRITE, 1, rw, 16},
		{abi.SYS_WRITE, 1, uint64(scratchEnd) - 8, 4096},
		{abi.SYS_READ, 3, rw, 16},
		{abi.SYS_OPENAT, fdcwd, rw, 0},
		{abi.SYS_OPENAT, fdcwd, uint64(scratchEnd) - 4, 0},
		{abi.SYS_OPEN, ro, 0},
		{abi.SYS_STAT, ro, rw},
		{abi.SYS_FSTAT, 1, stack},
		{abi.SYS_CLOCK_GETTIME, abi.CLOCK_MONOTONIC, rw},
		{abi.SYS_CLOCK_GETTIME, 0xffffffff, rw},
		{abi.SYS_GETTIMEOFDAY, rw, rw + 16},
		{abi.SYS_TIME, vsys},
		{abi.SYS_MMAP, 0, 0x1000, 3, anon, none, 0},
		{abi.SYS_MMAP, 0xfffffffffffff000, 0x1000, 3, anon, none, 0},
		{abi.SYS_MMAP, 0xffffffffffffe000, 0x3000, 3, anon, none, 0},
		{abi.SYS_MMAP, rw, 0x1000, 3, anon | abi.MAP_FIXED, none, 0},
		{abi.SYS_MMAP, 0, 1 << 40, 3, anon, none, 0},
		{abi.SYS_MMAP, 0, 0x1000, 1, abi.MAP_PRIVATE, 1, 0},
		{abi.SYS_MUNMAP, rw + 0x1000, 0x1000},
		{abi.SYS_MUNMAP, 0, uint64(mm.TaskSize)},
		{abi.SYS_MPROTECT, rw + 0x1000, 0x1000, 1},
		{abi.SYS_MREMAP, rw, 0x2000, 0x8000, abi.MREMAP_MAYMOVE},
		{abi.SYS_MREMAP, rw, 0x4000, 0x4000, abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED, rw + 0x1000},
		{abi.SYS_MREMAP, rw, 0, 0x1000, abi.MREMAP_MAYMOVE},
		{abi.SYS_MADVISE, rw, 0x10000, 4},
		{abi.SYS_BRK, 0},
		{abi.SYS_BRK, 0x10000000000},
		{abi.SYS_RT_SIGACTION, abi.SIGUSR1, rw, rw + 64, 8},
		{abi.SYS_RT_SIGPROCMASK, abi.SIG_BLOCK, rw, rw, 8},
		{abi.SYS_READV, 1, rw, 4},
		{abi.SYS_WRITEV, 1, rw, 1024},
		{abi.SYS_GETRANDOM, rw, 1 << 40, 0},
		{abi.SYS_GETDENTS64, 1, rw, 1 << 31},
		{abi.SYS_GETCWD, rw, 1},
		{abi.SYS_READLINK, ro, rw, 100},
		{abi.SYS_IOCTL, 1, 0x5401, rw},
		{abi.SYS_FCNTL, 1, 5, ro},
		{abi.SYS_PRCTL, 15, rw},
		{abi.SYS_ARCH_PRCTL, 0x1002, uint64(mm.TaskSize) - 1},
		{abi.SYS_PRLIMIT64, 0, 7, ro, rw},
		{abi.SYS_SCHED_GETAFFINITY, 0, 1 << 30, rw},
		{abi.SYS_STATX, fdcwd, ro, 0x1000, 0xfff, rw},
		{abi.SYS_FUTEX, rw, abi.FUTEX_LOCK_PI, 0, 0, 0, 0},
		{abi.SYS_FUTEX, rw, abi.FUTEX_TRYLOCK_PI | abi.FUTEX_PRIVATE_FLAG, 0, none, 0, 0},
		{abi.SYS_FUTEX, rw, abi.FUTEX_UNLOCK_PI, 0, 0, 0, 0},
		{abi.SYS_FUTEX, ro, abi.FUTEX_LOCK_PI2, 0, rw, 0, 0},
		{abi.SYS_FUTEX, rw, abi.FUTEX_CMP_REQUEUE_PI, 1, 1 << 31, rw + 4, 0},
		{abi.SYS_FUTEX, rw, abi.FUTEX_WAIT_REQUEUE_PI, 1, 0, rw + 4, 0},
		{abi.SYS_FUTEX, rw + 2, abi.FUTEX_UNLOCK_PI | abi.FUTEX_CLOCK_REALTIME, 0, 0, 0, 0},
		{1000},
		{none, none, none, none, none, none, none},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6])
	}
	testProgram(f)
	// Random calls create files (open with O_CREAT, mknod, mkdir...) where the guest
	// stands: let that be a scratch directory, not the package's. The move happens at the
	// first call, once the corpus under testdata/ has been read; a fuzzing coordinator,
	// which runs no calls, stays in the package's directory, where it writes a failing
	// input.
	wd, err := os.Getwd()
	if err != nil {
		f.Fatal(err)
	}
	scratch := f.TempDir()
	var moved sync.Once
	f.Cleanup(func() { os.Chdir(wd) })

	f.Fuzz(func(t *testing.T, nr, a0, a1, a2, a3, a4, a5 uint64) {
		moved.Do(func() {
			if err := os.Chdir(scratch); err != nil {
				t.Fatal(err)
			}
		})
		task := loadTestTask(t)
		putString(t, task, 0, "/proc/self/maps")
		nr, args := fuzzTame(nr, [6]uint64{a0, a1, a2, a3, a4, a5})
		s := emu.Syscall{Nr: nr, Args: args}
		task.onSyscall(&s)
		ret := int64(s.Ret)
		name := syscallName(nr, args)
		if e := task.p.exit; e != nil && e.Code == 125 {
			t.Fatalf("%s ended the guest with an internal error: %s", name, e.Detail)
		}
		if ret < 0 && ret < -4095 {
			t.Fatalf("%s = %#x: neither a result nor -errno", name, s.Ret)
		}
		if e, _ := Lookup(nr); e.Handler == nil && ret != -38 {
			t.Fatalf("%s (no handler) = %d, want -ENOSYS", name, ret)
		}
		checkSpace(t, task)
	})
}
