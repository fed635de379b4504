/* aio checks the native AIO calls through their raw system calls: io_setup's limits, the
 * ring at the context's address that a program may read itself, reads, writes, fsyncs and
 * polls, eventfd notification, per-request errors and partial submissions, io_cancel,
 * io_getevents' waits, timeouts and signals, and io_destroy. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* The ABI of linux/aio_abi.h, which musl's headers lack. */
typedef unsigned long aio_context_t;
enum { IOCB_CMD_PREAD = 0, IOCB_CMD_PWRITE = 1, IOCB_CMD_FSYNC = 2, IOCB_CMD_FDSYNC = 3, IOCB_CMD_POLL = 5,
       IOCB_CMD_PREADV = 7, IOCB_CMD_PWRITEV = 8 };
#define IOCB_FLAG_RESFD 1
struct io_event {
	uint64_t data, obj;
	int64_t res, res2;
};
struct iocb {
	uint64_t aio_data;
	uint32_t aio_key, aio_rw_flags;
	uint16_t aio_lio_opcode;
	int16_t aio_reqprio;
	uint32_t aio_fildes;
	uint64_t aio_buf, aio_nbytes;
	int64_t aio_offset;
	uint64_t aio_reserved2;
	uint32_t aio_flags, aio_resfd;
};

struct ring {
	unsigned id, nr, head, tail, magic, compat, incompat, header_length;
	struct io_event events[];
};

static long io_setup(unsigned n, aio_context_t *c) { return syscall(SYS_io_setup, n, c); }
static long io_destroy(aio_context_t c) { return syscall(SYS_io_destroy, c); }
static long io_submit(aio_context_t c, long n, struct iocb **v) { return syscall(SYS_io_submit, c, n, v); }
static long io_cancel(aio_context_t c, struct iocb *cb, struct io_event *e) { return syscall(SYS_io_cancel, c, cb, e); }
static long io_getevents(aio_context_t c, long min, long n, struct io_event *e, struct timespec *ts)
{
	return syscall(SYS_io_getevents, c, min, n, e, ts);
}

static struct iocb make(int op, int fd, void *buf, size_t n, long off, uint64_t data)
{
	struct iocb cb = {.aio_lio_opcode = op, .aio_fildes = fd, .aio_buf = (uintptr_t)buf, .aio_nbytes = n,
			  .aio_offset = off, .aio_data = data};
	return cb;
}

static long submit1(aio_context_t c, struct iocb *cb) { return io_submit(c, 1, &cb); }

static struct io_event wait1(aio_context_t c)
{
	struct io_event e = {0};
	struct timespec ts = {5, 0};
	if (io_getevents(c, 1, 1, &e, &ts) != 1)
		e.res = -9999;
	return e;
}

static void setup_limits(void)
{
	aio_context_t c = 1;
	expect_err("a context that is not 0", io_setup(4, &c), EINVAL);
	c = 0;
	expect_err("nr_events 0", io_setup(0, &c), EINVAL);
	expect_err("above aio-max-nr", io_setup(70000, &c), EAGAIN);
	expect_err("far too many", io_setup(5000000, &c), EINVAL);
	expect_err("UINT_MAX", io_setup(0xffffffffu, &c), EINVAL);
	expect_err("a bad pointer", io_setup(4, (aio_context_t *)8), EFAULT);
	aio_context_t many[100];
	int ok = 1;
	for (int i = 0; i < 100; i++) {
		many[i] = 0;
		ok &= io_setup(1, &many[i]) == 0;
	}
	expect("100 contexts", ok);
	for (int i = 0; i < 100; i++)
		ok &= io_destroy(many[i]) == 0;
	expect("and their ends", ok);
	expect_err("io_destroy again", io_destroy(many[0]), EINVAL);
	expect_err("io_destroy of nothing", io_destroy(12345), EINVAL);
}

