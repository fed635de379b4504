/* ptsysexit: the syscall-exit stop of a call a signal interrupts, as a tracer under
 * PTRACE_SYSCALL sees it before the signal's delivery stop (strace's `= ? ERESTARTSYS`):
 * rax holds -ERESTARTSYS for read, -ERESTARTNOHAND for pselect6, -ERESTART_RESTARTBLOCK
 * for nanosleep and poll (which carry on when no handler runs), orig_rax the call and rip is past the syscall instruction, whether
 * the call then restarts (the signal suppressed) or fails (a handler runs). Each stop is
 * reached without timing: the tracer sends the signal while the child is in the call
 * (or about to block in it, which interrupts it alike). */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

enum { READ, PSELECT, SLEEP, POLL };

static void on_usr1(int sig)
{
	(void)sig;
}

/* child waits in its call and exits with what it returned: 0 for a byte read (or a
 * whole sleep), 4 for EINTR, 9 for anything else. */
static void child(int fd, int how)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	pt(PTRACE_TRACEME, 0, 0, 0);
	raise(SIGSTOP);
	long r;
	if (how == SLEEP) {
		struct timespec ts = {0, 200000000};
		r = syscall(SYS_nanosleep, &ts, 0);
		_exit(r == 0 ? 0 : 9);
	}
	if (how == POLL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		r = syscall(SYS_poll, &p, 1, -1);
		_exit(r == 1 ? 0 : r < 0 && errno == EINTR ? 4 : 9);
	}
	if (how == PSELECT) {
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		r = syscall(SYS_pselect6, fd + 1, &rd, 0, 0, 0, 0);
		_exit(r < 0 && errno == EINTR ? 4 : 9);
	}
	char c;
	r = syscall(SYS_read, fd, &c, 1);
	_exit(r == 1 ? 0 : r < 0 && errno == EINTR ? 4 : 9);
}

/* to_stop resumes pid under PTRACE_SYSCALL until a syscall stop of call nr; 1 if found. */
static int to_stop(pid_t pid, long nr)
{
	for (int i = 0; i < 1000; i++) {
		int st;
		if (pt(PTRACE_SYSCALL, pid, 0, 0) != 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			return 0;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		struct user_regs_struct r;
		if (pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0 && (long)r.orig_rax == nr)
			return 1;
	}
	return 0;
}

/* one traces a child in the call how names, interrupts it with SIGUSR1, checks the exit
 * stop, then delivers the signal (deliver) or suppresses it; returns the child's status. */
static int one(const char *name, int how, long nr, long code, int deliver)
{
	int p[2];
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		child(p[0], how);
	int st;
	waitpid(pid, &st, 0);
	pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	char what[160];
	snprintf(what, sizeof what, "%s: its entry stop", name);
	expect(what, to_stop(pid, nr));
	pt(PTRACE_SYSCALL, pid, 0, 0);
	kill(pid, SIGUSR1);
	int ok = waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80);
	snprintf(what, sizeof what, "%s: an exit stop before the signal's", name);
	expect(what, ok);
	struct user_regs_struct r;
	ok = pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0;
	long word = 0;
	pt(PTRACE_PEEKTEXT, pid, r.rip - 2, (unsigned long)&word);
	snprintf(what, sizeof what, "%s: rax %ld, orig_rax the call, rip past syscall", name, code);
	expect(what, ok && (long)r.rax == code && (long)r.orig_rax == nr && (word & 0xffff) == 0x050f);
	pt(PTRACE_SYSCALL, pid, 0, 0);
	ok = waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGUSR1;
	snprintf(what, sizeof what, "%s: then the signal-delivery stop", name);
	expect(what, ok);
	pt(PTRACE_CONT, pid, 0, deliver ? SIGUSR1 : 0);
	write(p[1], "x", 1);
	while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
		pt(PTRACE_CONT, pid, 0, 0);
	close(p[0]);
	close(p[1]);
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("%s: status %d\n", name, status);
	return status;
}

int main(void)
{
	expect("read, suppressed: it restarts", one("read", READ, SYS_read, -512, 0) == 0);
	expect("read, handled: EINTR", one("read, handled", READ, SYS_read, -512, 1) == 4);
	expect("pselect6, handled: EINTR", one("pselect6", PSELECT, SYS_pselect6, -514, 1) == 4);
	expect("nanosleep, suppressed: it sleeps on", one("nanosleep", SLEEP, SYS_nanosleep, -516, 0) == 0);
	expect("poll, suppressed: it waits on", one("poll", POLL, SYS_poll, -516, 0) == 0);
	expect("poll, handled: EINTR", one("poll, handled", POLL, SYS_poll, -516, 1) == 4);
	return failures != 0;
}
