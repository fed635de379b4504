/* mqueue checks POSIX message queues: names, attributes and their limits, priority order,
 * blocking and timeouts, signals in the middle, mq_notify, the descriptor under poll,
 * select, epoll, dup and fork, permissions for another user, and the errors Linux gives. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char name[64];

static void reap(void)
{
	while (wait(NULL) > 0)
		;
}

static struct timespec in_ms(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static mqd_t make(int maxmsg, int msgsize, int flags)
{
	struct mq_attr at = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
	return mq_open(name, O_CREAT | O_EXCL | O_RDWR | flags, 0600, &at);
}

static int revents(int fd)
{
	struct pollfd p = {fd, POLLIN | POLLOUT, 0};
	poll(&p, 1, 0);
	return p.revents;
}

static void basics(void)
{
	mqd_t q = make(4, 64, 0);
	expect("mq_open creates", q >= 0);
	struct mq_attr at;
	expect("mq_getattr", mq_getattr(q, &at) == 0 && at.mq_maxmsg == 4 && at.mq_msgsize == 64 && at.mq_curmsgs == 0 &&
				     at.mq_flags == 0);
	expect("close-on-exec whatever was asked", fcntl(q, F_GETFD) == FD_CLOEXEC);
	expect("F_GETFL says O_RDWR", (fcntl(q, F_GETFL) & O_ACCMODE) == O_RDWR);
	struct stat st;
	expect("fstat: a regular file, mode 0600, ours", fstat(q, &st) == 0 && S_ISREG(st.st_mode) &&
							      (st.st_mode & 07777) == 0600 && st.st_uid == geteuid());
	expect("poll: empty is writable only", revents(q) == POLLOUT);

	expect("send prio 1", mq_send(q, "one", 4, 1) == 0);
	expect("send prio 5", mq_send(q, "five", 5, 5) == 0);
	expect("send prio 1 again", mq_send(q, "uno", 4, 1) == 0);
	expect("poll: readable and writable", revents(q) == (POLLIN | POLLOUT));
	expect("send prio 5 again", mq_send(q, "cinq", 5, 5) == 0);
	expect("poll: full is readable only", revents(q) == POLLIN);
	expect("mq_getattr counts 4", mq_getattr(q, &at) == 0 && at.mq_curmsgs == 4);
	char buf[128];
	int n = read(q, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("read: %s", buf);
	struct timespec now = in_ms(0);
	expect_err("full, timeout passed", mq_timedsend(q, "x", 1, 0, &now), ETIMEDOUT);
	struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
	expect("mq_setattr O_NONBLOCK", mq_setattr(q, &nb, &old) == 0 && old.mq_flags == 0);
	expect_err("full, O_NONBLOCK", mq_send(q, "x", 1, 0), EAGAIN);
	expect("mq_getattr says O_NONBLOCK", mq_getattr(q, &at) == 0 && at.mq_flags == O_NONBLOCK);
	expect("F_GETFL says O_NONBLOCK too", fcntl(q, F_GETFL) & O_NONBLOCK);

	unsigned prio;
	const char *want[] = {"five", "cinq", "one", "uno"};
	for (int i = 0; i < 4; i++) {
		n = mq_receive(q, buf, sizeof buf, &prio);
		printf("receive %d: %d %s prio %u\n", i, n, n > 0 ? buf : "", prio);
		expect("in order", n > 0 && strcmp(buf, want[i]) == 0);
	}
	expect_err("empty, O_NONBLOCK", mq_receive(q, buf, sizeof buf, NULL), EAGAIN);
	nb.mq_flags = O_APPEND;
	expect_err("mq_setattr of another flag", mq_setattr(q, &nb, &old), EINVAL);
	nb.mq_flags = 0;
	nb.mq_maxmsg = 99; /* ignored */
	expect("mq_setattr clears O_NONBLOCK", mq_setattr(q, &nb, &old) == 0 && old.mq_flags == O_NONBLOCK);
	expect("only the flag changes", mq_getattr(q, &at) == 0 && at.mq_flags == 0 && at.mq_maxmsg == 4);
	now = in_ms(30);
	expect_err("empty, timed", mq_timedreceive(q, buf, sizeof buf, NULL, &now), ETIMEDOUT);
	struct timespec bad = {0, 1000000000};
	expect_err("bad timeout", mq_timedreceive(q, buf, sizeof buf, NULL, &bad), EINVAL);
	mq_send(q, "m", 2, 0);
	expect_err("bad timeout, even when there is a message", mq_timedreceive(q, buf, sizeof buf, NULL, &bad),
		   EINVAL);
	expect_err("a buffer smaller than mq_msgsize", mq_receive(q, buf, 63, NULL), EMSGSIZE);
	expect_err("a message larger than mq_msgsize", mq_send(q, buf, 65, 0), EMSGSIZE);
	expect_err("a huge message", syscall(SYS_mq_timedsend, q, buf, (size_t)1 << 62, 0, NULL), EMSGSIZE);
	expect_err("priority MQ_PRIO_MAX", mq_send(q, "x", 1, 32768), EINVAL);
	expect("a zero-length message", mq_send(q, "", 0, 32767) == 0);
	expect("received first", mq_receive(q, buf, sizeof buf, &prio) == 0 && prio == 32767);
	expect("then the other", mq_receive(q, buf, sizeof buf, &prio) == 2 && prio == 0);

	/* dup, select and epoll. */
	int d = dup(q);
	expect("dup", d > q);
	expect("send through the dup", mq_send(d, "dup", 4, 2) == 0);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(q, &r);
	FD_SET(q, &w);
	struct timeval tv = {0, 0};
	expect("select: readable and writable", select(q + 1, &r, &w, NULL, &tv) == 2);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev);
	expect("epoll sees a message", epoll_wait(ep, &got, 1, 0) == 1 && got.events == EPOLLIN);
	expect("close the first", close(q) == 0);
	expect("receive through the dup", mq_receive(d, buf, sizeof buf, &prio) == 4 && prio == 2);
	expect("epoll: nothing now", epoll_wait(ep, &got, 1, 0) == 0);
	close(ep);

	/* Another descriptor of the same queue, read-only or write-only. */
	mqd_t ro = mq_open(name, O_RDONLY), wo = mq_open(name, O_WRONLY | O_NONBLOCK);
	expect("open read-only and write-only", ro >= 0 && wo >= 0);
	expect_err("send on a read-only descriptor", mq_send(ro, "x", 1, 0), EBADF);
	expect_err("receive on a write-only descriptor", mq_receive(wo, buf, sizeof buf, NULL), EBADF);
	expect("the write-only one is nonblocking", mq_getattr(wo, &at) == 0 && at.mq_flags == O_NONBLOCK);
	expect_err("write(2) on a queue", write(d, "x", 1), EINVAL);
	expect_err("write(2) on a read-only queue", write(ro, "x", 1), EBADF);
	expect_err("read(2) on a write-only queue", read(wo, buf, 1), EBADF);
	close(ro);
	close(wo);

	/* A bad buffer: the message is taken and lost, as Linux does. */
	mq_send(d, "lost", 5, 0);
	expect_err("receive into a bad buffer", syscall(SYS_mq_timedreceive, d, (void *)8, 64, NULL, NULL), EFAULT);
	expect("the message was taken", mq_getattr(d, &at) == 0 && at.mq_curmsgs == 0);
	expect_err("send from a bad buffer", syscall(SYS_mq_timedsend, d, (void *)8, 4, 0, NULL), EFAULT);
	expect_err("mq_getattr to a bad pointer", syscall(SYS_mq_getsetattr, d, NULL, (void *)8), EFAULT);
	expect_err("mq_setattr from a bad pointer", syscall(SYS_mq_getsetattr, d, (void *)8, NULL), EFAULT);
	expect_err("bad timeout pointer", syscall(SYS_mq_timedreceive, d, buf, 64, NULL, (void *)8), EFAULT);

	/* fork: the child's descriptor is the same queue. */
	fflush(stdout);
	if (fork() == 0) {
		usleep(30000);
		_exit(mq_send(d, "from the child", 15, 3) == 0 ? 0 : 1);
	}
	n = mq_receive(d, buf, sizeof buf, &prio);
	expect("a blocked receive gets the child's message", n == 15 && strcmp(buf, "from the child") == 0 && prio == 3);
	reap();
	for (int i = 0; i < 4; i++)
		mq_send(d, "fill", 5, 0);
	fflush(stdout);
	if (fork() == 0) {
		usleep(30000);
		char b[64];
		_exit(mq_receive(d, b, sizeof b, NULL) == 5 ? 0 : 1);
	}
	expect("a blocked send ends when the child receives", mq_send(d, "more", 5, 9) == 0);
	int stt;
	wait(&stt);
	expect("the child received", WIFEXITED(stt) && WEXITSTATUS(stt) == 0);
	expect("the new message is first", mq_receive(d, buf, sizeof buf, &prio) == 5 && prio == 9);
	close(d);
	expect("mq_unlink", mq_unlink(name) == 0);
	expect_err("mq_unlink again", mq_unlink(name), ENOENT);
}

