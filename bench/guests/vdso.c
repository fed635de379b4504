/* vdso MODE N: N time reads through one path; prints nanoseconds per call, or "n/a" when
   the path is unavailable on this system.
   MODE: vdso   clock_gettime(CLOCK_MONOTONIC) through libc (vDSO when present)
         sys    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ...)
         vsys   the legacy vsyscall gettimeofday at 0xffffffffff600000
         gtod   syscall(SYS_gettimeofday, ...) */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "bench.h"

typedef int (*gtod_fn)(struct timeval *, void *);
#define VSYSCALL_GTOD ((gtod_fn)0xffffffffff600000UL)

/* Calls the vsyscall page once in a child; returns 1 when it works. If fork itself is not
   available the caller tries the page directly. */
static int vsyscall_works(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		struct timeval tv;
		_exit(VSYSCALL_GTOD(&tv, NULL) == 0 && tv.tv_sec > 0 ? 0 : 1);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vdso vdso|sys|vsys|gtod [N]\n");
		return 2;
	}
	const char *mode = argv[1];
	long n = bench_count(argc, argv, 2, 2000000);
	struct timespec ts;
	struct timeval tv;
	long long sum = 0;
	long long t0, t1;

	if (strcmp(mode, "vdso") == 0) {
		t0 = bench_now_ns();
		for (long i = 0; i < n; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sum += ts.tv_nsec;
		}
		t1 = bench_now_ns();
	} else if (strcmp(mode, "sys") == 0) {
		t0 = bench_now_ns();
		for (long i = 0; i < n; i++) {
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
			sum += ts.tv_nsec;
		}
		t1 = bench_now_ns();
	} else if (strcmp(mode, "vsys") == 0) {
		if (!vsyscall_works()) {
			printf("n/a\n");
			return 0;
		}
		t0 = bench_now_ns();
		for (long i = 0; i < n; i++) {
			VSYSCALL_GTOD(&tv, NULL);
			sum += tv.tv_usec;
		}
		t1 = bench_now_ns();
	} else if (strcmp(mode, "gtod") == 0) {
		t0 = bench_now_ns();
		for (long i = 0; i < n; i++) {
			syscall(SYS_gettimeofday, &tv, NULL);
			sum += tv.tv_usec;
		}
		t1 = bench_now_ns();
	} else {
		fprintf(stderr, "vdso: unknown mode %s\n", mode);
		return 2;
	}
	if (sum < 0)
		return 1;
	printf("%.2f\n", (double)(t1 - t0) / (double)n);
	return 0;
}
