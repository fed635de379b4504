/* mutex THREADS N [pi]: THREADS threads each add 1 to a shared counter N times under one
   mutex (with "pi", a PTHREAD_PRIO_INHERIT one, which contends through FUTEX_LOCK_PI)
   and N times with an atomic add; prints elapsed milliseconds and the total. */
#include <pthread.h>
#include <string.h>
#include "bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long locked;
static long atomic_count;
static long per_thread;

static void *work(void *arg)
{
	for (long i = 0; i < per_thread; i++) {
		pthread_mutex_lock(&mu);
		locked++;
		pthread_mutex_unlock(&mu);
		__atomic_add_fetch(&atomic_count, 1, __ATOMIC_SEQ_CST);
	}
	return arg;
}

int main(int argc, char **argv)
{
	long threads = bench_count(argc, argv, 1, 64);
	per_thread = bench_count(argc, argv, 2, 10000);
	if (argc > 3 && strcmp(argv[3], "pi") == 0) {
		pthread_mutexattr_t a;
		pthread_mutexattr_init(&a);
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
		pthread_mutex_init(&mu, &a);
	}
	pthread_t *t = calloc(threads, sizeof *t);
	long long t0 = bench_now_ns();
	for (long i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, work, NULL) != 0)
			return 1;
	for (long i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("%.1f %ld\n", (bench_now_ns() - t0) / 1e6, locked + atomic_count);
	return 0;
}
