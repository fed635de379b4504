/* time checks clocks and sleeps, printing only booleans and errno names. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static long long ns(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static const struct {
	const char *name;
	clockid_t id;
} clocks[] = {
	{"CLOCK_REALTIME", CLOCK_REALTIME},
	{"CLOCK_MONOTONIC", CLOCK_MONOTONIC},
	{"CLOCK_PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID},
	{"CLOCK_THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID},
	{"CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW},
	{"CLOCK_REALTIME_COARSE", CLOCK_REALTIME_COARSE},
	{"CLOCK_MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE},
	{"CLOCK_BOOTTIME", CLOCK_BOOTTIME},
	{"clock 42", 42},
	{"clock -1", -1},
};

int main(void)
{
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct timespec t = {-1, -1};
		errno = 0;
		int r = clock_gettime(clocks[i].id, &t);
		int sane = r == 0 && t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000;
		printf("clock_gettime %s: %s%s\n", clocks[i].name, r == 0 ? "OK" : errname(errno),
		       r == 0 && !sane ? " (insane value)" : "");
		struct timespec res = {-1, -1};
		errno = 0;
		r = clock_getres(clocks[i].id, &res);
		int rsane = r == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000;
		printf("clock_getres %s: %s%s\n", clocks[i].name, r == 0 ? "OK" : errname(errno),
		       r == 0 && !rsane ? " (insane value)" : "");
	}
	errno = 0;
	printf("clock_getres NULL: %s\n", clock_getres(CLOCK_MONOTONIC, NULL) == 0 ? "OK" : errname(errno));

	/* monotonic and realtime never go backwards over many reads */
	struct timespec prev, cur;
	int mono_ok = 1, raw_ok = 1;
	clock_gettime(CLOCK_MONOTONIC, &prev);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &cur);
		if (ns(cur) < ns(prev))
			mono_ok = 0;
		prev = cur;
	}
	expect("monotonic over 1000 reads", mono_ok);
	clock_gettime(CLOCK_MONOTONIC_RAW, &prev);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC_RAW, &cur);
		if (ns(cur) < ns(prev))
			raw_ok = 0;
		prev = cur;
	}
	expect("monotonic_raw over 1000 reads", raw_ok);
	/* the raw system call agrees with the libc (vDSO) path */
	struct timespec v, s;
	clock_gettime(CLOCK_MONOTONIC, &v);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s);
	long long d = ns(s) - ns(v);
	expect("syscall monotonic within 1s of vdso", d >= 0 && d < 1000000000LL);
	clock_gettime(CLOCK_REALTIME, &v);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &s);
	d = ns(s) - ns(v);
	expect("syscall realtime within 1s of vdso", d > -1000000000LL && d < 1000000000LL);

	/* gettimeofday, time and CLOCK_REALTIME agree */
	struct timeval tv;
	expect("gettimeofday ok", gettimeofday(&tv, NULL) == 0);
	expect("gettimeofday usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	time_t t1 = time(NULL);
	time_t t2;
	time(&t2);
	expect("time(NULL) == time(&t) within 2s", t2 - t1 >= 0 && t2 - t1 <= 2);
	expect("gettimeofday vs time within 2s", tv.tv_sec - t1 <= 2 && t1 - tv.tv_sec <= 2);
	clock_gettime(CLOCK_REALTIME, &cur);
	expect("realtime vs time within 2s", cur.tv_sec - t1 <= 2 && t1 - cur.tv_sec <= 2);
	expect("realtime after 2020", t1 > 1577836800);
	struct timeval sys_tv;
	expect("gettimeofday syscall ok", syscall(SYS_gettimeofday, &sys_tv, NULL) == 0);
	expect("gettimeofday syscall vs time within 2s", sys_tv.tv_sec - t1 <= 2 && t1 - sys_tv.tv_sec <= 2);
	expect("time syscall vs time within 2s", syscall(SYS_time, NULL) - t1 <= 2);

	/* nanosleep and clock_nanosleep sleep at least as long as asked */
	struct timespec a, b, req = {0, 10000000};
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = nanosleep(&req, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	expect("nanosleep ok", r == 0);
	expect("nanosleep 10ms elapsed >= 10ms", ns(b) - ns(a) >= 10000000LL);
	expect("nanosleep 10ms elapsed < 5s", ns(b) - ns(a) < 5000000000LL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	expect("clock_nanosleep ok", r == 0);
	expect("clock_nanosleep elapsed >= 10ms", ns(b) - ns(a) >= 10000000LL);
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &a);
	until.tv_sec = a.tv_sec;
	until.tv_nsec = a.tv_nsec + 20000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	expect("clock_nanosleep abstime ok", r == 0);
	expect("clock_nanosleep abstime reached", ns(b) >= ns(until));
	struct timespec bad = {0, 1000000000};
	errno = 0;
	r = nanosleep(&bad, NULL);
	printf("nanosleep nsec=1e9: %s\n", r == 0 ? "OK" : errname(errno));
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	errno = 0;
	r = nanosleep(&bad, NULL);
	printf("nanosleep negative: %s\n", r == 0 ? "OK" : errname(errno));
	r = usleep(1000);
	expect("usleep ok", r == 0);

	/* process CPU time is non-decreasing and small */
	struct timespec c1, c2;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	volatile unsigned long spin = 0;
	for (int i = 0; i < 1000000; i++)
		spin += i;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c2);
	expect("process cputime non-decreasing", ns(c2) >= ns(c1));

	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
