/* timers checks POSIX per-process timers (timer_create and its family) and timerfd:
 * ids, clocks, notification, siginfo, overruns, settings, errors, fork and execve.
 * With the argument one-process it leaves out fork and execve. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

/* The kernel's struct sigevent, the same for both C libraries. */
struct ksigevent {
	uint64_t value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

#define KSIGEV_SIGNAL 0
#define KSIGEV_NONE 1
#define KSIGEV_THREAD 2
#define KSIGEV_THREAD_ID 4

static long tcreate(long clk, struct ksigevent *ev, int *id)
{
	return syscall(SYS_timer_create, clk, ev, id);
}

static long tset(int id, int flags, long vsec, long vnsec, long isec, long insec, struct itimerspec *old)
{
	struct itimerspec it = {{isec, insec}, {vsec, vnsec}};
	return syscall(SYS_timer_settime, id, flags, &it, old);
}

static long tget(int id, struct itimerspec *cur) { return syscall(SYS_timer_gettime, id, cur); }

static long tdelete(int id) { return syscall(SYS_timer_delete, id); }

static long toverrun(int id) { return syscall(SYS_timer_getoverrun, id); }

/* err runs a call that should fail and names its errno ("OK" if it did not fail). */
#define err(call) ((call) < 0 ? errname(errno) : "OK")

static long ns(struct timespec ts) { return ts.tv_sec * 1000000000L + ts.tv_nsec; }

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
	while (nanosleep(&ts, &ts) < 0)
		;
}

static int next_id; /* the id the next timer_create should give */

