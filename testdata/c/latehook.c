/* latehook: a loop that first ran while its process had one thread and no handler must
 * still be preempted for a thread made later, and interrupted for a handler set later:
 * each phase below ends only when the other thread ran, or the handler did.
 *
 * Usage: latehook thread|handler */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static atomic_int flag;

/* spin runs until flag is set or limit rounds are done; the same code each call. */
static __attribute__((noinline)) uint64_t spin(uint64_t limit)
{
	volatile uint64_t x = 0;
	for (uint64_t i = 0; i < limit && !atomic_load_explicit(&flag, memory_order_relaxed); i++)
		x += i;
	return x;
}

static void *setter(void *arg)
{
	(void)arg;
	atomic_store(&flag, 1);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	atomic_store(&flag, 1);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: latehook thread|handler\n");
		return 2;
	}
	if (strcmp(argv[1], "handler") == 0)
		goto handler;

	/* A thread made after the loop ran. */
	spin(5000000);
	pthread_t t;
	pthread_create(&t, NULL, setter, NULL);
	spin(UINT64_MAX);
	pthread_join(t, NULL);
	printf("thread ran: %d\n", atomic_load(&flag));
	return 0;

handler:
	/* A handler set after the loop ran, with a timer to call it. */
	spin(5000000);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, NULL);
	spin(UINT64_MAX);
	printf("handler ran: %d\n", atomic_load(&flag));
	return 0;
}
