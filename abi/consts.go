package abi

// Open flags (x86-64 values; some differ on other architectures).
const (
	O_RDONLY    = 0x0
	O_WRONLY    = 0x1
	O_RDWR      = 0x2
	O_ACCMODE   = 0x3
	O_CREAT     = 0x40
	O_EXCL      = 0x80
	O_NOCTTY    = 0x100
	O_TRUNC     = 0x200
	O_APPEND    = 0x400
	O_NONBLOCK  = 0x800
	O_NDELAY    = O_NONBLOCK
	O_DSYNC     = 0x1000
	O_ASYNC     = 0x2000
	O_DIRECT    = 0x4000
	O_LARGEFILE = 0x8000
	O_DIRECTORY = 0x10000
	O_NOFOLLOW  = 0x20000
	O_NOATIME   = 0x40000
	O_CLOEXEC   = 0x80000
	O_SYNC      = 0x101000
	O_RSYNC     = O_SYNC
	O_PATH      = 0x200000
	O_TMPFILE   = 0x410000
)

// *at flags and the current-directory descriptor.
const (
	AT_FDCWD            = -0x64
	AT_SYMLINK_NOFOLLOW = 0x100
	AT_EACCESS          = 0x200
	AT_REMOVEDIR        = 0x200
	AT_SYMLINK_FOLLOW   = 0x400
	AT_NO_AUTOMOUNT     = 0x800
	AT_EMPTY_PATH       = 0x1000
	AT_RECURSIVE        = 0x8000

	AT_STATX_SYNC_TYPE    = 0x6000
	AT_STATX_SYNC_AS_STAT = 0x0
	AT_STATX_FORCE_SYNC   = 0x2000
	AT_STATX_DONT_SYNC    = 0x4000
)

// access(2) modes.
const (
	F_OK = 0x0
	X_OK = 0x1
	W_OK = 0x2
	R_OK = 0x4
)

// statx(2) masks and attributes.
const (
	STATX_TYPE              = 0x1
	STATX_MODE              = 0x2
	STATX_NLINK             = 0x4
	STATX_UID               = 0x8
	STATX_GID               = 0x10
	STATX_ATIME             = 0x20
	STATX_MTIME             = 0x40
	STATX_CTIME             = 0x80
	STATX_INO               = 0x100
	STATX_SIZE              = 0x200
	STATX_BLOCKS            = 0x400
	STATX_BASIC_STATS       = 0x7ff
	STATX_BTIME             = 0x800
	STATX_MNT_ID            = 0x1000
	STATX_DIOALIGN          = 0x2000
	STATX_MNT_ID_UNIQUE     = 0x4000
	STATX_SUBVOL            = 0x8000
	STATX_WRITE_ATOMIC      = 0x10000
	STATX_DIO_READ_ALIGN    = 0x20000
	STATX_ALL               = 0xfff
	STATX_ATTR_COMPRESSED   = 0x4
	STATX_ATTR_IMMUTABLE    = 0x10
	STATX_ATTR_APPEND       = 0x20
	STATX_ATTR_NODUMP       = 0x40
	STATX_ATTR_ENCRYPTED    = 0x800
	STATX_ATTR_AUTOMOUNT    = 0x1000
	STATX_ATTR_MOUNT_ROOT   = 0x2000
	STATX_ATTR_VERITY       = 0x100000
	STATX_ATTR_DAX          = 0x200000
	STATX_ATTR_WRITE_ATOMIC = 0x400000
)

