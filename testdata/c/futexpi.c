/* futexpi checks the priority-inheritance futexes: pthread mutexes with
 * PTHREAD_PRIO_INHERIT under contention, robust ones whose owner ends holding them (a
 * thread, a process killed), process-shared ones between forked processes, condition
 * variables on them; FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI
 * and CMP_REQUEUE_PI called directly, with their errors, timeouts, signals in the
 * middle, another process's thread as the owner, and a thousand waiters.
 * With "wait-lockpi" it prints "ready" once threads wait in FUTEX_LOCK_PI, and waits. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_LOCK_PI2 13
#define PRIV 128
#define CLOCK_RT 256
#define WAITERS 0x80000000u
#define OWNER_DIED 0x40000000u
#define TID_MASK 0x3fffffffu

static long futex(uint32_t *a, int op, uint32_t val, const void *ts_or_val2, uint32_t *a2, uint32_t val3)
{
	return syscall(SYS_futex, a, op, val, ts_or_val2, a2, val3);
}

static uint32_t tid(void) { return (uint32_t)syscall(SYS_gettid); }

static struct timespec at(int clk, int ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

/* lock and unlock are the user-space half of the protocol, as the C libraries do it. */
static long lock(uint32_t *w, int priv)
{
	if (__sync_bool_compare_and_swap(w, 0, tid()))
		return 0;
	return futex(w, FUTEX_LOCK_PI | priv, 0, NULL, NULL, 0);
}

static long unlock(uint32_t *w, int priv)
{
	if (__sync_bool_compare_and_swap(w, tid(), 0))
		return 0;
	return futex(w, FUTEX_UNLOCK_PI | priv, 0, NULL, NULL, 0);
}

/* until waits (in bounded steps) for cond to hold. */
#define until(cond)                                      \
	do {                                             \
		for (int i_ = 0; i_ < 5000 && !(cond); i_++) \
			usleep(1000);                    \
	} while (0)

/* --- pthread mutexes with PTHREAD_PRIO_INHERIT --- */

#define NTHREADS 16
#define ROUNDS 2000

static pthread_mutex_t pim;
static long counter;

static void *contend(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&pim);
		long c = counter;
		if ((i & 63) == 0)
			sched_yield(); /* inside the lock: others pile up on it */
		counter = c + 1;
		pthread_mutex_unlock(&pim);
	}
	return NULL;
}

static void init_pi(pthread_mutex_t *m, int robust, int pshared)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pshared)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

static void mutexes(void)
{
	init_pi(&pim, 0, 0);
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, contend, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	printf("16 threads x %d under a PI mutex: %ld\n", ROUNDS, counter);
	expect("PI mutex counts exactly", counter == (long)NTHREADS * ROUNDS);
	expect("trylock of a free PI mutex", pthread_mutex_trylock(&pim) == 0);
	expect("trylock of one held", pthread_mutex_trylock(&pim) == EBUSY);
	pthread_mutex_unlock(&pim);
	pthread_mutex_destroy(&pim);
}

/* --- robust mutexes whose owner thread ends holding them --- */

static pthread_mutex_t rm;
static volatile int locked_it;

static void *take_and_exit(void *arg)
{
	pthread_mutex_lock(&rm);
	locked_it = 1;
	if (arg)
		usleep(50000); /* let the waiter wait */
	return NULL;
}

static int waiter_got;

static void *lock_waiter(void *arg)
{
	waiter_got = pthread_mutex_lock(&rm);
	if (waiter_got == EOWNERDEAD) {
		pthread_mutex_consistent(&rm);
	}
	pthread_mutex_unlock(&rm);
	return NULL;
}

static void robust(int pi)
{
	const char *kind = pi ? "robust PI" : "robust";
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pi)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&rm, &a);
	pthread_t th;
	locked_it = 0;
	pthread_create(&th, NULL, take_and_exit, NULL);
	pthread_join(th, NULL);
	int r = pthread_mutex_lock(&rm);
	printf("%s: lock after its owner ended: %s\n", kind, r == EOWNERDEAD ? "EOWNERDEAD" : errname(r));
	expect("made consistent", pthread_mutex_consistent(&rm) == 0);
	pthread_mutex_unlock(&rm);
	expect("then locks as usual", pthread_mutex_lock(&rm) == 0);
	pthread_mutex_unlock(&rm);

	/* A waiter blocked while the owner ends. */
	locked_it = 0;
	pthread_create(&th, NULL, take_and_exit, (void *)1);
	until(locked_it);
	pthread_t w;
	pthread_create(&w, NULL, lock_waiter, NULL);
	pthread_join(th, NULL);
	pthread_join(w, NULL);
	printf("%s: a waiter gets %s\n", kind, waiter_got == EOWNERDEAD ? "EOWNERDEAD" : errname(waiter_got));
	pthread_mutex_destroy(&rm);
	pthread_mutexattr_destroy(&a);
}