static void errors(void)
{
	struct mq_attr at = {.mq_maxmsg = 2, .mq_msgsize = 16};
	expect_err("no such queue", mq_open(name, O_RDWR), ENOENT);
	mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0640, &at);
	expect("create", q >= 0);
	expect_err("O_EXCL", mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at), EEXIST);
	mqd_t again = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
	expect("O_CREAT of an existing queue opens it", again >= 0);
	struct mq_attr got;
	expect("with its own attributes", mq_getattr(again, &got) == 0 && got.mq_maxmsg == 2);
	close(again);
	struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 16};
	long r = mq_open(name, O_CREAT | O_RDWR, 0600, &bad);
	printf("O_CREAT of an existing queue, bad attr: %s\n", r < 0 ? errname(errno) : "opened");
	if (r >= 0)
		close(r);
	expect_err("O_RDWR|O_WRONLY", mq_open(name, 3), EINVAL);
	mq_close(q);
	mq_unlink(name);

	expect_err("mq_maxmsg 0", mq_open(name, O_CREAT | O_RDWR, 0600, &bad), EINVAL);
	bad.mq_maxmsg = -1;
	expect_err("mq_maxmsg -1", mq_open(name, O_CREAT | O_RDWR, 0600, &bad), EINVAL);
	bad = (struct mq_attr){.mq_maxmsg = 1, .mq_msgsize = 0};
	expect_err("mq_msgsize 0", mq_open(name, O_CREAT | O_RDWR, 0600, &bad), EINVAL);
	bad = (struct mq_attr){.mq_maxmsg = 65537, .mq_msgsize = 1};
	expect_err("mq_maxmsg above the hard limit", mq_open(name, O_CREAT | O_RDWR, 0600, &bad), EINVAL);
	bad = (struct mq_attr){.mq_maxmsg = 1, .mq_msgsize = 16 * 1024 * 1024 + 1};
	expect_err("mq_msgsize above the hard limit", mq_open(name, O_CREAT | O_RDWR, 0600, &bad), EINVAL);
	expect_err("a bad attr pointer", syscall(SYS_mq_open, name + 1, O_CREAT | O_RDWR, 0600, (void *)8), EFAULT);
	expect_err("a bad name pointer", syscall(SYS_mq_open, (void *)8, O_RDWR, 0600, NULL), EFAULT);
	expect_err("an empty name", syscall(SYS_mq_open, "", O_CREAT | O_RDWR, 0600, NULL), ENOENT);
	expect_err("a name with a slash", mq_open("/a/b", O_CREAT | O_RDWR, 0600, NULL), EACCES);
	expect_err("the name ..", syscall(SYS_mq_open, "..", O_CREAT | O_RDWR, 0600, NULL), EACCES);
	char longname[300];
	longname[0] = '/';
	memset(longname + 1, 'n', 256);
	longname[257] = 0;
	expect_err("a name of 256 bytes", mq_open(longname, O_CREAT | O_RDWR, 0600, NULL), ENAMETOOLONG);
	expect_err("mq_unlink of a name of 256 bytes", mq_unlink(longname), ENAMETOOLONG);
	expect_err("mq_unlink of nothing", mq_unlink(name), ENOENT);
	char *big = malloc(5000);
	memset(big, 'n', 4999);
	big[4999] = 0;
	expect_err("a name longer than PATH_MAX", syscall(SYS_mq_open, big, O_CREAT | O_RDWR, 0600, NULL), ENAMETOOLONG);
	free(big);
	expect_err("mq_send to no descriptor", mq_send(-1, "x", 1, 0), EBADF);
	int p[2];
	pipe(p);
	expect_err("mq_send to a pipe", mq_send(p[1], "x", 1, 0), EBADF);
	expect_err("mq_getattr of a pipe", mq_getattr(p[0], &got), EBADF);
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	expect_err("mq_notify of a pipe", mq_notify(p[0], &sev), EBADF);
	close(p[0]);
	close(p[1]);

	/* The umask applies to the mode. */
	mode_t old = umask(022);
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0666, &at);
	struct stat st;
	expect("the umask applies", fstat(q, &st) == 0 && (st.st_mode & 0777) == 0644);
	umask(old);
	close(q);
	mq_unlink(name);
}

