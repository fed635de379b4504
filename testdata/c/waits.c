/* waits blocks in calls that wait for a peer or an event: opening a FIFO, reading an
 * eventfd or an inotify descriptor. Each wait must end when its peer comes (another
 * thread or process), and a signal must interrupt it with Linux's EINTR or restart.
 *
 *   waits checks DIR          every case, one line each
 *   waits block-KIND DIR      print "ready", then wait forever in KIND (fifo-read,
 *                             fifo-write, eventfd, inotify, threads: two threads each in one)
 *   waits sleepspin           a thread sleeps while another spins
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char fifo[512], dir[400];
static volatile sig_atomic_t caught;

static void on_alarm(int sig)
{
	(void)sig;
	caught++;
}

/* handle installs on_alarm for SIGALRM, restarting calls or not. */
static void handle(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	caught = 0;
}

/* soon arms a one-shot SIGALRM in ms milliseconds. */
static void soon(int ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void nap(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void newfifo(void)
{
	unlink(fifo);
	if (mkfifo(fifo, 0600) < 0) {
		perror("mkfifo");
		exit(2);
	}
}

static void *open_writer(void *arg)
{
	int fd = open(fifo, O_WRONLY);
	if (arg && fd >= 0)
		write(fd, "hello", 5);
	return (void *)(intptr_t)fd;
}

static void *open_reader(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)open(fifo, O_RDONLY);
}

/* after_signal makes the late peers below wait for the handler first. */
static volatile int after_signal;

/* late waits a while, and for the handler when asked. */
static void late(void)
{
	nap(100);
	while (after_signal && !caught)
		nap(10);
}

static void *late_writer(void *arg)
{
	late();
	return open_writer(arg);
}

static void *late_reader(void *arg)
{
	late();
	return open_reader(arg);
}

static int efd;
static void *late_event(void *arg)
{
	(void)arg;
	late();
	uint64_t v = 7;
	write(efd, &v, sizeof v);
	return NULL;
}

static void *late_create(void *arg)
{
	(void)arg;
	late();
	char p[600];
	snprintf(p, sizeof p, "%s/waits.new", dir);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	unlink(p);
	return NULL;
}

static void *read_event(void *arg)
{
	(void)arg;
	uint64_t v;
	read(efd, &v, sizeof v);
	return NULL;
}

static volatile int stop;
static void *spin(void *arg)
{
	(void)arg;
	while (!stop)
		;
	return NULL;
}

static void checks(void)
{
	pthread_t th;
	void *ret;
	char buf[64];

	/* A FIFO opened by two threads of one process, one end each. */
	newfifo();
	pthread_create(&th, NULL, open_writer, "data");
	int r = open(fifo, O_RDONLY);
	pthread_join(th, &ret);
	expect("threads open both ends", r >= 0 && (intptr_t)ret >= 0);
	expect("data through it", read(r, buf, sizeof buf) == 5);
	close(r);
	close((intptr_t)ret);

	/* The read end waits for a writer that comes later, and the other way round. */
	newfifo();
	pthread_create(&th, NULL, late_writer, NULL);
	r = open(fifo, O_RDONLY);
	pthread_join(th, &ret);
	expect("reader waits for a late writer", r >= 0 && (intptr_t)ret >= 0);
	close(r);
	close((intptr_t)ret);
	newfifo();
	pthread_create(&th, NULL, late_reader, NULL);
	int w = open(fifo, O_WRONLY);
	pthread_join(th, &ret);
	expect("writer waits for a late reader", w >= 0 && (intptr_t)ret >= 0);
	close(w);
	close((intptr_t)ret);

	/* A writer in another process. */
	newfifo();
	pid_t pid = fork();
	if (pid == 0) {
		nap(100);
		int fd = open(fifo, O_WRONLY);
		write(fd, "child", 5);
		_exit(0);
	}
	r = open(fifo, O_RDONLY);
	expect("reader waits for another process", r >= 0 && read(r, buf, sizeof buf) == 5);
	close(r);
	waitpid(pid, NULL, 0);

	/* A signal interrupts an open with no peer: EINTR without SA_RESTART, and a
	 * restarted open still completes when the peer comes. */
	newfifo();
	handle(0);
	soon(100);
	expect_err("open for reading interrupted", open(fifo, O_RDONLY), EINTR);
	soon(100);
	expect_err("open for writing interrupted", open(fifo, O_WRONLY), EINTR);
	expect("the handler ran twice", caught == 2);
	handle(1);
	soon(50);
	after_signal = 1;
	pthread_create(&th, NULL, late_writer, NULL);
	r = open(fifo, O_RDONLY);
	pthread_join(th, &ret);
	after_signal = 0;
	expect("a restarted open completes", r >= 0 && caught == 1);
	close(r);
	close((intptr_t)ret);
	/* The interrupted opens left no peer behind. */
	expect_err("still no reader", open(fifo, O_WRONLY | O_NONBLOCK), ENXIO);
	unlink(fifo);

	/* An empty eventfd. */
	efd = eventfd(0, 0);
	handle(0);
	soon(100);
	uint64_t v = 0;
	expect_err("eventfd read interrupted", read(efd, &v, sizeof v), EINTR);
	pthread_create(&th, NULL, late_event, NULL);
	expect("eventfd read waits for a write", read(efd, &v, sizeof v) == sizeof v && v == 7);
	pthread_join(th, NULL);
	handle(1);
	soon(50);
	after_signal = 1;
	pthread_create(&th, NULL, late_event, NULL);
	expect("a restarted eventfd read", read(efd, &v, sizeof v) == sizeof v && v == 7 && caught == 1);
	pthread_join(th, NULL);
	after_signal = 0;
	expect_err("a short eventfd read fails at once", read(efd, &v, 4), EINVAL);
	close(efd);

	/* An inotify descriptor with nothing to say. */
	int in = inotify_init1(IN_CLOEXEC);
	inotify_add_watch(in, dir, IN_CREATE);
	handle(0);
	soon(100);
	char ev[4096] __attribute__((aligned(8)));
	expect_err("inotify read interrupted", read(in, ev, sizeof ev), EINTR);
	pthread_create(&th, NULL, late_create, NULL);
	ssize_t n = read(in, ev, sizeof ev);
	struct inotify_event *e = (struct inotify_event *)ev;
	expect("inotify read waits for an event", n > 0 && (e->mask & IN_CREATE) && !strcmp(e->name, "waits.new"));
	pthread_join(th, NULL);
	expect_err("inotify cannot be written", write(in, ev, 8), EBADF);
	close(in);
	signal(SIGALRM, SIG_DFL);
}

static void block(const char *kind)
{
	pthread_t th;
	if (!strcmp(kind, "fifo-read") || !strcmp(kind, "fifo-write") || !strcmp(kind, "threads"))
		newfifo();
	if (!strcmp(kind, "threads")) {
		/* Every thread waits: one on the FIFO, one on an eventfd, main on inotify. */
		efd = eventfd(0, 0);
		pthread_create(&th, NULL, open_reader, NULL);
		pthread_create(&th, NULL, read_event, NULL);
		int in = inotify_init1(0);
		inotify_add_watch(in, dir, IN_CREATE);
		nap(100);
		printf("ready\n");
		char ev[4096];
		read(in, ev, sizeof ev);
		return;
	}
	printf("ready\n");
	if (!strcmp(kind, "fifo-read"))
		open(fifo, O_RDONLY);
	else if (!strcmp(kind, "fifo-write"))
		open(fifo, O_WRONLY);
	else if (!strcmp(kind, "eventfd")) {
		uint64_t v;
		read(eventfd(0, 0), &v, sizeof v);
	} else if (!strcmp(kind, "inotify")) {
		int in = inotify_init1(0);
		inotify_add_watch(in, dir, IN_CREATE);
		char ev[4096];
		read(in, ev, sizeof ev);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argc > 2 ? argv[2] : ".");
	snprintf(fifo, sizeof fifo, "%s/waits.fifo", dir);
	if (!strcmp(argv[1], "checks")) {
		alarm(20);
		checks();
	} else if (!strncmp(argv[1], "block-", 6)) {
		block(argv[1] + 6);
		printf("the wait ended\n");
		return 3;
	} else if (!strcmp(argv[1], "sleepspin")) {
		pthread_t th;
		pthread_create(&th, NULL, spin, NULL);
		nap(50);
		stop = 1;
		pthread_join(th, NULL);
		expect("the sleep ended while another thread spun", 1);
	} else
		return 2;
	return failures != 0;
}