static void file_io(const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/aio-file", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	aio_context_t c = 0;
	expect("io_setup", io_setup(8, &c) == 0 && c != 0);
	struct ring *r = (struct ring *)c;
	expect("the ring at the context", r->magic == 0xa10a10a1 && r->header_length == 32 && r->head == 0 &&
						  r->tail == 0 && r->compat == 1 && r->incompat == 0 && r->nr >= 8);

	char out[] = "hello, aio";
	struct iocb w = make(IOCB_CMD_PWRITE, fd, out, sizeof out, 100, 42);
	expect("submit a write", submit1(c, &w) == 1);
	struct io_event e = wait1(c);
	expect("its completion", e.res == sizeof out && e.data == 42 && e.obj == (uintptr_t)&w && e.res2 == 0);
	char in[32] = {0};
	struct iocb rd = make(IOCB_CMD_PREAD, fd, in, sizeof in, 100, 43);
	expect("submit a read", submit1(c, &rd) == 1);
	/* Read the ring as libaio does. */
	unsigned head = r->head, tail = r->tail;
	expect("the completion is in the ring", tail == (head + 1) % r->nr && r->events[head].data == 43 &&
							r->events[head].res == sizeof out);
	r->head = tail;
	struct timespec zero = {0, 0};
	expect("consumed from user space: nothing left", io_getevents(c, 0, 1, &e, &zero) == 0);
	expect("the bytes", strcmp(in, out) == 0);

	char a[4] = "abc", b[4] = "def", x[4], y[4];
	struct iovec wv[2] = {{a, 3}, {b, 3}}, rv[2] = {{x, 3}, {y, 3}};
	struct iocb wcb = make(IOCB_CMD_PWRITEV, fd, wv, 2, 0, 1), rcb = make(IOCB_CMD_PREADV, fd, rv, 2, 0, 2);
	struct iocb fs = make(IOCB_CMD_FSYNC, fd, NULL, 0, 0, 3), fds = make(IOCB_CMD_FDSYNC, fd, NULL, 0, 0, 4);
	struct iocb *v[] = {&wcb, &fs, &fds};
	expect("three at once", io_submit(c, 3, v) == 3);
	struct io_event ev[4];
	expect("three completions", io_getevents(c, 3, 4, ev, NULL) == 3 && ev[0].res == 6 && ev[1].res == 0 &&
					    ev[2].res == 0);
	expect("readv", submit1(c, &rcb) == 1 && wait1(c).res == 6 && memcmp(x, "abc", 3) == 0 &&
				memcmp(y, "def", 3) == 0);

	/* Per-request errors. */
	struct iocb bad = make(IOCB_CMD_PREAD, 999, in, 4, 0, 5);
	struct iocb good = make(IOCB_CMD_PREAD, fd, in, 4, 0, 6);
	struct iocb *mix[] = {&good, &bad, &good};
	expect("a partial submission counts what went", io_submit(c, 3, mix) == 1 && wait1(c).data == 6);
	expect_err("a bad descriptor first", submit1(c, &bad), EBADF);
	struct iocb op = make(99, fd, in, 4, 0, 0);
	expect_err("a bad opcode", submit1(c, &op), EINVAL);
	struct iocb res = good;
	res.aio_reserved2 = 1;
	expect_err("aio_reserved2", submit1(c, &res), EINVAL);
	struct iocb flags = good;
	flags.aio_rw_flags = 0x10000;
	expect_err("unknown aio_rw_flags", submit1(c, &flags), EOPNOTSUPP);
	struct iocb huge = make(IOCB_CMD_PREAD, fd, in, (size_t)1 << 63, 0, 0);
	expect_err("aio_nbytes above SSIZE_MAX", submit1(c, &huge), EINVAL);
	struct iocb *badp = (struct iocb *)8;
	expect_err("a bad iocb pointer", io_submit(c, 1, &badp), EFAULT);
	expect_err("a bad array", io_submit(c, 1, (struct iocb **)8), EFAULT);
	expect_err("nr -1", io_submit(c, -1, v), EINVAL);
	expect_err("a bad context", io_submit(12345, 1, v), EINVAL);
	expect("nr 0", io_submit(c, 0, v) == 0);
	struct iocb rbuf = make(IOCB_CMD_PREAD, fd, (void *)8, 4, 0, 7);
	expect("a bad buffer is the completion's error", submit1(c, &rbuf) == 1 && wait1(c).res == -EFAULT);
	struct iocb badv = make(IOCB_CMD_PREADV, fd, (void *)8, 2, 0, 7);
	expect_err("a bad iovec array", submit1(c, &badv), EFAULT);
	int ro = open(path, O_RDONLY);
	struct iocb wro = make(IOCB_CMD_PWRITE, ro, out, 4, 0, 8);
	expect_err("a write to a read-only descriptor", submit1(c, &wro), EBADF);
	close(ro);
	struct iocb fsb = make(IOCB_CMD_FSYNC, fd, in, 0, 0, 0);
	expect_err("fsync with a buffer", submit1(c, &fsb), EINVAL);

	/* IOCB_FLAG_RESFD. */
	int efd = eventfd(0, EFD_NONBLOCK);
	struct iocb nr1 = good, nr2 = good;
	nr1.aio_flags = nr2.aio_flags = IOCB_FLAG_RESFD;
	nr1.aio_resfd = nr2.aio_resfd = efd;
	struct iocb *two[] = {&nr1, &nr2};
	expect("two with an eventfd", io_submit(c, 2, two) == 2);
	uint64_t cnt = 0;
	expect("the eventfd counts two", read(efd, &cnt, 8) == 8 && cnt == 2);
	io_getevents(c, 2, 2, ev, NULL);
	struct iocb nr3 = nr1;
	nr3.aio_resfd = fd;
	expect_err("a resfd that is not an eventfd", submit1(c, &nr3), EINVAL);
	nr3.aio_resfd = 999;
	expect_err("a resfd that is not open", submit1(c, &nr3), EBADF);
	close(efd);

	/* io_cancel of a finished request, and of nothing. */
	expect_err("io_cancel of a finished request", io_cancel(c, &good, &e), EINVAL);
	good.aio_key = 7;
	expect_err("io_cancel with a wrong key", io_cancel(c, &good, &e), EINVAL);
	expect_err("io_cancel, bad iocb", io_cancel(c, (struct iocb *)8, &e), EFAULT);

	/* Too many in flight without reaping: EAGAIN comes. */
	int n = 0;
	long ret;
	struct iocb sync = make(IOCB_CMD_FDSYNC, fd, NULL, 0, 0, 9);
	while ((ret = submit1(c, &sync)) == 1 && n < 1000)
		n++;
	expect("a full ring refuses with EAGAIN", ret < 0 && errno == EAGAIN && n >= 8 && n < r->nr);
	struct io_event *all = calloc(r->nr, sizeof *all);
	struct timespec five = {5, 0};
	expect("all of them arrive", io_getevents(c, n, r->nr, all, &five) == n);
	free(all);

	expect("io_destroy", io_destroy(c) == 0);
	expect_err("io_getevents after io_destroy", io_getevents(c, 0, 1, &e, &zero), EINVAL);
	close(fd);
	unlink(path);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int s) { alarms++; }

