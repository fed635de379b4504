package abi

// Class is a set of the system call classes that strace names in its syscall sets
// (-e trace=%file, %desc...), one bit per class.
type Class uint32

// The classes, as strace 6.1 defines them.
const (
	ClassFile       Class = 1 << iota // %file: takes a file name
	ClassProcess                      // %process: process lifecycle
	ClassNetwork                      // %network, %net
	ClassSignal                       // %signal
	ClassIPC                          // %ipc: System V IPC
	ClassDesc                         // %desc: takes or returns a file descriptor
	ClassMemory                       // %memory: memory mapping
	ClassCreds                        // %creds: user and group ids, capabilities
	ClassClock                        // %clock: reads or sets system clocks
	ClassStat                         // %stat
	ClassLstat                        // %lstat
	ClassFstat                        // %fstat: fstat, fstatat, statx
	ClassStatLike                     // %%stat: every stat variant
	ClassStatfs                       // %statfs
	ClassFstatfs                      // %fstatfs
	ClassStatfsLike                   // %%statfs: statfs, fstatfs, ustat
	ClassPure                         // %pure: no arguments, always succeed
)

// ClassNames maps the name of each class, as written after the % of a syscall set, to
// the class. "file" is written "%file"; "%stat" is written "%%stat".
var ClassNames = map[string]Class{
	"file": ClassFile, "process": ClassProcess, "network": ClassNetwork, "net": ClassNetwork,
	"signal": ClassSignal, "ipc": ClassIPC, "desc": ClassDesc, "memory": ClassMemory,
	"creds": ClassCreds, "clock": ClassClock, "stat": ClassStat, "lstat": ClassLstat,
	"fstat": ClassFstat, "%stat": ClassStatLike, "statfs": ClassStatfs, "fstatfs": ClassFstatfs,
	"%statfs": ClassStatfsLike, "pure": ClassPure,
}

// LegacyClassNames are the classes strace also accepts without the %, a syntax it
// calls deprecated ("-e trace=file").
var LegacyClassNames = []string{"file", "process", "network", "signal", "ipc", "desc", "memory"}

// SyscallClasses returns the classes system call nr belongs to.
func SyscallClasses(nr uint64) Class {
	if nr >= SyscallCount {
		return 0
	}
	return syscallClasses[nr]
}

var syscallClasses = func() (c [SyscallCount]Class) {
	for _, m := range []map[Class][]int{classMembers, laterMembers} {
		for class, nrs := range m {
			for _, nr := range nrs {
				c[nr] |= class
			}
		}
	}
	return c
}()

