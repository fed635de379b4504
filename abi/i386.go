package abi

// I386Call is a system call of the i386 table that a 64-bit program reaches through
// int $0x80, where its arguments (ebx, ecx, edx, esi, edi, ebp) mean what the x86-64
// call's do once widened: each is zero-extended from 32 bits, except those Signed marks
// (bit i for argument i), which are sign-extended.
type I386Call struct {
	Name   string // the i386 name, as x/sys/unix's linux/386 SYS_ constant
	Amd64  uint64 // the x86-64 call that implements it
	Signed uint8
}

// I386Syscalls are the i386 system calls that int $0x80 runs, by i386 number: those whose
// arguments are integers, strings, byte buffers or int arrays, laid out alike in both
// ABIs, and mmap2, whose offset counts pages. The others (structures with longs or
// pointers in them, the 16-bit uid calls) answer ENOSYS.
var I386Syscalls = map[uint32]I386Call{
	1:   {"SYS_EXIT", SYS_EXIT, 0},
	2:   {"SYS_FORK", SYS_FORK, 0},
	3:   {"SYS_READ", SYS_READ, 0},
	4:   {"SYS_WRITE", SYS_WRITE, 0},
	5:   {"SYS_OPEN", SYS_OPEN, 0},
	6:   {"SYS_CLOSE", SYS_CLOSE, 0},
	10:  {"SYS_UNLINK", SYS_UNLINK, 0},
	12:  {"SYS_CHDIR", SYS_CHDIR, 0},
	15:  {"SYS_CHMOD", SYS_CHMOD, 0},
	19:  {"SYS_LSEEK", SYS_LSEEK, 1 << 1},
	20:  {"SYS_GETPID", SYS_GETPID, 0},
	33:  {"SYS_ACCESS", SYS_ACCESS, 0},
	36:  {"SYS_SYNC", SYS_SYNC, 0},
	37:  {"SYS_KILL", SYS_KILL, 1 << 0},
	38:  {"SYS_RENAME", SYS_RENAME, 0},
	39:  {"SYS_MKDIR", SYS_MKDIR, 0},
	40:  {"SYS_RMDIR", SYS_RMDIR, 0},
	41:  {"SYS_DUP", SYS_DUP, 0},
	42:  {"SYS_PIPE", SYS_PIPE, 0},
	45:  {"SYS_BRK", SYS_BRK, 0},
	57:  {"SYS_SETPGID", SYS_SETPGID, 0},
	60:  {"SYS_UMASK", SYS_UMASK, 0},
	63:  {"SYS_DUP2", SYS_DUP2, 0},
	64:  {"SYS_GETPPID", SYS_GETPPID, 0},
	65:  {"SYS_GETPGRP", SYS_GETPGRP, 0},
	66:  {"SYS_SETSID", SYS_SETSID, 0},
	83:  {"SYS_SYMLINK", SYS_SYMLINK, 0},
	85:  {"SYS_READLINK", SYS_READLINK, 0},
	91:  {"SYS_MUNMAP", SYS_MUNMAP, 0},
	123: {"SYS_MODIFY_LDT", SYS_MODIFY_LDT, 1 << 0},
	125: {"SYS_MPROTECT", SYS_MPROTECT, 0},
	133: {"SYS_FCHDIR", SYS_FCHDIR, 0},
	158: {"SYS_SCHED_YIELD", SYS_SCHED_YIELD, 0},
	183: {"SYS_GETCWD", SYS_GETCWD, 0},
	192: {"SYS_MMAP2", SYS_MMAP, 1 << 4}, // its offset is in pages
	199: {"SYS_GETUID32", SYS_GETUID, 0},
	200: {"SYS_GETGID32", SYS_GETGID, 0},
	201: {"SYS_GETEUID32", SYS_GETEUID, 0},
	202: {"SYS_GETEGID32", SYS_GETEGID, 0},
	224: {"SYS_GETTID", SYS_GETTID, 0},
	238: {"SYS_TKILL", SYS_TKILL, 0},
	243: {"SYS_SET_THREAD_AREA", SYS_SET_THREAD_AREA, 0}, // struct user_desc: the same in both
	244: {"SYS_GET_THREAD_AREA", SYS_GET_THREAD_AREA, 0},
	252: {"SYS_EXIT_GROUP", SYS_EXIT_GROUP, 0},
	270: {"SYS_TGKILL", SYS_TGKILL, 0},
	295: {"SYS_OPENAT", SYS_OPENAT, 1 << 0},
	301: {"SYS_UNLINKAT", SYS_UNLINKAT, 1 << 0},
	331: {"SYS_PIPE2", SYS_PIPE2, 0},
}
