/* pollherd: many threads blocked in poll, select and epoll_wait. Each waiter on an
 * eventfd of its own is woken by its own write, one after the other; all the waiters on
 * one pipe wake at one write; one edge-triggered event wakes exactly one epoll_wait
 * waiter, one-shot events one each; signals end the waits with EINTR, with or without
 * SA_RESTART (these calls never restart); timeouts end them with 0; an execve in one
 * thread ends the others' waits.
 *
 * Usage: pollherd [N]       N waiters in each case (3000 by default)
 *        pollherd hold N    N waiters block (a quarter each in poll, select, epoll_wait,
 *                           and epoll_wait on epoll instances nested as deep as Linux
 *                           allows), "blocked" is printed, and one byte on stdin lets
 *                           them all go. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

enum { POLL, SELECT, EPOLL };

struct job {
	int kind;
	int fd;      /* the fd waited on (an epoll instance for EPOLL) */
	int timeout; /* ms; -1 forever */
	long r;
	int err;
	unsigned long long data; /* the epoll event's data */
	short revents;
};

static int started, finished;

static void *one(void *arg)
{
	struct job *j = arg;
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	if (j->kind == POLL) {
		struct pollfd p = {j->fd, POLLIN, 0};
		j->r = poll(&p, 1, j->timeout);
		j->revents = p.revents;
	} else if (j->kind == SELECT) {
		fd_set in;
		FD_ZERO(&in);
		FD_SET(j->fd, &in);
		struct timeval tv = {j->timeout / 1000, j->timeout % 1000 * 1000};
		j->r = select(j->fd + 1, &in, NULL, NULL, j->timeout < 0 ? NULL : &tv);
		j->revents = j->r > 0 && FD_ISSET(j->fd, &in);
	} else {
		struct epoll_event ev;
		j->r = epoll_wait(j->fd, &ev, 1, j->timeout);
		if (j->r > 0)
			j->data = ev.data.u64;
	}
	j->err = j->r < 0 ? errno : 0;
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
	nanosleep(&ts, NULL);
}

/* waitdone waits up to 5 s for want waiters to have finished. */
static int waitdone(int want)
{
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) >= want)
			return 1;
		pause_ms(1);
	}
	return 0;
}

/* start runs a waiter for each job, waits until all have started, and gives them a
   moment to block. */
static pthread_t *start(struct job *j, long n)
{
	pthread_t *t = calloc(n, sizeof *t);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	started = finished = 0;
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, one, &j[i]) != 0) {
			printf("pthread_create failed\n");
			exit(1);
		}
	while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
		sched_yield();
	pause_ms(100);
	return t;
}

static void join_all(pthread_t *t, long n)
{
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
}

static void kick(int fd)
{
	unsigned long long one = 1;
	if (write(fd, &one, sizeof one) != sizeof one)
		exit(1);
}

/* Each waiter on an eventfd of its own, woken one after the other. */
static void singly(long n, int kind, const char *what)
{
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++) {
		j[i] = (struct job){.kind = kind, .fd = eventfd(0, 0), .timeout = -1};
		if (j[i].fd < 0)
			exit(1);
	}
	pthread_t *t = start(j, n);
	int none = __atomic_load_n(&finished, __ATOMIC_SEQ_CST) == 0;
	int order = 1;
	for (long i = 0; i < n; i++) {
		kick(j[i].fd);
		if (i < 20) {
			/* The first few: the write wakes that waiter alone. */
			waitdone(i + 1);
			order &= __atomic_load_n(&finished, __ATOMIC_SEQ_CST) == i + 1;
		}
	}
	join_all(t, n);
	long ok = 0;
	for (long i = 0; i < n; i++) {
		ok += j[i].r == 1 && j[i].revents == (kind == POLL ? POLLIN : 1);
		close(j[i].fd);
	}
	char line[160];
	snprintf(line, sizeof line, "%s: each waiter on its own eventfd waits, and its write wakes it alone", what);
	expect(line, none && order && ok == n);
	free(j);
}

