/* wakeshare [N]: two threads hand a lock back and forth N times (a flag under a mutex,
   waited for on a condition variable, the holder waiting until the other took it), each
   making a system call between its turns, while a third thread only computes. Checks
   that the third thread is not starved by the two waking each other: it must get at
   least one loop of its own per 10 hand-overs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
	if (last != me) {
		if (last != -1 && ++handovers >= target)
			atomic_store(&done, 1);
		pthread_cond_signal(&sw);
	}
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
		for (int i = 0; i < 100; i++)
			x += i;
		drop(me);
		if (read(pipefd[0], &b, 1) != -1 || errno != EAGAIN) {
			perror("read");
			exit(1);
		}
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
	target = argc > 1 ? atol(argv[1]) : 3000;
	if (target < 50 || pipe2(pipefd, O_NONBLOCK) != 0)
		return 2;
	pthread_t t[3];
	if (pthread_create(&t[0], NULL, hog, NULL) || pthread_create(&t[1], NULL, player, (void *)0) ||
	    pthread_create(&t[2], NULL, player, (void *)1))
		return 2;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("%ld hand-overs\n", target);
	if (spins < target / 10) {
		printf("the computing thread starved: %ld loops in %ld hand-overs\n", (long)spins, handovers);
		return 1;
	}
	printf("the computing thread ran\n");
	return 0;
}
