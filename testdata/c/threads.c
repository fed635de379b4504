/* threads runs pthreads that share a counter under a mutex, use thread-local storage and a
 * condition variable, and return values through pthread_join. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NTHREADS 8
#define ITERS 20000

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static __thread long tls_value = 7;
static long tids[NTHREADS];

static void *worker(void *arg)
{
	intptr_t id = (intptr_t)arg;
	tids[id] = syscall(SYS_gettid);
	tls_value += id;
	pthread_mutex_lock(&mu);
	while (!ready)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return (void *)(tls_value * 100 + id);
}

int main(void)
{
	pthread_t th[NTHREADS];
	for (intptr_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	usleep(10000);
	pthread_mutex_lock(&mu);
	ready = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	int returns_ok = 1;
	for (intptr_t i = 0; i < NTHREADS; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		if ((intptr_t)ret != (7 + i) * 100 + i)
			returns_ok = 0;
	}
	expect("counter", counter == (long)NTHREADS * ITERS);
	expect("join values and thread-local storage", returns_ok);
	expect("main thread tls untouched", tls_value == 7);
	int distinct = 1;
	long pid = getpid();
	for (int i = 0; i < NTHREADS; i++) {
		if (tids[i] == pid || tids[i] <= 0)
			distinct = 0;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				distinct = 0;
	}
	expect("distinct thread ids", distinct);
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
