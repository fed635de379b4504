/* handover N: two threads pass a lock shaped like Python's GIL (a flag under a mutex,
   waited for on a condition variable) back and forth, each making a system call while it
   does not hold it, as an interpreter does around its I/O; a third thread only computes.
   The holder drops the lock after a little work and, when the other waits for it, waits
   until the other took it (Python's forced switch), so the lock changes hands each time.
   Runs until it changed hands N times; prints the loops the third thread ran per
   hand-over and per millisecond (its share), then, last, the nanoseconds per hand-over. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include "bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, sw = PTHREAD_COND_INITIALIZER;
static int held, waiting, last = -1;
static long handovers, target;
static atomic_int done;
static atomic_long spins;
static int pipefd[2];

static void take(int me)
{
	pthread_mutex_lock(&mu);
	waiting++;
	while (held)
		pthread_cond_wait(&cv, &mu);
	waiting--;
	held = 1;
	if (last != me && last != -1 && ++handovers >= target)
		atomic_store(&done, 1);
	if (last != me)
		pthread_cond_signal(&sw);
	last = me;
	pthread_mutex_unlock(&mu);
}

static void drop(int me)
{
	pthread_mutex_lock(&mu);
	held = 0;
	if (waiting) {
		pthread_cond_signal(&cv);
		while (last == me && waiting && !atomic_load(&done))
			pthread_cond_wait(&sw, &mu);
	}
	pthread_mutex_unlock(&mu);
}

static void *player(void *arg)
{
	int me = (int)(long)arg;
	char b;
	volatile unsigned x = 0;
	while (!atomic_load(&done)) {
		take(me);
		for (int i = 0; i < 200; i++)
			x += i;
		drop(me);
		if (read(pipefd[0], &b, 1) != -1 || errno != EAGAIN)
			exit(2);
	}
	return NULL;
}

static void *hog(void *arg)
{
	volatile unsigned x = 0;
	while (!atomic_load(&done)) {
		for (int i = 0; i < 1000; i++)
			x += i;
		atomic_fetch_add(&spins, 1);
	}
	return arg;
}

int main(int argc, char **argv)
{
	target = bench_count(argc, argv, 1, 20000);
	if (pipe2(pipefd, O_NONBLOCK) != 0)
		return 1;
	pthread_t t[3];
	long long t0 = bench_now_ns();
	if (pthread_create(&t[0], NULL, hog, NULL) || pthread_create(&t[1], NULL, player, (void *)0) ||
	    pthread_create(&t[2], NULL, player, (void *)1))
		return 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	long long ns = bench_now_ns() - t0;
	printf("hog: %.1f iterations per hand-over, %.0f per ms\n", (double)spins / handovers,
	       spins * 1e6 / ns);
	printf("%.0f\n", (double)ns / handovers);
	return 0;
}
