/* ptrestart checks what a tracer sees of a system call that a signal interrupts, at the
 * signal-delivery stop: rax -ERESTARTSYS (or -ERESTART_RESTARTBLOCK for a sleep), the
 * call's number in orig_rax, rip past the syscall instruction; and what each choice
 * then does: a suppressed signal restarts the call, a handler without SA_RESTART makes
 * it fail with EINTR, registers written back as read leave it so, and rax set to
 * -EINTR makes it fail (the exit stop before: ptsysexit). A signal sent right after PTRACE_SEIZE stops the tracee instead
 * of killing it. PTRACE_INTERRUPT ends a blocked call as a signal would: at its
 * PTRACE_EVENT_STOP the call shows as interrupted, and PTRACE_SYSCALL then sees it
 * start again (restart_syscall for a sleep), as `strace -p` shows it; the exit stop of
 * a call a signal ends shows -ERESTARTSYS. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

enum { PLAIN, HANDLER, SLEEP };

static void on_usr1(int sig)
{
	(void)sig;
}


/* child blocks in read(2) (or a 300 ms nanosleep) and exits with what it returned: 0
 * for a byte read or a whole sleep, 4 for EINTR, 9 for anything else. */
static void child(int fd, int how)
{
	if (how == HANDLER) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr1; /* without SA_RESTART */
		sigaction(SIGUSR1, &sa, 0);
	}
	if (how == SLEEP) {
		struct timespec ts = {0, 300000000};
		long r = syscall(SYS_nanosleep, &ts, 0);
		_exit(r == 0 ? 0 : 9);
	}
	char c;
	long r = syscall(SYS_read, fd, &c, 1);
	_exit(r == 1 ? 0 : r < 0 && errno == EINTR ? 4 : 9);
}

/* blocked starts child(how) reading pipe p, and returns once it sleeps in its call. */
static pid_t blocked(int p[2], int how)
{
	if (pipe(p) != 0)
		_exit(2);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		child(p[0], how);
	wait_asleep(pid);
	return pid;
}

/* one runs a child as how says, seizes it while it waits, sends SIGUSR1, checks the
 * stop's registers, and resumes it with sig after edit; returns the child's status. */
