/* syscall N: N raw getpid system calls; prints nanoseconds per call. */
#include "bench.h"

int main(int argc, char **argv)
{
	long n = bench_count(argc, argv, 1, 2000000);
	long sum = 0;
	long long t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getpid);
	long long t1 = bench_now_ns();
	if (sum == 0)
		return 1;
	printf("%.2f\n", (double)(t1 - t0) / (double)n);
	return 0;
}