/* --- process-shared PI mutexes between forked processes --- */

struct shared {
	pthread_mutex_t m, rm;
	long count;
	uint32_t word, ready;
};

static void pshared(void)
{
	struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	init_pi(&s->m, 0, 1);
	init_pi(&s->rm, 1, 1);
	fflush(stdout);
	pid_t pid = fork();
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&s->m);
		long c = s->count;
		if ((i & 31) == 0)
			sched_yield();
		s->count = c + 1;
		pthread_mutex_unlock(&s->m);
	}
	if (pid == 0)
		_exit(0);
	int st;
	waitpid(pid, &st, 0);
	printf("two processes x 500 under a shared PI mutex: %ld\n", s->count);

	/* A child that ends holding a robust one. */
	pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(&s->rm);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	int r = pthread_mutex_lock(&s->rm);
	printf("shared robust PI, its owner process ended: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : errname(r));
	pthread_mutex_consistent(&s->rm);
	pthread_mutex_unlock(&s->rm);

	/* An owner killed while another process waits in FUTEX_LOCK_PI. */
	s->ready = 0;
	pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(&s->rm);
		s->ready = 1;
		pause();
		_exit(0);
	}
	until(s->ready);
	pid_t killer = fork();
	if (killer == 0) {
		usleep(50000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	r = pthread_mutex_lock(&s->rm);
	printf("shared robust PI, its owner killed during the wait: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : errname(r));
	pthread_mutex_consistent(&s->rm);
	pthread_mutex_unlock(&s->rm);
	waitpid(pid, &st, 0);
	expect("the owner was killed", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	waitpid(killer, &st, 0);

	/* Raw: a shared PI word, the child waits, the parent unlocks to it. */
	s->word = tid();
	s->ready = 0;
	pid = fork();
	if (pid == 0) {
		s->ready = 1;
		long r = futex(&s->word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
		int ok = r == 0 && (s->word & TID_MASK) == tid() && (s->word & WAITERS);
		ok = ok && futex(&s->word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == 0 && s->word == 0;
		_exit(ok ? 0 : 1);
	}
	until(s->ready && (s->word & WAITERS));
	expect("UNLOCK_PI hands a shared word to another process", futex(&s->word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == 0);
	waitpid(pid, &st, 0);
	expect("which got it, and unlocked it", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* A waiter killed during its wait is not handed the lock. */
	s->word = tid();
	s->ready = 0;
	pid = fork();
	if (pid == 0) {
		s->ready = 1;
		futex(&s->word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
		_exit(3);
	}
	until(s->ready && (s->word & WAITERS));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	expect("UNLOCK_PI after its waiter was killed", futex(&s->word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == 0);
	printf("the word then: %#x\n", s->word);
	munmap(s, 4096);
}

/* --- PI owners that end without a robust list --- */

static uint32_t ended_word;
static volatile int holding;

static void *hold_and_sleep(void *arg)
{
	uint32_t *w = arg;
	lock(w, arg == &ended_word ? PRIV : 0);
	holding = 1;
	if (arg == &ended_word) {
		until(ended_word & WAITERS);
		return NULL; /* ends holding it */
	}
	pause(); /* until its process execs */
	return NULL;
}

static void owners_end(void)
{
	pthread_t th;
	holding = 0;
	pthread_create(&th, NULL, hold_and_sleep, &ended_word);
	until(holding);
	long r = futex(&ended_word, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0);
	pthread_join(th, NULL);
	printf("a thread ends holding a PI futex: LOCK_PI %s, OWNER_DIED %s\n", r == 0 ? "returned" : errname(errno),
	       ended_word & OWNER_DIED ? "set" : "clear");
	unlock(&ended_word, PRIV);

	/* Its thread ends because another thread of its process execs. */
	uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		holding = 0;
		pthread_create(&th, NULL, hold_and_sleep, w);
		until(holding);
		until(*w & WAITERS);
		execl("/proc/self/exe", "futexpi", "exit0", (char *)NULL);
		_exit(5);
	}
	until(*w != 0);
	r = futex(w, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	printf("its process execs: LOCK_PI %s, OWNER_DIED %s\n", r == 0 ? "returned" : errname(errno), *w & OWNER_DIED ? "set" : "clear");
	int st;
	waitpid(pid, &st, 0);
	expect("the exec ran", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	munmap(w, 4096);
}

/* --- robust lists a thread leaves behind --- */

struct rentry {
	struct rentry *next;
	uint32_t word;
};

struct rhead {
	struct rentry *next;
	long offset;
	struct rentry *pending;
};

static struct rhead rhead;
static struct rentry ring[3];
static int robust_case;

static void *robust_attacker(void *arg)
{
	uint32_t me = tid();
	long off = (long)offsetof(struct rentry, word);
	for (int i = 0; i < 3; i++)
		ring[i].word = me;
	switch (robust_case) {
	case 0: /* a list that never comes back to its head */
		ring[0].next = &ring[1];
		ring[1].next = &ring[0];
		rhead = (struct rhead){&ring[0], off, NULL};
		break;
	case 1: /* a misaligned word stops the walk */
		ring[0].next = (struct rentry *)((char *)&ring[1] + 1);
		ring[1].next = &ring[2];
		ring[2].next = (struct rentry *)&rhead;
		rhead = (struct rhead){&ring[0], off, NULL};
		break;
	case 2: /* an entry in unmapped memory stops it */
		ring[0].next = (struct rentry *)8;
		rhead = (struct rhead){&ring[0], off, &ring[2]};
		break;
	case 3: /* the head itself is unmapped */
		syscall(SYS_set_robust_list, (void *)8, sizeof rhead);
		return NULL;
	}
	syscall(SYS_set_robust_list, &rhead, sizeof rhead);
	return NULL;
}

static void robust_lists(void)
{
	expect_err("set_robust_list, a wrong size", syscall(SYS_set_robust_list, &rhead, sizeof rhead + 8), EINVAL);
	for (robust_case = 0; robust_case < 4; robust_case++) {
		pthread_t th;
		pthread_create(&th, NULL, robust_attacker, NULL);
		pthread_join(th, NULL);
		printf("robust list %d: words %#x %#x %#x\n", robust_case, ring[0].word & ~TID_MASK, ring[1].word & ~TID_MASK,
		       ring[2].word & ~TID_MASK);
		printf("robust list %d: owners left: %d %d %d\n", robust_case, (ring[0].word & TID_MASK) != 0,
		       (ring[1].word & TID_MASK) != 0, (ring[2].word & TID_MASK) != 0);
	}
}

/* --- condition variables on a PI mutex --- */

static pthread_mutex_t cm;
static pthread_cond_t cv;
static int items, consumed;

static void *consumer(void *arg)
{
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&cm);
		while (items == 0)
			pthread_cond_wait(&cv, &cm);
		items--;
		consumed++;
		pthread_mutex_unlock(&cm);
	}
	return NULL;
}

static void condvars(void)
{
	init_pi(&cm, 0, 0);
	pthread_cond_init(&cv, NULL);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, consumer, NULL);
	for (int i = 0; i < 800; i++) {
		pthread_mutex_lock(&cm);
		items++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&cm);
		if ((i & 15) == 0)
			sched_yield();
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("condition variable on a PI mutex: %d consumed\n", consumed);
}

/* --- raw calls and their errors --- */

static uint32_t w1, w2, cond1;
static volatile uint32_t other_tid;
static volatile int stop_holder;
static volatile sig_atomic_t handled;

static void on_usr1(int s) { handled++; }

static void *holder(void *arg)
{
	uint32_t *w = arg;
	other_tid = tid();
	lock(w, PRIV);
	while (!stop_holder)
		usleep(1000);
	unlock(w, PRIV);
	return NULL;
}

static long lock_result;
static int locker_flags = PRIV;
static uint32_t locker_word;

static void *pi_locker(void *arg)
{
	long r = futex(arg, FUTEX_LOCK_PI | locker_flags, 0, NULL, NULL, 0);
	if (r < 0) {
		lock_result = -errno;
		return NULL;
	}
	locker_word = *(uint32_t *)arg;
	lock_result = (locker_word & TID_MASK) == tid() ? 0 : -ENOTRECOVERABLE;
	unlock(arg, locker_flags);
	return NULL;
}

static void errors(void)
{
	expect("TRYLOCK_PI of a free word", futex(&w1, FUTEX_TRYLOCK_PI | PRIV, 0, NULL, NULL, 0) == 0);
	expect("which holds the caller's TID", w1 == tid());
	expect_err("LOCK_PI of one's own", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), EDEADLK);
	expect_err("TRYLOCK_PI of one's own", futex(&w1, FUTEX_TRYLOCK_PI | PRIV, 0, NULL, NULL, 0), EDEADLK);
	expect("UNLOCK_PI", futex(&w1, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0) == 0 && w1 == 0);
	expect_err("UNLOCK_PI of a free word", futex(&w1, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0), EPERM);
	w1 = 0x3ffff000;
	expect_err("UNLOCK_PI of another's", futex(&w1, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0), EPERM);
	expect_err("LOCK_PI, an owner that does not exist", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), ESRCH);
	printf("the word then: %#x\n", w1);
	w1 = 0x3ffff000;
	expect_err("TRYLOCK_PI, an owner that does not exist", futex(&w1, FUTEX_TRYLOCK_PI | PRIV, 0, NULL, NULL, 0), ESRCH);
	w1 = OWNER_DIED;
	expect("LOCK_PI of a word whose owner died", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0) == 0);
	printf("keeps OWNER_DIED: %s\n", w1 == (OWNER_DIED | tid()) ? "yes" : "NO");
	w1 = tid() | WAITERS | OWNER_DIED;
	expect("UNLOCK_PI with nobody waiting clears it all", futex(&w1, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0) == 0 && w1 == 0);
	expect_err("LOCK_PI, misaligned", futex((uint32_t *)((char *)&w1 + 1), FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), EINVAL);
	expect_err("UNLOCK_PI, misaligned (the owner is checked first)", futex((uint32_t *)((char *)&w1 + 2), FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), EPERM);
	expect_err("LOCK_PI with FUTEX_CLOCK_REALTIME", futex(&w1, FUTEX_LOCK_PI | PRIV | CLOCK_RT, 0, NULL, NULL, 0), ENOSYS);
	expect_err("TRYLOCK_PI with FUTEX_CLOCK_REALTIME", futex(&w1, FUTEX_TRYLOCK_PI | CLOCK_RT, 0, NULL, NULL, 0), ENOSYS);
	expect_err("UNLOCK_PI with FUTEX_CLOCK_REALTIME", futex(&w1, FUTEX_UNLOCK_PI | CLOCK_RT, 0, NULL, NULL, 0), ENOSYS);
	expect_err("FUTEX_WAIT with FUTEX_CLOCK_REALTIME", futex(&w1, FUTEX_WAIT | CLOCK_RT, 0, NULL, NULL, 0), ENOSYS);
	struct timespec bad = {0, 1000000000};
	expect_err("LOCK_PI, a bad timespec", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, &bad, NULL, 0), EINVAL);
	expect_err("LOCK_PI, a bad timeout pointer", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, (void *)8, NULL, 0), EFAULT);
	expect("TRYLOCK_PI ignores the timeout argument", futex(&w1, FUTEX_TRYLOCK_PI | PRIV, 0, (void *)8, NULL, 0) == 0);
	unlock(&w1, PRIV);

	/* Memory the word cannot be in. */
	uint32_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(page, 4096);
	expect_err("LOCK_PI, unmapped", futex(page, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), EFAULT);
	expect_err("UNLOCK_PI, unmapped", futex(page, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0), EFAULT);
	expect_err("TRYLOCK_PI, unmapped", futex(page, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), EFAULT);
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_err("LOCK_PI, read-only", futex(page, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), EFAULT);
	expect_err("TRYLOCK_PI, read-only", futex(page, FUTEX_TRYLOCK_PI | PRIV, 0, NULL, NULL, 0), EFAULT);
	munmap(page, 4096);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page[0] = tid();
	mprotect(page, 4096, PROT_READ);
	expect_err("UNLOCK_PI, read-only", futex(page, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0), EFAULT);
	expect_err("LOCK_PI of one's own, read-only", futex(page, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), EDEADLK);
	munmap(page, 4096);

	/* Another thread holds w1. */
	pthread_t th;
	stop_holder = 0;
	other_tid = 0;
	pthread_create(&th, NULL, holder, &w1);
	until(other_tid && w1 == other_tid);
	expect_err("TRYLOCK_PI of a held word", futex(&w1, FUTEX_TRYLOCK_PI | PRIV, 0, NULL, NULL, 0), EAGAIN);
	printf("which sets FUTEX_WAITERS: %s\n", w1 == (other_tid | WAITERS) ? "yes" : "NO");
	struct timespec ts = at(CLOCK_REALTIME, 30);
	expect_err("LOCK_PI times out (CLOCK_REALTIME)", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, &ts, NULL, 0), ETIMEDOUT);
	ts = at(CLOCK_MONOTONIC, 30);
	expect_err("LOCK_PI2 times out (CLOCK_MONOTONIC)", futex(&w1, FUTEX_LOCK_PI2 | PRIV, 0, &ts, NULL, 0), ETIMEDOUT);
	ts = at(CLOCK_REALTIME, 30);
	expect_err("LOCK_PI2 times out (FUTEX_CLOCK_REALTIME)", futex(&w1, FUTEX_LOCK_PI2 | PRIV | CLOCK_RT, 0, &ts, NULL, 0), ETIMEDOUT);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec--;
	expect_err("LOCK_PI, a time passed", futex(&w1, FUTEX_LOCK_PI | PRIV, 0, &ts, NULL, 0), ETIMEDOUT);
	expect_err("UNLOCK_PI of another thread's", futex(&w1, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0), EPERM);

	/* A waiter in LOCK_PI: plain operations on the word are refused. */
	pthread_t lk;
	lock_result = 1;
	pthread_create(&lk, NULL, pi_locker, &w1);
	usleep(30000);
	until(futex(&w1, FUTEX_WAKE | PRIV, 1, NULL, NULL, 0) < 0);
	expect_err("FUTEX_WAKE of a PI futex with waiters", futex(&w1, FUTEX_WAKE | PRIV, 1, NULL, NULL, 0), EINVAL);
	static uint32_t opword;
	expect_err("FUTEX_WAKE_OP of it", futex(&w1, FUTEX_WAKE_OP | PRIV, 1, (void *)1L, &opword, 0x5000), EINVAL);
	printf("after its operation: %u\n", opword);
	/* Signals while it waits: LOCK_PI restarts after the handler. */
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	pthread_kill(lk, SIGUSR1);
	until(handled);
	usleep(20000);
	expect("a handled signal leaves LOCK_PI waiting", lock_result == 1);
	stop_holder = 1;
	pthread_join(th, NULL);
	pthread_join(lk, NULL);
	expect("the waiter got the lock from UNLOCK_PI", lock_result == 0);
	expect("and gave it back", w1 == 0);
}

/* --- requeue_pi --- */

static long rq_result[4];
static uint32_t rq_tid[4];
static volatile int rq_ready;

static void *rq_waiter(void *arg)
{
	long i = (long)arg;
	rq_tid[i] = tid();
	__sync_fetch_and_add(&rq_ready, 1);
	long r = futex(&cond1, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, NULL, &w2, 0);
	if (r == 0) {
		r = (w2 & TID_MASK) == tid() ? 0 : -2;
		unlock(&w2, PRIV);
	} else {
		r = -errno;
	}
	rq_result[i] = r;
	return NULL;
}

/* requeue moves waiters of cond1 to w2 until want were moved or woken. */
static long requeue(int want, int nr_requeue)
{
	long total = 0;
	for (int i = 0; i < 5000 && total < want; i++) {
		long n = futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, (void *)(long)nr_requeue, &w2, 0);
		if (n < 0)
			return -errno;
		total += n;
		if (total < want)
			usleep(1000);
	}
	return total;
}

