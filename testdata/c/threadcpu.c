/* threadcpu: each thread's CPU clock counts the time that thread ran, as on Linux, not its
 * process's: CLOCK_THREAD_CPUTIME_ID, the clock ids pthread_getcpuclockid gives, and
 * timers on them. A thread that sleeps keeps a still clock, and a timer on its clock
 * does not fire, while a spinning thread's does; the threads' times add up to no more
 * than the process's. Clock ids of no thread of the process are EINVAL. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static double now(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t))
		return -1;
	return t.tv_sec + t.tv_nsec / 1e9;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;
static volatile long sink;
static volatile sig_atomic_t spun_fired, slept_fired;

static void on_spin(int sig) { (void)sig, spun_fired++; }
static void on_sleep(int sig) { (void)sig, slept_fired++; }

/* sampled is set once the main thread has read the clocks while the spinner lives. */
static int sampled;

/* spin runs until its own clock reaches 0.1 s and the main thread has read the clocks:
 * on a busy machine the main thread may wake from its poll long after the spinner's clock
 * passed 0.09 s, and must still find it alive. */
static void *spin(void *arg)
{
	(void)arg;
	while (now(CLOCK_THREAD_CPUTIME_ID) < 0.1 || !__atomic_load_n(&sampled, __ATOMIC_ACQUIRE))
		sink++;
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!done)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	signal(SIGUSR1, on_spin);
	signal(SIGUSR2, on_sleep);
	double main0 = now(CLOCK_THREAD_CPUTIME_ID);
	pthread_t s, z;
	pthread_create(&z, NULL, sleeper, NULL);
	usleep(20000);
	clockid_t cz;
	expect("pthread_getcpuclockid of the sleeper", pthread_getcpuclockid(z, &cz) == 0);
	double z0 = now(cz);

	/* Timers on each thread's clock: 20 ms of its CPU time. */
	timer_t tz;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
	expect("a timer on the sleeper's clock", timer_create(cz, &ev, &tz) == 0);
	struct itimerspec it = {{0, 20000000}, {0, 20000000}};
	timer_settime(tz, 0, &it, NULL);

	pthread_create(&s, NULL, spin, NULL);
	clockid_t cs;
	pthread_getcpuclockid(s, &cs);
	timer_t ts;
	ev.sigev_signo = SIGUSR1;
	expect("a timer on the spinner's clock", timer_create(cs, &ev, &ts) == 0);
	timer_settime(ts, 0, &it, NULL);
	/* The main thread waits without spinning while the spinner runs (a clock that stops
	 * reading, -1, ends the wait: the spinner cannot end before the clocks are read). */
	double c;
	while ((c = now(cs)) >= 0 && c < 0.09)
		usleep(5000);
	double sz = now(cz), ss = now(cs), sm = now(CLOCK_THREAD_CPUTIME_ID), sp = now(CLOCK_PROCESS_CPUTIME_ID);
	__atomic_store_n(&sampled, 1, __ATOMIC_RELEASE);
	struct timespec r = {9, 9};
	expect("clock_getres of a thread clock", clock_getres(cs, &r) == 0);
	printf("its resolution: %ld.%09ld\n", (long)r.tv_sec, r.tv_nsec);
	pthread_join(s, NULL);

	printf("the spinner's clock passed 0.09 s: %d\n", ss >= 0.09);
	printf("the sleeper's clock stood still (under 5 ms more): %d\n", sz - z0 < 0.005);
	printf("the main thread's clock stayed under the spinner's: %d\n", sm - main0 < ss);
	printf("the threads' times fit in the process's: %d\n", sp + 0.001 >= ss + sz + sm);
	printf("the spinner's timer fired: %d\n", spun_fired > 0);
	printf("the sleeper's timer fired: %d\n", slept_fired > 0);

	/* The spinner has ended: its clock id names nothing now. pthread_join returns when the
	 * kernel clears the thread's id word, which Linux does a little before the thread is
	 * gone from its process, so the id may still read for a moment: wait up to 2 s. */
	for (int i = 0; i < 200 && clock_gettime(cs, &r) == 0; i++)
		usleep(10000);
	expect_err("the clock of a thread that ended", clock_gettime(cs, &r), EINVAL);
	clockid_t nobody = (clockid_t)((~999999u << 3) | 6);
	expect_err("the clock of no thread", clock_gettime(nobody, &r), EINVAL);
	expect_err("a timer on it", timer_create(nobody, &ev, &ts), EINVAL);
	clockid_t parent = (clockid_t)((~(unsigned)getppid() << 3) | 6);
	expect_err("the thread clock of another process", clock_gettime(parent, &r), EINVAL);
	expect_err("CLOCK_THREAD_CPUTIME_ID for clock_nanosleep",
		   syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &r, NULL), EOPNOTSUPP);

	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	pthread_join(z, NULL);
	return failures;
}
