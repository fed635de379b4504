/* sigwaits: a process-directed signal that every thread blocks goes to the thread waiting
 * for it in sigwait/sigwaitinfo/sigtimedwait, whoever sends it (another thread, a child);
 * queued real-time signals are shared out among several waiting threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void *kill_later(void *arg)
{
	(void)arg;
	nap(100);
	kill(getpid(), SIGUSR1);
	return NULL;
}

static void *wait_rt(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	siginfo_t si;
	struct timespec limit = {10, 0};
	int r;
	/* A waiter woken for a signal another waiter took first gets EINTR (Linux too). */
	while ((r = sigtimedwait(&s, &si, &limit)) < 0 && errno == EINTR)
		;
	if (r != SIGRTMIN)
		return (void *)-1L;
	*(int *)arg = si.si_value.sival_int;
	return NULL;
}

static void *sleeper(void *arg)
{
	nap((long)arg);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &s, NULL);

	/* Another thread sends, blocking the signal itself. */
	pthread_t th;
	pthread_create(&th, NULL, kill_later, NULL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	int sig = 0;
	expect("sigwait, sent by another thread", sigwait(&one, &sig) == 0 && sig == SIGUSR1);
	pthread_join(th, NULL);

	/* A child sends while a second thread sleeps with the signal blocked. */
	pthread_create(&th, NULL, sleeper, (void *)300L);
	pid_t c = fork();
	if (c == 0) {
		nap(100);
		kill(getppid(), SIGUSR2);
		_exit(0);
	}
	sigset_t two;
	sigemptyset(&two);
	sigaddset(&two, SIGUSR2);
	siginfo_t si;
	struct timespec limit = {10, 0};
	int r = sigtimedwait(&two, &si, &limit);
	expect("sigtimedwait, sent by a child", r == SIGUSR2 && si.si_pid == c);
	waitpid(c, NULL, 0);
	pthread_join(th, NULL);

	/* Queued real-time signals, one to each of four waiting threads. */
	enum { N = 4 };
	pthread_t ws[N];
	int got[N] = {0};
	for (int i = 0; i < N; i++)
		pthread_create(&ws[i], NULL, wait_rt, &got[i]);
	nap(100);
	for (int i = 0; i < N; i++) {
		union sigval v = {.sival_int = 1 << i};
		sigqueue(getpid(), SIGRTMIN, v);
	}
	int sum = 0, bad = 0;
	for (int i = 0; i < N; i++) {
		void *res;
		pthread_join(ws[i], &res);
		bad += res != NULL;
		sum += got[i];
	}
	expect("four waiters, four queued signals, each once", bad == 0 && sum == (1 << N) - 1);

	/* Each signal was taken once: none is left pending. */
	sigset_t pend;
	sigpending(&pend);
	expect("nothing left pending", !sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2) &&
	                                   !sigismember(&pend, SIGRTMIN));
	return failures != 0;
}