static void check_ids_and_clocks(void)
{
	struct ksigevent none = {.notify = KSIGEV_NONE};
	int id = -1;

	expect("timer_create(NULL sigevent) gives id 0", tcreate(CLOCK_MONOTONIC, NULL, &id) == 0 && id == 0);
	expect("ids count up", tcreate(CLOCK_REALTIME, &none, &id) == 0 && id == 1);
	expect("delete", tdelete(0) == 0);
	expect("ids are not reused at once", tcreate(CLOCK_MONOTONIC, &none, &id) == 0 && id == 2);
	expect("delete again", tdelete(1) == 0 && tdelete(2) == 0);
	next_id = 3;

	static const struct {
		const char *name;
		long clk;
	} clocks[] = {
		{"CLOCK_REALTIME", CLOCK_REALTIME},
		{"CLOCK_MONOTONIC", CLOCK_MONOTONIC},
		{"CLOCK_PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID},
		{"CLOCK_THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID},
		{"CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW},
		{"CLOCK_REALTIME_COARSE", CLOCK_REALTIME_COARSE},
		{"CLOCK_MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE},
		{"CLOCK_BOOTTIME", CLOCK_BOOTTIME},
		{"clock 10", 10},
		{"CLOCK_TAI", CLOCK_TAI},
		{"clock 12", 12},
		{"own process CPU clock", -6},   /* MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED) */
		{"own thread CPU clock", -2},    /* MAKE_THREAD_CPUCLOCK(0, CPUCLOCK_SCHED) */
		{"CPU clock of kind 3", -1},     /* CPUCLOCK_WHICH 3 with PERTHREAD */
		{"fd clock", -5},                /* FD_TO_CLOCKID(0) */
		{"CPU clock of no process", -536870910}, /* MAKE_PROCESS_CPUCLOCK(0x3ffffff, CPUCLOCK_SCHED) */
	};
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		char what[96];
		id = -1;
		long r = tcreate(clocks[i].clk, &none, &id);
		const char *e = r < 0 ? errname(errno) : "OK";
		snprintf(what, sizeof what, "timer_create(%s) = %s", clocks[i].name, e);
		expect(what, 1);
		if (r == 0) {
			expect("  with the next id", id == next_id);
			tdelete(id);
		}
		if (r == 0 || id == next_id)
			next_id++; /* a failure after the id was given out uses it up */
	}
	/* The alarm clocks need a real-time clock device and CAP_WAKE_ALARM: whatever the
	 * machine says, vemu says the same. */
	for (long clk = CLOCK_REALTIME_ALARM; clk <= CLOCK_BOOTTIME_ALARM; clk++) {
		char what[96];
		id = -1;
		long r = tcreate(clk, &none, &id);
		snprintf(what, sizeof what, "timer_create(alarm clock %ld) = %s", clk, r < 0 ? errname(errno) : "OK");
		expect(what, 1);
		if (id == next_id)
			next_id++;
		if (r == 0)
			tdelete(id);
	}
}

static void check_errors(void)
{
	struct ksigevent ev = {.notify = KSIGEV_SIGNAL, .signo = SIGUSR1};
	struct itimerspec cur;
	int id;

	expect("bad sigevent pointer: EFAULT", !strcmp(err(tcreate(CLOCK_MONOTONIC, (void *)8, &id)), "EFAULT"));
	ev.notify = 3;
	expect("sigev_notify 3: EINVAL", !strcmp(err(tcreate(CLOCK_MONOTONIC, &ev, &id)), "EINVAL"));
	ev.notify = KSIGEV_NONE | KSIGEV_THREAD_ID;
	expect("SIGEV_NONE|SIGEV_THREAD_ID: EINVAL", !strcmp(err(tcreate(CLOCK_MONOTONIC, &ev, &id)), "EINVAL"));
	ev.notify = KSIGEV_SIGNAL;
	ev.signo = 0;
	expect("signal 0: EINVAL", !strcmp(err(tcreate(CLOCK_MONOTONIC, &ev, &id)), "EINVAL"));
	ev.signo = 65;
	expect("signal 65: EINVAL", !strcmp(err(tcreate(CLOCK_MONOTONIC, &ev, &id)), "EINVAL"));
	ev.signo = SIGUSR1;
	ev.notify = KSIGEV_THREAD_ID;
	ev.tid = 1;
	expect("SIGEV_THREAD_ID to another process: EINVAL", !strcmp(err(tcreate(CLOCK_MONOTONIC, &ev, &id)), "EINVAL"));
	ev.notify = KSIGEV_NONE;
	expect("bad timer id pointer: EFAULT", !strcmp(err(tcreate(CLOCK_MONOTONIC, &ev, (int *)8)), "EFAULT"));
	next_id += 6; /* each of the last six used up an id */
	ev.notify = KSIGEV_THREAD;
	expect("SIGEV_THREAD to the kernel: a signal", tcreate(CLOCK_MONOTONIC, &ev, &id) == 0 && id == next_id++);
	tdelete(id);

	ev.notify = KSIGEV_NONE;
	tcreate(CLOCK_MONOTONIC, &ev, &id);
	next_id++;
	struct itimerspec bad = {{0, 0}, {0, 1000000000}};
	expect("settime(NULL): EINVAL", !strcmp(err(syscall(SYS_timer_settime, id, 0, NULL, NULL)), "EINVAL"));
	expect("settime(bad pointer): EFAULT", !strcmp(err(syscall(SYS_timer_settime, id, 0, (void *)8, NULL)), "EFAULT"));
	expect("settime(tv_nsec 1e9): EINVAL", !strcmp(err(syscall(SYS_timer_settime, id, 0, &bad, NULL)), "EINVAL"));
	bad.it_value.tv_nsec = 0;
	bad.it_interval.tv_sec = -1;
	expect("settime(negative interval): EINVAL", !strcmp(err(syscall(SYS_timer_settime, id, 0, &bad, NULL)), "EINVAL"));
	expect("settime(unknown id): EINVAL", !strcmp(err(tset(12345, 0, 1, 0, 0, 0, NULL)), "EINVAL"));
	expect("settime(unknown id, bad pointer): EFAULT",
	       !strcmp(err(syscall(SYS_timer_settime, 12345, 0, (void *)8, NULL)), "EFAULT"));
	expect("settime(unknown flags) are ignored", tset(id, 0xfe, 100, 0, 0, 0, NULL) == 0);
	expect("settime(bad old pointer): EFAULT", !strcmp(err(tset(id, 0, 50, 0, 0, 0, (void *)8)), "EFAULT"));
	expect("  but the new setting holds", tget(id, &cur) == 0 && cur.it_value.tv_sec >= 40 && cur.it_value.tv_sec < 50);
	expect("gettime(bad pointer): EFAULT", !strcmp(err(tget(id, (void *)8)), "EFAULT"));
	expect("gettime(unknown id): EINVAL", !strcmp(err(tget(12345, (void *)8)), "EINVAL"));
	expect("gettime(negative id): EINVAL", !strcmp(err(tget(-1, &cur)), "EINVAL"));
	expect("getoverrun(unknown id): EINVAL", !strcmp(err(toverrun(12345)), "EINVAL"));
	expect("delete", tdelete(id) == 0);
	expect("delete twice: EINVAL", !strcmp(err(tdelete(id)), "EINVAL"));
}

static void check_settings(void)
{
	struct ksigevent none = {.notify = KSIGEV_NONE};
	struct ksigevent usr2 = {.notify = KSIGEV_SIGNAL, .signo = SIGUSR2};
	struct itimerspec cur, old;
	int id;

	/* A signalling timer that is never let expire. */
	tcreate(CLOCK_MONOTONIC, &usr2, &id);
	next_id++;
	expect("new timer is disarmed", tget(id, &cur) == 0 && ns(cur.it_value) == 0 && ns(cur.it_interval) == 0);
	expect("getoverrun of a new timer is 0", toverrun(id) == 0);
	tset(id, 0, 10, 0, 2, 500, NULL);
	tget(id, &cur);
	expect("relative: value left in (9s, 10s]", ns(cur.it_value) > 9000000000L && ns(cur.it_value) <= 10000000000L);
	expect("interval as set", cur.it_interval.tv_sec == 2 && cur.it_interval.tv_nsec == 500);
	expect("old value on a new setting", tset(id, 0, 0, 0, 0, 0, &old) == 0 && old.it_interval.tv_sec == 2 &&
					      ns(old.it_value) > 9000000000L && ns(old.it_value) <= 10000000000L);
	expect("disarmed by a zero value", tget(id, &cur) == 0 && ns(cur.it_value) == 0 && ns(cur.it_interval) == 0);

	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	tset(id, TIMER_ABSTIME, now.tv_sec + 20, now.tv_nsec, 0, 0, NULL);
	tget(id, &cur);
	expect("absolute: value left in (19s, 20s]", ns(cur.it_value) > 19000000000L && ns(cur.it_value) <= 20000000000L);

	tdelete(id);

	/* SIGEV_NONE never signals: an expired one-shot reads 0, a periodic one counts on. */
	tcreate(CLOCK_MONOTONIC, &none, &id);
	next_id++;
	tset(id, 0, 0, 1000000, 0, 0, NULL);
	sleep_ms(5);
	expect("SIGEV_NONE one-shot expired: 0", tget(id, &cur) == 0 && ns(cur.it_value) == 0);
	tset(id, 0, 0, 2000000, 0, 2000000, NULL);
	sleep_ms(7);
	tget(id, &cur);
	expect("SIGEV_NONE periodic: next expiry within the interval",
	       ns(cur.it_value) > 0 && ns(cur.it_value) <= 2000000 && ns(cur.it_interval) == 2000000);
	expect("SIGEV_NONE periodic: getoverrun 0", toverrun(id) == 0);
	tdelete(id);

	/* Far future values do not overflow. */
	tcreate(CLOCK_REALTIME, &none, &id);
	next_id++;
	expect("huge relative value", tset(id, 0, 0x7fffffffffffffffL / 2000000000L, 0, 0, 0, NULL) == 0 &&
					  tget(id, &cur) == 0 && cur.it_value.tv_sec > 1000000000L);
	tdelete(id);
}

static volatile sig_atomic_t got, got_code, got_timerid, got_overrun, got_value, got_signo;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got++;
	got_signo = sig;
	got_code = si->si_code;
	got_timerid = si->si_timerid;
	got_overrun = si->si_overrun;
	got_value = si->si_value.sival_int;
}

static void wait_got(int n)
{
	sigset_t none;
	sigemptyset(&none);
	while (got < n)
		sigsuspend(&none);
}

static void check_signals(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGRTMIN + 3, &sa, NULL);

	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGRTMIN + 3);
	sigprocmask(SIG_BLOCK, &block, &old);

	struct ksigevent ev = {.notify = KSIGEV_SIGNAL, .signo = SIGUSR1, .value = 4242};
	int id;
	tcreate(CLOCK_MONOTONIC, &ev, &id);
	next_id++;
	got = 0;
	tset(id, 0, 0, 3000000, 0, 0, NULL);
	wait_got(1);
	expect("one-shot: SIGUSR1 handled", got == 1 && got_signo == SIGUSR1);
	expect("  si_code SI_TIMER", got_code == SI_TIMER);
	expect("  si_timerid is the id", got_timerid == id);
	expect("  si_value as given", got_value == 4242);
	expect("  si_overrun 0", got_overrun == 0);
	struct itimerspec cur;
	expect("  disarmed after", tget(id, &cur) == 0 && ns(cur.it_value) == 0);
	tdelete(id);

	/* The default sigevent: SIGALRM with the id as value. */
	tcreate(CLOCK_REALTIME, NULL, &id);
	next_id++;
	got = 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long at = ns(now) + 2000000;
	tset(id, TIMER_ABSTIME, at / 1000000000L, at % 1000000000L, 0, 0, NULL);
	wait_got(1);
	expect("default sigevent: SIGALRM with value = id", got_signo == SIGALRM && got_value == id && got_timerid == id);
	tdelete(id);

	/* An absolute time already past fires at once. */
	tcreate(CLOCK_MONOTONIC, &ev, &id);
	next_id++;
	got = 0;
	tset(id, TIMER_ABSTIME, 0, 1, 0, 0, NULL);
	wait_got(1);
	expect("absolute time in the past fires", got == 1);

	/* Periodic, handled: three signals, the timer still armed. */
	got = 0;
	tset(id, 0, 0, 2000000, 0, 2000000, NULL);
	wait_got(3);
	expect("periodic: three signals", got >= 3 && got_code == SI_TIMER);
	expect("  still armed", tget(id, &cur) == 0 && ns(cur.it_value) > 0 && ns(cur.it_interval) == 2000000);
	tset(id, 0, 0, 0, 0, 0, NULL);
	tdelete(id);

	/* Periodic with the signal blocked: one signal, the expiries missed as overrun. */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 3);
	ev.signo = SIGRTMIN + 3;
	ev.value = 7;
	tcreate(CLOCK_MONOTONIC, &ev, &id);
	next_id++;
	tset(id, 0, 0, 10000000, 0, 10000000, NULL);
	sleep_ms(55);
	sigset_t pending;
	sigpending(&pending);
	expect("blocked periodic: pending", sigismember(&pending, SIGRTMIN + 3));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect("  timer_gettime: next expiry ahead", tget(id, &cur) == 0 && ns(cur.it_value) > 0 && ns(cur.it_value) <= 10000000);
	long long next_expiry = ns(t0) + ns(cur.it_value); /* no later expiry can come before */
	siginfo_t si;
	int sig = sigwaitinfo(&rt, &si);
	long ovr = toverrun(id);
	expect("  sigwaitinfo takes it", sig == SIGRTMIN + 3 && si.si_code == SI_TIMER && si.si_timerid == id &&
						  si.si_value.sival_int == 7);
	expect("  si_overrun counts the missed expiries", si.si_overrun >= 3);
	expect("  timer_getoverrun agrees", ovr == si.si_overrun);
	struct timespec zero = {0, 0};
	/* Taking the signal re-armed the timer: a second one is right only once its next
	 * expiry has passed (a loaded machine may get there before this check). */
	int again = sigtimedwait(&rt, &si, &zero);
	struct timespec t2;
	clock_gettime(CLOCK_MONOTONIC, &t2);
	expect("  only one queued", (again < 0 && errno == EAGAIN) || ns(t2) >= next_expiry);
	sig = sigwaitinfo(&rt, &si);
	expect("  and the timer goes on", sig == SIGRTMIN + 3 && si.si_code == SI_TIMER);

	/* A queued signal of a timer set again or deleted is dropped. */
	tset(id, 0, 0, 1000000, 0, 0, NULL);
	sleep_ms(10);
	sigpending(&pending);
	expect("one-shot, blocked: pending", sigismember(&pending, SIGRTMIN + 3));
	tset(id, 0, 100, 0, 0, 0, NULL);
	expect("  set again: its signal is dropped", sigtimedwait(&rt, &si, &zero) < 0 && errno == EAGAIN);
	expect("  getoverrun 0 after a new setting", toverrun(id) == 0);
	tset(id, 0, 0, 1000000, 0, 0, NULL);
	sleep_ms(10);
	tdelete(id);
	expect("  deleted: its signal is dropped", sigtimedwait(&rt, &si, &zero) < 0 && errno == EAGAIN);

	sigprocmask(SIG_SETMASK, &old, NULL);
}

