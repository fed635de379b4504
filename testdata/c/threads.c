/* threads runs pthreads that share a counter under a mutex and an atomic one, use
 * thread-local storage and a condition variable, take signals sent to one thread while
 * it waits, and return values through pthread_join. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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
static long atomic_counter;
static volatile long handled_by;
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
		__atomic_fetch_add(&atomic_counter, 1, __ATOMIC_SEQ_CST);
	}
	return (void *)(tls_value * 100 + id);
}

static void on_usr1(int sig)
{
	(void)sig;
	handled_by = syscall(SYS_gettid);
}

int main(void)
{
	pthread_t th[NTHREADS];
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (intptr_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	usleep(10000);
	/* A signal for one thread, waiting in pthread_cond_wait: its handler runs there,
	 * and the wait goes on. */
	pthread_kill(th[3], SIGUSR1);
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
	expect("atomic counter", atomic_counter == (long)NTHREADS * ITERS);
	expect("pthread_kill ran the handler in that thread", handled_by == tids[3]);
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
