/* pipeherd: many threads blocked on one pipe or socket. Each byte written wakes one
 * reader; closing the write end ends every reader's read with 0 and closing the read end
 * every writer's write with EPIPE; a reader that lost the race for a byte stays blocked
 * and a signal interrupts it (EINTR without SA_RESTART); a large write is taken in
 * parts, and a signal after some of it returns the count written.
 *
 * Usage: pipeherd [N], N the number of readers on one pipe (3000 by default). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static int fds[2];
static int started, finished;
static long *results;
static int *errs;
static pid_t *tids;

struct job {
	long i;
	int sock; /* recv rather than read */
	int out;  /* write one byte rather than read one */
};

static void *one(void *arg)
{
	struct job *j = arg;
	char b = 'x';
	tids[j->i] = gettid();
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	long r;
	if (j->out)
		r = write(fds[1], &b, 1);
	else if (j->sock)
		r = recv(fds[0], &b, 1, 0);
	else
		r = read(fds[0], &b, 1);
	results[j->i] = r;
	errs[j->i] = r < 0 ? errno : 0;
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
	nanosleep(&ts, NULL);
}

/* start runs n threads of job kind (sock, out), waits until all have started, and
   gives them a moment to block. */
static pthread_t *start(long n, int sock, int out, struct job **jobs)
{
	pthread_t *t = calloc(n, sizeof *t);
	struct job *j = calloc(n, sizeof *j);
	results = calloc(n, sizeof *results);
	errs = calloc(n, sizeof *errs);
	tids = calloc(n, sizeof *tids);
	started = finished = 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (long i = 0; i < n; i++) {
		j[i] = (struct job){i, sock, out};
		if (pthread_create(&t[i], &attr, one, &j[i]) != 0) {
			printf("pthread_create failed\n");
			exit(1);
		}
	}
	while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
		sched_yield();
	pause_ms(100);
	*jobs = j;
	return t;
}

static void join_all(pthread_t *t, long n)
{
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* done_with frees what start made, once its results are read. */
static void done_with(pthread_t *t, struct job *j)
{
	free(t);
	free(j);
	free(results);
	free(errs);
	free(tids);
}

/* n readers, n bytes written one at a time: each reader gets one. */
static void herd(long n)
{
	struct job *j;
	if (pipe(fds) != 0)
		exit(1);
	pthread_t *t = start(n, 0, 0, &j);
	for (long i = 0; i < n; i++)
		if (write(fds[1], "x", 1) != 1)
			exit(1);
	join_all(t, n);
	long ones = 0;
	for (long i = 0; i < n; i++)
		ones += results[i] == 1;
	expect("each reader of one pipe got one byte", ones == n);
	close(fds[0]);
	close(fds[1]);
	done_with(t, j);
}

/* n readers blocked, the write end closed: every read ends with 0. */
static void hangup(long n)
{
	struct job *j;
	if (pipe(fds) != 0)
		exit(1);
	pthread_t *t = start(n, 0, 0, &j);
	close(fds[1]);
	join_all(t, n);
	long zeros = 0;
	for (long i = 0; i < n; i++)
		zeros += results[i] == 0;
	expect("closing the write end ends every blocked read with 0", zeros == n);
	close(fds[0]);
	done_with(t, j);
}

/* n writers blocked on a full pipe, the read end closed: every write fails with EPIPE. */
static void broken(long n)
{
	struct job *j;
	if (pipe(fds) != 0)
		exit(1);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	char buf[4096];
	memset(buf, 'f', sizeof buf);
	while (write(fds[1], buf, sizeof buf) > 0)
		;
	while (write(fds[1], buf, 1) > 0)
		;
	fcntl(fds[1], F_SETFL, 0);
	pthread_t *t = start(n, 0, 1, &j);
	close(fds[0]);
	join_all(t, n);
	long epipes = 0;
	for (long i = 0; i < n; i++)
		epipes += results[i] == -1 && errs[i] == EPIPE;
	expect("closing the read end ends every blocked write with EPIPE", epipes == n);
	close(fds[1]);
	done_with(t, j);
}

static void on_usr1(int sig) { (void)sig; }

/* waitdone waits up to 3 s for want threads to have finished. */
static int waitdone(int want)
{
	for (int i = 0; i < 3000; i++) {
		if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) >= want)
			return 1;
		pause_ms(1);
	}
	return 0;
}

