/* poll exercises I/O multiplexing on pipes, eventfds and timerfds: poll, ppoll, select,
 * pselect, epoll (level and edge triggered, across a thread that wakes a blocked wait),
 * eventfd (counter and semaphore modes) and timerfd (relative and absolute one-shots). */
#define _GNU_SOURCE
/* Some checks hand poll and epoll_wait unmapped pointers on purpose (EFAULT): gcc's
 * warning that the destination is too small says what the check means. */
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "errnames.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

/* result prints a call's result: the value, or the errno's name. */
static void result(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

/* same_mask compares the signals the kernel's mask holds (the rest of a libc's sigset_t
 * may be anything). */
static int same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int sig = 1; sig < 65; sig++)
		if (sigismember(a, sig) != sigismember(b, sig))
			return 0;
	return 1;
}

static void poll_pipes(void)
{
	int p[2];
	pipe(p);
	struct pollfd fds[4] = {
		{.fd = p[0], .events = POLLIN},
		{.fd = p[1], .events = POLLOUT},
		{.fd = -1, .events = POLLIN, .revents = 0x7f},
		{.fd = 77, .events = POLLIN},
	};
	result("poll empty pipe (read end only)", poll(fds, 1, 0));
	result("poll timeout 10ms", poll(fds, 1, 10));
	int r = poll(fds, 4, 0);
	result("poll with negative and closed fds", r);
	printf("  revents: read %#x write %#x negative %#x closed %#x\n", fds[0].revents, fds[1].revents,
	       fds[2].revents, fds[3].revents);
	write(p[1], "x", 1);
	r = poll(fds, 2, -1);
	result("poll after write", r);
	printf("  revents: read %#x write %#x\n", fds[0].revents, fds[1].revents);
	char c;
	read(p[0], &c, 1);
	close(p[1]);
	r = poll(fds, 1, -1);
	result("poll after writer closed", r);
	printf("  revents: read %#x\n", fds[0].revents);
	close(p[0]);

	errno = 0;
	result("poll bad pointer", poll((struct pollfd *)8, 1, 0));
}

static void ppoll_pipes(void)
{
	int p[2];
	pipe(p);
	struct pollfd fd = {.fd = p[0], .events = POLLIN};
	struct timespec ts = {0, 5000000};
	sigset_t mask, before, after;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigemptyset(&before);
	sigemptyset(&after);
	sigprocmask(SIG_SETMASK, NULL, &before);
	result("ppoll timeout 5ms", ppoll(&fd, 1, &ts, &mask));
	sigprocmask(SIG_SETMASK, NULL, &after);
	expect("ppoll restores the signal mask", same_mask(&before, &after));
	write(p[1], "ab", 2);
	ts.tv_sec = 5;
	ts.tv_nsec = 0;
	result("ppoll readable", ppoll(&fd, 1, &ts, NULL));
	printf("  revents: %#x\n", fd.revents);
	result("ppoll no timeout", ppoll(&fd, 1, NULL, NULL));
	ts.tv_nsec = 1000000000;
	result("ppoll bad timeout", ppoll(&fd, 1, &ts, NULL));
	close(p[0]);
	close(p[1]);
}

