package strace

import (
	"encoding/binary"
	"errors"
	"testing"

	"vemu/abi"
)

// fakeMem is guest memory made of separate readable regions.
type fakeMem map[uint64][]byte

func (m fakeMem) ReadAt(b []byte, addr uint64) error {
	for base, data := range m {
		if addr >= base && addr-base+uint64(len(b)) <= uint64(len(data)) {
			copy(b, data[addr-base:])
			return nil
		}
	}
	return errors.New("unreadable")
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func u64s(vs ...uint64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func u32s(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func marshal(size int, m interface{ Marshal([]byte) }) []byte {
	b := make([]byte, size)
	m.Marshal(b)
	return b
}

const (
	atFdcwd = uint64(0xffffffffffffff9c) // AT_FDCWD in a register
	negOne  = ^uint64(0)
)

func errno(e int64) int64 { return -e }

func TestFormat(t *testing.T) {
	st := marshal(abi.StatSize, &abi.Stat{Mode: abi.S_IFREG | 0o644, Size: 1234})
	chr := marshal(abi.StatSize, &abi.Stat{Mode: abi.S_IFCHR | 0o620, Rdev: 0x8801})
	var uts abi.Utsname
	abi.SetUtsField(&uts.Sysname, "Linux")
	abi.SetUtsField(&uts.Nodename, "box")
	sa := marshal(abi.SigactionSize, &abi.Sigaction{Handler: 0x401000, Flags: abi.SA_RESTORER, Restorer: 0x401100})
	goSA := marshal(abi.SigactionSize, &abi.Sigaction{Handler: 0x4652e0,
		Flags: abi.SA_RESTORER | abi.SA_ONSTACK | abi.SA_RESTART | abi.SA_SIGINFO, Restorer: 0x465420, Mask: ^uint64(0)})
	iov := append(marshal(16, &abi.Iovec{Base: 0x5000, Len: 3}), marshal(16, &abi.Iovec{Base: 0x5100, Len: 5})...)
	var dents []byte
	dents = abi.AppendDirent64(dents, 1, 1, abi.DT_DIR, ".")
	dents = abi.AppendDirent64(dents, 2, 2, abi.DT_DIR, "..")
	dents = abi.AppendDirent64(dents, 3, 3, abi.DT_REG, "a.txt")
	stx := marshal(abi.StatxSize, &abi.Statx{Mask: abi.STATX_BASIC_STATS | abi.STATX_MNT_ID, Mode: abi.S_IFDIR | 0o755, Size: 4096})
	elf := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00\xa0\x15\x02\x00\x00\x00\x00\x00\x40\x00")

	mem := fakeMem{
		0x1000: cstr("a.txt"),
		0x1100: cstr("nope"),
		0x1200: []byte("hi\n"),
		0x1300: cstr("/etc/ld.so.cache"),
		0x1400: cstr("/bin/ls"),
		0x1500: u64s(0x1400, 0x1580, 0),
		0x1580: cstr("-l"),
		0x1600: u64s(0x1000, 0x1100, 0x1300, 0),
		0x2000: st,
		0x2100: chr,
		0x4000: marshal(abi.UtsnameSize, &uts),
		0x2300: sa,
		0x2400: u64s(1<<(abi.SIGINT-1) | 1<<(abi.SIGTERM-1)),
		0x2500: marshal(16, &abi.Timespec{Sec: 1, Nsec: 500000000}),
		0x2600: marshal(16, &abi.Timeval{Sec: 1700000000, Usec: 42}),
		0x2700: iov,
		0x5000: []byte("hi\n"),
		0x5100: []byte("world"),
		0x2800: u32s(3, 4),
		0x2900: u64s(0),
		0x2a00: u32s(0),      // wait status: exited with 0
		0x2a10: u32s(0x8b),   // killed by SIGSEGV, core dumped
		0x2a20: u32s(0x137f), // stopped by SIGSTOP
		0x2b00: dents,
		0x2c00: marshal(abi.RlimitSize, &abi.Rlimit{Cur: 8 << 20, Max: abi.RLIM_INFINITY}),
		0x2d00: []byte{0xde, 0xad, 0xbe, 0xef},
		0x2e00: stx,
		0x2f00: goSA,
		0x3000: elf,
		0x3100: []byte("\x00\x01\x0212\t\"\\\r\xff"),
		0x3200: make([]byte, 40),
		0x3300: marshal(abi.WinsizeSize, &abi.Winsize{Row: 24, Col: 80}),
		0x3400: []byte{0x0f, 0x00},
		0x3500: append(marshal(16, &abi.Timespec{Sec: 0, Nsec: abi.UTIME_OMIT}), marshal(16, &abi.Timespec{Sec: 5, Nsec: 6})...),
		0x3600: cstr("/tmp"),
		0x3700: marshal(abi.SysinfoSize, &abi.Sysinfo{Uptime: 1, Loads: [3]uint64{2, 3, 4}, Totalram: 5, Procs: 6, MemUnit: 1}),
		0x3800: u64s(^uint64(0) &^ (1<<(abi.SIGKILL-1) | 1<<(abi.SIGSTOP-1))),
		0x3900: marshal(abi.TermiosSize, &abi.Termios{Oflag: 1, Cflag: 0xbf, Lflag: 0x8a3b}),
		0x3a00: marshal(abi.SigeventSize, &abi.Sigevent{Value: 7, Signo: abi.SIGRTMIN + 2, Notify: abi.SIGEV_THREAD_ID, TID: 1001}),
		0x3a40: marshal(abi.SigeventSize, &abi.Sigevent{Notify: abi.SIGEV_NONE}),
		0x3b00: marshal(abi.ItimerspecSize, &abi.Itimerspec{Interval: abi.Timespec{Nsec: 5000000}, Value: abi.Timespec{Sec: 1}}),
		0x3c00: u32s(3),
	}
	mem[0x2a00] = u32s(0)      // exit status 0
	mem[0x2a10] = u32s(0x8b)   // killed by SIGSEGV with core
	mem[0x2a20] = u32s(0x137f) // stopped by SIGSTOP

	cases := []struct {
		name string
		c    Call
		want string
	}{
		{"openat", Call{Nr: abi.SYS_OPENAT, Args: [6]uint64{atFdcwd, 0x1000, abi.O_RDONLY | abi.O_CLOEXEC}, Ret: 3},
			`openat(AT_FDCWD, "a.txt", O_RDONLY|O_CLOEXEC) = 3`},
		{"write", Call{Nr: abi.SYS_WRITE, Args: [6]uint64{1, 0x1200, 3}, Ret: 3},
			`write(1, "hi\n", 3) = 3`},
		{"openat-enoent", Call{Nr: abi.SYS_OPENAT, Args: [6]uint64{atFdcwd, 0x1100, abi.O_RDONLY}, Ret: errno(2)},
			`openat(AT_FDCWD, "nope", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{"mmap-anon", Call{Nr: abi.SYS_MMAP, Args: [6]uint64{0, 8192, abi.PROT_READ | abi.PROT_WRITE, abi.MAP_PRIVATE | abi.MAP_ANONYMOUS, negOne, 0}, Ret: 0x7f0e3c1f2000},
			`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0e3c1f2000`},
		{"exit_group", Call{Nr: abi.SYS_EXIT_GROUP, Args: [6]uint64{0}, NoReturn: true},
			`exit_group(0) = ?`},
		{"exit_group-without-flag", Call{Nr: abi.SYS_EXIT_GROUP, Args: [6]uint64{3}},
			`exit_group(3) = ?`},
		{"unknown", Call{Nr: 0x1f4, Args: [6]uint64{1, 2, 3, 4, 5, 6}, Ret: errno(38)},
			`syscall_0x1f4(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)`},
		{"unknown-gap", Call{Nr: 400, Ret: errno(38)},
			`syscall_0x190(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`},
		{"missing", Call{Nr: abi.SYS_KEXEC_LOAD, Args: [6]uint64{0x1000, 1, 0x2000, 0}, Ret: errno(38)},
			`kexec_load(0x1000, 1, 0x2000, 0) = -1 ENOSYS (Function not implemented)`},
		{"openat-creat-mode", Call{Nr: abi.SYS_OPENAT, Args: [6]uint64{atFdcwd, 0x1000, abi.O_WRONLY | abi.O_CREAT | abi.O_TRUNC, 0o644}, Ret: 3},
			`openat(AT_FDCWD, "a.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3`},
		{"openat-dir", Call{Nr: abi.SYS_OPENAT, Args: [6]uint64{atFdcwd, 0x1000, abi.O_RDONLY | abi.O_NONBLOCK | abi.O_CLOEXEC | abi.O_DIRECTORY}, Ret: 3},
			`openat(AT_FDCWD, "a.txt", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3`},
		{"open-unknown-bits", Call{Nr: abi.SYS_OPEN, Args: [6]uint64{0x1000, abi.O_RDWR | 0x40000000}, Ret: 3},
			`open("a.txt", O_RDWR|0x40000000) = 3`},
		{"open-bad-pointer", Call{Nr: abi.SYS_OPEN, Args: [6]uint64{0xdead0000, 0}, Ret: errno(14)},
			`open(0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)`},
		{"open-null", Call{Nr: abi.SYS_OPEN, Args: [6]uint64{0, 0}, Ret: errno(14)},
			`open(NULL, O_RDONLY) = -1 EFAULT (Bad address)`},
		{"read-elf", Call{Nr: abi.SYS_READ, Args: [6]uint64{3, 0x3000, 832}, Ret: 832},
			`read(3, "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\240\25\2\0\0\0\0\0"..., 832) = 832`},
		{"read-short", Call{Nr: abi.SYS_READ, Args: [6]uint64{0, 0x1200, 100}, Ret: 3},
			`read(0, "hi\n", 100) = 3`},
		{"read-eof", Call{Nr: abi.SYS_READ, Args: [6]uint64{0, 0x1200, 100}, Ret: 0},
			`read(0, "", 100) = 0`},
		{"read-error", Call{Nr: abi.SYS_READ, Args: [6]uint64{9, 0x1200, 100}, Ret: errno(9)},
			`read(9, 0x1200, 100) = -1 EBADF (Bad file descriptor)`},
		{"read-eagain", Call{Nr: abi.SYS_READ, Args: [6]uint64{0, 0x1200, 100}, Ret: errno(11)},
			`read(0, 0x1200, 100) = -1 EAGAIN (Resource temporarily unavailable)`},
		{"escapes", Call{Nr: abi.SYS_WRITE, Args: [6]uint64{2, 0x3100, 10}, Ret: 10},
			`write(2, "\0\1\00212\t\"\\\r\377", 10) = 10`},
		{"write-long", Call{Nr: abi.SYS_WRITE, Args: [6]uint64{1, 0x3200, 40}, Ret: 40},
			`write(1, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"..., 40) = 40`},
		{"close", Call{Nr: abi.SYS_CLOSE, Args: [6]uint64{3}}, `close(3) = 0`},
		{"fstat", Call{Nr: abi.SYS_FSTAT, Args: [6]uint64{3, 0x2000}},
			`fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...}) = 0`},
		{"fstat-chr", Call{Nr: abi.SYS_FSTAT, Args: [6]uint64{1, 0x2100}},
			`fstat(1, {st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0x1), ...}) = 0`},
		{"newfstatat", Call{Nr: abi.SYS_NEWFSTATAT, Args: [6]uint64{atFdcwd, 0x1000, 0x2000, 0}},
			`newfstatat(AT_FDCWD, "a.txt", {st_mode=S_IFREG|0644, st_size=1234, ...}, 0) = 0`},
		{"newfstatat-empty-path", Call{Nr: abi.SYS_NEWFSTATAT, Args: [6]uint64{3, 0x2900, 0x2000, abi.AT_EMPTY_PATH}},
			`newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1234, ...}, AT_EMPTY_PATH) = 0`},
		{"stat-fail", Call{Nr: abi.SYS_STAT, Args: [6]uint64{0x1100, 0x2000}, Ret: errno(2)},
			`stat("nope", 0x2000) = -1 ENOENT (No such file or directory)`},
		{"statx", Call{Nr: abi.SYS_STATX, Args: [6]uint64{atFdcwd, 0x1000, abi.AT_STATX_SYNC_AS_STAT, abi.STATX_ALL, 0x2e00}},
			`statx(AT_FDCWD, "a.txt", 0, STATX_ALL, {stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFDIR|0755, stx_size=4096, ...}) = 0`},
		{"lseek", Call{Nr: abi.SYS_LSEEK, Args: [6]uint64{3, negOne, abi.SEEK_END}, Ret: 99},
			`lseek(3, -1, SEEK_END) = 99`},
		{"mmap-file", Call{Nr: abi.SYS_MMAP, Args: [6]uint64{0x7f0000000000, 1847296, abi.PROT_READ, abi.MAP_PRIVATE | abi.MAP_FIXED | abi.MAP_DENYWRITE, 3, 0x26000}, Ret: 0x7f0000000000},
			`mmap(0x7f0000000000, 1847296, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7f0000000000`},
		{"mmap-enomem", Call{Nr: abi.SYS_MMAP, Args: [6]uint64{0, 1 << 40, abi.PROT_NONE, abi.MAP_PRIVATE | abi.MAP_ANONYMOUS | abi.MAP_NORESERVE, negOne, 0}, Ret: errno(12)},
			`mmap(NULL, 1099511627776, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = -1 ENOMEM (Cannot allocate memory)`},
		{"mprotect", Call{Nr: abi.SYS_MPROTECT, Args: [6]uint64{0x7f0000001000, 4096, abi.PROT_READ | abi.PROT_EXEC}},
			`mprotect(0x7f0000001000, 4096, PROT_READ|PROT_EXEC) = 0`},
		{"munmap", Call{Nr: abi.SYS_MUNMAP, Args: [6]uint64{0x7f0000001000, 4096}},
			`munmap(0x7f0000001000, 4096) = 0`},
		{"brk-null", Call{Nr: abi.SYS_BRK, Args: [6]uint64{0}, Ret: 0x555555559000},
			`brk(NULL) = 0x555555559000`},
		{"brk", Call{Nr: abi.SYS_BRK, Args: [6]uint64{0x55555557a000}, Ret: 0x55555557a000},
			`brk(0x55555557a000) = 0x55555557a000`},
		{"rt_sigaction", Call{Nr: abi.SYS_RT_SIGACTION, Args: [6]uint64{abi.SIGINT, 0x2300, 0, 8}},
			`rt_sigaction(SIGINT, {sa_handler=0x401000, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x401100}, NULL, 8) = 0`},
		{"rt_sigaction-go", Call{Nr: abi.SYS_RT_SIGACTION, Args: [6]uint64{abi.SIGURG, 0x2f00, 0x2300, 8}},
			`rt_sigaction(SIGURG, {sa_handler=0x4652e0, sa_mask=~[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x465420}, {sa_handler=0x401000, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x401100}, 8) = 0`},
		{"rt_sigaction-einval", Call{Nr: abi.SYS_RT_SIGACTION, Args: [6]uint64{abi.SIGKILL, 0x2300, 0x2300, 8}, Ret: errno(22)},
			`rt_sigaction(SIGKILL, {sa_handler=0x401000, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x401100}, 0x2300, 8) = -1 EINVAL (Invalid argument)`},
		{"rt_sigprocmask", Call{Nr: abi.SYS_RT_SIGPROCMASK, Args: [6]uint64{abi.SIG_BLOCK, 0x2400, 0x2900, 8}},
			`rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0`},
		{"rt_sigprocmask-inverted", Call{Nr: abi.SYS_RT_SIGPROCMASK, Args: [6]uint64{abi.SIG_SETMASK, 0x3800, 0, 8}},
			`rt_sigprocmask(SIG_SETMASK, ~[KILL STOP], NULL, 8) = 0`},
		{"ioctl-tcgets-enotty", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{1, abi.TCGETS, 0x7ffd0000}, Ret: errno(25)},
			`ioctl(1, TCGETS, 0x7ffd0000) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{"ioctl-tcgets", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{0, abi.TCGETS, 0x3900}},
			`ioctl(0, TCGETS, {B38400 opost isig icanon echo ...}) = 0`},
		{"ioctl-winsz", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{1, abi.TIOCGWINSZ, 0x3300}},
			`ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0`},
		{"ioctl-fionread", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{3, abi.FIONREAD, 0x2800}},
			`ioctl(3, FIONREAD, [3]) = 0`},
		{"ioctl-fiogetown", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{3, abi.FIOGETOWN, 0x2800}},
			`ioctl(3, FIOGETOWN, [3]) = 0`},
		{"ioctl-siocgifconf", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{3, abi.SIOCGIFCONF, 0x99}, Ret: errno(14)},
			`ioctl(3, SIOCGIFCONF, 0x99) = -1 EFAULT (Bad address)`},
		{"ioctl-unknown", Call{Nr: abi.SYS_IOCTL, Args: [6]uint64{3, 0x1234, 0x99}, Ret: errno(25)},
			`ioctl(3, 0x1234, 0x99) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{"pread64", Call{Nr: abi.SYS_PREAD64, Args: [6]uint64{3, 0x1200, 3, 64}, Ret: 3},
			`pread64(3, "hi\n", 3, 64) = 3`},
		{"pwrite64", Call{Nr: abi.SYS_PWRITE64, Args: [6]uint64{3, 0x1200, 3, 1 << 33}, Ret: 3},
			`pwrite64(3, "hi\n", 3, 8589934592) = 3`},
		{"writev", Call{Nr: abi.SYS_WRITEV, Args: [6]uint64{1, 0x2700, 2}, Ret: 8},
			`writev(1, [{iov_base="hi\n", iov_len=3}, {iov_base="world", iov_len=5}], 2) = 8`},
		{"readv-partial", Call{Nr: abi.SYS_READV, Args: [6]uint64{0, 0x2700, 2}, Ret: 5},
			`readv(0, [{iov_base="hi\n", iov_len=3}, {iov_base="wo", iov_len=5}], 2) = 5`},
		{"access", Call{Nr: abi.SYS_ACCESS, Args: [6]uint64{0x1300, abi.R_OK}, Ret: errno(2)},
			`access("/etc/ld.so.cache", R_OK) = -1 ENOENT (No such file or directory)`},
		{"access-fok", Call{Nr: abi.SYS_ACCESS, Args: [6]uint64{0x1300, abi.F_OK}},
			`access("/etc/ld.so.cache", F_OK) = 0`},
		{"faccessat2", Call{Nr: abi.SYS_FACCESSAT2, Args: [6]uint64{atFdcwd, 0x1000, abi.R_OK | abi.W_OK, abi.AT_EACCESS}},
			`faccessat2(AT_FDCWD, "a.txt", R_OK|W_OK, AT_EACCESS) = 0`},
		{"pipe2", Call{Nr: abi.SYS_PIPE2, Args: [6]uint64{0x2800, abi.O_CLOEXEC}},
			`pipe2([3, 4], O_CLOEXEC) = 0`},
		{"pipe", Call{Nr: abi.SYS_PIPE, Args: [6]uint64{0x2800}}, `pipe([3, 4]) = 0`},
		{"dup3", Call{Nr: abi.SYS_DUP3, Args: [6]uint64{3, 10, 0}, Ret: 10}, `dup3(3, 10, 0) = 10`},
		{"nanosleep", Call{Nr: abi.SYS_NANOSLEEP, Args: [6]uint64{0x2500, 0x7ffd0000}},
			`nanosleep({tv_sec=1, tv_nsec=500000000}, 0x7ffd0000) = 0`},
		{"nanosleep-eintr", Call{Nr: abi.SYS_NANOSLEEP, Args: [6]uint64{0x2500, 0x2500}, Ret: errno(4)},
			`nanosleep({tv_sec=1, tv_nsec=500000000}, {tv_sec=1, tv_nsec=500000000}) = -1 EINTR (Interrupted system call)`},
		{"clock_gettime", Call{Nr: abi.SYS_CLOCK_GETTIME, Args: [6]uint64{abi.CLOCK_MONOTONIC, 0x2500}},
			`clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500000000}) = 0`},
		{"timer_create", Call{Nr: abi.SYS_TIMER_CREATE, Args: [6]uint64{abi.CLOCK_MONOTONIC, 0x3a00, 0x3c00}},
			`timer_create(CLOCK_MONOTONIC, {sigev_value={sival_int=7, sival_ptr=0x7}, sigev_signo=SIGRT_2, sigev_notify=SIGEV_THREAD_ID, sigev_notify_thread_id=1001}, [3]) = 0`},
		{"timer_create-none", Call{Nr: abi.SYS_TIMER_CREATE, Args: [6]uint64{abi.CLOCK_REALTIME, 0x3a40, 0x3c00}, Ret: errno(22)},
			`timer_create(CLOCK_REALTIME, {sigev_value={sival_int=0, sival_ptr=NULL}, sigev_signo=0, sigev_notify=SIGEV_NONE}, 0x3c00) = -1 EINVAL (Invalid argument)`},
		{"timer_settime", Call{Nr: abi.SYS_TIMER_SETTIME, Args: [6]uint64{3, abi.TIMER_ABSTIME, 0x3b00, 0}},
			`timer_settime(3, TIMER_ABSTIME, {it_interval={tv_sec=0, tv_nsec=5000000}, it_value={tv_sec=1, tv_nsec=0}}, NULL) = 0`},
		{"timer_gettime", Call{Nr: abi.SYS_TIMER_GETTIME, Args: [6]uint64{3, 0x3b00}},
			`timer_gettime(3, {it_interval={tv_sec=0, tv_nsec=5000000}, it_value={tv_sec=1, tv_nsec=0}}) = 0`},
		{"clock_nanosleep", Call{Nr: abi.SYS_CLOCK_NANOSLEEP, Args: [6]uint64{abi.CLOCK_REALTIME, abi.TIMER_ABSTIME, 0x2500, 0}},
			`clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, {tv_sec=1, tv_nsec=500000000}, NULL) = 0`},
		{"getpid", Call{Nr: abi.SYS_GETPID, Ret: 1234}, `getpid() = 1234`},
		{"execve", Call{Nr: abi.SYS_EXECVE, Args: [6]uint64{0x1400, 0x1500, 0x1600}},
			`execve("/bin/ls", ["/bin/ls", "-l"], 0x1600 /* 3 vars */) = 0`},
		{"execve-noreturn", Call{Nr: abi.SYS_EXECVE, Args: [6]uint64{0x1400, 0x1500, 0x1600}, NoReturn: true},
			`execve("/bin/ls", ["/bin/ls", "-l"], 0x1600 /* 3 vars */) = ?`},
		{"clone-fork", Call{Nr: abi.SYS_CLONE, Args: [6]uint64{abi.CLONE_CHILD_CLEARTID | abi.CLONE_CHILD_SETTID | abi.SIGCHLD, 0, 0, 0x7f00000010d0, 0}, Ret: 4321},
			`clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00000010d0) = 4321`},
		{"clone-thread", Call{Nr: abi.SYS_CLONE, Args: [6]uint64{abi.CLONE_VM | abi.CLONE_FS | abi.CLONE_FILES | abi.CLONE_SIGHAND | abi.CLONE_THREAD | abi.CLONE_SYSVSEM | abi.CLONE_SETTLS | abi.CLONE_PARENT_SETTID | abi.CLONE_CHILD_CLEARTID, 0x7f0000fff000, 0x2800, 0x2800, 0x7f0000fff700}, Ret: 3},
			`clone(child_stack=0x7f0000fff000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[3], tls=0x7f0000fff700, child_tidptr=0x2800) = 3`},
		{"wait4-exited", Call{Nr: abi.SYS_WAIT4, Args: [6]uint64{negOne, 0x2a00, 0, 0}, Ret: 4321},
			`wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 4321`},
		{"wait4-core", Call{Nr: abi.SYS_WAIT4, Args: [6]uint64{4321, 0x2a10, abi.WNOHANG, 0}, Ret: 4321},
			`wait4(4321, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], WNOHANG, NULL) = 4321`},
		{"wait4-stopped", Call{Nr: abi.SYS_WAIT4, Args: [6]uint64{negOne, 0x2a20, abi.WUNTRACED, 0}, Ret: 7},
			`wait4(-1, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 7`},
		{"wait4-echild", Call{Nr: abi.SYS_WAIT4, Args: [6]uint64{negOne, 0x2a00, 0, 0}, Ret: errno(10)},
			`wait4(-1, 0x2a00, 0, NULL) = -1 ECHILD (No child processes)`},
		{"kill", Call{Nr: abi.SYS_KILL, Args: [6]uint64{1234, abi.SIGTERM}}, `kill(1234, SIGTERM) = 0`},
		{"kill-rt", Call{Nr: abi.SYS_KILL, Args: [6]uint64{1234, 34}}, `kill(1234, SIGRT_2) = 0`},
		{"uname", Call{Nr: abi.SYS_UNAME, Args: [6]uint64{0x4000}},
			`uname({sysname="Linux", nodename="box", ...}) = 0`},
		{"fcntl-getfd", Call{Nr: abi.SYS_FCNTL, Args: [6]uint64{3, abi.F_GETFD}, Ret: 1},
			`fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)`},
		{"fcntl-setfd", Call{Nr: abi.SYS_FCNTL, Args: [6]uint64{3, abi.F_SETFD, abi.FD_CLOEXEC}},
			`fcntl(3, F_SETFD, FD_CLOEXEC) = 0`},
		{"fcntl-getfl", Call{Nr: abi.SYS_FCNTL, Args: [6]uint64{3, abi.F_GETFL}, Ret: 0x8002},
			`fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)`},
		{"fcntl-setfl", Call{Nr: abi.SYS_FCNTL, Args: [6]uint64{3, abi.F_SETFL, abi.O_RDWR | abi.O_NONBLOCK}},
			`fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0`},
		{"fcntl-dupfd", Call{Nr: abi.SYS_FCNTL, Args: [6]uint64{3, abi.F_DUPFD_CLOEXEC, 0}, Ret: 4},
			`fcntl(3, F_DUPFD_CLOEXEC, 0) = 4`},
		{"getdents64", Call{Nr: abi.SYS_GETDENTS64, Args: [6]uint64{3, 0x2b00, 32768}, Ret: int64(len(dents))},
			`getdents64(3, 0x2b00 /* 3 entries */, 32768) = 80`},
		{"getdents64-end", Call{Nr: abi.SYS_GETDENTS64, Args: [6]uint64{3, 0x2b00, 32768}},
			`getdents64(3, 0x2b00 /* 0 entries */, 32768) = 0`},
		{"getcwd", Call{Nr: abi.SYS_GETCWD, Args: [6]uint64{0x3600, 4096}, Ret: 5},
			`getcwd("/tmp", 4096) = 5`},
		{"chdir", Call{Nr: abi.SYS_CHDIR, Args: [6]uint64{0x3600}}, `chdir("/tmp") = 0`},
		{"renameat2", Call{Nr: abi.SYS_RENAMEAT2, Args: [6]uint64{atFdcwd, 0x1000, atFdcwd, 0x1100, abi.RENAME_NOREPLACE}},
			`renameat2(AT_FDCWD, "a.txt", AT_FDCWD, "nope", RENAME_NOREPLACE) = 0`},
		{"mkdir", Call{Nr: abi.SYS_MKDIR, Args: [6]uint64{0x1000, 0o755}}, `mkdir("a.txt", 0755) = 0`},
		{"mkdirat-eexist", Call{Nr: abi.SYS_MKDIRAT, Args: [6]uint64{atFdcwd, 0x3600, 0o777}, Ret: errno(17)},
			`mkdirat(AT_FDCWD, "/tmp", 0777) = -1 EEXIST (File exists)`},
		{"unlinkat", Call{Nr: abi.SYS_UNLINKAT, Args: [6]uint64{atFdcwd, 0x1000, abi.AT_REMOVEDIR}},
			`unlinkat(AT_FDCWD, "a.txt", AT_REMOVEDIR) = 0`},
		{"readlink", Call{Nr: abi.SYS_READLINK, Args: [6]uint64{0x1400, 0x1300, 4096}, Ret: 8},
			`readlink("/bin/ls", "/etc/ld.", 4096) = 8`},
		{"arch_prctl", Call{Nr: abi.SYS_ARCH_PRCTL, Args: [6]uint64{abi.ARCH_SET_FS, 0x7f00000ab740}},
			`arch_prctl(ARCH_SET_FS, 0x7f00000ab740) = 0`},
		{"arch_prctl-get", Call{Nr: abi.SYS_ARCH_PRCTL, Args: [6]uint64{abi.ARCH_GET_FS, 0x2500}},
			`arch_prctl(ARCH_GET_FS, [0x1]) = 0`},
		{"arch_prctl-bad", Call{Nr: abi.SYS_ARCH_PRCTL, Args: [6]uint64{0x3001, 0x7ffd0000}, Ret: errno(22)},
			`arch_prctl(0x3001, 0x7ffd0000) = -1 EINVAL (Invalid argument)`},
		{"set_tid_address", Call{Nr: abi.SYS_SET_TID_ADDRESS, Args: [6]uint64{0x7f00000aba10}, Ret: 1234},
			`set_tid_address(0x7f00000aba10) = 1234`},
		{"set_robust_list", Call{Nr: abi.SYS_SET_ROBUST_LIST, Args: [6]uint64{0x7f00000aba20, 24}},
			`set_robust_list(0x7f00000aba20, 24) = 0`},
		{"rseq", Call{Nr: abi.SYS_RSEQ, Args: [6]uint64{0x7f00000ac0e0, 0x20, 0, 0x53053053}},
			`rseq(0x7f00000ac0e0, 0x20, 0, 0x53053053) = 0`},
		{"prlimit64", Call{Nr: abi.SYS_PRLIMIT64, Args: [6]uint64{0, abi.RLIMIT_STACK, 0, 0x2c00}},
			`prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0`},
		{"getrlimit", Call{Nr: abi.SYS_GETRLIMIT, Args: [6]uint64{abi.RLIMIT_STACK, 0x2c00}},
			`getrlimit(RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM_INFINITY}) = 0`},
		{"getrandom", Call{Nr: abi.SYS_GETRANDOM, Args: [6]uint64{0x2d00, 4, abi.GRND_NONBLOCK}, Ret: 4},
			`getrandom("\xde\xad\xbe\xef", 4, GRND_NONBLOCK) = 4`},
		{"futex-wake", Call{Nr: abi.SYS_FUTEX, Args: [6]uint64{0x7f00000ab9d0, abi.FUTEX_WAKE_PRIVATE, 1}, Ret: 0},
			`futex(0x7f00000ab9d0, FUTEX_WAKE_PRIVATE, 1) = 0`},
		{"futex-wait", Call{Nr: abi.SYS_FUTEX, Args: [6]uint64{0x7f00000ab9d0, abi.FUTEX_WAIT_PRIVATE, 2, 0}, Ret: errno(11)},
			`futex(0x7f00000ab9d0, FUTEX_WAIT_PRIVATE, 2, NULL) = -1 EAGAIN (Resource temporarily unavailable)`},
		{"futex-wait-bitset", Call{Nr: abi.SYS_FUTEX, Args: [6]uint64{0x7f00000ab9d0, abi.FUTEX_WAIT_BITSET | abi.FUTEX_PRIVATE_FLAG | abi.FUTEX_CLOCK_REALTIME, 0, 0x2500, 0, 0xffffffff}, Ret: errno(110)},
			`futex(0x7f00000ab9d0, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=500000000}, FUTEX_BITSET_MATCH_ANY) = -1 ETIMEDOUT (Connection timed out)`},
		{"sched_getaffinity", Call{Nr: abi.SYS_SCHED_GETAFFINITY, Args: [6]uint64{0, 128, 0x3400}, Ret: 2},
			`sched_getaffinity(0, 128, [0 1 2 3]) = 2`},
		{"sysinfo", Call{Nr: abi.SYS_SYSINFO, Args: [6]uint64{0x3700}},
			`sysinfo({uptime=1, loads=[2, 3, 4], totalram=5, freeram=0, sharedram=0, bufferram=0, totalswap=0, freeswap=0, procs=6, totalhigh=0, freehigh=0, mem_unit=1}) = 0`},
		{"gettimeofday", Call{Nr: abi.SYS_GETTIMEOFDAY, Args: [6]uint64{0x2600, 0}},
			`gettimeofday({tv_sec=1700000000, tv_usec=42}, NULL) = 0`},
		{"time-null", Call{Nr: abi.SYS_TIME, Args: [6]uint64{0}, Ret: 1700000000},
			`time(NULL) = 1700000000`},
		{"time-ptr", Call{Nr: abi.SYS_TIME, Args: [6]uint64{0x2600}, Ret: 1700000000},
			`time([1700000000]) = 1700000000`},
		{"getcpu", Call{Nr: abi.SYS_GETCPU, Args: [6]uint64{0x2900, 0, 0}},
			`getcpu([0], NULL, NULL) = 0`},
		{"utimensat", Call{Nr: abi.SYS_UTIMENSAT, Args: [6]uint64{atFdcwd, 0x1000, 0x3500, abi.AT_SYMLINK_NOFOLLOW}},
			`utimensat(AT_FDCWD, "a.txt", [UTIME_OMIT, {tv_sec=5, tv_nsec=6}], AT_SYMLINK_NOFOLLOW) = 0`},
		{"utimensat-null", Call{Nr: abi.SYS_UTIMENSAT, Args: [6]uint64{3, 0, 0, 0}},
			`utimensat(3, NULL, NULL, 0) = 0`},
		{"fchmodat", Call{Nr: abi.SYS_FCHMODAT, Args: [6]uint64{atFdcwd, 0x1000, 0o4755}},
			`fchmodat(AT_FDCWD, "a.txt", 04755) = 0`},
		{"chown", Call{Nr: abi.SYS_CHOWN, Args: [6]uint64{0x1000, 1000, 0xffffffff}},
			`chown("a.txt", 1000, -1) = 0`},
		{"umask", Call{Nr: abi.SYS_UMASK, Args: [6]uint64{0o22}, Ret: 0o22}, `umask(022) = 022`},
		{"madvise", Call{Nr: abi.SYS_MADVISE, Args: [6]uint64{0x7f0000000000, 8192, abi.MADV_DONTNEED}},
			`madvise(0x7f0000000000, 8192, MADV_DONTNEED) = 0`},
		{"mremap", Call{Nr: abi.SYS_MREMAP, Args: [6]uint64{0x7f0000000000, 4096, 8192, abi.MREMAP_MAYMOVE, 0x1234}, Ret: 0x7f0000100000},
			`mremap(0x7f0000000000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f0000100000`},
		{"mremap-fixed", Call{Nr: abi.SYS_MREMAP, Args: [6]uint64{0x7f0000000000, 4096, 8192, abi.MREMAP_MAYMOVE | abi.MREMAP_FIXED, 0x7f0000200000}, Ret: 0x7f0000200000},
			`mremap(0x7f0000000000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f0000200000) = 0x7f0000200000`},
		{"socket", Call{Nr: abi.SYS_SOCKET, Args: [6]uint64{abi.AF_INET, abi.SOCK_STREAM | abi.SOCK_CLOEXEC, 0}, Ret: 3},
			`socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3`},
		{"erestartsys", Call{Nr: abi.SYS_READ, Args: [6]uint64{0, 0x1200, 100}, Ret: errno(512)},
			`read(0, 0x1200, 100) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`},
		{"prctl-set-name", Call{Nr: abi.SYS_PRCTL, Args: [6]uint64{abi.PR_SET_NAME, 0x1000}},
			`prctl(PR_SET_NAME, "a.txt") = 0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(tc.c, mem); got != tc.want {
				t.Errorf("Format:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestFormatArgsAndRet(t *testing.T) {
	c := Call{Nr: abi.SYS_GETTIMEOFDAY, Args: [6]uint64{0, 0}}
	if got := FormatArgs(c, fakeMem{}); got != "gettimeofday(NULL, NULL)" {
		t.Errorf("FormatArgs = %q", got)
	}
	if got := FormatRet(c); got != " = 0" {
		t.Errorf("FormatRet = %q", got)
	}
	if got := FormatRet(Call{Nr: abi.SYS_OPEN, Ret: -2}); got != " = -1 ENOENT (No such file or directory)" {
		t.Errorf("FormatRet = %q", got)
	}
	if got := FormatRet(Call{Nr: abi.SYS_GETPID, Ret: -5000}); got != " = -5000" {
		t.Errorf("FormatRet of a large negative non-error = %q", got)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":              `""`,
		"plain":         `"plain"`,
		"\x00":          `"\0"`,
		"\x001":         `"\0001"`,
		"\x008":         `"\08"`,
		"\x1b[0m":       `"\33[0m"`,
		"\x7f":          `"\177"`,
		"\v\f":          `"\v\f"`,
		"caf\xc3\xa9":   `"caf\303\251"`,
		"\x01\x02\x037": `"\1\2\0037"`,
	} {
		if got := quote([]byte(in), false); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := quote([]byte{0, 0xab}, true); got != `"\x00\xab"` {
		t.Errorf("hex quote = %s", got)
	}
}

func TestStringTruncation(t *testing.T) {
	long := "0123456789abcdef0123456789abcdefXYZ"
	mem := fakeMem{0x1000: cstr(long), 0x2000: cstr(long[:32])}
	c := Call{Nr: abi.SYS_MEMFD_CREATE, Args: [6]uint64{0x1000, 0}, Ret: 3}
	if got, want := Format(c, mem), `memfd_create("0123456789abcdef0123456789abcdef"..., 0) = 3`; got != want {
		t.Errorf("long string:\n got %s\nwant %s", got, want)
	}
	c.Args[0] = 0x2000
	if got, want := Format(c, mem), `memfd_create("0123456789abcdef0123456789abcdef", 0) = 3`; got != want {
		t.Errorf("32-byte string:\n got %s\nwant %s", got, want)
	}
	// Paths are printed in full.
	c = Call{Nr: abi.SYS_CHDIR, Args: [6]uint64{0x1000}}
	if got, want := Format(c, mem), `chdir("`+long+`") = 0`; got != want {
		t.Errorf("path:\n got %s\nwant %s", got, want)
	}
}

// TestEveryCallFormats formats every table entry with arbitrary arguments and
// memory that cannot be read, which must never panic.
func TestEveryCallFormats(t *testing.T) {
	for nr := uint64(0); nr < abi.SyscallCount+2; nr++ {
		for _, ret := range []int64{0, 5, -14} {
			c := Call{Nr: nr, Args: [6]uint64{0xdead0000, 7, 3, 0xffffffffffffffff, 1, 2}, Ret: ret}
			if s := Format(c, fakeMem{}); s == "" {
				t.Errorf("empty line for %d", nr)
			}
		}
	}
}
