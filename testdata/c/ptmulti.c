/* ptmulti checks that each thread of a tracee is a tracee of its own, as a debugger of
 * threaded programs needs: a new thread's first stop is waited for by its id while its
 * creator still sits in its clone event stop; every thread stops at once and each stop
 * is reported to a wait for that thread alone, never to a wait for the process; a
 * stopped thread answers requests while a resumed one gives ESRCH; a thread detached
 * alone runs on while the others stay stopped; PTRACE_ATTACH of a process takes its
 * first thread only, and its other threads are attached one by one; and at the end each
 * thread's death is waited for by its id. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

#define NTHREADS 3


static volatile long counters[NTHREADS];
static volatile int tids[NTHREADS];
static volatile int started;

static void *counting(void *arg)
{
	long i = (long)arg;
	tids[i] = syscall(SYS_gettid);
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	for (;;)
		counters[i]++;
	return 0;
}



/* counts says whether thread i's counter grows, read through stopped thread via. */
static int counts(pid_t via, int i)
{
	long a = peekdata(via, &counters[i]);
	for (int n = 0; n < 50; n++) {
		pause_ms(10);
		long b = peekdata(via, &counters[i]);
		if (a >= 0 && b > a)
			return 1;
	}
	return 0;
}

/* still says whether thread i's counter stays as it is for a while. */
static int still(pid_t via, int i)
{
	long a = peekdata(via, &counters[i]);
	pause_ms(100);
	return a >= 0 && peekdata(via, &counters[i]) == a;
}

/* waits_in_read polls until thread tid of pid sits in read(2) (its /proc syscall file
 * names call 0), for up to two seconds. */
static int waits_in_read(pid_t pid, pid_t tid)
{
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, tid);
	for (int i = 0; i < 400; i++) {
		if (read_text(path, buf, sizeof buf) && strncmp(buf, "0 ", 2) == 0)
			return 1;
		pause_ms(5);
	}
	return 0;
}

/* child makes the counting threads; its first thread reads fd byte by byte. */
static void child(int fd)
{
	pthread_t th;
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&th, 0, counting, (void *)i);
	for (;;) {
		char c;
		if (read(fd, &c, 1) <= 0)
			pause();
	}
}