static void waits(void)
{
	aio_context_t c = 0;
	io_setup(8, &c);
	int p[2];
	pipe(p);
	struct io_event e[2];
	struct timespec ts = {0, 20000000};
	expect_err("min_nr above nr", io_getevents(c, 2, 1, e, NULL), EINVAL);
	expect_err("min_nr negative", io_getevents(c, -1, 1, e, NULL), EINVAL);
	expect_err("a bad timeout pointer", io_getevents(c, 1, 1, e, (struct timespec *)8), EFAULT);
	expect("a timeout with nothing", io_getevents(c, 1, 1, e, &ts) == 0);

	/* A poll that waits, then completes. */
	long r;
	struct iocb pl = make(IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 10);
	expect("submit a poll", submit1(c, &pl) == 1);
	expect("not ready yet", io_getevents(c, 1, 1, e, &ts) == 0);
	write(p[1], "x", 1);
	ts.tv_sec = 5;
	r = io_getevents(c, 1, 1, e, &ts);
	printf("ready: %ld completion(s), data %llu, res %#llx\n", r, (unsigned long long)e[0].data, (long long)e[0].res);
	struct iocb pr = make(IOCB_CMD_POLL, p[1], (void *)POLLOUT, 0, 0, 11);
	expect("a poll ready at once", submit1(c, &pr) == 1 && io_getevents(c, 1, 1, e, &ts) == 1 &&
					       e[0].res == POLLOUT);
	struct iocb pbad = pl;
	pbad.aio_offset = 1;
	expect_err("a poll with an offset", submit1(c, &pbad), EINVAL);
	char one;
	read(p[0], &one, 1);

	/* io_cancel of a waiting poll. */
	struct iocb pc = make(IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 12);
	expect("submit another poll", submit1(c, &pc) == 1);
	r = io_cancel(c, &pc, e);
	printf("io_cancel of a waiting poll: %s\n", r < 0 ? errname(errno) : "0");
	r = io_getevents(c, 1, 1, e, &ts);
	printf("then: %ld completion(s), data %llu, res %lld\n", r, (unsigned long long)e[0].data, (long long)e[0].res);

	/* A read of a pipe that another process fills later. */
	char buf[16] = {0};
	struct iocb pread = make(IOCB_CMD_PREAD, p[0], buf, sizeof buf, 0, 13);
	fflush(stdout);
	if (fork() == 0) {
		usleep(50000);
		write(p[1], "later", 5);
		_exit(0);
	}
	expect("submit a read of an empty pipe", submit1(c, &pread) == 1);
	expect("it completes", io_getevents(c, 1, 1, e, &ts) == 1 && e[0].res == 5 && strcmp(buf, "later") == 0);
	wait(NULL);

	/* A signal interrupts io_getevents, even under SA_RESTART. */
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	ualarm(30000, 0);
	expect_err("a signal interrupts io_getevents", io_getevents(c, 1, 1, e, NULL), EINTR);
	expect("the handler ran", alarms == 1);

	/* io_pgetevents. */
	sigset_t mask;
	sigemptyset(&mask);
	struct {
		sigset_t *m;
		size_t n;
	} sig = {&mask, 8}, badsig = {&mask, 7};
	ts = (struct timespec){0, 10000000};
	expect("io_pgetevents times out", syscall(SYS_io_pgetevents, c, 1, 1, e, &ts, &sig) == 0);
	expect_err("io_pgetevents, a bad sigset size", syscall(SYS_io_pgetevents, c, 1, 1, e, &ts, &badsig), EINVAL);

	/* A child has no contexts. */
	fflush(stdout);
	if (fork() == 0)
		_exit(io_getevents(c, 0, 1, e, &ts) == -1 && errno == EINVAL ? 0 : 1);
	int st;
	wait(&st);
	expect("fork does not pass contexts on", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	io_destroy(c);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char dir[] = "/tmp/vemu-aio-XXXXXX";
	if (!mkdtemp(dir))
		return 2;
	setup_limits();
	file_io(dir);
	waits();
	rmdir(dir);
	return failures != 0;
}
