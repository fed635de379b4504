/* clockloop reads the clocks many times through libc (the vDSO when there is one):
 * clockloop N      N reads of each of clock_gettime(MONOTONIC), gettimeofday and time,
 *                  then 2*N MONOTONIC reads checked never to go back
 * clockloop base   print where the vDSO is (AT_SYSINFO_EHDR) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "base") == 0) {
		printf("%#lx\n", getauxval(AT_SYSINFO_EHDR));
		return 0;
	}
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct timespec ts, prev = {0, 0};
	struct timeval tv;
	long long sum = 0;
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		sum += ts.tv_nsec & 1;
	}
	for (long i = 0; i < n; i++) {
		gettimeofday(&tv, NULL);
		sum += tv.tv_usec & 1;
	}
	for (long i = 0; i < n; i++)
		sum += time(NULL) & 1;
	long back = 0;
	for (long i = 0; i < 2 * n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ns(ts) < ns(prev))
			back++;
		prev = ts;
	}
	printf("monotonic went back %ld times in %ld reads\n", back, 2 * n);
	return back != 0 || sum < 0;
}
