/* intr interrupts a process with signals: a handler that runs in the middle of a loop
 * must leave the loop's registers as they were, a default SIGALRM ends a loop that makes
 * no system call, and a system call blocked when a handled signal arrives returns EINTR
 * or restarts under SA_RESTART, as Linux decides for each call.
 *
 * Usage: intr [loop|alarm-kill|calls] */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t hits;
static int tell_fd = -1; /* when set, the handler writes a byte there */
static void on_alarm(int sig)
{
	(void)sig;
	hits++;
	if (tell_fd >= 0)
		write(tell_fd, "!", 1);
}

static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

static void interval(long usec)
{
	struct itimerval it = {{0, usec}, {0, usec}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void once(long usec)
{
	struct itimerval it = {{0, 0}, {usec / 1000000, usec % 1000000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* A loop interrupted hundreds of times must compute what it computes uninterrupted. */
static void loop(void)
{
	handle(SIGALRM, SA_RESTART);
	interval(300);
	uint64_t x = 88172645463325252ull, sum = 0;
	long i;
	for (i = 0; i < 2000000000L && hits < 300; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum += x * (uint64_t)(i | 1);
	}
	interval(0);
	uint64_t y = 88172645463325252ull, sum2 = 0;
	for (long j = 0; j < i; j++) {
		y ^= y << 13;
		y ^= y >> 7;
		y ^= y << 17;
		sum2 += y * (uint64_t)(j | 1);
	}
	expect("handlers ran in the loop", hits >= 300);
	expect("the loop computed the same as uninterrupted", x == y && sum == sum2);
}

/* alarm with the default action ends a loop with no system call in it. */
static void alarm_kill(void)
{
	alarm(1);
	for (volatile long i = 0;; i++)
		;
}

/* ITIMER_VIRTUAL and ITIMER_PROF fire as the process uses CPU time. */
static volatile sig_atomic_t vt_hits, prof_hits;
static void on_vt(int sig)
{
	(void)sig;
	vt_hits++;
}
static void on_prof(int sig)
{
	(void)sig;
	prof_hits++;
}

static void cpu_timers(void)
{
	signal(SIGVTALRM, on_vt);
	signal(SIGPROF, on_prof);
	struct itimerval it = {{0, 5000}, {0, 5000}}, cur;
	setitimer(ITIMER_VIRTUAL, &it, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
	getitimer(ITIMER_VIRTUAL, &cur);
	/* Linux adds a tick to the value (4 ms at HZ=250): at most 5 ms more. */
	expect("getitimer ITIMER_VIRTUAL: armed, within a tick of its value",
	       cur.it_interval.tv_usec == 5000 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 10000);
	volatile unsigned long x = 1;
	for (long i = 0; i < 4000000000L && (vt_hits < 3 || prof_hits < 3); i++)
		x = x * 6364136223846793005UL + 1;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_VIRTUAL, &off, NULL);
	setitimer(ITIMER_PROF, &off, &cur);
	expect("SIGVTALRM and SIGPROF arrived while computing", vt_hits >= 3 && prof_hits >= 3);
	expect("the old ITIMER_PROF setting comes back", cur.it_interval.tv_usec == 5000);
	getitimer(ITIMER_VIRTUAL, &cur);
	expect("disarmed", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
	signal(SIGVTALRM, SIG_DFL);
	signal(SIGPROF, SIG_DFL);
}

static int tpipe[2];
static char tgot;
static void *reader(void *arg)
{
	(void)arg;
	read(tpipe[0], &tgot, 1);
	return NULL;
}

/* A thread blocked reading a pipe lets the others run: here, the one that writes. */
static void thread_read(void)
{
	pipe(tpipe);
	pthread_t th;
	pthread_create(&th, NULL, reader, NULL);
	volatile long spin = 0;
	for (long i = 0; i < 20000000; i++)
		spin += i;
	write(tpipe[1], "t", 1);
	pthread_join(th, NULL);
	expect("a thread blocked in read does not stop the others", tgot == 't');
	close(tpipe[0]);
	close(tpipe[1]);
}

static void calls(void)
{
	int p[2];
	char c;
	struct timespec ts;

	/* read from an empty pipe, interrupted: EINTR without SA_RESTART. */
	pipe(p);
	handle(SIGALRM, 0);
	once(20000);
	errno = 0;
	ssize_t n = read(p[0], &c, 1);
	expect("read interrupted: -1 EINTR", n == -1 && errno == EINTR);

	/* with SA_RESTART the read restarts and takes what a second signal's handler... the
	 * writer is a child that writes after the signal. */
	handle(SIGALRM, SA_RESTART);
	hits = 0;
	int tell[2];
	pipe(tell);
	pid_t pid = fork();
	if (pid == 0) {
		/* Writes only once the handler has run, however slow the machine. */
		char t;
		read(tell[0], &t, 1);
		write(p[1], "z", 1);
		_exit(0);
	}
	tell_fd = tell[1];
	once(20000);
	n = read(p[0], &c, 1);
	tell_fd = -1;
	expect("read restarted under SA_RESTART", n == 1 && c == 'z' && hits == 1);
	waitpid(pid, NULL, 0);
	close(tell[0]);
	close(tell[1]);

	/* nanosleep: EINTR with the time left, whatever SA_RESTART says. */
	hits = 0;
	once(20000);
	struct timespec req = {2, 0}, rem = {0, 0};
	int r = nanosleep(&req, &rem);
	expect("nanosleep interrupted: -1 EINTR", r == -1 && errno == EINTR && hits == 1);
	expect("nanosleep remaining time in (1s, 2s)", rem.tv_sec == 1 && rem.tv_nsec > 0);

	/* poll and select: EINTR even under SA_RESTART. */
	once(20000);
	struct pollfd pfd = {p[0], POLLIN, 0};
	r = poll(&pfd, 1, 5000);
	expect("poll interrupted: -1 EINTR", r == -1 && errno == EINTR);
	once(20000);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	r = select(p[0] + 1, &rd, NULL, NULL, NULL);
	expect("select interrupted: -1 EINTR", r == -1 && errno == EINTR);

	/* wait for a child: restarted under SA_RESTART, EINTR without. */
	pid = fork();
	if (pid == 0) {
		usleep(150000);
		_exit(3);
	}
	once(20000);
	int status = 0;
	hits = 0;
	pid_t w = waitpid(pid, &status, 0);
	expect("waitpid restarted under SA_RESTART", w == pid && WEXITSTATUS(status) == 3 && hits == 1);
	handle(SIGALRM, 0);
	pid = fork();
	if (pid == 0) {
		usleep(150000);
		_exit(4);
	}
	once(20000);
	w = waitpid(pid, &status, 0);
	expect("waitpid interrupted: -1 EINTR", w == -1 && errno == EINTR);
	w = waitpid(pid, &status, 0);
	expect("waitpid then reaps", w == pid && WEXITSTATUS(status) == 4);

	/* pause returns -1 EINTR after the handler. */
	once(20000);
	r = pause();
	expect("pause: -1 EINTR", r == -1 && errno == EINTR);

	/* a signal blocked during the call does not interrupt it. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &old);
	hits = 0;
	once(10000);
	ts.tv_sec = 0;
	ts.tv_nsec = 60000000;
	r = nanosleep(&ts, NULL);
	expect("blocked signal: nanosleep completes", r == 0 && hits == 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	expect("then the handler runs on unblocking", hits == 1);

	/* an ignored signal does not interrupt. */
	signal(SIGALRM, SIG_IGN);
	once(10000);
	ts.tv_nsec = 60000000;
	r = nanosleep(&ts, NULL);
	expect("ignored signal: nanosleep completes", r == 0);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *what = argc > 1 ? argv[1] : "calls";
	if (!strcmp(what, "loop"))
		loop();
	else if (!strcmp(what, "alarm-kill"))
		alarm_kill();
	else {
		calls();
		thread_read();
		cpu_timers();
	}
	return failures != 0;
}
