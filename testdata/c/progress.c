/* progress checks that threads and processes make progress together and that time only
 * moves forward for all of them:
 *   progress            the checks below, each printed as one line
 *   progress yields     two threads hand a token back and forth, spinning on sched_yield,
 *                       and print how many yields each hand-off took on average
 * The checks: a ping-pong of two threads that wait with sched_yield and with a zero
 * nanosleep; two threads of one process waiting for children at once (each for its own,
 * and both for any); and gettimeofday (vDSO and system call) and CLOCK_REALTIME read in a
 * loop by three processes, none ever seeing a time before one another has already seen.
 * An alarm ends the program if a wait never ends. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define ROUNDS 2000

static volatile int token;
static long yields[2];
static int use_sleep;

static void spin(void)
{
	if (use_sleep) {
		struct timespec z = {0, 0};
		nanosleep(&z, NULL);
	} else {
		sched_yield();
	}
}

/* player waits for the token to be its own (0 or 1), passes it on, ROUNDS times. */
static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int i = 0; i < ROUNDS; i++) {
		while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) != me) {
			spin();
			yields[me]++;
		}
		__atomic_store_n(&token, 1 - me, __ATOMIC_RELEASE);
	}
	return NULL;
}

static long ping_pong(int sleep)
{
	pthread_t th;
	use_sleep = sleep;
	token = 0;
	yields[0] = yields[1] = 0;
	pthread_create(&th, NULL, player, (void *)1);
	player((void *)0);
	pthread_join(th, NULL);
	return (yields[0] + yields[1]) / (2 * ROUNDS);
}

struct waiter {
	pid_t pid; /* the child to wait for, or -1 */
	pid_t got;
	int status;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	w->got = waitpid(w->pid, &w->status, 0);
	return NULL;
}

static pid_t child_exiting(int code, int ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		usleep(ms * 1000);
		_exit(code);
	}
	return pid;
}

static void two_waiters(int any)
{
	pid_t a = child_exiting(3, 30), b = child_exiting(4, 80);
	struct waiter w[2] = {{any ? -1 : a, 0, 0}, {any ? -1 : b, 0, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, wait_thread, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	char what[64];
	snprintf(what, sizeof what, "two threads wait for %s children: both woken", any ? "any" : "their own");
	int codes = 0;
	for (int i = 0; i < 2; i++)
		if (w[i].got > 0 && WIFEXITED(w[i].status))
			codes += WEXITSTATUS(w[i].status);
	expect(what, (w[0].got == a || w[0].got == b) && (w[1].got == a || w[1].got == b) &&
			     w[0].got != w[1].got && codes == 7);
	if (!any)
		expect("  each got its own", w[0].got == a && w[1].got == b);
}

/* The latest time any process has seen, in ns, in memory the processes share. */
static long long *seen;

static long long now_ns(int how)
{
	struct timeval tv;
	struct timespec ts;
	switch (how) {
	case 0:
		gettimeofday(&tv, NULL);
		return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	case 1:
		syscall(SYS_gettimeofday, &tv, NULL);
		return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	default:
		clock_gettime(CLOCK_REALTIME, &ts);
		return ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
}

/* clock_reader reads the clocks n times and returns how many reads gave a time before
 * one already seen (by this process or another). Times from gettimeofday are in
 * microseconds, so they are compared with what was seen rounded down to one. */
static int clock_reader(long n)
{
	int back = 0;
	for (long i = 0; i < n; i++) {
		int how = i % 3;
		long long before = __atomic_load_n(seen, __ATOMIC_SEQ_CST);
		long long t = now_ns(how);
		long long floor = how < 2 ? before / 1000 * 1000 : before;
		if (t < floor) {
			if (back++ == 0)
				fprintf(stderr, "clock %d stepped back by %lld ns\n", how, floor - t);
		}
		while (before < t && !__atomic_compare_exchange_n(seen, &before, t, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
	}
	return back;
}

static void clocks_across_processes(void)
{
	seen = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*seen = 0;
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(clock_reader(300000) != 0);
	}
	int back = clock_reader(300000);
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	expect("three processes: the wall clock never goes back", back == 0 && bad == 0);
}

static const char *fifo_path;

static void *fifo_reader(void *arg)
{
	int *got = arg;
	int fd = open(fifo_path, O_RDONLY); /* waits for the writer: the other thread */
	char c = 0;
	read(fd, &c, 1);
	*got = c;
	close(fd);
	return NULL;
}

static void on_alarm(int sig) { (void)sig; }

/* A thread waiting in the open of a named pipe lets the other thread open its other
 * end; a handled signal ends such a wait with EINTR. */
static void fifo_open(void)
{
	char dir[] = "/tmp/progress-XXXXXX";
	static char path[64];
	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof path, "%s/fifo", dir);
	fifo_path = path;
	mkfifo(path, 0600);
	int got = 0;
	pthread_t th;
	pthread_create(&th, NULL, fifo_reader, &got);
	usleep(20000);
	int fd = open(path, O_WRONLY);
	write(fd, "z", 1);
	close(fd);
	pthread_join(th, NULL);
	expect("two threads open the ends of a named pipe", got == 'z');
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 50000}};
	setitimer(ITIMER_REAL, &it, NULL);
	fd = open(path, O_RDONLY);
	expect_err("a signal ends the wait for a writer", fd, EINTR);
	signal(SIGALRM, SIG_DFL);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	alarm(60);
	if (argc > 1 && strcmp(argv[1], "yields") == 0) {
		printf("%ld\n", ping_pong(0));
		return 0;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	/* These end (before the alarm) only if the waiting thread lets the other run. */
	ping_pong(0);
	printf("ping-pong with sched_yield: %d rounds\n", ROUNDS);
	ping_pong(1);
	printf("ping-pong with nanosleep(0): %d rounds\n", ROUNDS);
	two_waiters(0);
	two_waiters(1);
	fifo_open();
	clocks_across_processes();
	return failures != 0;
}