static volatile int thread_tid;
static sem_t thread_ready;

static void *taker(void *arg)
{
	(void)arg;
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 4);
	thread_tid = syscall(SYS_gettid);
	sem_post(&thread_ready);
	siginfo_t si;
	int sig = sigwaitinfo(&rt, &si);
	return (void *)(intptr_t)(sig == SIGRTMIN + 4 && si.si_code == SI_TIMER && si.si_value.sival_int == 99);
}

static void check_thread_id(void)
{
	sigset_t rt, old;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 4);
	pthread_sigmask(SIG_BLOCK, &rt, &old);
	sem_init(&thread_ready, 0, 0);
	pthread_t th;
	pthread_create(&th, NULL, taker, NULL);
	sem_wait(&thread_ready);
	struct ksigevent ev = {.notify = KSIGEV_THREAD_ID, .signo = SIGRTMIN + 4, .value = 99, .tid = thread_tid};
	int id;
	expect("SIGEV_THREAD_ID to a thread of the process", tcreate(CLOCK_MONOTONIC, &ev, &id) == 0);
	next_id++;
	tset(id, 0, 0, 2000000, 0, 0, NULL);
	void *ok;
	pthread_join(th, &ok);
	expect("  that thread takes the signal", ok != NULL);
	sigset_t pending;
	sigpending(&pending);
	expect("  and no other", !sigismember(&pending, SIGRTMIN + 4));
	tdelete(id);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static sem_t fired;
