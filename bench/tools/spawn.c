/* spawn RUNS CMD ARGS...: runs CMD RUNS times with stdout on /dev/null and prints the
   median wall time in milliseconds and the median peak RSS in KiB of the child
   (ru_maxrss from wait4). Exits 1 if any run fails. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawn RUNS CMD [ARGS...]\n");
		return 2;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		runs = 1;
	double *ms = calloc(runs, sizeof *ms), *kib = calloc(runs, sizeof *kib);
	if (!ms || !kib)
		return 2;

	for (int i = 0; i < runs; i++) {
		struct timespec a, b;
		struct rusage ru;
		int st;
		clock_gettime(CLOCK_MONOTONIC, &a);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0)
				dup2(fd, 1);
			execvp(argv[2], &argv[2]);
			_exit(127);
		}
		if (wait4(pid, &st, 0, &ru) != pid) {
			perror("wait4");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawn: %s failed (status 0x%x)\n", argv[2], st);
			return 1;
		}
		ms[i] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		kib[i] = (double)ru.ru_maxrss;
	}
	printf("%.3f %.0f\n", median(ms, runs), median(kib, runs));
	return 0;
}