static void select_pipes(void)
{
	int p[2];
	pipe(p);
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &wr);
	struct timeval tv = {0, 10000};
	int r = select(p[1] + 1, &rd, &wr, NULL, &tv);
	result("select write end only", r);
	printf("  read set %d write set %d\n", FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr));

	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv.tv_sec = 0;
	tv.tv_usec = 10000;
	r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	result("select timeout 10ms", r);
	printf("  time left %ld.%06ld, read set %d\n", (long)tv.tv_sec, (long)tv.tv_usec, FD_ISSET(p[0], &rd));

	write(p[1], "x", 1);
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &rd);
	FD_SET(p[1], &wr);
	r = select(p[1] + 1, &rd, &wr, NULL, NULL);
	result("select both ends", r);
	printf("  read set %d/%d write set %d\n", FD_ISSET(p[0], &rd), FD_ISSET(p[1], &rd), FD_ISSET(p[1], &wr));

	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	FD_SET(60, &rd);
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	result("select closed fd", select(61, &rd, NULL, NULL, &tv));
	result("select negative nfds", select(-1, NULL, NULL, NULL, &tv));
	tv.tv_usec = -1;
	result("select negative timeout", select(1, NULL, NULL, NULL, &tv));

	sigset_t mask, before, after;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	sigemptyset(&before);
	sigemptyset(&after);
	sigprocmask(SIG_SETMASK, NULL, &before);
	struct timespec ts = {0, 5000000};
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	result("pselect readable", pselect(p[0] + 1, &rd, NULL, NULL, &ts, &mask));
	printf("  read set %d\n", FD_ISSET(p[0], &rd));
	char c;
	read(p[0], &c, 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	result("pselect timeout 5ms", pselect(p[0] + 1, &rd, NULL, NULL, &ts, &mask));
	sigprocmask(SIG_SETMASK, NULL, &after);
	expect("pselect restores the signal mask", same_mask(&before, &after));
	close(p[0]);
	close(p[1]);
}

static int wake_fd;

static void *waker(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 20000000};
	nanosleep(&ts, NULL);
	write(wake_fd, "w", 1);
	return NULL;
}

static void print_events(const char *what, int n, struct epoll_event *ev)
{
	result(what, n);
	for (int i = 0; i < n; i++)
		printf("  event %#x data %#llx\n", ev[i].events, (unsigned long long)ev[i].data.u64);
}

