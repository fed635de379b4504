/* rusagethread: getrusage(RUSAGE_THREAD) reports the calling thread's own CPU time, as on
 * Linux: a thread that spins sees its time, a thread that waited sees little, and each is
 * within the process's RUSAGE_SELF. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile long sink;
static struct rusage spun, spun_self;

static double secs(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }
static double cpu(struct rusage *r) { return secs(r->ru_utime) + secs(r->ru_stime); }

static double thread_clock(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
	(void)arg;
	while (thread_clock() < 0.15)
		sink++;
	getrusage(RUSAGE_THREAD, &spun);
	getrusage(RUSAGE_SELF, &spun_self);
	return NULL;
}

int main(void)
{
	struct rusage before, after, self;
	expect("getrusage(RUSAGE_THREAD)", getrusage(RUSAGE_THREAD, &before) == 0);
	pthread_t s;
	pthread_create(&s, NULL, spin, NULL);
	pthread_join(s, NULL);
	getrusage(RUSAGE_THREAD, &after);
	getrusage(RUSAGE_SELF, &self);
	double mine = cpu(&after) - cpu(&before);
	printf("the spinner's RUSAGE_THREAD holds its 0.15 s: %d\n", cpu(&spun) >= 0.14 && cpu(&spun) < 10);
	printf("the spinner's time fits in the process's: %d\n", cpu(&spun) <= cpu(&spun_self) + 0.002);
	printf("the waiting thread's own time stayed small: %d\n", mine < 0.05);
	printf("the waiting thread's time is not the process's: %d\n", cpu(&after) < cpu(&self) - 0.1);
	return failures;
}
