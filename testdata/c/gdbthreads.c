/* gdbthreads is a debugger's target with threads: four threads call a function fifty
 * times each, so that a breakpoint there stops the threads one after another and often
 * several at once, while the debugger stops, steps and resumes each. The status says
 * whether every call ran. */
#include <pthread.h>
#include <stdint.h>

#define NTHREADS 4
#define ROUNDS 50

static long hits;

__attribute__((noinline)) void tick(long id)
{
	__atomic_fetch_add(&hits, 1, __ATOMIC_SEQ_CST);
	__asm__ volatile("" ::"r"(id));
}

static void *worker(void *arg)
{
	for (int i = 0; i < ROUNDS; i++)
		tick((intptr_t)arg);
	return arg;
}

int main(void)
{
	pthread_t th[NTHREADS];
	for (intptr_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
			return 1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	return hits == NTHREADS * ROUNDS ? 0 : 3;
}
