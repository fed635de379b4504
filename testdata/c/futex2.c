/* futex2 checks futex_waitv and the futex2 calls (futex_wake, futex_wait, futex_requeue):
 * their flags and size checks, absolute timeouts on both clocks, the index futex_waitv
 * returns, wakes between them and the classic futex(2), futexes shared with another
 * process, requeueing, and signals in the middle. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define SYS_futex_wake_ 454
#define SYS_futex_wait_ 455
#define SYS_futex_requeue_ 456

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define U32 2
#define PRIV 128
#define ANY 0xffffffffUL

struct waitv {
	uint64_t val, uaddr;
	uint32_t flags, reserved;
};

static long fwake(void *a, unsigned long mask, int nr, unsigned flags)
{
	return syscall(SYS_futex_wake_, a, mask, nr, flags);
}
static long fwait(void *a, unsigned long val, unsigned long mask, unsigned flags, struct timespec *ts, int clk)
{
	return syscall(SYS_futex_wait_, a, val, mask, flags, ts, clk);
}
static long fwaitv(struct waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clk)
{
	return syscall(SYS_futex_waitv, w, n, flags, ts, clk);
}
static long frequeue(struct waitv *w, unsigned flags, int nw, int nr)
{
	return syscall(SYS_futex_requeue_, w, flags, nw, nr);
}

static struct timespec at(int clk, int ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	if (ts.tv_nsec < 0) { /* a time in the past: borrow a second */
		ts.tv_nsec += 1000000000;
		ts.tv_sec--;
	}
	return ts;
}

static uint32_t f1, f2, f3;
static long result;

static void *wait_thread(void *arg)
{
	result = fwait(&f1, 0, ANY, U32 | PRIV, NULL, 0);
	return NULL;
}

static void *waitv_thread(void *arg)
{
	struct waitv w[3] = {{0, (uintptr_t)&f1, U32 | PRIV}, {0, (uintptr_t)&f2, U32 | PRIV}, {0, (uintptr_t)&f3, U32 | PRIV}};
	result = fwaitv(w, 3, 0, NULL, 0);
	return NULL;
}

