/* stopcont stops the first process from a child of its own and continues it: the child
 * keeps running while its parent is stopped (it is the one that sends SIGCONT), a sleep
 * interrupted by the stop carries on for the time it had left (restart_syscall), and
 * pause() goes on waiting until a handled signal comes. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got;

static void on_usr1(int sig) { got = sig; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* stopper stops and continues pid after a while, then sends it last (0: nothing). */
static pid_t stopper(pid_t pid, int last)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		usleep(150000);
		kill(pid, SIGSTOP);
		usleep(150000);
		kill(pid, SIGCONT);
		if (last) {
			usleep(100000);
			kill(pid, last);
		}
		_exit(0);
	}
	return c;
}

int main(void)
{
	pid_t me = getpid();
	pid_t c = stopper(me, 0);
	double t0 = now();
	struct timespec ts = {0, 600000000}, rem = {0, 0};
	int r = nanosleep(&ts, &rem);
	double slept = now() - t0;
	printf("nanosleep through a stop and a continue: %d\n", r);
	expect("it slept its whole time, not more than the stop added", slept >= 0.59 && slept < 5);
	int st;
	waitpid(c, &st, 0);

	c = stopper(me, 0);
	t0 = now();
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 600000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
	printf("clock_nanosleep TIMER_ABSTIME through a stop: %d\n", r);
	expect("it woke at its time", now() - t0 >= 0.59);
	waitpid(c, &st, 0);

	signal(SIGUSR1, on_usr1);
	c = stopper(me, SIGUSR1);
	r = pause();
	printf("pause through a stop and a continue, then SIGUSR1: %d, signal %d\n", r, (int)got);
	waitpid(c, &st, 0);
	return failures;
}