// Memory protection, mapping, remapping and advice.
const (
	PROT_NONE      = 0x0
	PROT_READ      = 0x1
	PROT_WRITE     = 0x2
	PROT_EXEC      = 0x4
	PROT_SEM       = 0x8
	PROT_GROWSDOWN = 0x1000000
	PROT_GROWSUP   = 0x2000000

	MAP_SHARED          = 0x1
	MAP_PRIVATE         = 0x2
	MAP_SHARED_VALIDATE = 0x3
	MAP_TYPE            = 0xf
	MAP_FIXED           = 0x10
	MAP_ANONYMOUS       = 0x20
	MAP_ANON            = MAP_ANONYMOUS
	MAP_32BIT           = 0x40
	MAP_GROWSDOWN       = 0x100
	MAP_DENYWRITE       = 0x800
	MAP_EXECUTABLE      = 0x1000
	MAP_LOCKED          = 0x2000
	MAP_NORESERVE       = 0x4000
	MAP_POPULATE        = 0x8000
	MAP_NONBLOCK        = 0x10000
	MAP_STACK           = 0x20000
	MAP_HUGETLB         = 0x40000
	MAP_SYNC            = 0x80000
	MAP_FIXED_NOREPLACE = 0x100000
	MAP_UNINITIALIZED   = 0x4000000
	MAP_FAILED          = ^uint64(0)

	MREMAP_MAYMOVE   = 0x1
	MREMAP_FIXED     = 0x2
	MREMAP_DONTUNMAP = 0x4

	MS_ASYNC      = 0x1
	MS_INVALIDATE = 0x2
	MS_SYNC       = 0x4

	MCL_CURRENT = 0x1
	MCL_FUTURE  = 0x2
	MCL_ONFAULT = 0x4

	MADV_NORMAL          = 0x0
	MADV_RANDOM          = 0x1
	MADV_SEQUENTIAL      = 0x2
	MADV_WILLNEED        = 0x3
	MADV_DONTNEED        = 0x4
	MADV_FREE            = 0x8
	MADV_REMOVE          = 0x9
	MADV_DONTFORK        = 0xa
	MADV_DOFORK          = 0xb
	MADV_MERGEABLE       = 0xc
	MADV_UNMERGEABLE     = 0xd
	MADV_HUGEPAGE        = 0xe
	MADV_NOHUGEPAGE      = 0xf
	MADV_DONTDUMP        = 0x10
	MADV_DODUMP          = 0x11
	MADV_WIPEONFORK      = 0x12
	MADV_KEEPONFORK      = 0x13
	MADV_COLD            = 0x14
	MADV_PAGEOUT         = 0x15
	MADV_POPULATE_READ   = 0x16
	MADV_POPULATE_WRITE  = 0x17
	MADV_DONTNEED_LOCKED = 0x18
	MADV_COLLAPSE        = 0x19
	MADV_HWPOISON        = 0x64
	MADV_SOFT_OFFLINE    = 0x65
	MADV_GUARD_INSTALL   = 0x66
	MADV_GUARD_REMOVE    = 0x67
)

// Clock ids and timer flags.
const (
	CLOCK_REALTIME           = 0x0
	CLOCK_MONOTONIC          = 0x1
	CLOCK_PROCESS_CPUTIME_ID = 0x2
	CLOCK_THREAD_CPUTIME_ID  = 0x3
	CLOCK_MONOTONIC_RAW      = 0x4
	CLOCK_REALTIME_COARSE    = 0x5
	CLOCK_MONOTONIC_COARSE   = 0x6
	CLOCK_BOOTTIME           = 0x7
	CLOCK_REALTIME_ALARM     = 0x8
	CLOCK_BOOTTIME_ALARM     = 0x9
	CLOCK_TAI                = 0xb

	TIMER_ABSTIME = 0x1

	TFD_TIMER_ABSTIME       = 0x1
	TFD_TIMER_CANCEL_ON_SET = 0x2
	TFD_NONBLOCK            = O_NONBLOCK
	TFD_CLOEXEC             = O_CLOEXEC

	ITIMER_REAL    = 0x0
	ITIMER_VIRTUAL = 0x1
	ITIMER_PROF    = 0x2
)

// Scheduling policies.
const (
	SCHED_OTHER    = 0x0
	SCHED_FIFO     = 0x1
	SCHED_RR       = 0x2
	SCHED_BATCH    = 0x3
	SCHED_IDLE     = 0x5
	SCHED_DEADLINE = 0x6
)

// getpriority(2) and setpriority(2) targets.
const (
	PRIO_PROCESS = 0x0
	PRIO_PGRP    = 0x1
	PRIO_USER    = 0x2
)

