/* sigcount.h: a count of signals taken, which a handler raises, and a wait for it. */
#ifndef SIGCOUNT_H
#define SIGCOUNT_H

#include <signal.h>
#include <time.h>

static volatile sig_atomic_t got;

/* wait_for waits up to 2 s for the count of signals to reach n, then 20 ms more for any
 * extra one. */
__attribute__((unused)) static int wait_for(int n)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < 2000 && got < n; i++)
		nanosleep(&ms, NULL);
	for (int i = 0; i < 20; i++)
		nanosleep(&ms, NULL);
	return got;
}

#endif