static void requeue_pi(void)
{
	expect_err("WAIT_REQUEUE_PI onto the same futex", futex(&cond1, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, NULL, &cond1, 0), EINVAL);
	expect_err("CMP_REQUEUE_PI onto the same futex", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, 0, &cond1, 0), EINVAL);
	expect_err("CMP_REQUEUE_PI waking 2", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 2, 0, &w2, 0), EINVAL);
	expect_err("CMP_REQUEUE_PI, nr_requeue -1", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, (void *)-1L, &w2, 0), EINVAL);
	expect_err("CMP_REQUEUE_PI, another value", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, 0, &w2, 7), EAGAIN);
	expect("CMP_REQUEUE_PI of nobody", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, 0, &w2, 0) == 0);
	expect_err("WAIT_REQUEUE_PI, another value", futex(&cond1, FUTEX_WAIT_REQUEUE_PI | PRIV, 5, NULL, &w2, 0), EAGAIN);
	struct timespec ts = at(CLOCK_MONOTONIC, 30);
	expect_err("WAIT_REQUEUE_PI times out", futex(&cond1, FUTEX_WAIT_REQUEUE_PI | PRIV, 0, &ts, &w2, 0), ETIMEDOUT);
	ts = at(CLOCK_REALTIME, 30);
	expect_err("WAIT_REQUEUE_PI times out (FUTEX_CLOCK_REALTIME)",
		   futex(&cond1, FUTEX_WAIT_REQUEUE_PI | PRIV | CLOCK_RT, 0, &ts, &w2, 0), ETIMEDOUT);

	/* A free PI futex: the waiter takes it at once. */
	pthread_t th[3];
	rq_ready = 0;
	pthread_create(&th[0], NULL, rq_waiter, (void *)0);
	until(rq_ready == 1);
	usleep(20000);
	expect_err("FUTEX_WAKE of a futex with WAIT_REQUEUE_PI waiters", futex(&cond1, FUTEX_WAKE | PRIV, 1, NULL, NULL, 0), EINVAL);
	expect_err("FUTEX_CMP_REQUEUE of them", futex(&cond1, FUTEX_CMP_REQUEUE | PRIV, 0, (void *)1L, &w1, 0), EINVAL);
	expect_err("CMP_REQUEUE_PI to another PI futex", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, 0, &w1, 0), EINVAL);
	w2 = 0x3ffff000;
	expect_err("CMP_REQUEUE_PI, an owner that does not exist", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, 0, &w2, 0), ESRCH);
	w2 = 0;
	expect("CMP_REQUEUE_PI wakes it with the lock", requeue(1, 0) == 1);
	pthread_join(th[0], NULL);
	expect("WAIT_REQUEUE_PI returned owning the PI futex", rq_result[0] == 0);

	/* A held PI futex: three wait for it, and get it in turn. */
	lock(&w2, PRIV);
	rq_ready = 0;
	for (long i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, rq_waiter, (void *)i);
	until(rq_ready == 3);
	printf("CMP_REQUEUE_PI moves all three: %ld\n", requeue(3, INT_MAX));
	printf("the PI futex then has waiters: %s\n", (w2 & WAITERS) ? "yes" : "no");
	expect("UNLOCK_PI to the first", futex(&w2, FUTEX_UNLOCK_PI | PRIV, 0, NULL, NULL, 0) == 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	expect("each got it", rq_result[0] == 0 && rq_result[1] == 0 && rq_result[2] == 0);
	expect("and the word is free", w2 == 0);

	/* The waiter already owns the PI futex. */
	rq_ready = 0;
	pthread_create(&th[0], NULL, rq_waiter, (void *)0);
	until(rq_ready == 1);
	usleep(20000);
	w2 = rq_tid[0];
	expect_err("CMP_REQUEUE_PI to a PI futex its waiter owns", futex(&cond1, FUTEX_CMP_REQUEUE_PI | PRIV, 1, 0, &w2, 0), EDEADLK);
	w2 = 0;
	/* A signal to a waiter requeued: EAGAIN, not a restart. */
	lock(&w2, PRIV);
	expect("requeued", requeue(1, 1) == 1);
	handled = 0;
	pthread_kill(th[0], SIGUSR1);
	pthread_join(th[0], NULL);
	printf("a signal after the requeue: %s, handler ran: %s\n", rq_result[0] == 0 ? "returned" : errname(-rq_result[0]),
	       handled ? "yes" : "no");
	unlock(&w2, PRIV);
	expect("the word is free", w2 == 0);
}