static volatile int notify_value, notify_count;

static void on_notify(union sigval v)
{
	notify_value = v.sival_int;
	notify_count++;
	sem_post(&fired);
}

static void check_sigev_thread(void)
{
	sem_init(&fired, 0, 0);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_notify;
	sev.sigev_value.sival_int = 31;
	timer_t t;
	expect("timer_create(SIGEV_THREAD)", timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
	struct itimerspec it = {{0, 0}, {0, 2000000}};
	expect("timer_settime", timer_settime(t, 0, &it, NULL) == 0);
	sem_wait(&fired);
	expect("  the function runs with the value", notify_value == 31 && notify_count == 1);
	it.it_interval.tv_nsec = 2000000;
	timer_settime(t, 0, &it, NULL);
	sem_wait(&fired);
	sem_wait(&fired);
	expect("  periodic: it runs again", notify_count >= 3);
	it.it_value.tv_nsec = 0;
	timer_settime(t, 0, &it, NULL);
	expect("timer_delete", timer_delete(t) == 0);
}

static void check_fork(void)
{
	struct ksigevent none = {.notify = KSIGEV_NONE};
	int id;
	tcreate(CLOCK_MONOTONIC, &none, &id);
	next_id++;
	tset(id, 0, 100, 0, 0, 0, NULL);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct itimerspec cur;
		int cid = -1;
		int ok = tget(id, &cur) < 0 && errno == EINVAL;
		ok = ok && tcreate(CLOCK_MONOTONIC, &none, &cid) == 0 && cid == 0;
		_exit(ok ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	expect("fork: the child has no timers and ids from 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct itimerspec cur;
	expect("  the parent's timer is still there", tget(id, &cur) == 0 && cur.it_value.tv_sec > 90);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char ids[16], next[16];
		int cid = -1;
		tcreate(CLOCK_MONOTONIC, &none, &cid);
		tset(cid, 0, 100, 0, 0, 0, NULL);
		snprintf(ids, sizeof ids, "%d", cid);
		snprintf(next, sizeof next, "%d", cid + 1);
		execl("/proc/self/exe", "timers", "after-exec", ids, next, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	expect("execve: timers deleted", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	tdelete(id);
}

static int after_exec(int id, int next)
{
	struct itimerspec cur;
	struct ksigevent none = {.notify = KSIGEV_NONE};
	int nid = -1;
	expect("after execve: the old timer is gone", tget(id, &cur) < 0 && errno == EINVAL);
	expect("after execve: ids go on counting", tcreate(CLOCK_MONOTONIC, &none, &nid) == 0 && nid == next);
	return failures != 0;
}

static void check_timerfd(void)
{
	uint64_t n = 0;
	struct itimerspec it = {{0, 0}, {0, 3000000}}, cur;
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	expect("timerfd_create", fd >= 0);
	expect("gettime of a new timerfd: disarmed", timerfd_gettime(fd, &cur) == 0 && ns(cur.it_value) == 0);
	timerfd_settime(fd, 0, &it, NULL);
	timerfd_gettime(fd, &cur);
	expect("gettime: value left in (0, 3ms]", ns(cur.it_value) > 0 && ns(cur.it_value) <= 3000000);
	expect("blocking read: one expiry", read(fd, &n, 8) == 8 && n == 1);
	expect("disarmed after", timerfd_gettime(fd, &cur) == 0 && ns(cur.it_value) == 0);
	expect("short read: EINVAL", read(fd, &n, 4) < 0 && errno == EINVAL);
	expect("write: EINVAL", write(fd, &n, 8) < 0 && errno == EINVAL);

	/* Periodic: expiries add up until read. */
	it.it_interval.tv_nsec = 10000000;
	it.it_value.tv_nsec = 10000000;
	timerfd_settime(fd, 0, &it, NULL);
	sleep_ms(35);
	expect("periodic: expiries add up", read(fd, &n, 8) == 8 && n >= 3);
	timerfd_gettime(fd, &cur);
	expect("  gettime: interval, next expiry ahead", ns(cur.it_interval) == 10000000 && ns(cur.it_value) > 0 &&
							   ns(cur.it_value) <= 10000000);
	struct pollfd pfd = {fd, POLLIN, 0};
	expect("  poll waits for the next", poll(&pfd, 1, 5000) == 1 && pfd.revents == POLLIN);
	expect("  read after poll", read(fd, &n, 8) == 8 && n >= 1);

	/* A new setting discards expiries not read. */
	it.it_interval.tv_nsec = 0;
	it.it_value.tv_nsec = 1000000;
	timerfd_settime(fd, 0, &it, NULL);
	sleep_ms(5);
	it.it_value.tv_sec = 100;
	struct itimerspec old;
	timerfd_settime(fd, 0, &it, &old);
	expect("old value of an expired one-shot: 0", ns(old.it_value) == 0);
	pfd.revents = 0;
	expect("settime resets the count", poll(&pfd, 1, 0) == 0);
	close(fd);

	/* Non-blocking, absolute, epoll. */
	fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	expect("non-blocking read before expiry: EAGAIN", read(fd, &n, 8) < 0 && errno == EAGAIN);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long at = ns(now) + 4000000;
	it.it_value.tv_sec = at / 1000000000L;
	it.it_value.tv_nsec = at % 1000000000L;
	expect("TFD_TIMER_ABSTIME", timerfd_settime(fd, TFD_TIMER_ABSTIME, &it, NULL) == 0);
	timerfd_gettime(fd, &cur);
	expect("  gettime is relative", ns(cur.it_value) > 0 && ns(cur.it_value) <= 4000000);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	expect("  epoll_wait: ready", epoll_wait(ep, &out, 1, 5000) == 1 && out.data.u64 == 77);
	expect("  read", read(fd, &n, 8) == 8 && n == 1);
	expect("  then EAGAIN", read(fd, &n, 8) < 0 && errno == EAGAIN);
	close(ep);
	close(fd);

	expect("timerfd_create(bad clock): EINVAL", timerfd_create(CLOCK_MONOTONIC_RAW, 0) < 0 && errno == EINVAL);
	expect("timerfd_create(bad flags): EINVAL", timerfd_create(CLOCK_MONOTONIC, 4) < 0 && errno == EINVAL);
	fd = timerfd_create(CLOCK_BOOTTIME, 0);
	it.it_value.tv_nsec = 1000000000;
	expect("timerfd_settime(tv_nsec 1e9): EINVAL", timerfd_settime(fd, 0, &it, NULL) < 0 && errno == EINVAL);
	expect("timerfd_settime(bad flags): EINVAL", timerfd_settime(fd, 4, &it, NULL) < 0 && errno == EINVAL);
	expect("timerfd_gettime(not a timerfd): EINVAL", timerfd_gettime(1, &cur) < 0 && errno == EINVAL);
	expect("timerfd_gettime(bad pointer): EFAULT", timerfd_gettime(fd, (void *)8) < 0 && errno == EFAULT);
	close(fd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "after-exec"))
		return after_exec(atoi(argv[2]), atoi(argv[3]));
	check_ids_and_clocks();
	check_errors();
	check_settings();
	check_signals();
	check_thread_id();
	/* "one-process": no fork, so that a trace is one process's and repeats exactly. */
	if (argc < 2 || strcmp(argv[1], "one-process"))
		check_fork();
	check_timerfd();
	/* Last: the C library's SIGEV_THREAD may create timers of its own. */
	check_sigev_thread();
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
