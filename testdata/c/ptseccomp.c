/* ptseccomp: a seccomp filter's SECCOMP_RET_TRACE stops the tracee for a tracer that set
 * PTRACE_O_TRACESECCOMP (PTRACE_EVENT_SECCOMP, the filter's data in PTRACE_GETEVENTMSG and
 * PTRACE_GET_SYSCALL_INFO), after the syscall-entry stop, as Linux 4.8 and later order
 * them; the tracer may skip the call or change it, and the filters run again on the
 * changed call. Without a tracer asking for them, the call fails with ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif
#ifndef PTRACE_EVENT_SECCOMP
#define PTRACE_EVENT_SECCOMP 7
#endif

/* Linux's classic BPF and seccomp, spelt out: musl has no kernel headers. */
struct sock_filter {
	unsigned short code;
	unsigned char jt, jf;
	unsigned int k;
};
struct sock_fprog {
	unsigned short len;
	struct sock_filter *filter;
};
#define BPF_STMT(code, k) {(unsigned short)(code), 0, 0, k}
#define BPF_JUMP(code, k, jt, jf) {(unsigned short)(code), jt, jf, k}
#define LD_NR 0x20  /* BPF_LD | BPF_W | BPF_ABS */
#define JEQ_K 0x15  /* BPF_JMP | BPF_JEQ | BPF_K */
#define RET_K 0x06  /* BPF_RET | BPF_K */
#define SECCOMP_MODE_FILTER 2
#define SECCOMP_RET_TRACE 0x7ff00000u
#define SECCOMP_RET_ERRNO 0x00050000u
#define SECCOMP_RET_ALLOW 0x7fff0000u

/* Linux's struct ptrace_syscall_info, spelt out: the libcs' headers differ. */
struct syscall_info {
	uint8_t op, pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	union {
		struct {
			uint64_t nr, args[6];
		} entry;
		struct {
			uint64_t nr, args[6];
			uint32_t ret_data;
		} seccomp;
	};
};

/* The filter: gettid and getppid are traced (data 42 and 43), uname is refused with
 * EPERM, the rest allowed. */
static void install(void)
{
	struct sock_filter f[] = {
		BPF_STMT(LD_NR, 0), /* seccomp_data.nr */
		BPF_JUMP(JEQ_K, __NR_gettid, 0, 1),
		BPF_STMT(RET_K, SECCOMP_RET_TRACE | 42),
		BPF_JUMP(JEQ_K, __NR_getppid, 0, 1),
		BPF_STMT(RET_K, SECCOMP_RET_TRACE | 43),
		BPF_JUMP(JEQ_K, __NR_uname, 0, 1),
		BPF_STMT(RET_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(RET_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(90);
}

/* The tracee: each call's result, as the exit code's bits, through a pipe. */
static void tracee(int out)
{
	install();
	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		_exit(91);
	kill(getpid(), SIGSTOP);
	long r[4];
	r[0] = syscall(__NR_gettid);  /* the tracer lets it run */
	r[1] = syscall(__NR_gettid);  /* the tracer skips it: -1 with rax 1234 */
	r[2] = syscall(__NR_getppid); /* the tracer turns it into uname: refused, EPERM */
	r[3] = r[2] < 0 ? errno : 0;
	write(out, r, sizeof r);
	syscall(__NR_exit_group, 0);
}

static const char *stopname(int st)
{
	static char b[64];
	int ev = (unsigned)st >> 16;
	if (ev)
		snprintf(b, sizeof b, "event %d", ev);
	else if (WSTOPSIG(st) == (SIGTRAP | 0x80))
		snprintf(b, sizeof b, "syscall stop");
	else
		snprintf(b, sizeof b, "signal %d", WSTOPSIG(st));
	return b;
}

/* run traces one tracee; with syscalls, it restarts with PTRACE_SYSCALL, else PTRACE_CONT. */
static void run(int syscalls)
{
	int fds[2];
	pipe(fds);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		close(fds[0]);
		tracee(fds[1]);
	}
	close(fds[1]);
	int seccomp_stops = 0;
	for (int step = 0; step < 40; step++) {
		int st;
		if (waitpid(p, &st, 0) != p)
			break;
		if (WIFEXITED(st)) {
			printf("  exit %d\n", WEXITSTATUS(st));
			break;
		}
		struct user_regs_struct r;
		ptrace(PTRACE_GETREGS, p, 0, &r);
		int ev = (unsigned)st >> 16;
		if (step == 0)
			expect("PTRACE_SETOPTIONS with PTRACE_O_TRACESECCOMP",
			       ptrace(PTRACE_SETOPTIONS, p, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP) == 0);
		if (ev == PTRACE_EVENT_SECCOMP) {
			unsigned long msg = 0;
			ptrace(PTRACE_GETEVENTMSG, p, 0, &msg);
			struct syscall_info info;
			memset(&info, 0, sizeof info);
			long n = ptrace(PTRACE_GET_SYSCALL_INFO, p, sizeof info, &info);
			siginfo_t si;
			ptrace(PTRACE_GETSIGINFO, p, 0, &si);
			printf("  %s: orig_rax %lld rax %lld, msg %lu, info size %ld op %d nr %llu ret_data %u, si_code %#x\n",
			       stopname(st), (long long)r.orig_rax, (long long)r.rax, msg, n, info.op,
			       (unsigned long long)info.seccomp.nr, info.seccomp.ret_data, si.si_code);
			seccomp_stops++;
			if (seccomp_stops == 2) {
				r.orig_rax = -1; /* skip it */
				r.rax = 1234;
				ptrace(PTRACE_SETREGS, p, 0, &r);
			} else if (seccomp_stops == 3) {
				r.orig_rax = __NR_uname; /* another call, which the filters see */
				ptrace(PTRACE_SETREGS, p, 0, &r);
			}
		} else if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			printf("  %s: orig_rax %lld\n", stopname(st), (long long)r.orig_rax);
		} else {
			printf("  %s\n", stopname(st));
		}
		ptrace(syscalls ? PTRACE_SYSCALL : PTRACE_CONT, p, 0, 0);
	}
	long res[4] = {0};
	read(fds[0], res, sizeof res);
	close(fds[0]);
	printf("  gettid ran: %d, skipped: %ld, changed to a refused call: %ld %s\n", res[0] > 0, res[1], res[2],
	       errname(res[3]));
}

int main(void)
{
	printf("PTRACE_SYSCALL:\n");
	run(1);
	printf("PTRACE_CONT:\n");
	run(0);

	/* No tracer asking for seccomp stops: ENOSYS, the call does not run. */
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		install();
		long r = syscall(__NR_gettid);
		printf("untraced: gettid %ld %s\n", r, r < 0 ? errname(errno) : "");
		fflush(stdout);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	return failures;
}
