/* pollmask: the temporary signal mask of pselect6, ppoll, epoll_pwait, epoll_pwait2 and
 * io_pgetevents. A signal the thread blocks but the call's mask lets through ends the
 * wait, and its handler runs under that mask, its frame holding the thread's own mask
 * for sigreturn; only then is the thread's own mask back. This is the race-free wait of
 * event loops (gpg-agent's pselect woken by a SIGCONT another thread sends), which spin
 * when the handler never runs. A signal that arrives while the thread blocks it (pending
 * already, or sent by another thread during the wait) is taken alike; a ready file wins
 * over a pending signal, which then stays pending; a blocked signal whose action is to
 * be ignored ends nothing that restarts (pselect, ppoll, io_pgetevents), but epoll_wait
 * fails with EINTR, handler or not, as it does after a stop and SIGCONT. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

/* The ABI of linux/aio_abi.h, which musl's headers lack. */
typedef unsigned long aio_context_t;
struct io_event {
	uint64_t data, obj;
	int64_t res, res2;
};

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

enum { PSELECT, PPOLL, EPOLL_PWAIT, EPOLL_PWAIT2, IO_PGETEVENTS, NCALLS };
static const char *names[NCALLS] = {"pselect6", "ppoll", "epoll_pwait", "epoll_pwait2", "io_pgetevents"};

static int pfd[2], ep;
static aio_context_t aio;
static volatile sig_atomic_t handled, frame_has_own, handler_blocks_usr2;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	sigset_t now;
	handled++;
	frame_has_own = sigismember(&u->uc_sigmask, SIGUSR1) && sigismember(&u->uc_sigmask, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	handler_blocks_usr2 = sigismember(&now, SIGUSR2);
}

/* wait_with calls one of the calls on the empty pipe (or an idle AIO context) with the
 * temporary mask tmp for ms milliseconds. */
static long wait_with(int call, const sigset_t *tmp, int ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
	switch (call) {
	case PSELECT: {
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(pfd[0], &rd);
		return pselect(pfd[0] + 1, &rd, NULL, NULL, &ts, tmp);
	}
	case PPOLL: {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		return ppoll(&p, 1, &ts, tmp);
	}
	case EPOLL_PWAIT: {
		struct epoll_event ev;
		return epoll_pwait(ep, &ev, 1, ms, tmp);
	}
	case EPOLL_PWAIT2: {
		struct epoll_event ev;
		return syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, tmp, 8);
	}
	default: {
		struct io_event e;
		struct {
			const sigset_t *m;
			size_t n;
		} sig = {tmp, 8};
		return syscall(SYS_io_pgetevents, aio, 1, 1, &e, &ts, &sig);
	}
	}
}

static void report(const char *what, int call, long r)
{
	int e = errno;
	printf("%s, %s: ", names[call], what);
	if (r < 0)
		printf("%s\n", errname(e));
	else
		printf("%ld\n", r);
}

static int blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_SETMASK, NULL, &s);
	return sigismember(&s, sig);
}

static int pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static void *sender(void *arg)
{
	usleep(50000);
	kill(getpid(), SIGUSR1);
	return NULL;
}

/* in_call says whether process pid waits in system call nr or alt (libcs differ in
 * which they call), by its /proc syscall file. */
static int in_call(pid_t pid, long nr, long alt)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	long got = strtol(buf, NULL, 10);
	return got == nr || got == alt;
}

/* stop_cont stops and continues a child waiting in epoll_wait or poll with no handler
 * for anything: epoll_wait fails with EINTR, poll goes on waiting to its timeout. */
static void stop_cont(int epoll)
{
	pid_t c = fork();
	if (c == 0) {
		long r;
		if (epoll) {
			struct epoll_event ev;
			r = epoll_wait(ep, &ev, 1, 10000);
		} else {
			struct pollfd p = {.fd = pfd[0], .events = POLLIN};
			r = poll(&p, 1, 1000);
		}
		int e = errno;
		printf("%s, a stop and SIGCONT: %s\n", epoll ? "epoll_wait" : "poll",
		       r < 0 ? errname(e) : r == 0 ? "0" : "ready");
		_exit(0);
	}
	long nr = epoll ? SYS_epoll_wait : SYS_poll, alt = epoll ? SYS_epoll_pwait : SYS_ppoll;
	for (int i = 0; i < 20000 && !in_call(c, nr, alt); i++)
		usleep(1000);
	kill(c, SIGSTOP);
	int st;
	waitpid(c, &st, WUNTRACED);
	kill(c, SIGCONT);
	waitpid(c, &st, 0);
	expect("  the child ended", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(pfd) < 0)
		return 1;
	ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = pfd[0]};
	epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev);
	if (syscall(SYS_io_setup, 4, &aio) < 0)
		return 1;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t own, none;
	sigemptyset(&own);
	sigaddset(&own, SIGUSR1);
	sigaddset(&own, SIGUSR2);
	sigaddset(&own, SIGCHLD);
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &own, NULL);

	for (int call = 0; call < NCALLS; call++) {
		/* Pending before the call. */
		handled = frame_has_own = 0;
		handler_blocks_usr2 = 1;
		raise(SIGUSR1);
		report("a pending signal the mask lets through", call, wait_with(call, &none, 5000));
		expect("  its handler ran once", handled == 1);
		expect("  its frame holds the thread's own mask", frame_has_own);
		expect("  the handler ran under the call's mask", !handler_blocks_usr2);
		expect("  the thread's own mask is back", blocked(SIGUSR1) && blocked(SIGUSR2));

		/* Sent during the wait by a thread that blocks it. */
		handled = 0;
		pthread_t t;
		pthread_create(&t, NULL, sender, NULL);
		report("a signal from another thread", call, wait_with(call, &none, 5000));
		pthread_join(t, NULL);
		expect("  its handler ran once", handled == 1);
		expect("  the thread's own mask is back", blocked(SIGUSR1) && blocked(SIGUSR2));

		/* A ready file, with the signal pending: the call returns it, the signal waits. */
		if (call != IO_PGETEVENTS) {
			handled = 0;
			write(pfd[1], "x", 1);
			raise(SIGUSR1);
			report("a ready file and a pending signal", call, wait_with(call, &none, 5000));
			expect("  no handler ran", handled == 0);
			expect("  the signal is still pending", pending(SIGUSR1));
			char c;
			read(pfd[0], &c, 1);
			sigset_t only = own;
			sigdelset(&only, SIGUSR1);
			sigsuspend(&only);
			expect("  and its handler runs once unblocked", handled == 1);
		}

		/* SIGCHLD, blocked and pending, ignored by default: taken and discarded, so
		 * nothing interrupts a call that restarts. */
		raise(SIGCHLD);
		report("a pending SIGCHLD with the default action", call, wait_with(call, &none, 100));
		expect("  it is no longer pending", !pending(SIGCHLD));
		expect("  the thread's own mask is back", blocked(SIGCHLD) && blocked(SIGUSR1));

		/* A mask that keeps it blocked: the wait times out, the signal stays pending. */
		handled = 0;
		raise(SIGUSR1);
		report("a pending signal the mask blocks", call, wait_with(call, &own, 30));
		expect("  no handler ran", handled == 0);
		sigset_t only = own;
		sigdelset(&only, SIGUSR1);
		sigsuspend(&only);
		expect("  its handler runs once unblocked", handled == 1);
	}
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	stop_cont(1);
	stop_cont(0);
	return failures != 0;
}