static void epoll_pipes(void)
{
	int p[2], q[2];
	pipe(p);
	pipe(q);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	expect("epoll_create1 fd", ep >= 0);
	expect("epoll_create1 cloexec", fcntl(ep, F_GETFD) == FD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
	struct epoll_event out[8];
	result("epoll_ctl add level", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	result("epoll_ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	result("epoll_ctl add closed fd", epoll_ctl(ep, EPOLL_CTL_ADD, 70, &ev));
	result("epoll_ctl add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	result("epoll_ctl bad op", epoll_ctl(ep, 42, p[0], &ev));
	result("epoll_ctl mod absent", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 0xfedcba9876543210ULL;
	result("epoll_ctl add edge", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));

	print_events("epoll_wait nothing ready", epoll_wait(ep, out, 8, 0), out);
	print_events("epoll_wait timeout 10ms", epoll_wait(ep, out, 8, 10), out);
	write(p[1], "a", 1);
	print_events("epoll_wait level", epoll_wait(ep, out, 8, -1), out);
	print_events("epoll_wait level again", epoll_wait(ep, out, 8, 0), out);
	char buf[8];
	read(p[0], buf, 1);
	write(q[1], "b", 1);
	print_events("epoll_wait edge", epoll_wait(ep, out, 8, -1), out);
	print_events("epoll_wait edge again", epoll_wait(ep, out, 8, 0), out);
	write(q[1], "c", 1);
	print_events("epoll_wait edge new data", epoll_wait(ep, out, 8, 0), out);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	write(p[1], "d", 1);
	print_events("epoll_pwait", epoll_pwait(ep, out, 8, 1000, &mask), out);
	read(p[0], buf, 1);
	struct timespec ts = {0, 10000000};
	errno = 0;
	long r = syscall(SYS_epoll_pwait2, ep, out, 8, &ts, NULL, 8);
	print_events("epoll_pwait2 timeout 10ms", (int)r, out);
	write(p[1], "e", 1);
	r = syscall(SYS_epoll_pwait2, ep, out, 8, NULL, NULL, 8);
	print_events("epoll_pwait2 no timeout", (int)r, out);
	read(p[0], buf, 1);

	ev.events = EPOLLOUT;
	ev.data.u64 = 7;
	result("epoll_ctl mod", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev));
	result("epoll_ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));
	result("epoll_ctl del again", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));

	/* A thread writes while this one waits: the wait must not stop it. */
	wake_fd = p[1];
	pthread_t th;
	pthread_create(&th, NULL, waker, NULL);
	print_events("epoll_wait woken by a thread", epoll_wait(ep, out, 8, 5000), out);
	pthread_join(th, NULL);
	read(p[0], buf, 1);
	pthread_create(&th, NULL, waker, NULL);
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	result("poll woken by a thread", poll(&pfd, 1, 5000));
	pthread_join(th, NULL);
	read(p[0], buf, 1);

	result("epoll_wait maxevents 0", epoll_wait(ep, out, 0, 0));
	result("epoll_wait not epoll", epoll_wait(p[0], out, 8, 0));
	result("epoll_wait bad buffer, nothing ready", epoll_wait(ep, (struct epoll_event *)8, 8, 0));
	write(p[1], "f", 1);
	result("epoll_wait bad buffer, ready", epoll_wait(ep, (struct epoll_event *)8, 8, 0));
	print_events("epoll_wait after bad buffer", epoll_wait(ep, out, 8, 0), out);
	read(p[0], buf, 1);
	result("epoll_create 0", syscall(SYS_epoll_create, 0));
	result("epoll_create1 bad flags", epoll_create1(1));
	int ep2 = epoll_create(1);
	expect("epoll_create no cloexec", fcntl(ep2, F_GETFD) == 0);
	close(ep2);
	close(ep);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void eventfds(void)
{
	int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	expect("eventfd cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
	expect("eventfd nonblock", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	uint64_t v = 4;
	result("eventfd write", write(fd, &v, 8));
	struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
	result("eventfd poll", poll(&pfd, 1, 0));
	printf("  revents %#x\n", pfd.revents);
	v = 0;
	result("eventfd read", read(fd, &v, 8));
	printf("  counter %llu\n", (unsigned long long)v);
	result("eventfd read empty", read(fd, &v, 8));
	close(fd);

	fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	for (int i = 0; i < 3; i++) {
		v = 0;
		long r = read(fd, &v, 8);
		result("semaphore read", r);
		if (r == 8)
			printf("  value %llu\n", (unsigned long long)v);
	}
	close(fd);
	result("eventfd bad flags", eventfd(0, 0x10));
	fd = syscall(SYS_eventfd, 1);
	v = 0;
	result("old eventfd read", read(fd, &v, 8));
	printf("  counter %llu\n", (unsigned long long)v);
	close(fd);
}

static void timerfds(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	expect("timerfd cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
	struct itimerspec it = {.it_value = {0, 20000000}};
	struct itimerspec old, cur;
	result("timerfd_settime 20ms", timerfd_settime(fd, 0, &it, &old));
	printf("  old value %ld.%09ld\n", (long)old.it_value.tv_sec, old.it_value.tv_nsec);
	result("timerfd_gettime", timerfd_gettime(fd, &cur));
	expect("  armed, at most 20ms left", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
						      cur.it_value.tv_nsec <= 20000000);
	uint64_t n = 0;
	result("timerfd read before expiry", read(fd, &n, 8));
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;
	while ((r = poll(&pfd, 1, -1)) == 0)
		;
	result("timerfd poll", r);
	printf("  revents %#x\n", pfd.revents);
	result("timerfd read", read(fd, &n, 8));
	printf("  expirations %llu\n", (unsigned long long)n);
	timerfd_gettime(fd, &cur);
	expect("disarmed after expiry", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	it.it_value = now;
	it.it_value.tv_nsec += 10000000;
	if (it.it_value.tv_nsec >= 1000000000) {
		it.it_value.tv_sec++;
		it.it_value.tv_nsec -= 1000000000;
	}
	result("timerfd_settime absolute", timerfd_settime(fd, TFD_TIMER_ABSTIME, &it, NULL));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 99}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	print_events("epoll on timerfd", epoll_wait(ep, &out, 1, 5000), &out);
	result("timerfd read", read(fd, &n, 8));
	printf("  expirations %llu\n", (unsigned long long)n);
	close(ep);

	clock_gettime(CLOCK_REALTIME, &now);
	close(fd);
	fd = timerfd_create(CLOCK_REALTIME, 0);
	it.it_value = now;
	it.it_value.tv_sec -= 1;
	result("timerfd_settime realtime past", timerfd_settime(fd, TFD_TIMER_ABSTIME, &it, NULL));
	result("timerfd blocking read", read(fd, &n, 8));
	printf("  expirations %llu\n", (unsigned long long)n);
	close(fd);

	result("timerfd bad clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
	result("timerfd bad flags", timerfd_create(CLOCK_MONOTONIC, 0x10));
	int p[2];
	pipe(p);
	it.it_value.tv_sec = 1;
	result("timerfd_settime on a pipe", timerfd_settime(p[0], 0, &it, NULL));
	close(p[0]);
	close(p[1]);
	fd = timerfd_create(CLOCK_BOOTTIME, 0);
	it.it_value.tv_nsec = 1000000000;
	result("timerfd_settime bad value", timerfd_settime(fd, 0, &it, NULL));
	result("timerfd_settime bad flags", timerfd_settime(fd, 0x8, &it, NULL));
	result("timerfd_gettime bad pointer", timerfd_gettime(fd, (struct itimerspec *)8));
	close(fd);
}

/* sorted_data prints the data of n events in ascending order (the kernel's order among
 * entries that became ready together is its own business). */
static void sorted_data(const char *what, int n, struct epoll_event *ev)
{
	unsigned long long d[8];
	for (int i = 0; i < n && i < 8; i++) {
		d[i] = ev[i].data.u64;
		for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
			unsigned long long x = d[j];
			d[j] = d[j - 1];
			d[j - 1] = x;
		}
	}
	printf("%s: %d:", what, n);
	for (int i = 0; i < n && i < 8; i++)
		printf(" %llu", d[i]);
	printf("\n");
}

/* epoll_dups: Linux keys an entry on the file and the descriptor number, so two
 * descriptors of one file are two entries, each with its own data; closing one
 * descriptor leaves its entry while the file stays open, and closing the last removes
 * them all (and releases the file: a pipe's reader sees the end). */
static void epoll_dups(void)
{
	int p[2];
	pipe(p);
	int d = dup(p[0]);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1}, out[8];
	result("epoll dup: add fd", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ev.data.u64 = 2;
	result("epoll dup: add its dup", epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev));
	result("epoll dup: add the dup again", epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev));
	ev.data.u64 = 3;
	result("epoll dup: mod the dup", epoll_ctl(ep, EPOLL_CTL_MOD, d, &ev));
	sorted_data("epoll dup: nothing ready", epoll_wait(ep, out, 8, 0), out);
	write(p[1], "x", 1);
	sorted_data("epoll dup: both ready", epoll_wait(ep, out, 8, 0), out);
	close(p[0]);
	sorted_data("epoll dup: closed fd's entry stays", epoll_wait(ep, out, 8, 0), out);
	result("epoll dup: del closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], &ev));
	result("epoll dup: del the dup", epoll_ctl(ep, EPOLL_CTL_DEL, d, &ev));
	result("epoll dup: del the dup again", epoll_ctl(ep, EPOLL_CTL_DEL, d, &ev));
	sorted_data("epoll dup: one left", epoll_wait(ep, out, 8, 0), out);
	ev.data.u64 = 4;
	result("epoll dup: add the dup back", epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev));
	sorted_data("epoll dup: two again", epoll_wait(ep, out, 8, 0), out);
	close(d);
	sorted_data("epoll dup: file closed, none", epoll_wait(ep, out, 8, 0), out);

	/* Both descriptors of a pipe's write end in the instance, then closed: the
	 * reader sees the end of the file. */
	int q[2];
	pipe(q);
	int wd = dup(q[1]);
	ev.events = EPOLLOUT;
	epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &ev);
	epoll_ctl(ep, EPOLL_CTL_ADD, wd, &ev);
	close(q[1]);
	close(wd);
	fcntl(q[0], F_SETFL, O_NONBLOCK);
	char c;
	result("epoll dup: reader after the writer's fds closed", read(q[0], &c, 1));
	close(q[0]);
	close(p[1]);
	close(ep);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	poll_pipes();
	ppoll_pipes();
	select_pipes();
	epoll_pipes();
	epoll_dups();
	eventfds();
	timerfds();
	printf("failures: %d\n", failures);
	return failures != 0;
}