static int one(const char *name, int how, int sig, int edit)
{
	int p[2];
	pid_t pid = blocked(p, how);
	int ok = syscall(SYS_ptrace, PTRACE_SEIZE, pid, 0, 0) == 0 && kill(pid, SIGUSR1) == 0;
	int st = 0;
	ok = ok && waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGUSR1;
	char what[160];
	snprintf(what, sizeof what, "%s: a signal-delivery stop", name);
	expect(what, ok);
	struct user_regs_struct r;
	long nr = how == SLEEP ? SYS_nanosleep : SYS_read;
	long code = how == SLEEP ? -516 : -512;
	ok = syscall(SYS_ptrace, PTRACE_GETREGS, pid, 0, &r) == 0;
	long word = 0;
	syscall(SYS_ptrace, PTRACE_PEEKTEXT, pid, r.rip - 2, &word);
	snprintf(what, sizeof what, "%s: rax %ld, orig_rax the call, rip past syscall", name, code);
	expect(what, ok && (long)r.rax == code && (long)r.orig_rax == nr && (word & 0xffff) == 0x050f);
	if (edit == 1) {
		expect("registers written back as read", syscall(SYS_ptrace, PTRACE_SETREGS, pid, 0, &r) == 0);
	} else if (edit == 2) {
		r.rax = -EINTR;
		expect("rax set to -EINTR", syscall(SYS_ptrace, PTRACE_SETREGS, pid, 0, &r) == 0);
	}
	syscall(SYS_ptrace, PTRACE_CONT, pid, 0, sig);
	pause_ms(50);
	write(p[1], "x", 1);
	while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
		syscall(SYS_ptrace, PTRACE_CONT, pid, 0, 0);
	close(p[0]);
	close(p[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* interrupted seizes a child blocked as how says, stops it with PTRACE_INTERRUPT and
 * follows its calls with PTRACE_SYSCALL: the call starts again; for a read, a SIGUSR1
 * then ends it (exit stop, signal-delivery stop, EINTR from the handler). */
static int interrupted(const char *name, int how)
{
	int p[2];
	pid_t pid = blocked(p, how);
	char what[160];
	int st = 0;
	struct user_regs_struct r;
	long nr = how == SLEEP ? SYS_nanosleep : SYS_read;
	long code = how == SLEEP ? -516 : -512;
	int ok = pt(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) == 0 && pt(PTRACE_INTERRUPT, pid, 0, 0) == 0 &&
		 waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && st >> 8 == (SIGTRAP | 128 << 8);
	snprintf(what, sizeof what, "%s: PTRACE_INTERRUPT stops it", name);
	expect(what, ok);
	ok = pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0;
	snprintf(what, sizeof what, "%s: the call shows as interrupted (rax %ld)", name, code);
	expect(what, ok && (long)r.rax == code && (long)r.orig_rax == nr);
	pt(PTRACE_SYSCALL, pid, 0, 0);
	ok = waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80) &&
	     pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0;
	long again = how == SLEEP ? SYS_restart_syscall : SYS_read;
	snprintf(what, sizeof what, "%s: it starts again as %s", name, how == SLEEP ? "restart_syscall" : "read");
	expect(what, ok && (long)r.orig_rax == again);
	if (how != SLEEP) {
		pt(PTRACE_SYSCALL, pid, 0, 0);
		pause_ms(50);
		kill(pid, SIGUSR1);
		ok = waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80) &&
		     pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0;
		snprintf(what, sizeof what, "%s: a signal ends it, exit stop with rax -512", name);
		expect(what, ok && (long)r.rax == -512 && (long)r.orig_rax == SYS_read);
		pt(PTRACE_SYSCALL, pid, 0, 0);
		ok = waitpid(pid, &st, 0) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGUSR1;
		snprintf(what, sizeof what, "%s: then the signal-delivery stop", name);
		expect(what, ok);
		pt(PTRACE_CONT, pid, 0, SIGUSR1);
	} else {
		pt(PTRACE_CONT, pid, 0, 0);
	}
	while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
		pt(PTRACE_CONT, pid, 0, 0);
	close(p[0]);
	close(p[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* many interrupts a child blocked in read 300 times with PTRACE_INTERRUPT, resuming it
 * each time; the read then takes the one byte written, as if never interrupted. */
static int many(void)
{
	int p[2];
	pid_t pid = blocked(p, PLAIN);
	int st, stops = 0;
	pt(PTRACE_SEIZE, pid, 0, 0);
	for (int i = 0; i < 300; i++) {
		if (pt(PTRACE_INTERRUPT, pid, 0, 0) != 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			break;
		stops += st >> 8 == (SIGTRAP | 128 << 8);
		pt(PTRACE_CONT, pid, 0, 0);
	}
	expect("300 PTRACE_EVENT_STOPs of a blocked read", stops == 300);
	write(p[1], "x", 1);
	while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
		pt(PTRACE_CONT, pid, 0, 0);
	close(p[0]);
	close(p[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
	alarm(60);
	expect("suppressed: the read restarts", one("read", PLAIN, 0, 0) == 0);
	expect("delivered to a handler without SA_RESTART: EINTR", one("read, handled", HANDLER, SIGUSR1, 0) == 4);
	expect("delivered without a handler: it kills", one("read, fatal", PLAIN, SIGUSR1, 0) == 128 + SIGUSR1);
	expect("written back as read: it restarts", one("read, written back", PLAIN, 0, 1) == 0);
	expect("rax -EINTR: the read fails with EINTR", one("read, edited", PLAIN, 0, 2) == 4);
	expect("a sleep suppressed goes on to its end", one("nanosleep", SLEEP, 0, 0) == 0);
	expect("interrupted read, then a handler: EINTR", interrupted("interrupted read", HANDLER) == 4);
	expect("interrupted sleep goes on to its end", interrupted("interrupted sleep", SLEEP) == 0);
	expect("interrupted 300 times: the read takes its byte", many() == 0);
	return failures != 0;
}