/* Another user: permissions, mq_unlink, the unprivileged limits and RLIMIT_MSGQUEUE. */
static void other_user(void)
{
	if (geteuid() != 0) {
		printf("other user: skipped\n");
		return;
	}
	struct mq_attr small = {.mq_maxmsg = 1, .mq_msgsize = 1};
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0640, &small);
	fflush(stdout);
	if (fork() == 0) {
		/* A uid of its own, so that no other process's queues count against it. */
		uid_t uid = 40000 + getpid() % 20000;
		failures = 0;
		if (setgid(uid) || setuid(uid))
			_exit(9);
		expect_err("open without permission", mq_open(name, O_RDONLY), EACCES);
		expect_err("mq_unlink by another user", mq_unlink(name), EACCES);
		char mine[64];
		snprintf(mine, sizeof mine, "%.50s-u", name);
		struct mq_attr at = {.mq_maxmsg = 11, .mq_msgsize = 16};
		expect_err("mq_maxmsg above msg_max", mq_open(mine, O_CREAT | O_RDWR, 0600, &at), EINVAL);
		at = (struct mq_attr){.mq_maxmsg = 10, .mq_msgsize = 8193};
		expect_err("mq_msgsize above msgsize_max", mq_open(mine, O_CREAT | O_RDWR, 0600, &at), EINVAL);
		/* A name of NAME_MAX bytes, and the default attributes. */
		char longname[300];
		memset(longname, 'n', sizeof longname);
		longname[0] = '/';
		longname[256] = 0;
		memcpy(longname + 1, mine + 1, strlen(mine) - 1);
		mqd_t l = mq_open(longname, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
		expect("a name of 255 bytes", l >= 0);
		expect("the defaults: 10 messages of 8192 bytes", mq_getattr(l, &at) == 0 && at.mq_maxmsg == 10 &&
									    at.mq_msgsize == 8192);
		close(l);
		mq_unlink(longname);
		/* RLIMIT_MSGQUEUE (819200 bytes): 9 queues of the default size fit. */
		int n = 0, fds[64];
		char qn[80];
		for (; n < 64; n++) {
			snprintf(qn, sizeof qn, "%s-%d", mine, n);
			if ((fds[n] = mq_open(qn, O_CREAT | O_EXCL | O_RDWR, 0600, NULL)) < 0)
				break;
		}
		printf("queues before the limit: %d, then %s\n", n, errname(errno));
		snprintf(qn, sizeof qn, "%s-%d", mine, 0);
		mq_unlink(qn);
		expect("an unlinked queue still counts while open",
		       mq_open(qn, O_CREAT | O_EXCL | O_RDWR, 0600, NULL) < 0 && errno == EMFILE);
		close(fds[0]);
		mqd_t again = mq_open(qn, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
		expect("and not once closed", again >= 0);
		/* Small queues: the number of queues is what stops them (queues_max, 256). */
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
		expect_err("RLIMIT_MSGQUEUE cannot be raised", setrlimit(RLIMIT_MSGQUEUE, &rl), EPERM);
		for (int i = 0; i < n; i++) {
			snprintf(qn, sizeof qn, "%s-%d", mine, i);
			mq_unlink(qn);
		}
		_exit(failures);
	}
	int st;
	wait(&st);
	expect("the other user's checks", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(q);
	mq_unlink(name);
}

static volatile sig_atomic_t sigs;
static siginfo_t last;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	sigs++;
	last = *si;
}

static void blocking(void)
{
	mqd_t q = make(1, 32, 0);
	char buf[32];
	struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 30000}};
	setitimer(ITIMER_REAL, &it, NULL);
	expect_err("a signal interrupts mq_receive", mq_receive(q, buf, sizeof buf, NULL), EINTR);
	mq_send(q, "full", 5, 0);
	setitimer(ITIMER_REAL, &it, NULL);
	expect_err("a signal interrupts mq_send", mq_send(q, "x", 2, 0), EINTR);
	mq_receive(q, buf, sizeof buf, NULL);

	/* Under SA_RESTART. */
	sa.sa_flags |= SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	fflush(stdout);
	if (fork() == 0) {
		usleep(150000);
		_exit(mq_send(q, "late", 5, 0));
	}
	sigs = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	long r = mq_receive(q, buf, sizeof buf, NULL);
	printf("SA_RESTART: the handler ran %d time(s), mq_receive %s\n", (int)sigs, r < 0 ? errname(errno) : buf);
	reap();
	if (r < 0)
		mq_receive(q, buf, sizeof buf, NULL);
	struct timespec ts = in_ms(20);
	expect_err("timed out after a restart or not", mq_timedreceive(q, buf, sizeof buf, NULL, &ts), ETIMEDOUT);
	signal(SIGALRM, SIG_DFL);
	close(q);
	mq_unlink(name);
}