static void *legacy_thread(void *arg)
{
	result = syscall(SYS_futex, &f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

/* wake_when_waiting wakes addr with wake until it wakes someone (the thread may not wait yet). */
static long wake_when_waiting(long (*wake)(uint32_t *), uint32_t *addr)
{
	for (int i = 0; i < 500; i++) {
		long n = wake(addr);
		if (n != 0)
			return n;
		usleep(2000);
	}
	return 0;
}

static long wake2(uint32_t *a) { return fwake(a, ANY, 1, U32 | PRIV); }
static long wake_legacy(uint32_t *a) { return syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void flags(void)
{
	expect("futex_wake of nobody", fwake(&f1, ANY, 1, U32 | PRIV) == 0);
	expect("futex_wake of 0", fwake(&f1, ANY, 0, U32 | PRIV) == 0);
	expect_err("futex_wake, size U8", fwake(&f1, ANY, 1, 0), EINVAL);
	expect_err("futex_wake, size U16", fwake(&f1, ANY, 1, 1), EINVAL);
	expect_err("futex_wake, size U64", fwake(&f1, ANY, 1, 3), EINVAL);
	expect_err("futex_wake, an unknown flag", fwake(&f1, ANY, 1, U32 | 0x100), EINVAL);
	expect_err("futex_wake, mask 0", fwake(&f1, 0, 1, U32), EINVAL);
	expect_err("futex_wake, a mask above 32 bits", fwake(&f1, 1UL << 32, 1, U32), EINVAL);
	expect_err("futex_wake, misaligned", fwake((char *)&f1 + 1, ANY, 1, U32), EINVAL);
	f1 = 5;
	expect_err("futex_wait, another value", fwait(&f1, 4, ANY, U32 | PRIV, NULL, 0), EAGAIN);
	expect_err("futex_wait, a value above 32 bits", fwait(&f1, 5 | 1UL << 32, ANY, U32 | PRIV, NULL, 0), EINVAL);
	expect_err("futex_wait, size U64", fwait(&f1, 5, ANY, 3, NULL, 0), EINVAL);
	expect_err("futex_wait, mask 0", fwait(&f1, 5, 0, U32, NULL, 0), EINVAL);
	struct timespec ts = at(CLOCK_MONOTONIC, 20);
	expect_err("futex_wait times out (MONOTONIC)", fwait(&f1, 5, ANY, U32 | PRIV, &ts, CLOCK_MONOTONIC), ETIMEDOUT);
	ts = at(CLOCK_REALTIME, 20);
	expect_err("futex_wait times out (REALTIME)", fwait(&f1, 5, ANY, U32 | PRIV, &ts, CLOCK_REALTIME), ETIMEDOUT);
	ts = at(CLOCK_MONOTONIC, -10);
	expect_err("futex_wait, a time passed", fwait(&f1, 5, ANY, U32 | PRIV, &ts, CLOCK_MONOTONIC), ETIMEDOUT);
	expect_err("futex_wait, CLOCK_BOOTTIME", fwait(&f1, 5, ANY, U32 | PRIV, &ts, CLOCK_BOOTTIME), EINVAL);
	struct timespec bad = {0, 1000000000};
	expect_err("futex_wait, a bad timespec", fwait(&f1, 5, ANY, U32 | PRIV, &bad, CLOCK_MONOTONIC), EINVAL);
	expect_err("futex_wait, a bad timeout pointer", fwait(&f1, 5, ANY, U32 | PRIV, (void *)8, CLOCK_MONOTONIC), EFAULT);
	expect_err("futex_wait, a bad address", fwait((void *)8, 5, ANY, U32 | PRIV, NULL, 0), EFAULT);
	f1 = 0;

	struct waitv w[129];
	memset(w, 0, sizeof w);
	for (int i = 0; i < 129; i++) {
		w[i].uaddr = (uintptr_t)&f2;
		w[i].flags = U32 | PRIV;
	}
	expect_err("futex_waitv of 0", fwaitv(w, 0, 0, NULL, 0), EINVAL);
	expect_err("futex_waitv of 129", fwaitv(w, 129, 0, NULL, 0), EINVAL);
	expect_err("futex_waitv with flags", fwaitv(w, 1, 1, NULL, 0), EINVAL);
	expect_err("futex_waitv of NULL", fwaitv(NULL, 1, 0, NULL, 0), EINVAL);
	expect_err("futex_waitv, a bad array", fwaitv((void *)8, 1, 0, NULL, 0), EFAULT);
	ts = at(CLOCK_REALTIME, 20);
	expect_err("futex_waitv of 128 times out", fwaitv(w, 128, 0, &ts, CLOCK_REALTIME), ETIMEDOUT);
	expect_err("futex_waitv, CLOCK_BOOTTIME", fwaitv(w, 1, 0, &ts, CLOCK_BOOTTIME), EINVAL);
	w[1].reserved = 1;
	expect_err("futex_waitv, __reserved", fwaitv(w, 2, 0, NULL, 0), EINVAL);
	w[1].reserved = 0;
	w[1].flags = 3;
	expect_err("futex_waitv, size U64", fwaitv(w, 2, 0, NULL, 0), EINVAL);
	w[1].flags = U32 | PRIV;
	w[1].val = 1UL << 32;
	expect_err("futex_waitv, a value above 32 bits", fwaitv(w, 2, 0, NULL, 0), EINVAL);
	w[1].val = 0;
	w[2].val = 9;
	expect_err("futex_waitv, one value differs", fwaitv(w, 3, 0, NULL, 0), EAGAIN);
	w[2].val = 0;
	w[1].uaddr = 8;
	expect_err("futex_waitv, a bad address", fwaitv(w, 2, 0, NULL, 0), EFAULT);
	w[1].uaddr = (uintptr_t)&f2 + 2;
	expect_err("futex_waitv, misaligned", fwaitv(w, 2, 0, NULL, 0), EINVAL);
}

static void wakes(void)
{
	pthread_t th;
	pthread_create(&th, NULL, wait_thread, NULL);
	expect("futex_wake wakes futex_wait", wake_when_waiting(wake2, &f1) == 1);
	pthread_join(th, NULL);
	expect("which returns 0", result == 0);

	pthread_create(&th, NULL, wait_thread, NULL);
	expect("FUTEX_WAKE wakes futex_wait", wake_when_waiting(wake_legacy, &f1) == 1);
	pthread_join(th, NULL);

	pthread_create(&th, NULL, legacy_thread, NULL);
	expect("futex_wake wakes FUTEX_WAIT", wake_when_waiting(wake2, &f1) == 1);
	pthread_join(th, NULL);
	expect("which returns 0", result == 0);

	pthread_create(&th, NULL, waitv_thread, NULL);
	expect("futex_wake wakes futex_waitv", wake_when_waiting(wake2, &f3) == 1);
	pthread_join(th, NULL);
	expect("which returns the index", result == 2);

	pthread_create(&th, NULL, waitv_thread, NULL);
	expect("FUTEX_WAKE wakes futex_waitv", wake_when_waiting(wake_legacy, &f2) == 1);
	pthread_join(th, NULL);
	expect("which returns the index", result == 1);

	/* futex_requeue: a waiter on f1 moves to f2. */
	pthread_create(&th, NULL, wait_thread, NULL);
	struct waitv rq[2] = {{0, (uintptr_t)&f1, U32 | PRIV}, {0, (uintptr_t)&f2, U32 | PRIV}};
	long moved = 0;
	for (int i = 0; i < 500 && moved == 0; i++) {
		moved = frequeue(rq, 0, 0, 1);
		if (moved == 0)
			usleep(2000);
	}
	expect("futex_requeue moves one", moved == 1);
	expect("nobody is left on the first", fwake(&f1, ANY, 1, U32 | PRIV) == 0);
	expect("a wake of the second wakes it", fwake(&f2, ANY, 1, U32 | PRIV) == 1);
	pthread_join(th, NULL);
	expect_err("futex_requeue with flags", frequeue(rq, 1, 0, 1), EINVAL);
	rq[0].val = 3;
	expect_err("futex_requeue, another value", frequeue(rq, 0, 0, 1), EAGAIN);
	rq[0].val = 0;
	rq[1].uaddr = (uintptr_t)&f1;
	expect("futex_requeue onto itself", frequeue(rq, 0, 0, 1) == 0);
	rq[1].uaddr = (uintptr_t)&f2;
	expect_err("futex_requeue, nr_wake -1", frequeue(rq, 0, -1, 1), EINVAL);
	expect_err("futex_requeue of NULL", frequeue(NULL, 0, 0, 1), EINVAL);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int s) { alarms++; }

static void signals(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct waitv w = {0, (uintptr_t)&f1, U32 | PRIV};
	ualarm(20000, 0);
	expect_err("a signal interrupts futex_waitv", fwaitv(&w, 1, 0, NULL, 0), EINTR);
	ualarm(20000, 0);
	expect_err("a signal interrupts futex_wait", fwait(&f1, 0, ANY, U32 | PRIV, NULL, 0), EINTR);
	/* Under SA_RESTART, with a timeout that ends it. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	struct timespec ts = at(CLOCK_MONOTONIC, 150);
	ualarm(20000, 0);
	long r = fwaitv(&w, 1, 0, &ts, CLOCK_MONOTONIC);
	printf("SA_RESTART: futex_waitv %s after %d signal(s)\n", r < 0 ? errname(errno) : "returned", (int)alarms);
	alarms = 0;
	ts = at(CLOCK_MONOTONIC, 150);
	ualarm(20000, 0);
	r = fwait(&f1, 0, ANY, U32 | PRIV, &ts, CLOCK_MONOTONIC);
	printf("SA_RESTART: futex_wait %s after %d signal(s)\n", r < 0 ? errname(errno) : "returned", (int)alarms);
	signal(SIGALRM, SIG_DFL);
}

/* A futex in shared memory: a child waits with futex_waitv, the parent wakes it. */
static void shared(void)
{
	uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	m[0] = m[1] = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct waitv w[2] = {{0, (uintptr_t)&m[0], U32}, {0, (uintptr_t)&m[1], U32}};
		_exit(fwaitv(w, 2, 0, NULL, 0) == 1 ? 0 : 1);
	}
	/* Untimed waits, and a bound in iterations: under a virtual clock, sleeps and
	 * timeouts take no time. */
	long n = 0;
	for (int i = 0; i < 5000 && n == 0; i++) {
		n = fwake(&m[1], ANY, 1, U32);
		if (n == 0)
			usleep(2000);
	}
	int st;
	if (n == 0)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	expect("a shared futex_wake reaches the child", n == 1);
	expect("whose futex_waitv returned 1", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		_exit(fwait(&m[0], 0, ANY, U32, NULL, 0) == 0 ? 0 : 1);
	}
	n = 0;
	for (int i = 0; i < 5000 && n == 0; i++) {
		n = syscall(SYS_futex, &m[0], FUTEX_WAKE, 1, NULL, NULL, 0);
		if (n == 0)
			usleep(2000);
	}
	if (n == 0)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	expect("FUTEX_WAKE reaches a shared futex_wait", n == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	munmap(m, 4096);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	flags();
	wakes();
	signals();
	shared();
	return failures != 0;
}
