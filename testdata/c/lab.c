/* lab is the program of the debugger tests and of docs/lab.md: argv[1] picks what it does.
 *   (none)    counts to 3 in a global, asks the time through the vDSO, writes a line
 *   segv      faults once; its own SIGSEGV handler reports si_addr and recovers
 *   vsyscall  asks the time through the legacy vsyscall page
 *   spin      loops until interrupted (the counter keeps growing)
 *   threads   two threads, each adding to the counter
 *   fork      the child writes a line, the parent waits for it
 *   exec      runs itself again without arguments
 *   cost      prints the cost in ns of clock_gettime through the vDSO, as a system
 *             call, and gettimeofday through the vsyscall page
 *   maps      prints the [vdso] and [vsyscall] lines of /proc/self/maps
 *   clocks    reads a clock the vDSO answers and one it passes to the system call,
 *             and prints the wall-clock and monotonic times */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VSYS_GTOD 0xffffffffff600000UL

volatile long counter;
static sigjmp_buf recover;
volatile int *volatile bad = (volatile int *)16; /* a page nothing is mapped at */

__attribute__((noinline)) void tick(void) { counter++; }

/* vsys_gtod calls gettimeofday at its fixed address in the vsyscall page. */
__attribute__((noinline)) long vsys_gtod(struct timeval *tv)
{
	return ((long (*)(struct timeval *, void *))VSYS_GTOD)(tv, NULL);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	printf("handler: si_addr %p\n", si->si_addr);
	siglongjmp(recover, 1);
}

static void *adder(void *arg)
{
	for (int i = 0; i < 1000; i++)
		__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	return arg;
}

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void cost(void)
{
	enum { N = 20000 };
	struct timespec ts;
	struct timeval tv;
	long t0 = now_ns();
	for (int i = 0; i < N; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	long t1 = now_ns();
	for (int i = 0; i < N; i++)
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	long t2 = now_ns();
	for (int i = 0; i < N; i++)
		((int (*)(struct timeval *, void *))VSYS_GTOD)(&tv, NULL);
	long t3 = now_ns();
	printf("vDSO clock_gettime:     %6ld ns\n", (t1 - t0) / N);
	printf("syscall clock_gettime:  %6ld ns\n", (t2 - t1) / N);
	printf("vsyscall gettimeofday:  %6ld ns\n", (t3 - t2) / N);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	for (int i = 0; i < 3; i++)
		tick();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("counter %ld\n", counter);
	fflush(stdout);
	if (strcmp(mode, "segv") == 0) {
		struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
		sigaction(SIGSEGV, &sa, NULL);
		if (sigsetjmp(recover, 1) == 0)
			*bad = 1;
		puts("recovered");
	} else if (strcmp(mode, "vsyscall") == 0) {
		struct timeval tv = {0};
		long r = vsys_gtod(&tv);
		printf("vsyscall gettimeofday: %ld, %s\n", r, tv.tv_sec > 0 ? "a time" : "no time");
	} else if (strcmp(mode, "spin") == 0) {
		for (;;)
			tick();
	} else if (strcmp(mode, "threads") == 0) {
		pthread_t a, b;
		pthread_create(&a, NULL, adder, NULL);
		pthread_create(&b, NULL, adder, NULL);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		printf("counter %ld\n", counter);
	} else if (strcmp(mode, "fork") == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			write(1, "child runs\n", 11);
			_exit(7);
		}
		int st;
		waitpid(pid, &st, 0);
		printf("child exited %d\n", WEXITSTATUS(st));
	} else if (strcmp(mode, "exec") == 0) {
		execl("/proc/self/exe", argv[0], (char *)NULL);
		perror("exec");
		return 1;
	} else if (strcmp(mode, "cost") == 0) {
		cost();
	} else if (strcmp(mode, "clocks") == 0) {
		struct timespec mono, cpu, real;
		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		clock_gettime(CLOCK_REALTIME, &real);
		printf("realtime %lld\n", (long long)real.tv_sec);
		printf("monotonic %lld.%09ld\n", (long long)mono.tv_sec, mono.tv_nsec);
	} else if (strcmp(mode, "maps") == 0) {
		FILE *f = fopen("/proc/self/maps", "r");
		char line[256];
		while (f && fgets(line, sizeof line, f))
			if (strstr(line, "[vdso]") || strstr(line, "[vsyscall]"))
				fputs(line, stdout);
	}
	puts("done");
	return 0;
}