/* k readers, m < k bytes written one at a time: those that did not get one still wait,
   and SIGUSR1 (a handler without SA_RESTART) ends each one's read with EINTR. */
static void losers(int sock, int k, int m, const char *what)
{
	struct job *j;
	if ((sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds)) != 0)
		exit(1);
	pthread_t *t = start(k, sock, 0, &j);
	for (int i = 0; i < m; i++)
		write(fds[1], "x", 1);
	int one_done = waitdone(m);
	pause_ms(50);
	int still = __atomic_load_n(&finished, __ATOMIC_SEQ_CST) == m;
	for (int i = 0; i < k; i++)
		if (results[i] != 1)
			pthread_kill(t[i], SIGUSR1);
	int ended = waitdone(k);
	for (int i = 0; !ended && i < k; i++)
		write(fds[1], "y", 1); /* let them go, to report */
	join_all(t, k);
	int got = 0, eintr = 0;
	for (int i = 0; i < k; i++) {
		got += results[i] == 1;
		eintr += results[i] == -1 && errs[i] == EINTR;
	}
	/* Nothing is left reading: a byte written now is there to read. */
	char b = 0;
	write(fds[1], "z", 1);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	int kept = read(fds[0], &b, 1) == 1 && b == 'z';
	char line[160];
	snprintf(line, sizeof line, "%s: %d of %d readers got a byte, the others still wait", what, m, k);
	expect(line, one_done && still && got == m);
	snprintf(line, sizeof line, "%s: SIGUSR1 ends each other read with EINTR", what);
	expect(line, ended && eintr == k - m);
	snprintf(line, sizeof line, "%s: the interrupted reads took nothing after", what);
	expect(line, kept);
	close(fds[0]);
	close(fds[1]);
	done_with(t, j);
}

static char big[200 << 10];
static long big_r;
static int big_e;

static void *write_big(void *arg)
{
	(void)arg;
	big_r = write(fds[1], big, sizeof big);
	big_e = errno;
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A write larger than the pipe holds is taken in parts; a signal after part of it ends
   it with the count written so far. */
static void large(void)
{
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + i / 4096);
	if (pipe(fds) != 0)
		exit(1);
	int cap = fcntl(fds[1], F_GETPIPE_SZ);
	pthread_t t;
	finished = 0;
	pthread_create(&t, NULL, write_big, NULL);
	static char got[sizeof big];
	size_t have = 0;
	int same = 1;
	while (have < sizeof big) {
		long r = read(fds[0], got + have, 4096);
		if (r <= 0)
			break;
		have += r;
	}
	pthread_join(t, NULL);
	same = have == sizeof big && memcmp(got, big, sizeof big) == 0;
	expect("a write larger than the pipe is read whole and in order", same && big_r == (long)sizeof big);

	/* Nobody reads: the write fills the pipe and waits for the rest. */
	finished = 0;
	pthread_create(&t, NULL, write_big, NULL);
	pause_ms(150);
	pthread_kill(t, SIGUSR1);
	int ended = waitdone(1);
	if (!ended)
		close(fds[0]);
	pthread_join(t, NULL);
	expect("a signal after part of a write returns the count written", ended && big_r == cap);
	close(fds[0]);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 3000;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART */
	signal(SIGPIPE, SIG_IGN);
	herd(n);
	hangup(200);
	broken(200);
	losers(0, 2, 1, "pipe");
	losers(0, 64, 32, "pipe");
	losers(1, 64, 32, "socket");
	large();
	return failures != 0;
}