/* All the waiters on one pipe, woken by one byte. */
static void together(long n, int kind, const char *what)
{
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++)
		j[i] = (struct job){.kind = kind, .fd = p[0], .timeout = -1};
	pthread_t *t = start(j, n);
	int none = __atomic_load_n(&finished, __ATOMIC_SEQ_CST) == 0;
	if (write(p[1], "x", 1) != 1)
		exit(1);
	join_all(t, n);
	long ok = 0;
	for (long i = 0; i < n; i++)
		ok += j[i].r == 1 && j[i].revents == (kind == POLL ? POLLIN : 1);
	char line[160];
	snprintf(line, sizeof line, "%s: one byte in a pipe wakes all its waiters", what);
	expect(line, none && ok == n);
	close(p[0]);
	close(p[1]);
	free(j);
}

/* epoll_wait waiters on one instance: an edge-triggered event wakes exactly one of them;
   one-shot events, one each, reach every waiter once; a signal ends the others. */
static void epolls(long n)
{
	int ep = epoll_create1(0);
	int ev = eventfd(0, 0);
	struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
	epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++)
		j[i] = (struct job){.kind = EPOLL, .fd = ep, .timeout = -1};
	pthread_t *t = start(j, n);
	kick(ev);
	int one_done = waitdone(1);
	pause_ms(100);
	int only = __atomic_load_n(&finished, __ATOMIC_SEQ_CST) == 1;
	for (long i = 0; i < n; i++)
		if (j[i].r == 0 && !__atomic_load_n(&j[i].err, __ATOMIC_SEQ_CST))
			pthread_kill(t[i], SIGUSR1);
	int all = waitdone(n);
	join_all(t, all ? n : 0);
	long got = 0, eintr = 0;
	for (long i = 0; i < n; i++) {
		got += j[i].r == 1 && j[i].data == 7;
		eintr += j[i].r == -1 && j[i].err == EINTR;
	}
	expect("epoll_wait: one edge-triggered event wakes exactly one waiter", one_done && only && got == 1);
	expect("epoll_wait: SIGUSR1 ends each other wait with EINTR", all && eintr == n - 1);
	close(ep);
	close(ev);

	/* One-shot events on n eventfds, fired one at a time: each waiter gets one. */
	ep = epoll_create1(0);
	int *evs = calloc(n, sizeof *evs);
	for (long i = 0; i < n; i++) {
		evs[i] = eventfd(0, 0);
		struct epoll_event e = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = i};
		epoll_ctl(ep, EPOLL_CTL_ADD, evs[i], &e);
		j[i] = (struct job){.kind = EPOLL, .fd = ep, .timeout = -1};
	}
	t = start(j, n);
	for (long i = 0; i < n; i++)
		kick(evs[i]);
	join_all(t, n);
	char *seen = calloc(n, 1);
	long distinct = 0;
	for (long i = 0; i < n; i++)
		if (j[i].r == 1 && j[i].data < (unsigned long long)n && !seen[j[i].data]) {
			seen[j[i].data] = 1;
			distinct++;
		}
	expect("epoll_wait: one-shot events fired one at a time reach each waiter once", distinct == n);
	for (long i = 0; i < n; i++)
		close(evs[i]);
	close(ep);
	free(seen);
	free(evs);
	free(j);
}

static void on_sig(int sig) { (void)sig; }

/* Waiters on a pipe nobody writes, ended by a signal: EINTR, with SA_RESTART too. */
static void interrupted(long n, int sig, const char *what)
{
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	int ep = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++)
		j[i] = (struct job){.kind = i % 3, .fd = i % 3 == EPOLL ? ep : p[0], .timeout = -1};
	pthread_t *t = start(j, n);
	int none = __atomic_load_n(&finished, __ATOMIC_SEQ_CST) == 0;
	for (long i = 0; i < n; i++)
		pthread_kill(t[i], sig);
	int all = waitdone(n);
	if (!all)
		write(p[1], "x", 1); /* let them go, to report */
	join_all(t, n);
	long eintr = 0;
	for (long i = 0; i < n; i++)
		eintr += j[i].r == -1 && j[i].err == EINTR;
	char line[160];
	snprintf(line, sizeof line, "poll, select, epoll_wait: %s ends each wait with EINTR", what);
	expect(line, none && all && eintr == n);
	close(p[0]);
	close(p[1]);
	close(ep);
	free(j);
}