static volatile int thread_ran;
static union sigval thread_value;

static void on_message(union sigval v)
{
	thread_value = v;
	thread_ran = 1;
}

static void notify(void)
{
	mqd_t q = make(4, 32, 0);
	char buf[32];
	struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 42};
	expect("mq_notify", mq_notify(q, &sev) == 0);
	expect_err("mq_notify again", mq_notify(q, &sev), EBUSY);
	sigs = 0;
	mq_send(q, "a", 2, 0);
	expect("the signal came", sigs == 1 && last.si_signo == SIGUSR1 && last.si_code == SI_MESGQ &&
					  last.si_value.sival_int == 42 && last.si_pid == getpid() &&
					  last.si_uid == getuid());
	mq_send(q, "b", 2, 0);
	expect("once only", sigs == 1);
	expect("and it may be asked again", mq_notify(q, &sev) == 0);
	mq_send(q, "c", 2, 0);
	expect("not while the queue is not empty", sigs == 1);
	while (mq_receive(q, buf, sizeof buf, NULL) >= 0 && mq_getattr(q, &(struct mq_attr){0}) == 0) {
		struct mq_attr at;
		mq_getattr(q, &at);
		if (at.mq_curmsgs == 0)
			break;
	}
	fflush(stdout);
	if (fork() == 0) {
		_exit(mq_notify(q, &sev) == -1 && errno == EBUSY ? 0 : 1);
	}
	int st;
	wait(&st);
	expect("another process gets EBUSY", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fflush(stdout);
	if (fork() == 0) {
		usleep(30000);
		_exit(mq_send(q, "d", 2, 0));
	}
	expect("a waiting receiver takes the message", mq_receive(q, buf, sizeof buf, NULL) == 2);
	reap();
	expect("without the signal", sigs == 1);
	expect("still registered", mq_notify(q, &sev) == -1 && errno == EBUSY);
	expect("mq_notify(NULL) removes it", mq_notify(q, NULL) == 0 && mq_notify(q, &sev) == 0);
	int d = dup(q);
	close(d);
	fflush(stdout);
	if (fork() == 0) {
		_exit(mq_notify(q, &sev) == 0 ? 0 : 1);
	}
	wait(&st);
	expect("closing any descriptor removes it", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The child's registration went with its exit. */
	expect("and an exit does too", mq_notify(q, &sev) == 0);
	mq_notify(q, NULL);
	expect("mq_notify(NULL) when not registered", mq_notify(q, NULL) == 0);

	sev.sigev_notify = SIGEV_NONE;
	expect("SIGEV_NONE", mq_notify(q, &sev) == 0);
	mq_send(q, "e", 2, 0);
	mq_receive(q, buf, sizeof buf, NULL);
	expect("SIGEV_NONE is once only too", mq_notify(q, &sev) == 0);
	mq_notify(q, NULL);
	sev.sigev_notify = 99;
	expect_err("sigev_notify 99", mq_notify(q, &sev), EINVAL);
	sev = (struct sigevent){.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 65};
	expect_err("signal 65", mq_notify(q, &sev), EINVAL);
	expect_err("a bad sigevent pointer", syscall(SYS_mq_notify, q, (void *)8), EFAULT);
	/* The kernel's SIGEV_THREAD: sigev_signo is a netlink socket, the value a cookie. */
	struct {
		union sigval v;
		int signo, notify;
		char pad[48];
	} raw = {.notify = SIGEV_THREAD, .signo = 999};
	char cookie[32] = "cookie";
	raw.v.sival_ptr = cookie;
	expect_err("kernel SIGEV_THREAD, no such descriptor", syscall(SYS_mq_notify, q, &raw), EBADF);
	int p[2];
	pipe(p);
	raw.signo = p[0];
	expect_err("kernel SIGEV_THREAD, a pipe", syscall(SYS_mq_notify, q, &raw), ENOTSOCK);
	int us = socket(AF_UNIX, SOCK_DGRAM, 0);
	raw.signo = us;
	expect_err("kernel SIGEV_THREAD, a Unix socket", syscall(SYS_mq_notify, q, &raw), EINVAL);
	int nl = socket(AF_NETLINK, SOCK_RAW, 0);
	raw.signo = nl;
	raw.v.sival_ptr = (void *)8;
	expect_err("kernel SIGEV_THREAD, a bad cookie", syscall(SYS_mq_notify, q, &raw), EFAULT);
	raw.v.sival_ptr = cookie;
	expect("kernel SIGEV_THREAD", syscall(SYS_mq_notify, q, &raw) == 0);
	mq_send(q, "f", 2, 0);
	char got[64] = {0};
	struct pollfd pf = {nl, POLLIN, 0};
	int n = poll(&pf, 1, 2000) == 1 ? recv(nl, got, sizeof got, MSG_DONTWAIT) : -1;
	expect("the cookie came to the socket", n == 32 && strcmp(got, "cookie") == 0 && got[31] == 1);
	mq_receive(q, buf, sizeof buf, NULL);
	expect("registered again", syscall(SYS_mq_notify, q, &raw) == 0);
	mq_notify(q, NULL);
	n = poll(&pf, 1, 2000) == 1 ? recv(nl, got, sizeof got, MSG_DONTWAIT) : -1;
	expect("mq_notify(NULL) tells the socket", n == 32 && strcmp(got, "cookie") == 0 && got[31] == 2);
	close(nl);
	close(us);
	close(p[0]);
	close(p[1]);

	/* The C library's SIGEV_THREAD. */
	sev = (struct sigevent){.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_message,
				.sigev_value.sival_int = 7};
	expect("SIGEV_THREAD", mq_notify(q, &sev) == 0);
	mq_send(q, "g", 2, 0);
	for (int i = 0; i < 200 && !thread_ran; i++)
		usleep(10000);
	expect("the thread ran", thread_ran && thread_value.sival_int == 7);
	close(q);
	mq_unlink(name);
}

/* Many processes on one queue: every message arrives once. */
static void many(void)
{
	mqd_t q = make(8, 16, 0);
	enum { kids = 6, each = 50 };
	fflush(stdout);
	for (int k = 0; k < kids; k++) {
		if (fork() == 0) {
			for (int i = 0; i < each; i++) {
				int v = k * each + i;
				if (mq_send(q, (char *)&v, sizeof v, i % 3))
					_exit(1);
			}
			_exit(0);
		}
	}
	static char seen[kids * each];
	int dup = 0, n = 0;
	for (int i = 0; i < kids * each; i++) {
		int v;
		if (mq_receive(q, (char *)&v, 16, NULL) != sizeof v)
			break;
		if (v < 0 || v >= kids * each || seen[v]++)
			dup++;
		n++;
	}
	reap();
	expect("six senders, 300 messages, each once", n == kids * each && dup == 0);
	close(q);
	mq_unlink(name);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(name, sizeof name, "/vemu-mq-%d", getpid());
	basics();
	errors();
	other_user();
	blocking();
	notify();
	many();
	return failures != 0;
}
