/* ptthreads checks that a ptrace stop stops one thread: a tracee's first thread sits in
 * a PTRACE_INTERRUPT stop, a system call stop and a signal-delivery stop (after the
 * call's exit stop: a signal waits for the call to return) while its second thread
 * keeps counting; the tracer sees the count grow through PTRACE_PEEKDATA, and ends the
 * tracee with its second thread still running. And a tracer that ends while one thread
 * is stopped and the other runs: the tracee goes on, and answers a signal. */
#define _GNU_SOURCE
#include <pthread.h>
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


static volatile long counter;
static int answer_fd = -1;

static void on_usr2(int sig)
{
	(void)sig;
	write(answer_fd, "a", 1);
}
static volatile int worker_tid;

static void *counting(void *arg)
{
	(void)arg;
	worker_tid = syscall(SYS_gettid);
	for (;;)
		counter++;
	return 0;
}



/* counts_on says whether the tracee's counter grows while pid is stopped. */
static int counts_on(pid_t pid)
{
	long a = peekdata(pid, &counter);
	for (int i = 0; i < 50; i++) {
		pause_ms(10);
		long b = peekdata(pid, &counter);
		if (a >= 0 && b > a)
			return 1;
	}
	return 0;
}

/* tracer_ends: a tracer seizes a process with a counting thread, stops its first thread
 * at a system call, and exits; the process runs on untraced. */
static void tracer_ends(void)
{
	int ready[2], answer[2];
	pipe(ready);
	pipe(answer);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		answer_fd = answer[1];
		signal(SIGUSR2, on_usr2);
		pthread_t th;
		pthread_create(&th, 0, counting, 0);
		while (!worker_tid)
			;
		write(ready[1], "r", 1);
		for (;;)
			syscall(SYS_getppid);
	}
	char c;
	read(ready[0], &c, 1);
	pid_t tracer = fork();
	if (tracer == 0) {
		int st = 0;
		int ok = pt(PTRACE_SEIZE, pid, 0, 0) == 0 && pt(PTRACE_INTERRUPT, pid, 0, 0) == 0 &&
			 waitpid(pid, &st, __WALL) == pid && pt(PTRACE_SYSCALL, pid, 0, 0) == 0 &&
			 waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP;
		_exit(!ok);
	}
	int st = 0;
	expect("the tracer stopped the first thread at a call and ended", waitpid(tracer, &st, 0) == tracer && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	kill(pid, SIGUSR2);
	expect("the tracee goes on and answers a signal", read(answer[0], &c, 1) == 1 && c == 'a');
	kill(pid, SIGKILL);
	expect("and SIGKILL ends it", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

int main(void)
{
	int ready[2];
	pipe(ready);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t th;
		pthread_create(&th, 0, counting, 0);
		while (!worker_tid)
			;
		write(ready[1], "r", 1);
		for (;;)
			syscall(SYS_getppid);
	}
	char c;
	read(ready[0], &c, 1);
	expect("seize the first thread", pt(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) == 0);
	expect("interrupt it", pt(PTRACE_INTERRUPT, pid, 0, 0) == 0);
	int st = 0;
	expect("its PTRACE_EVENT_STOP", waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_STOP);
	expect("the second thread counts while the first is interrupted", counts_on(pid));
	expect("syscall", pt(PTRACE_SYSCALL, pid, 0, 0) == 0);
	expect("a system call stop", waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80));
	struct user_regs_struct r;
	expect("of getppid", pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r) == 0 && r.orig_rax == SYS_getppid);
	expect("the second thread counts while the first sits in it", counts_on(pid));
	/* A signal for the first thread: its signal-delivery stop. */
	expect("tgkill", syscall(SYS_tgkill, pid, pid, SIGUSR1) == 0);
	int stops = 0;
	for (int i = 0; i < 4; i++) {
		pt(PTRACE_SYSCALL, pid, 0, 0);
		if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st))
			break;
		if (WSTOPSIG(st) == SIGUSR1)
			break;
		stops++;
	}
	expect("a signal-delivery stop after the call's exit stop", WIFSTOPPED(st) && WSTOPSIG(st) == SIGUSR1 && stops >= 1);
	expect("the second thread counts while the first takes it", counts_on(pid));
	/* The tracer ends the tracee, with its second thread still running. */
	expect("kill", pt(PTRACE_KILL, pid, 0, 0) == 0);
	int killed = 0;
	for (int i = 0; i < 3 && !killed; i++) {
		if (waitpid(pid, &st, __WALL) != pid)
			break;
		killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	}
	expect("killed by SIGKILL", killed);
	tracer_ends();
	return failures != 0;
}
