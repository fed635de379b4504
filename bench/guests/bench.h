#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic nanoseconds through the raw system call, so the timer itself does not
   depend on the vDSO being present. */
#include <sys/syscall.h>
#include <unistd.h>

static inline long long bench_now_ns(void)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long bench_count(int argc, char **argv, int idx, long dflt)
{
	if (argc > idx) {
		long n = strtol(argv[idx], NULL, 10);
		if (n > 0)
			return n;
	}
	return dflt;
}

#endif
