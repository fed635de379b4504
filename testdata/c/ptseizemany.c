/* ptseizemany: a tracer seizes a process of 512 threads that sleep in loops, then each
 * of its other threads at once after it, interrupts each and waits for each stop: Linux
 * attaches every one, however busy the process is with its threads' wakeups. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"
#include "pt.h"

#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#endif
#ifndef PTRACE_INTERRUPT
#define PTRACE_INTERRUPT 0x4207
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

enum { N = 512 };

struct shared {
	volatile int tid[N];
	volatile int started;
};

static struct shared *sh;

static void *sleeper(void *arg)
{
	long i = (long)arg;
	sh->tid[i] = syscall(SYS_gettid);
	__atomic_add_fetch(&sh->started, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause_ms(1);
	return 0;
}

int main(void)
{
	sh = mmap(0, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		sh->tid[0] = syscall(SYS_gettid);
		__atomic_add_fetch(&sh->started, 1, __ATOMIC_SEQ_CST);
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 << 10);
		for (long i = 1; i < N; i++) {
			pthread_t th;
			if (pthread_create(&th, &a, sleeper, (void *)i) != 0)
				_exit(2);
		}
		for (;;)
			pause_ms(1);
	}
	while (sh->started < N)
		pause_ms(1);
	int seized = 0, stopped = 0, st;
	for (int i = 0; i < N; i++)
		seized += pt(PTRACE_SEIZE, sh->tid[i], 0, 0) == 0;
	expect("threads seized, each at once after the process", seized == N);
	printf("  %d of %d\n", seized, N);
	for (int i = 0; i < N; i++)
		pt(PTRACE_INTERRUPT, sh->tid[i], 0, 0);
	for (int i = 0; i < seized; i++) {
		pid_t w = waitpid(-1, &st, __WALL);
		if (w <= 0)
			break;
		stopped += WIFSTOPPED(st) && st >> 16 == 128; /* PTRACE_EVENT_STOP */
	}
	expect("each interrupted, its stop reported", stopped == N);
	kill(child, SIGKILL);
	while (waitpid(-1, &st, __WALL) > 0 || errno == EINTR)
		;
	expect("the process killed", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return failures != 0;
}
