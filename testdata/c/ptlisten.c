/* ptlisten is a tracer that respects job control: it seizes a child (PTRACE_SEIZE),
 * sees its group-stop as PTRACE_EVENT_STOP, and leaves it stopped with PTRACE_LISTEN
 * until a SIGCONT or a PTRACE_INTERRUPT wakes it, each reported through waitpid. And the
 * attacker's cases: LISTEN where Linux refuses it, SIGKILL to a listening child, and
 * the tracer dying while its tracee listens (the child stays stopped until SIGCONT). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

/* reader is the child: it exits with the first byte it reads from fd. */
static pid_t reader(int fd, int other)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(other);
		unsigned char c = 0;
		while (read(fd, &c, 1) < 0)
			;
		_exit(c);
	}
	return pid;
}

/* describe prints how waitpid reported pid. */
static int describe(const char *what, pid_t pid, int flags)
{
	int st = 0;
	pid_t r = waitpid(pid, &st, flags | __WALL);
	if (r == 0) {
		printf("%s: nothing to report\n", what);
		return 0;
	}
	if (r != pid) {
		printf("%s: waitpid %s\n", what, errname(errno));
		return -1;
	}
	if (WIFSTOPPED(st)) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		long g = pt(PTRACE_GETSIGINFO, pid, 0, (unsigned long)&si);
		printf("%s: stopped by %d, event %d; siginfo %s signo %d code %#x\n", what, WSTOPSIG(st), st >> 16,
		       g == 0 ? "ok" : errname(errno), si.si_signo, si.si_code);
	} else if (WIFEXITED(st)) {
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	} else if (WIFSIGNALED(st)) {
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	} else if (WIFCONTINUED(st)) {
		printf("%s: continued\n", what);
	}
	return st;
}

/* group_stop seizes the child and takes it into a group-stop by SIGSTOP. */
static void group_stop(pid_t pid)
{
	expect("seize", pt(PTRACE_SEIZE, pid, 0, 0) == 0);
	kill(pid, SIGSTOP);
	describe("SIGSTOP's signal-delivery-stop", pid, 0);
	errno = 0;
	expect_err("listen at a signal-delivery-stop", pt(PTRACE_LISTEN, pid, 0, 0), EIO);
	pt(PTRACE_CONT, pid, 0, SIGSTOP);
	describe("the group-stop", pid, 0);
}

static void basic(void)
{
	int p[2];
	pipe(p);
	pid_t pid = reader(p[0], p[1]);
	group_stop(pid);
	expect("listen", pt(PTRACE_LISTEN, pid, 0, 0) == 0);
	describe("while listening", pid, WNOHANG);
	struct user_regs_struct r;
	expect_err("getregs of a listening tracee", pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r), ESRCH);
	expect_err("listen again", pt(PTRACE_LISTEN, pid, 0, 0), ESRCH);
	char c = 9;
	write(p[1], &c, 1);
	pause_ms(100);
	describe("with input waiting, still stopped", pid, WNOHANG);
	kill(pid, SIGCONT);
	describe("after SIGCONT", pid, 0);
	expect("getregs again", pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0);
	pt(PTRACE_CONT, pid, 0, 0);
	describe("SIGCONT's signal-delivery-stop", pid, 0);
	pt(PTRACE_CONT, pid, 0, SIGCONT);
	describe("the end", pid, 0);
	close(p[0]);
	close(p[1]);
}

static void interrupt(void)
{
	int p[2];
	pipe(p);
	pid_t pid = reader(p[0], p[1]);
	group_stop(pid);
	expect("listen", pt(PTRACE_LISTEN, pid, 0, 0) == 0);
	expect("interrupt a listening tracee", pt(PTRACE_INTERRUPT, pid, 0, 0) == 0);
	describe("interrupted", pid, 0);
	expect("listen once more", pt(PTRACE_LISTEN, pid, 0, 0) == 0);
	describe("while listening", pid, WNOHANG);
	kill(pid, SIGKILL);
	describe("SIGKILL while listening", pid, 0);
	close(p[0]);
	close(p[1]);
}

static void refused(void)
{
	int p[2];
	pipe(p);
	pid_t pid = reader(p[0], p[1]);
	expect_err("listen to a process not traced", pt(PTRACE_LISTEN, pid, 0, 0), ESRCH);
	expect("seize", pt(PTRACE_SEIZE, pid, 0, 0) == 0);
	expect_err("listen to a running tracee", pt(PTRACE_LISTEN, pid, 0, 0), ESRCH);
	expect("interrupt", pt(PTRACE_INTERRUPT, pid, 0, 0) == 0);
	describe("the interrupt's stop", pid, 0);
	expect("listen at an interrupt's stop", pt(PTRACE_LISTEN, pid, 0, 0) == 0);
	describe("while listening", pid, WNOHANG);
	expect("interrupt again", pt(PTRACE_INTERRUPT, pid, 0, 0) == 0);
	describe("interrupted", pid, 0);
	expect("detach", pt(PTRACE_DETACH, pid, 0, 0) == 0);
	char c = 3;
	write(p[1], &c, 1);
	describe("detached", pid, 0);

	/* A tracee attached without PTRACE_SEIZE. */
	pid = reader(p[0], p[1]);
	expect("attach", pt(PTRACE_ATTACH, pid, 0, 0) == 0);
	describe("attach's stop", pid, 0);
	expect_err("listen to an attached tracee", pt(PTRACE_LISTEN, pid, 0, 0), EIO);
	kill(pid, SIGKILL);
	describe("killed", pid, 0);
	close(p[0]);
	close(p[1]);
}

static void tracer_dies(void)
{
	int p[2];
	pipe(p);
	pid_t pid = reader(p[0], p[1]);
	fflush(stdout);
	pid_t tracer = fork();
	if (tracer == 0) {
		group_stop(pid);
		expect("listen", pt(PTRACE_LISTEN, pid, 0, 0) == 0);
		fflush(stdout);
		_exit(failures != 0);
	}
	describe("the tracer", tracer, 0);
	char c = 5;
	write(p[1], &c, 1);
	pause_ms(100);
	describe("its tracee, left stopped", pid, WNOHANG | WUNTRACED);
	describe("and not ended", pid, WNOHANG);
	kill(pid, SIGCONT);
	describe("after SIGCONT", pid, 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	printf("-- listen\n");
	basic();
	printf("-- interrupt\n");
	interrupt();
	printf("-- refused\n");
	refused();
	printf("-- tracer dies\n");
	tracer_dies();
	return failures != 0;
}
