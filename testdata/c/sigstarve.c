/* sigstarve: a thread that takes a signal goes on running after its handler returns.
 * The main thread signals eight spinning threads in turn, as a runtime interrupting its
 * threads does (SBCL's interrupt-thread), until each has started and counted a while;
 * natively they all do at once. Then the same with the main thread holding a mutex the
 * threads take at their start while it signals (a waiter woken by its release must get
 * it, though the main thread's next call comes with it taken again), and with the main
 * thread yielding after each signal, which must still hand the CPU over. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

#define NTHREADS 8
#define ENOUGH 100000L
#define MAX_ROUNDS 1000000L

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static volatile int stop;
static volatile long counts[NTHREADS];
static volatile long handled;

static void on_sig(int sig)
{
	(void)sig;
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
}

static void *spin(void *arg)
{
	long i = (long)arg;
	sigset_t all;
	sigfillset(&all);
	/* As a runtime's thread start: signals held off while it registers itself. */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	pthread_sigmask(SIG_UNBLOCK, &all, NULL);
	while (!stop)
		counts[i]++;
	return NULL;
}

/* round_of runs the threads while the main thread signals them (holding the mutex, and
 * yielding, if asked); it says whether every thread counted ENOUGH before MAX_ROUNDS. */
static int round_of(int lock, int yield)
{
	pthread_t t[NTHREADS];
	stop = 0;
	for (long i = 0; i < NTHREADS; i++) {
		counts[i] = 0;
		pthread_create(&t[i], NULL, spin, (void *)i);
	}
	int all = 0;
	for (long k = 0; k < MAX_ROUNDS && !all; k++) {
		if (lock)
			pthread_mutex_lock(&mu);
		pthread_kill(t[k % NTHREADS], SIGURG);
		if (lock)
			pthread_mutex_unlock(&mu);
		if (yield)
			sched_yield();
		if (k % NTHREADS == NTHREADS - 1) {
			all = 1;
			for (int i = 0; i < NTHREADS; i++)
				if (counts[i] < ENOUGH)
					all = 0;
		}
	}
	stop = 1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	if (!all)
		for (int i = 0; i < NTHREADS; i++)
			fprintf(stderr, "thread %d counted %ld\n", i, counts[i]);
	return all;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGURG, &sa, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);

	expect("signalled threads all ran", round_of(0, 0));
	expect("signalled threads all ran, the signaller holding their start's mutex", round_of(1, 0));
	expect("signalled threads all ran, the signaller yielding", round_of(0, 1));
	expect("their handlers ran", handled > 0);
	return failures != 0;
}