// flock(2) operations.
const (
	LOCK_SH = 0x1
	LOCK_EX = 0x2
	LOCK_NB = 0x4
	LOCK_UN = 0x8
	// LOCK_MAND is the old mandatory-lock bit: Linux 5.18 and later ignore such calls.
	LOCK_MAND = 0x20
)

// fcntl(2) commands and descriptor flags.
const (
	F_DUPFD         = 0x0
	F_GETFD         = 0x1
	F_SETFD         = 0x2
	F_GETFL         = 0x3
	F_SETFL         = 0x4
	F_GETLK         = 0x5
	F_SETLK         = 0x6
	F_SETLKW        = 0x7
	F_SETOWN        = 0x8
	F_GETOWN        = 0x9
	F_SETSIG        = 0xa
	F_GETSIG        = 0xb
	F_SETOWN_EX     = 0xf
	F_GETOWN_EX     = 0x10
	F_OFD_GETLK     = 0x24
	F_OFD_SETLK     = 0x25
	F_OFD_SETLKW    = 0x26
	F_SETLEASE      = 0x400
	F_GETLEASE      = 0x401
	F_NOTIFY        = 0x402
	F_DUPFD_CLOEXEC = 0x406
	F_SETPIPE_SZ    = 0x407
	F_GETPIPE_SZ    = 0x408
	F_ADD_SEALS     = 0x409
	F_GET_SEALS     = 0x40a

	FD_CLOEXEC = 0x1

	// F_NOTIFY's events, <linux/fcntl.h>'s (x/sys/unix has none; testdata/c/dnotify.c
	// uses the header's and runs alike natively and under vemu).
	DN_ACCESS    = 0x1
	DN_MODIFY    = 0x2
	DN_CREATE    = 0x4
	DN_DELETE    = 0x8
	DN_RENAME    = 0x10
	DN_ATTRIB    = 0x20
	DN_MULTISHOT = 0x80000000

	F_RDLCK = 0x0
	F_WRLCK = 0x1
	F_UNLCK = 0x2
)

// arch_prctl(2) codes.
const (
	ARCH_SET_GS         = 0x1001
	ARCH_SET_FS         = 0x1002
	ARCH_GET_FS         = 0x1003
	ARCH_GET_GS         = 0x1004
	ARCH_GET_CPUID      = 0x1011
	ARCH_SET_CPUID      = 0x1012
	ARCH_GET_XCOMP_SUPP = 0x1021
	ARCH_GET_XCOMP_PERM = 0x1022
	ARCH_REQ_XCOMP_PERM = 0x1023
	ARCH_MAP_VDSO_X32   = 0x2001
	ARCH_MAP_VDSO_32    = 0x2002
	ARCH_MAP_VDSO_64    = 0x2003
	ARCH_SHSTK_ENABLE   = 0x5001
	ARCH_SHSTK_DISABLE  = 0x5002
	ARCH_SHSTK_LOCK     = 0x5003
	ARCH_SHSTK_UNLOCK   = 0x5004
	ARCH_SHSTK_STATUS   = 0x5005
)

