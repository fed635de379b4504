/* syzrand issues random system calls with random arguments, from a seed (argv[1]), n of
 * them (argv[2]): vemu must end it, or die by its signal, whatever the calls do. Calls that
 * would end or stall the run on purpose, or that change what the loop itself needs, are
 * skipped. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t s;
static uint64_t next(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
#include <sys/mman.h>
#define SCRATCH (1 << 16)
static char *scratch; /* between two PROT_NONE pages: the kernel cannot write past it */

/* Calls that would end the run, stop it for long, or reach outside the guest's scratch
 * on purpose: they are skipped. */
static int skip(long nr) {
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_kill: case SYS_tkill: case SYS_tgkill:
	case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo: case SYS_pidfd_send_signal:
	case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3: case SYS_execve: case SYS_execveat:
	case SYS_pause: case SYS_rt_sigsuspend: case SYS_rt_sigreturn: case SYS_reboot:
	case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_brk: case SYS_madvise:
	case SYS_arch_prctl: case SYS_set_robust_list: case SYS_set_tid_address: case SYS_prctl:
	case SYS_setrlimit: case SYS_prlimit64: case SYS_rt_sigaction: case SYS_rt_sigprocmask:
	case SYS_sigaltstack: case SYS_shmdt: case SYS_mmap: case SYS_process_vm_writev:
	case SYS_ptrace: case SYS_setitimer: case SYS_alarm: case SYS_timer_create:
	case SYS_seccomp: case SYS_personality: case SYS_close: case SYS_close_range:
	case SYS_dup2: case SYS_dup3: case SYS_chdir: case SYS_fchdir: case SYS_chroot:
	case SYS_setuid: case SYS_setgid: case SYS_setreuid: case SYS_setregid: case SYS_setresuid:
	case SYS_setresgid: case SYS_setfsuid: case SYS_setfsgid: case SYS_setgroups: case SYS_capset:
	case SYS_unshare: case SYS_setsid: case SYS_setpgid: case SYS_sched_setaffinity:
	case SYS_sched_setscheduler: case SYS_sched_setattr: case SYS_futex: case 449: /* futex_waitv */
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_wait4: case SYS_waitid:
	case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg: case SYS_accept: case SYS_accept4:
	case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6: case SYS_epoll_wait:
	case SYS_epoll_pwait: case SYS_epoll_pwait2: case SYS_rt_sigtimedwait: case SYS_msgrcv:
	case SYS_semop: case SYS_semtimedop: case SYS_mq_timedreceive: case SYS_flock: case SYS_fcntl:
	case SYS_connect: case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg: case SYS_io_getevents:
	case SYS_io_pgetevents: case SYS_io_uring_enter: case SYS_splice: case SYS_tee: case SYS_vmsplice:
	case SYS_sendfile: case SYS_copy_file_range: case SYS_write: case SYS_writev: case SYS_pwrite64:
	case SYS_pwritev: case SYS_pwritev2: case SYS_open: case SYS_openat: case SYS_openat2: case SYS_creat:
	case SYS_msgsnd: case SYS_mq_timedsend: case SYS_sched_yield: case 335:
		return 1;
	}
	return 0;
}

static long arg(void) {
	switch (next() % 8) {
	case 0: return 0;
	case 1: return -1;
	case 2: return next() % 64;
	case 3: return (long)(scratch + next() % SCRATCH);
	case 4: return (long)next();
	case 5: return (long)(next() & ~0xfffUL) & 0x7fffffffffffL;
	case 6: return 4096;
	default: return (long)scratch;
	}
}

int main(int argc, char **argv) {
	s = argc > 1 ? strtoull(argv[1], 0, 0) * 0x9e3779b97f4a7c15ULL + 1 : 1;
	long n = argc > 2 ? atol(argv[2]) : 100000;
	char *m = mmap(0, SCRATCH + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	scratch = m + 4096;
	mprotect(scratch, SCRATCH, PROT_READ | PROT_WRITE);
	for (long i = 0; i < n; i++) {
		long nr = next() % 460;
		if (skip(nr)) continue;
		for (size_t k = 0; k < 256; k++) scratch[next() % SCRATCH] = (char)next();
		syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
	}
	syscall(SYS_write, 1, "done\n", 5);
	return 0;
}