/* --- attackers --- */

static int nwaiters = 1000;
static uint32_t crowd;
static long crowd_count;
static volatile int crowd_in;

static void *crowd_thread(void *arg)
{
	__sync_fetch_and_add(&crowd_in, 1);
	if (lock(&crowd, PRIV) != 0)
		return (void *)1;
	crowd_count++;
	if (unlock(&crowd, PRIV) != 0)
		return (void *)1;
	return NULL;
}

static void *wait_forever(void *arg)
{
	futex(arg, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0);
	return NULL;
}

static void attackers(void)
{
	/* A thousand waiters on one PI futex. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_t *th = calloc(nwaiters, sizeof *th);
	lock(&crowd, PRIV);
	int made = 0;
	for (int i = 0; i < nwaiters; i++)
		if (pthread_create(&th[i], &attr, crowd_thread, NULL) == 0)
			made++;
	until(crowd_in == made);
	usleep(50000);
	unlock(&crowd, PRIV);
	int bad = 0;
	for (int i = 0; i < made; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += r != NULL;
	}
	printf("%d waiters on one PI futex: %s\n", nwaiters, made == nwaiters && crowd_count == made && bad == 0 && crowd == 0 ? "each got it once" : "NO");
	free(th);

	/* The owner is another process's thread: the wait is for it, until it ends. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	uint32_t w = pid;
	struct timespec ts = at(CLOCK_REALTIME, 30);
	expect_err("private LOCK_PI, another process's thread as the owner", futex(&w, FUTEX_LOCK_PI | PRIV, 0, &ts, NULL, 0), EPERM);
	printf("the word then: %s\n", w == (pid | WAITERS) ? "its TID and FUTEX_WAITERS" : w == (uint32_t)pid ? "its TID" : "NO");
	w = pid;
	expect_err("LOCK_PI, another process's thread as the owner", futex(&w, FUTEX_LOCK_PI, 0, &ts, NULL, 0), ETIMEDOUT);
	printf("the word then: %s\n", w == (pid | WAITERS) ? "its TID and FUTEX_WAITERS" : "NO");
	pthread_t lk;
	lock_result = 1;
	locker_flags = 0;
	w = pid;
	pthread_create(&lk, NULL, pi_locker, &w);
	until(w & WAITERS);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	pthread_join(lk, NULL);
	printf("that owner killed: LOCK_PI %s\n", lock_result == 0 ? "returned, owning it" : errname(-lock_result));
	printf("with FUTEX_WAITERS %s, FUTEX_OWNER_DIED %s\n", locker_word & WAITERS ? "set" : "clear",
	       locker_word & OWNER_DIED ? "set" : "clear");
	w = pid;
	expect_err("LOCK_PI, the owner reaped", futex(&w, FUTEX_LOCK_PI | PRIV, 0, NULL, NULL, 0), ESRCH);

	/* A process whose threads wait in LOCK_PI ends on SIGTERM. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static uint32_t mine;
		lock(&mine, PRIV);
		pthread_t t1, t2;
		pthread_create(&t1, NULL, wait_forever, &mine);
		pthread_create(&t2, NULL, wait_forever, &mine);
		pthread_join(t1, NULL);
		_exit(0);
	}
	usleep(30000);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	expect("threads in LOCK_PI end with their process on SIGTERM", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
}

/* waitLockPI serves the test that signals vemu itself. */
static int wait_lockpi(void)
{
	static uint32_t mine;
	lock(&mine, PRIV);
	pthread_t t1, t2;
	pthread_create(&t1, NULL, wait_forever, &mine);
	pthread_create(&t2, NULL, wait_forever, &mine);
	until(mine & WAITERS);
	usleep(20000);
	printf("ready\n");
	fflush(stdout);
	pthread_join(t1, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "wait-lockpi") == 0)
		return wait_lockpi();
	if (argc > 1 && strcmp(argv[1], "exit0") == 0)
		return 0;
	mutexes();
	robust(0);
	robust(1);
	pshared();
	robust_lists();
	owners_end();
	condvars();
	errors();
	requeue_pi();
	attackers();
	return failures != 0;
}