// classMembers lists each class's system calls among the numbers strace 6.1 knows: the
// calls its -e trace=%CLASS selects (TestClassesAsStrace checks them against the strace
// on the machine).
var classMembers = map[Class][]int{
	ClassFile: {
		SYS_OPEN, SYS_STAT, SYS_LSTAT, SYS_ACCESS, SYS_EXECVE, SYS_TRUNCATE, SYS_GETCWD, SYS_CHDIR,
		SYS_RENAME, SYS_MKDIR, SYS_RMDIR, SYS_CREAT, SYS_LINK, SYS_UNLINK, SYS_SYMLINK, SYS_READLINK,
		SYS_CHMOD, SYS_CHOWN, SYS_LCHOWN, SYS_UTIME, SYS_MKNOD, SYS_USELIB, SYS_STATFS, SYS_PIVOT_ROOT,
		SYS_CHROOT, SYS_ACCT, SYS_MOUNT, SYS_UMOUNT2, SYS_SWAPON, SYS_SWAPOFF, SYS_QUOTACTL,
		SYS_SETXATTR, SYS_LSETXATTR, SYS_GETXATTR, SYS_LGETXATTR, SYS_LISTXATTR, SYS_LLISTXATTR,
		SYS_REMOVEXATTR, SYS_LREMOVEXATTR, SYS_UTIMES, SYS_INOTIFY_ADD_WATCH, SYS_OPENAT, SYS_MKDIRAT,
		SYS_MKNODAT, SYS_FCHOWNAT, SYS_FUTIMESAT, SYS_NEWFSTATAT, SYS_UNLINKAT, SYS_RENAMEAT, SYS_LINKAT,
		SYS_SYMLINKAT, SYS_READLINKAT, SYS_FCHMODAT, SYS_FACCESSAT, SYS_UTIMENSAT, SYS_FANOTIFY_MARK,
		SYS_NAME_TO_HANDLE_AT, SYS_RENAMEAT2, SYS_EXECVEAT, SYS_STATX, SYS_OPEN_TREE, SYS_MOVE_MOUNT,
		SYS_FSCONFIG, SYS_FSPICK, SYS_OPENAT2, SYS_FACCESSAT2, SYS_MOUNT_SETATTR,
	},
	ClassProcess: {
		SYS_CLONE, SYS_FORK, SYS_VFORK, SYS_EXECVE, SYS_EXIT, SYS_WAIT4, SYS_KILL, SYS_RT_SIGQUEUEINFO,
		SYS_TKILL, SYS_EXIT_GROUP, SYS_TGKILL, SYS_WAITID, SYS_RT_TGSIGQUEUEINFO, SYS_EXECVEAT,
		SYS_PIDFD_SEND_SIGNAL, SYS_CLONE3,
	},
	ClassNetwork: {
		SYS_SENDFILE, SYS_SOCKET, SYS_CONNECT, SYS_ACCEPT, SYS_SENDTO, SYS_RECVFROM, SYS_SENDMSG,
		SYS_RECVMSG, SYS_SHUTDOWN, SYS_BIND, SYS_LISTEN, SYS_GETSOCKNAME, SYS_GETPEERNAME,
		SYS_SOCKETPAIR, SYS_SETSOCKOPT, SYS_GETSOCKOPT, SYS_GETPMSG, SYS_PUTPMSG, SYS_ACCEPT4,
		SYS_RECVMMSG, SYS_SENDMMSG,
	},
	ClassSignal: {
		SYS_RT_SIGACTION, SYS_RT_SIGPROCMASK, SYS_RT_SIGRETURN, SYS_PAUSE, SYS_KILL, SYS_RT_SIGPENDING,
		SYS_RT_SIGTIMEDWAIT, SYS_RT_SIGQUEUEINFO, SYS_RT_SIGSUSPEND, SYS_SIGALTSTACK, SYS_TKILL,
		SYS_TGKILL, SYS_SIGNALFD, SYS_SIGNALFD4, SYS_RT_TGSIGQUEUEINFO, SYS_PIDFD_SEND_SIGNAL,
		SYS_IO_URING_ENTER,
	},
	ClassIPC: {
		SYS_SHMGET, SYS_SHMAT, SYS_SHMCTL, SYS_SEMGET, SYS_SEMOP, SYS_SEMCTL, SYS_SHMDT, SYS_MSGGET,
		SYS_MSGSND, SYS_MSGRCV, SYS_MSGCTL, SYS_SEMTIMEDOP,
	},
	ClassDesc: {
		SYS_READ, SYS_WRITE, SYS_OPEN, SYS_CLOSE, SYS_FSTAT, SYS_POLL, SYS_LSEEK, SYS_MMAP, SYS_IOCTL,
		SYS_PREAD64, SYS_PWRITE64, SYS_READV, SYS_WRITEV, SYS_PIPE, SYS_SELECT, SYS_DUP, SYS_DUP2,
		SYS_SENDFILE, SYS_FCNTL, SYS_FLOCK, SYS_FSYNC, SYS_FDATASYNC, SYS_FTRUNCATE, SYS_GETDENTS,
		SYS_FCHDIR, SYS_CREAT, SYS_FCHMOD, SYS_FCHOWN, SYS_FSTATFS, SYS_READAHEAD, SYS_FSETXATTR,
		SYS_FGETXATTR, SYS_FLISTXATTR, SYS_FREMOVEXATTR, SYS_EPOLL_CREATE, SYS_GETDENTS64, SYS_FADVISE64,
		SYS_EPOLL_WAIT, SYS_EPOLL_CTL, SYS_MQ_OPEN, SYS_MQ_TIMEDSEND, SYS_MQ_TIMEDRECEIVE, SYS_MQ_NOTIFY,
		SYS_MQ_GETSETATTR, SYS_INOTIFY_INIT, SYS_INOTIFY_ADD_WATCH, SYS_INOTIFY_RM_WATCH, SYS_OPENAT,
		SYS_MKDIRAT, SYS_MKNODAT, SYS_FCHOWNAT, SYS_FUTIMESAT, SYS_NEWFSTATAT, SYS_UNLINKAT,
		SYS_RENAMEAT, SYS_LINKAT, SYS_SYMLINKAT, SYS_READLINKAT, SYS_FCHMODAT, SYS_FACCESSAT,
		SYS_PSELECT6, SYS_PPOLL, SYS_SPLICE, SYS_TEE, SYS_SYNC_FILE_RANGE, SYS_VMSPLICE, SYS_UTIMENSAT,
		SYS_EPOLL_PWAIT, SYS_SIGNALFD, SYS_TIMERFD_CREATE, SYS_EVENTFD, SYS_FALLOCATE,
		SYS_TIMERFD_SETTIME, SYS_TIMERFD_GETTIME, SYS_SIGNALFD4, SYS_EVENTFD2, SYS_EPOLL_CREATE1,
		SYS_DUP3, SYS_PIPE2, SYS_INOTIFY_INIT1, SYS_PREADV, SYS_PWRITEV, SYS_PERF_EVENT_OPEN,
		SYS_FANOTIFY_INIT, SYS_FANOTIFY_MARK, SYS_NAME_TO_HANDLE_AT, SYS_OPEN_BY_HANDLE_AT, SYS_SYNCFS,
		SYS_SETNS, SYS_FINIT_MODULE, SYS_RENAMEAT2, SYS_MEMFD_CREATE, SYS_KEXEC_FILE_LOAD, SYS_BPF,
		SYS_EXECVEAT, SYS_USERFAULTFD, SYS_COPY_FILE_RANGE, SYS_PREADV2, SYS_PWRITEV2, SYS_STATX,
		SYS_PIDFD_SEND_SIGNAL, SYS_IO_URING_SETUP, SYS_IO_URING_ENTER, SYS_IO_URING_REGISTER,
		SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT, SYS_FSPICK, SYS_PIDFD_OPEN,
		SYS_OPENAT2, SYS_PIDFD_GETFD, SYS_FACCESSAT2, SYS_PROCESS_MADVISE, SYS_EPOLL_PWAIT2,
		SYS_MOUNT_SETATTR, SYS_QUOTACTL_FD, SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE,
		SYS_LANDLOCK_RESTRICT_SELF, SYS_MEMFD_SECRET, SYS_PROCESS_MRELEASE,
	},
	ClassMemory: {
		SYS_MMAP, SYS_MPROTECT, SYS_MUNMAP, SYS_BRK, SYS_MREMAP, SYS_MSYNC, SYS_MINCORE, SYS_MADVISE,
		SYS_SHMAT, SYS_SHMDT, SYS_MLOCK, SYS_MUNLOCK, SYS_MLOCKALL, SYS_MUNLOCKALL, SYS_IO_SETUP,
		SYS_IO_DESTROY, SYS_REMAP_FILE_PAGES, SYS_MBIND, SYS_SET_MEMPOLICY, SYS_GET_MEMPOLICY,
		SYS_MIGRATE_PAGES, SYS_MOVE_PAGES, SYS_MLOCK2, SYS_PKEY_MPROTECT, SYS_IO_URING_REGISTER,
		SYS_SET_MEMPOLICY_HOME_NODE,
	},
	ClassCreds: {
		SYS_GETUID, SYS_GETGID, SYS_SETUID, SYS_SETGID, SYS_GETEUID, SYS_GETEGID, SYS_SETREUID,
		SYS_SETREGID, SYS_GETGROUPS, SYS_SETGROUPS, SYS_SETRESUID, SYS_GETRESUID, SYS_SETRESGID,
		SYS_GETRESGID, SYS_SETFSUID, SYS_SETFSGID, SYS_CAPGET, SYS_CAPSET, SYS_PRCTL,
	},
	ClassClock: {
		SYS_GETTIMEOFDAY, SYS_ADJTIMEX, SYS_SETTIMEOFDAY, SYS_TIME, SYS_CLOCK_SETTIME, SYS_CLOCK_GETTIME,
		SYS_CLOCK_GETRES, SYS_CLOCK_ADJTIME,
	},
	ClassStat: {
		SYS_STAT,
	},
	ClassLstat: {
		SYS_LSTAT,
	},
	ClassFstat: {
		SYS_FSTAT, SYS_NEWFSTATAT, SYS_STATX,
	},
	ClassStatLike: {
		SYS_STAT, SYS_FSTAT, SYS_LSTAT, SYS_NEWFSTATAT, SYS_STATX,
	},
	ClassStatfs: {
		SYS_STATFS,
	},
	ClassFstatfs: {
		SYS_FSTATFS,
	},
	ClassStatfsLike: {
		SYS_USTAT, SYS_STATFS, SYS_FSTATFS,
	},
	ClassPure: {
		SYS_GETPID, SYS_GETUID, SYS_GETGID, SYS_GETEUID, SYS_GETEGID, SYS_GETPPID, SYS_GETPGRP,
		SYS_GETTID,
	},
}

// laterMembers places the calls newer than strace 6.1 as their arguments say: a file
// name and a directory descriptor, a descriptor, a mapping.
var laterMembers = map[Class][]int{
	ClassFile: {
		SYS_FCHMODAT2, SYS_SETXATTRAT, SYS_GETXATTRAT, SYS_LISTXATTRAT, SYS_REMOVEXATTRAT,
		SYS_OPEN_TREE_ATTR, SYS_FILE_GETATTR, SYS_FILE_SETATTR,
	},
	ClassDesc: {
		SYS_CACHESTAT, SYS_FCHMODAT2, SYS_SETXATTRAT, SYS_GETXATTRAT, SYS_LISTXATTRAT,
		SYS_REMOVEXATTRAT, SYS_OPEN_TREE_ATTR, SYS_FILE_GETATTR, SYS_FILE_SETATTR,
	},
	ClassMemory: {SYS_MAP_SHADOW_STACK, SYS_MSEAL},
}