/* traced_from_start: the tracer follows the threads from their creation. */
static void traced_from_start(void)
{
	int feed[2];
	pipe(feed);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		child(feed[0]);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	expect("setoptions", pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACECLONE) == 0);
	pt(PTRACE_CONT, pid, 0, 0);
	int tid[NTHREADS], ok_events = 1, ok_first = 1;
	for (int i = 0; i < NTHREADS; i++) {
		unsigned long msg = 0;
		ok_events &= waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_CLONE &&
			     pt(PTRACE_GETEVENTMSG, pid, 0, (unsigned long)&msg) == 0;
		tid[i] = msg;
		/* The new thread's own stop, while its creator is still in its event stop. */
		ok_first &= waitpid(tid[i], &st, __WALL) == tid[i] && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
		pt(PTRACE_CONT, tid[i], 0, 0);
		pt(PTRACE_CONT, pid, 0, 0);
	}
	expect("a clone event stop for each thread, naming it", ok_events);
	expect("each new thread's SIGSTOP is waited for by its id while its creator is stopped", ok_first);
	/* Every thread of the process but the first stops, each with its own stop. */
	int ok_stop = 1;
	for (int i = 0; i < NTHREADS; i++)
		ok_stop &= syscall(SYS_tgkill, pid, tid[i], SIGSTOP) == 0;
	for (int i = NTHREADS - 1; i >= 0; i--)
		ok_stop &= waitpid(tid[i], &st, __WALL) == tid[i] && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
	expect("each thread's SIGSTOP stop is waited for by its id, in any order", ok_stop);
	expect("a wait for the process sees none of them", waitpid(pid, &st, __WALL | WNOHANG) == 0);
	expect("nor does a wait for any", waitpid(-1, &st, __WALL | WNOHANG) == 0);
	/* Two threads stepped at once: each step ends in its own stop. */
	int ok_steps = pt(PTRACE_SINGLESTEP, tid[1], 0, 0) == 0 && pt(PTRACE_SINGLESTEP, tid[2], 0, 0) == 0;
	for (int i = 2; i >= 1; i--)
		ok_steps &= waitpid(tid[i], &st, __WALL) == tid[i] && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP;
	expect("two threads stepped at once stop each after its step", ok_steps);
	/* A step over a call that blocks ends when the call returns; meanwhile another
	 * thread's step ends on its own. */
	int ok_block = waits_in_read(pid, pid) && syscall(SYS_tgkill, pid, pid, SIGSTOP) == 0 &&
		       waitpid(pid, &st, __WALL) == pid && WSTOPSIG(st) == SIGSTOP && pt(PTRACE_SINGLESTEP, pid, 0, 0) == 0;
	pause_ms(50);
	ok_block &= pt(PTRACE_SINGLESTEP, tid[1], 0, 0) == 0 && waitpid(tid[1], &st, __WALL) == tid[1] && WSTOPSIG(st) == SIGTRAP;
	expect("a thread's step ends while another's waits in a call", ok_block);
	expect("which goes on waiting", waitpid(pid, &st, __WALL | WNOHANG) == 0);
	write(feed[1], "x", 1);
	expect("and stops after it once the call returns", waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP);
	pt(PTRACE_CONT, pid, 0, 0);
	int ok_still = 1;
	for (int i = 0; i < NTHREADS; i++)
		ok_still &= still(tid[0], i);
	expect("all three are stopped at once", ok_still);
	struct user_regs_struct r;
	expect("a stopped thread's registers", pt(PTRACE_GETREGS, tid[1], 0, (unsigned long)&r) == 0);
	expect("resume one", pt(PTRACE_CONT, tid[0], 0, 0) == 0);
	expect("it counts", counts(tid[1], 0));
	expect("while the others stay stopped", still(tid[1], 1) && still(tid[1], 2));
	expect_err("a running thread's registers", pt(PTRACE_GETREGS, tid[0], 0, (unsigned long)&r), ESRCH);
	expect("detach the second alone", pt(PTRACE_DETACH, tid[1], 0, 0) == 0);
	expect("it counts", counts(tid[2], 1));
	expect("the third stays stopped", still(tid[2], 2));
	expect_err("the detached one answers no requests", pt(PTRACE_GETREGS, tid[1], 0, (unsigned long)&r), ESRCH);
	expect("resume the third", pt(PTRACE_CONT, tid[2], 0, 0) == 0);
	kill(pid, SIGKILL);
	int ok_end = 1;
	for (int i = 0; i < NTHREADS; i++) {
		if (i == 1)
			continue;
		ok_end &= waitpid(tid[i], &st, __WALL) == tid[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		ok_end &= waitpid(tid[i], &st, __WALL) < 0 && errno == ECHILD;
	}
	expect("each traced thread's death is waited for by its id, once", ok_end);
	expect_err("the detached one is not the tracer's to wait for", waitpid(tid[1], &st, __WALL), ECHILD);
	expect("then the process's", waitpid(pid, &st, __WALL) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	expect_err("and nothing is left", waitpid(-1, &st, __WALL), ECHILD);
}

/* attached: PTRACE_ATTACH of a running threaded process takes its first thread; the
 * others are attached one by one. */
static void attached(void)
{
	int ready[2];
	pipe(ready);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t th;
		for (long i = 0; i < NTHREADS; i++)
			pthread_create(&th, 0, counting, (void *)i);
		while (started < NTHREADS)
			;
		int t[NTHREADS];
		for (int i = 0; i < NTHREADS; i++)
			t[i] = tids[i];
		write(ready[1], t, sizeof t);
		for (;;)
			pause();
	}
	int tid[NTHREADS], st = 0;
	read(ready[0], tid, sizeof tid);
	expect("attach the process", pt(PTRACE_ATTACH, pid, 0, 0) == 0);
	expect("its first thread stops", waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	expect("its other threads run on, untraced", counts(pid, 0) && counts(pid, 2));
	struct user_regs_struct r;
	expect_err("and answer no requests", pt(PTRACE_GETREGS, tid[0], 0, (unsigned long)&r), ESRCH);
	expect("attach one of them", pt(PTRACE_ATTACH, tid[0], 0, 0) == 0);
	expect("it stops", waitpid(tid[0], &st, __WALL) == tid[0] && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	expect("and stays", still(pid, 0));
	expect("its registers", pt(PTRACE_GETREGS, tid[0], 0, (unsigned long)&r) == 0);
	expect_err("attach it again", pt(PTRACE_ATTACH, tid[0], 0, 0), EPERM);
	expect("the others still run", counts(pid, 1));
	expect("detach the first thread", pt(PTRACE_DETACH, pid, 0, 0) == 0);
	expect("detach the attached one", pt(PTRACE_DETACH, tid[0], 0, 0) == 0);
	kill(pid, SIGKILL);
	expect("the parent's wait takes the end", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

#define MANY 32

static volatile int many_tids[MANY];
static volatile int many_started;
static volatile long *many_counts; /* shared with the parent */

static void *many_thread(void *arg)
{
	long i = (long)arg;
	many_tids[i] = syscall(SYS_gettid);
	__atomic_fetch_add(&many_started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		many_counts[i]++;
		pause_ms(1);
	}
	return 0;
}

/* all_count says whether every thread's count grows. */
static int all_count(void)
{
	long before[MANY];
	for (int i = 0; i < MANY; i++)
		before[i] = many_counts[i];
	for (int n = 0; n < 200; n++) {
		int grown = 0;
		pause_ms(5);
		for (int i = 0; i < MANY; i++)
			grown += many_counts[i] > before[i];
		if (grown == MANY)
			return 1;
	}
	return 0;
}

/* state is the state letter of /proc/PID/stat. */
static char state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (!read_text(path, buf, sizeof buf))
		return '?';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* waits_for_state polls pid's state until it is (or, with not, is not) c. */
static int waits_for_state(pid_t pid, char c, int not)
{
	for (int i = 0; i < 200; i++) {
		if ((state(pid) == c) != not)
			return 1;
		pause_ms(5);
	}
	return 0;
}

/* many: a tracer attaches every thread of a process with many, and ends while each sits
 * in the SIGSTOP stop of its attach: its end restarts them all, the SIGSTOPs it left
 * undecided not delivered. */
static void many(void)
{
	int ready[2];
	pipe(ready);
	many_counts = mmap(0, MANY * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t th;
		for (long i = 0; i < MANY; i++)
			pthread_create(&th, 0, many_thread, (void *)i);
		while (many_started < MANY)
			;
		int t[MANY];
		for (int i = 0; i < MANY; i++)
			t[i] = many_tids[i];
		write(ready[1], t, sizeof t);
		for (;;)
			pause();
	}
	int tid[MANY];
	read(ready[0], tid, sizeof tid);
	pid_t tracer = fork();
	if (tracer == 0) {
		int st = 0, ok = pt(PTRACE_ATTACH, pid, 0, 0) == 0 && waitpid(pid, &st, __WALL) == pid;
		for (int i = 0; i < MANY; i++)
			ok &= pt(PTRACE_ATTACH, tid[i], 0, 0) == 0;
		for (int i = MANY - 1; i >= 0; i--)
			ok &= waitpid(tid[i], &st, __WALL) == tid[i] && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
		_exit(!ok);
	}
	int st = 0;
	expect("a tracer stops 33 threads at once, each waited for by its id, and ends",
	       waitpid(tracer, &st, 0) == tracer && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect("every thread runs on", all_count());
	kill(pid, SIGSTOP);
	expect("and stops when told", waits_for_state(pid, 'T', 0));
	kill(pid, SIGCONT);
	expect("and goes on at SIGCONT", waits_for_state(pid, 'T', 1));
	kill(pid, SIGKILL);
	expect("and SIGKILL ends it", waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

int main(void)
{
	traced_from_start();
	attached();
	many();
	return failures != 0;
}
