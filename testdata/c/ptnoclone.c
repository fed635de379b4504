/* ptnoclone checks which threads a tracer traces, as a tracer that follows one thread
 * (strace without -f) relies on: without PTRACE_O_TRACECLONE a new thread is not
 * traced, so its signals and its exit_group make no stop the tracer did not ask for,
 * and the process's end still stops the traced first thread with PTRACE_EVENT_EXIT;
 * with the option, a seized tracee's new thread stops first with PTRACE_EVENT_STOP of
 * its own before it makes a call; and PTRACE_SEIZE of a further thread leaves it
 * running until PTRACE_INTERRUPT stops it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

static volatile int other_tid;
static volatile int usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

/* ender takes a signal of its own, then ends the whole process with status 3. */
static void *ender(void *arg)
{
	(void)arg;
	other_tid = syscall(SYS_gettid);
	syscall(SYS_tgkill, getpid(), other_tid, SIGUSR1);
	pause_ms(50);
	if (usr1 != 1)
		exit(4);
	exit(3);
}

static void *sleeper(void *arg)
{
	(void)arg;
	other_tid = syscall(SYS_gettid);
	for (;;)
		pause_ms(10);
	return 0;
}

/* seized forks a child that starts fn's thread once its parent, which seizes it with
 * options opts, tells it to go. */
static pid_t seized(void *(*fn)(void *), long opts)
{
	int go[2];
	if (pipe(go) != 0)
		exit(2);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		signal(SIGUSR1, on_usr1);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		pthread_t t;
		pthread_create(&t, 0, fn, 0);
		for (;;)
			pause();
	}
	close(go[0]);
	if (pt(PTRACE_SEIZE, pid, 0, opts) != 0)
		perror("PTRACE_SEIZE");
	if (write(go[1], "g", 1) != 1)
		exit(2);
	close(go[1]);
	return pid;
}

/* Without PTRACE_O_TRACECLONE: the only stop is the first thread's exit event. */
static void untraced_thread(void)
{
	pid_t pid = seized(ender, PTRACE_O_TRACEEXIT);
	int st, others = 0, exitev = 0, exited = -1;
	for (;;) {
		pid_t w = waitpid(-1, &st, __WALL);
		if (w < 0)
			break;
		if (w != pid) {
			others++;
			pt(PTRACE_CONT, w, 0, 0);
			continue;
		}
		if (WIFEXITED(st)) {
			exited = WEXITSTATUS(st);
			break;
		}
		if (WIFSTOPPED(st) && st >> 8 == (SIGTRAP | PTRACE_EVENT_EXIT << 8)) {
			unsigned long msg = 0;
			pt(PTRACE_GETEVENTMSG, pid, 0, (unsigned long)&msg);
			exitev++;
			printf("exit event of the first thread, status %lu\n", msg >> 8);
		} else if (WIFSTOPPED(st)) {
			printf("stop of the first thread: %#x\n", st >> 8);
		}
		pt(PTRACE_CONT, pid, 0, 0);
	}
	expect("no stop of a thread the tracer was not told of", others == 0);
	expect("one exit event, of the first thread", exitev == 1);
	printf("exit status %d\n", exited);
	expect("the untraced thread's signal went to its handler", exited == 3);
}

/* With PTRACE_O_TRACECLONE after PTRACE_SEIZE: the new thread's first stop is its own
 * PTRACE_EVENT_STOP, while its creator waits in its clone event stop. */
static void traced_thread(void)
{
	pid_t pid = seized(sleeper, PTRACE_O_TRACECLONE);
	int st;
	pid_t w = waitpid(pid, &st, __WALL);
	int clone_ev = w == pid && WIFSTOPPED(st) && st >> 8 == (SIGTRAP | PTRACE_EVENT_CLONE << 8);
	expect("the creator stops with PTRACE_EVENT_CLONE", clone_ev);
	unsigned long tid = 0;
	pt(PTRACE_GETEVENTMSG, pid, 0, (unsigned long)&tid);
	w = waitpid(tid, &st, __WALL);
	expect("the new thread stops with PTRACE_EVENT_STOP",
	       w == (pid_t)tid && WIFSTOPPED(st) && st >> 8 == (SIGTRAP | PTRACE_EVENT_STOP << 8));
	expect("nothing else has stopped", waitpid(-1, &st, __WALL | WNOHANG) == 0);
	expect("it has run nothing before its stop", (int)peekdata(tid, &other_tid) == 0);
	pt(PTRACE_CONT, tid, 0, 0);
	pt(PTRACE_CONT, pid, 0, 0);
	kill(pid, SIGKILL);
	while (waitpid(-1, &st, __WALL) > 0)
		;
}

/* PTRACE_SEIZE of a thread the tracer does not trace yet leaves it running. */
static void seize_thread(void)
{
	pid_t pid = seized(sleeper, 0);
	int st, tid = 0;
	for (int n = 0; n < 500 && tid <= 0; n++) {
		/* Its tid, once the thread wrote it, read through a stop of the first thread. */
		pt(PTRACE_INTERRUPT, pid, 0, 0);
		waitpid(pid, &st, __WALL);
		tid = (int)peekdata(pid, &other_tid);
		pt(PTRACE_CONT, pid, 0, 0);
		pause_ms(10);
	}
	expect("PTRACE_SEIZE of the second thread", pt(PTRACE_SEIZE, tid, 0, 0) == 0);
	pause_ms(50);
	expect("it does not stop", waitpid(tid, &st, __WALL | WNOHANG) == 0);
	expect("PTRACE_INTERRUPT stops it", pt(PTRACE_INTERRUPT, tid, 0, 0) == 0 &&
						 waitpid(tid, &st, __WALL) == tid && WIFSTOPPED(st) &&
						 st >> 8 == (SIGTRAP | PTRACE_EVENT_STOP << 8));
	kill(pid, SIGKILL);
	while (waitpid(-1, &st, __WALL) > 0)
		;
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	alarm(30);
	untraced_thread();
	traced_thread();
	seize_thread();
	return failures != 0;
}