// futex(2) operations and flags.
const (
	FUTEX_WAIT            = 0x0
	FUTEX_WAKE            = 0x1
	FUTEX_FD              = 0x2
	FUTEX_REQUEUE         = 0x3
	FUTEX_CMP_REQUEUE     = 0x4
	FUTEX_WAKE_OP         = 0x5
	FUTEX_LOCK_PI         = 0x6
	FUTEX_UNLOCK_PI       = 0x7
	FUTEX_TRYLOCK_PI      = 0x8
	FUTEX_WAIT_BITSET     = 0x9
	FUTEX_WAKE_BITSET     = 0xa
	FUTEX_WAIT_REQUEUE_PI = 0xb
	FUTEX_CMP_REQUEUE_PI  = 0xc
	FUTEX_LOCK_PI2        = 0xd
	FUTEX_PRIVATE_FLAG    = 0x80
	FUTEX_CLOCK_REALTIME  = 0x100
	FUTEX_CMD_MASK        = ^(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

	FUTEX_WAIT_PRIVATE = FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	FUTEX_WAKE_PRIVATE = FUTEX_WAKE | FUTEX_PRIVATE_FLAG

	FUTEX_BITSET_MATCH_ANY = 0xffffffff
)

// clone(2) flags; the low byte is the exit signal.
const (
	CSIGNAL              = 0xff
	CLONE_NEWTIME        = 0x80
	CLONE_VM             = 0x100
	CLONE_FS             = 0x200
	CLONE_FILES          = 0x400
	CLONE_SIGHAND        = 0x800
	CLONE_PIDFD          = 0x1000
	CLONE_PTRACE         = 0x2000
	CLONE_VFORK          = 0x4000
	CLONE_PARENT         = 0x8000
	CLONE_THREAD         = 0x10000
	CLONE_NEWNS          = 0x20000
	CLONE_SYSVSEM        = 0x40000
	CLONE_SETTLS         = 0x80000
	CLONE_PARENT_SETTID  = 0x100000
	CLONE_CHILD_CLEARTID = 0x200000
	CLONE_DETACHED       = 0x400000
	CLONE_UNTRACED       = 0x800000
	CLONE_CHILD_SETTID   = 0x1000000
	CLONE_NEWCGROUP      = 0x2000000
	CLONE_NEWUTS         = 0x4000000
	CLONE_NEWIPC         = 0x8000000
	CLONE_NEWUSER        = 0x10000000
	CLONE_NEWPID         = 0x20000000
	CLONE_NEWNET         = 0x40000000
	CLONE_IO             = 0x80000000
	CLONE_CLEAR_SIGHAND  = 0x100000000
	CLONE_INTO_CGROUP    = 0x200000000
)

// File type and permission bits of st_mode.
const (
	S_IFMT   = 0xf000
	S_IFSOCK = 0xc000
	S_IFLNK  = 0xa000
	S_IFREG  = 0x8000
	S_IFBLK  = 0x6000
	S_IFDIR  = 0x4000
	S_IFCHR  = 0x2000
	S_IFIFO  = 0x1000
	S_ISUID  = 0x800
	S_ISGID  = 0x400
	S_ISVTX  = 0x200
	S_IRWXU  = 0x1c0
	S_IRUSR  = 0x100
	S_IWUSR  = 0x80
	S_IXUSR  = 0x40
	S_IRWXG  = 0x38
	S_IRGRP  = 0x20
	S_IWGRP  = 0x10
	S_IXGRP  = 0x8
	S_IRWXO  = 0x7
	S_IROTH  = 0x4
	S_IWOTH  = 0x2
	S_IXOTH  = 0x1
)

// Directory entry types (d_type).
const (
	DT_UNKNOWN = 0x0
	DT_FIFO    = 0x1
	DT_CHR     = 0x2
	DT_DIR     = 0x4
	DT_BLK     = 0x6
	DT_REG     = 0x8
	DT_LNK     = 0xa
	DT_SOCK    = 0xc
	DT_WHT     = 0xe
)

// Terminal and descriptor ioctl(2) requests.
const (
	TCGETS       = 0x5401
	TCSETS       = 0x5402
	TCSETSW      = 0x5403
	TCSETSF      = 0x5404
	TCGETA       = 0x5405
	TCSETA       = 0x5406
	TCSETAW      = 0x5407
	TCSETAF      = 0x5408
	TCSBRK       = 0x5409
	TCXONC       = 0x540a
	TCFLSH       = 0x540b
	TIOCEXCL     = 0x540c
	TIOCNXCL     = 0x540d
	TIOCSCTTY    = 0x540e
	TIOCGPGRP    = 0x540f
	TIOCSPGRP    = 0x5410
	TIOCOUTQ     = 0x5411
	TIOCSTI      = 0x5412
	TIOCGWINSZ   = 0x5413
	TIOCSWINSZ   = 0x5414
	TIOCMGET     = 0x5415
	TIOCMBIS     = 0x5416
	TIOCMBIC     = 0x5417
	TIOCMSET     = 0x5418
	TIOCGSOFTCAR = 0x5419
	TIOCSSOFTCAR = 0x541a
	FIONREAD     = 0x541b
	TIOCINQ      = FIONREAD
	TIOCLINUX    = 0x541c
	TIOCCONS     = 0x541d
	TIOCGSERIAL  = 0x541e
	TIOCSSERIAL  = 0x541f
	TIOCPKT      = 0x5420
	FIONBIO      = 0x5421
	TIOCNOTTY    = 0x5422
	TIOCSETD     = 0x5423
	TIOCGETD     = 0x5424
	TCSBRKP      = 0x5425
	TIOCSBRK     = 0x5427
	TIOCCBRK     = 0x5428
	TIOCGSID     = 0x5429
	TCGETS2      = 0x802c542a
	TCSETS2      = 0x402c542b
	TCSETSW2     = 0x402c542c
	TCSETSF2     = 0x402c542d
	TIOCGPTN     = 0x80045430
	TIOCSPTLCK   = 0x40045431
	TIOCGDEV     = 0x80045432
	TIOCGPTPEER  = 0x5441
	FIONCLEX     = 0x5450
	FIOCLEX      = 0x5451
	FIOASYNC     = 0x5452
	FIOQSIZE     = 0x5460
)

// File attribute ioctls (linux/fs.h): the inode flags chattr sets, and the extended
// attributes of struct fsxattr (28 bytes).
const (
	FS_IOC_GETFLAGS   = 0x80086601 // an int, though the number says long
	FS_IOC_SETFLAGS   = 0x40086602
	FS_IOC_GETVERSION = 0x80087601 // an int
	FS_IOC_FSGETXATTR = 0x801c581f
	FS_IOC_FSSETXATTR = 0x401c5820
	FsxattrSize       = 28
)

// Socket ioctls (asm-generic/sockios.h, linux/sockios.h): requests every socket answers,
// and those about network interfaces, whose argument is a struct ifreq (SIOCGIFCONF's a
// struct ifconf).
const (
	FIOSETOWN          = 0x8901
	SIOCSPGRP          = 0x8902
	FIOGETOWN          = 0x8903
	SIOCGPGRP          = 0x8904
	SIOCATMARK         = 0x8905
	SIOCGSTAMP         = 0x8906
	SIOCGSTAMPNS       = 0x8907
	SIOCOUTQNSD        = 0x894b
	SIOCGIFNAME        = 0x8910
	SIOCSIFLINK        = 0x8911
	SIOCGIFCONF        = 0x8912
	SIOCGIFFLAGS       = 0x8913
	SIOCSIFFLAGS       = 0x8914
	SIOCGIFADDR        = 0x8915
	SIOCSIFADDR        = 0x8916
	SIOCGIFDSTADDR     = 0x8917
	SIOCSIFDSTADDR     = 0x8918
	SIOCGIFBRDADDR     = 0x8919
	SIOCSIFBRDADDR     = 0x891a
	SIOCGIFNETMASK     = 0x891b
	SIOCSIFNETMASK     = 0x891c
	SIOCGIFMETRIC      = 0x891d
	SIOCSIFMETRIC      = 0x891e
	SIOCGIFMTU         = 0x8921
	SIOCSIFMTU         = 0x8922
	SIOCSIFNAME        = 0x8923
	SIOCSIFHWADDR      = 0x8924
	SIOCGIFHWADDR      = 0x8927
	SIOCADDMULTI       = 0x8931
	SIOCDELMULTI       = 0x8932
	SIOCGIFINDEX       = 0x8933
	SIOCSIFPFLAGS      = 0x8934
	SIOCGIFPFLAGS      = 0x8935
	SIOCDIFADDR        = 0x8936
	SIOCSIFHWBROADCAST = 0x8937
	SIOCGIFTXQLEN      = 0x8942
	SIOCSIFTXQLEN      = 0x8943
	SIOCGIFMAP         = 0x8970
	SIOCSIFMAP         = 0x8971
	SIOCWANDEV         = 0x894a
	SIOCDEVPRIVATE     = 0x89f0 // to SIOCDEVPRIVATE+15: the device's own requests
)

// Resource limits.
const (
	RLIMIT_CPU        = 0x0
	RLIMIT_FSIZE      = 0x1
	RLIMIT_DATA       = 0x2
	RLIMIT_STACK      = 0x3
	RLIMIT_CORE       = 0x4
	RLIMIT_RSS        = 0x5
	RLIMIT_NPROC      = 0x6
	RLIMIT_NOFILE     = 0x7
	RLIMIT_MEMLOCK    = 0x8
	RLIMIT_AS         = 0x9
	RLIMIT_LOCKS      = 0xa
	RLIMIT_SIGPENDING = 0xb
	RLIMIT_MSGQUEUE   = 0xc
	RLIMIT_NICE       = 0xd
	RLIMIT_RTPRIO     = 0xe
	RLIMIT_RTTIME     = 0xf
	RLIM_NLIMITS      = 0x10

	RLIM_INFINITY = ^uint64(0)

	RUSAGE_SELF     = 0x0
	RUSAGE_CHILDREN = -0x1
	RUSAGE_THREAD   = 0x1
)

// lseek(2) whence values.
const (
	SEEK_SET  = 0x0
	SEEK_CUR  = 0x1
	SEEK_END  = 0x2
	SEEK_DATA = 0x3
	SEEK_HOLE = 0x4
)

// getrandom(2) flags.
const (
	GRND_NONBLOCK = 0x1
	GRND_RANDOM   = 0x2
	GRND_INSECURE = 0x4
)

// wait4(2) and waitid(2) options and id types.
const (
	WNOHANG    = 0x1
	WUNTRACED  = 0x2
	WSTOPPED   = WUNTRACED
	WEXITED    = 0x4
	WCONTINUED = 0x8
	WNOWAIT    = 0x1000000
	WNOTHREAD  = 0x20000000
	WALL       = 0x40000000
	WCLONE     = 0x80000000

	P_ALL   = 0x0
	P_PID   = 0x1
	P_PGID  = 0x2
	P_PIDFD = 0x3
)

// renameat2(2) flags.
const (
	RENAME_NOREPLACE = 0x1
	RENAME_EXCHANGE  = 0x2
	RENAME_WHITEOUT  = 0x4
)

// close_range(2) flags.
const (
	CLOSE_RANGE_UNSHARE = 0x2
	CLOSE_RANGE_CLOEXEC = 0x4
)

// eventfd, memfd and utimensat values.
const (
	EFD_SEMAPHORE = 0x1
	EFD_NONBLOCK  = O_NONBLOCK
	EFD_CLOEXEC   = O_CLOEXEC

	MFD_CLOEXEC       = 0x1
	MFD_ALLOW_SEALING = 0x2
	MFD_HUGETLB       = 0x4
	MFD_NOEXEC_SEAL   = 0x8
	MFD_EXEC          = 0x10
	MFD_HUGE_MASK     = 0x3f // of the huge page size's log2, at MFD_HUGE_SHIFT
	MFD_HUGE_SHIFT    = 26

	UTIME_NOW  = 0x3fffffff
	UTIME_OMIT = 0x3ffffffe
)

// Socket domains and types.
const (
	AF_UNSPEC  = 0x0
	AF_UNIX    = 0x1
	AF_INET    = 0x2
	AF_INET6   = 0xa
	AF_NETLINK = 0x10
	AF_PACKET  = 0x11

	SOCK_STREAM    = 0x1
	SOCK_DGRAM     = 0x2
	SOCK_RAW       = 0x3
	SOCK_RDM       = 0x4
	SOCK_SEQPACKET = 0x5
	SOCK_PACKET    = 0xa
	SOCK_NONBLOCK  = O_NONBLOCK
	SOCK_CLOEXEC   = O_CLOEXEC

	SOL_SOCKET       = 0x1
	SCM_RIGHTS       = 0x1
	MSG_CTRUNC       = 0x8
	MSG_DONTWAIT     = 0x40
	MSG_CMSG_CLOEXEC = 0x40000000

	// Sizes of struct msghdr and struct cmsghdr (x86-64); control messages are aligned
	// to 8 bytes.
	MsghdrSize  = 56
	CmsghdrSize = 16
)

// prctl(2) options.
const (
	PR_SET_PDEATHSIG             = 0x1
	PR_GET_PDEATHSIG             = 0x2
	PR_GET_DUMPABLE              = 0x3
	PR_SET_DUMPABLE              = 0x4
	PR_GET_KEEPCAPS              = 0x7
	PR_SET_KEEPCAPS              = 0x8
	PR_GET_TIMING                = 0xd
	PR_SET_TIMING                = 0xe
	PR_SET_NAME                  = 0xf
	PR_GET_NAME                  = 0x10
	PR_GET_SECCOMP               = 0x15
	PR_SET_SECCOMP               = 0x16
	PR_CAPBSET_READ              = 0x17
	PR_CAPBSET_DROP              = 0x18
	PR_GET_TSC                   = 0x19
	PR_SET_TSC                   = 0x1a
	PR_GET_SECUREBITS            = 0x1b
	PR_SET_SECUREBITS            = 0x1c
	PR_SET_TIMERSLACK            = 0x1d
	PR_GET_TIMERSLACK            = 0x1e
	PR_MCE_KILL                  = 0x21
	PR_MCE_KILL_GET              = 0x22
	PR_SET_MM                    = 0x23
	PR_SET_MM_ARG_START          = 0x8
	PR_SET_MM_ARG_END            = 0x9
	PR_SET_MM_ENV_START          = 0xa
	PR_SET_MM_ENV_END            = 0xb
	PR_SET_MM_AUXV               = 0xc
	PR_SET_MM_MAP                = 0xe
	PR_SET_MM_MAP_SIZE           = 0xf
	PR_SET_CHILD_SUBREAPER       = 0x24
	PR_GET_CHILD_SUBREAPER       = 0x25
	PR_SET_NO_NEW_PRIVS          = 0x26
	PR_GET_NO_NEW_PRIVS          = 0x27
	PR_GET_TID_ADDRESS           = 0x28
	PR_SET_THP_DISABLE           = 0x29
	PR_GET_THP_DISABLE           = 0x2a
	PR_SET_FP_MODE               = 0x2d
	PR_GET_FP_MODE               = 0x2e
	PR_CAP_AMBIENT               = 0x2f
	PR_GET_SPECULATION_CTRL      = 0x34
	PR_SET_SPECULATION_CTRL      = 0x35
	PR_SET_IO_FLUSHER            = 0x39
	PR_GET_IO_FLUSHER            = 0x3a
	PR_SET_SYSCALL_USER_DISPATCH = 0x3b
	PR_SET_VMA                   = 0x53564d41
)

// Personality values.
const (
	PER_LINUX         = 0x0
	ADDR_NO_RANDOMIZE = 0x40000
	READ_IMPLIES_EXEC = 0x400000
	ADDR_LIMIT_32BIT  = 0x800000
	PERSONALITY_QUERY = 0xffffffff
)

// membarrier(2) commands.
const (
	MEMBARRIER_CMD_QUERY                                = 0x0
	MEMBARRIER_CMD_GLOBAL                               = 0x1
	MEMBARRIER_CMD_GLOBAL_EXPEDITED                     = 0x2
	MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED            = 0x4
	MEMBARRIER_CMD_PRIVATE_EXPEDITED                    = 0x8
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED           = 0x10
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE          = 0x20
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 0x40
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ               = 0x80
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ      = 0x100
)

// Restartable sequences (rseq(2), include/uapi/linux/rseq.h).
const (
	RSEQ_FLAG_UNREGISTER               = 0x1
	RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT = 0x1
	RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL  = 0x2
	RSEQ_CS_FLAG_NO_RESTART_ON_MIGRATE = 0x4
	// RSEQ_CPU_ID_UNINITIALIZED is cpu_id's -1 before registration and after it ends.
	RSEQ_CPU_ID_UNINITIALIZED = 0xffffffff

	// struct rseq: the original size (the least rseq_len), its alignment, and the end
	// of the fields Linux 6.3 to 6.18 know (AT_RSEQ_FEATURE_SIZE).
	RseqOrigSize    = 32
	RseqAlign       = 32
	RseqFeatureSize = 28
	// Offsets in struct rseq.
	RseqCPUIDStart = 0  // u32 cpu_id_start
	RseqCPUID      = 4  // u32 cpu_id
	RseqCS         = 8  // u64 rseq_cs: the struct rseq_cs in force, or 0
	RseqFlags      = 16 // u32 flags
	RseqNodeID     = 20 // u32 node_id
	RseqMMCID      = 24 // u32 mm_cid

	// struct rseq_cs: u32 version, u32 flags, u64 start_ip, u64 post_commit_offset,
	// u64 abort_ip.
	RseqCSSize             = 32
	RseqCSVersion          = 0
	RseqCSFlags            = 4
	RseqCSStartIP          = 8
	RseqCSPostCommitOffset = 16
	RseqCSAbortIP          = 24
)

// seccomp(2) operations.
const (
	SECCOMP_SET_MODE_STRICT  = 0x0
	SECCOMP_SET_MODE_FILTER  = 0x1
	SECCOMP_GET_ACTION_AVAIL = 0x2
	SECCOMP_GET_NOTIF_SIZES  = 0x3
)

// seccomp filter flags, return actions and the architectures struct seccomp_data names.
const (
	SECCOMP_FILTER_FLAG_TSYNC              = 0x1
	SECCOMP_FILTER_FLAG_LOG                = 0x2
	SECCOMP_FILTER_FLAG_SPEC_ALLOW         = 0x4
	SECCOMP_FILTER_FLAG_NEW_LISTENER       = 0x8
	SECCOMP_FILTER_FLAG_TSYNC_ESRCH        = 0x10
	SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 0x20

	SECCOMP_RET_KILL_PROCESS = 0x80000000
	SECCOMP_RET_KILL_THREAD  = 0x0
	SECCOMP_RET_TRAP         = 0x30000
	SECCOMP_RET_ERRNO        = 0x50000
	SECCOMP_RET_USER_NOTIF   = 0x7fc00000
	SECCOMP_RET_TRACE        = 0x7ff00000
	SECCOMP_RET_LOG          = 0x7ffc0000
	SECCOMP_RET_ALLOW        = 0x7fff0000
	SECCOMP_RET_ACTION_FULL  = 0xffff0000
	SECCOMP_RET_DATA         = 0xffff

	PR_TSC_ENABLE  = 1
	PR_TSC_SIGSEGV = 2

	SECCOMP_MODE_DISABLED = 0
	SECCOMP_MODE_STRICT   = 1
	SECCOMP_MODE_FILTER   = 2

	AUDIT_ARCH_I386 = 0x40000003

	BPF_MAXINSNS = 0x1000
	BPF_MEMWORDS = 0x10

	// SYS_SECCOMP is SIGSYS's si_code for a seccomp TRAP.
	SYS_SECCOMP_CODE = 1
)

// Alternate signal stack flags.
const (
	SS_ONSTACK    = 0x1
	SS_DISABLE    = 0x2
	SS_AUTODISARM = 0x80000000
	MINSIGSTKSZ   = 0x800
	SIGSTKSZ      = 0x2000
)

// Poll events.
const (
	POLLIN     = 0x1
	POLLPRI    = 0x2
	POLLOUT    = 0x4
	POLLERR    = 0x8
	POLLHUP    = 0x10
	POLLNVAL   = 0x20
	POLLRDNORM = 0x40
	POLLRDBAND = 0x80
	POLLWRNORM = 0x100
	POLLWRBAND = 0x200
	POLLRDHUP  = 0x2000
)

// quotactl(2): a command is QCMD(cmd, type), cmd << Q_SUBCMDSHIFT | type, with type below
// MAXQUOTAS (user, group, project). x/sys/unix has none of these.
const (
	Q_SUBCMDSHIFT = 8
	Q_SUBCMDMASK  = 0xff
	MAXQUOTAS     = 3
	Q_SYNC        = 0x800001
)