/* Waiters with a timeout on a pipe nobody writes: each returns 0 once it has passed. */
static void timeouts(long n)
{
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	int ep = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++)
		j[i] = (struct job){.kind = i % 3, .fd = i % 3 == EPOLL ? ep : p[0], .timeout = 300};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t *t = start(j, n);
	join_all(t, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long zeros = 0;
	for (long i = 0; i < n; i++)
		zeros += j[i].r == 0;
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	expect("poll, select, epoll_wait: a timeout ends each wait with 0", zeros == n && ms >= 300);
	close(p[0]);
	close(p[1]);
	close(ep);
	free(j);
}

/* deepest returns the top of a chain of epoll instances, each in the next, as long as
   Linux allows, the first of which has fd. */
static int deepest(int fd)
{
	int top = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	epoll_ctl(top, EPOLL_CTL_ADD, fd, &e);
	for (;;) {
		int next = epoll_create1(0);
		if (epoll_ctl(next, EPOLL_CTL_ADD, top, &e) != 0) {
			close(next);
			return top;
		}
		top = next;
	}
}

/* hold blocks n waiters until a byte comes on stdin, for a look from outside. */
static int hold(long n)
{
	int p[2];
	if (pipe(p) != 0)
		return 1;
	int ep = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
	int deep = deepest(p[0]);
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++) {
		j[i] = (struct job){.kind = i % 4 == 3 ? EPOLL : i % 4, .fd = p[0], .timeout = -1};
		if (i % 4 >= EPOLL)
			j[i].fd = i % 4 == EPOLL ? ep : deep;
	}
	pthread_t *t = start(j, n);
	printf("blocked %d\n", __atomic_load_n(&finished, __ATOMIC_SEQ_CST));
	fflush(stdout);
	char b;
	if (read(0, &b, 1) != 1)
		return 1;
	if (write(p[1], "x", 1) != 1)
		return 1;
	join_all(t, n);
	long ok = 0;
	for (long i = 0; i < n; i++)
		ok += j[i].r == 1;
	printf("woken %ld of %ld\n", ok, n);
	return ok != n;
}

/* execs blocks n waiters on a pipe nobody writes, then runs the program again: the exec
   ends them with their threads. */
static void execs(long n, char *prog)
{
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	int ep = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
	struct job *j = calloc(n, sizeof *j);
	for (long i = 0; i < n; i++)
		j[i] = (struct job){.kind = i % 3, .fd = i % 3 == EPOLL ? ep : p[0], .timeout = -1};
	start(j, n);
	fflush(stdout);
	execl("/proc/self/exe", prog, "after-exec", (char *)NULL);
	printf("execl failed: %s\n", strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "hold"))
		return hold(atol(argv[2]));
	if (argc > 1 && !strcmp(argv[1], "after-exec")) {
		expect("execve in a thread while the others wait in poll, select and epoll_wait", 1);
		return 0;
	}
	long n = argc > 1 ? atol(argv[1]) : 3000;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	singly(n, POLL, "poll");
	singly(n / 3, SELECT, "select");
	together(n, POLL, "poll");
	together(n / 3, SELECT, "select");
	epolls(n / 3);
	interrupted(n / 3, SIGUSR1, "a signal without SA_RESTART");
	interrupted(n / 3, SIGUSR2, "a signal with SA_RESTART");
	timeouts(n / 3);
	if (failures == 0)
		execs(n / 3, argv[0]);
	return failures != 0;
}
