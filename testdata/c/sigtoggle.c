/* sigtoggle: a signal's action is looked up when it is generated and again when it is
 * delivered. A signal whose action is SIG_IGN at generation is discarded unless the
 * thread blocks it; setting SIG_IGN discards it wherever it is pending, in any thread or
 * in the process; one a thread sends itself unblocked is delivered when its call returns.
 * So a thread raising a signal at itself while another switches the action between a
 * handler and SIG_IGN sees both outcomes; then the same with many threads raising,
 * blocking, queueing and switching at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t handled;
static volatile long handled_rt, handled_usr1;
static volatile int stop;

static void on_sig(int sig)
{
	handled++;
	if (sig == SIGRTMIN)
		__atomic_add_fetch(&handled_rt, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&handled_usr1, 1, __ATOMIC_RELAXED);
}

static void set_action(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigaction(sig, &sa, NULL);
}

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(how, &s, NULL);
}

static int pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static int tgkill_self(int sig)
{
	return syscall(SYS_tgkill, getpid(), gettid(), sig);
}

/* A thread that blocks SIGUSR1 and has one pending, until told to look again. */
static volatile int step;

static void *holder(void *arg)
{
	int *seen = arg;
	mask(SIG_BLOCK, SIGUSR1);
	tgkill_self(SIGUSR1);
	seen[0] = pending(SIGUSR1);
	__atomic_store_n(&step, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&step, __ATOMIC_SEQ_CST) != 2)
		sched_yield();
	seen[1] = pending(SIGUSR1);
	return NULL;
}

static void rules(void)
{
	/* Ignored at generation, not blocked: discarded. */
	set_action(SIGUSR1, SIG_IGN);
	handled = 0;
	tgkill_self(SIGUSR1);
	set_action(SIGUSR1, on_sig);
	expect("ignored unblocked signal discarded at generation", handled == 0 && !pending(SIGUSR1));

	/* Blocked and ignored: still pending, and the action at delivery decides. */
	mask(SIG_BLOCK, SIGUSR1);
	set_action(SIGUSR1, SIG_IGN);
	tgkill_self(SIGUSR1);
	expect("ignored blocked signal stays pending", pending(SIGUSR1));
	set_action(SIGUSR1, on_sig);
	handled = 0;
	mask(SIG_UNBLOCK, SIGUSR1);
	expect("handler set before unblocking runs", handled == 1);

	/* Handler at generation, SIG_IGN before delivery: discarded. */
	mask(SIG_BLOCK, SIGUSR1);
	tgkill_self(SIGUSR1);
	set_action(SIGUSR1, SIG_IGN);
	expect("SIG_IGN discards the pending signal", !pending(SIGUSR1));
	set_action(SIGUSR1, on_sig);
	handled = 0;
	mask(SIG_UNBLOCK, SIGUSR1);
	expect("nothing left to deliver", handled == 0);

	/* Pending in another thread, and in the process: SIG_IGN from this one discards both. */
	mask(SIG_BLOCK, SIGUSR1);
	kill(getpid(), SIGUSR1);
	int seen[2] = {-1, -1};
	pthread_t th;
	pthread_create(&th, NULL, holder, seen);
	while (__atomic_load_n(&step, __ATOMIC_SEQ_CST) != 1)
		sched_yield();
	set_action(SIGUSR1, SIG_IGN);
	int process_pending = pending(SIGUSR1);
	__atomic_store_n(&step, 2, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	expect("pending in the other thread before", seen[0] == 1);
	expect("SIG_IGN discards it in the other thread", seen[1] == 0);
	expect("SIG_IGN discards the process's", process_pending == 0);
	set_action(SIGUSR1, on_sig);
	handled = 0;
	mask(SIG_UNBLOCK, SIGUSR1);
	expect("none delivered after", handled == 0);
}

static volatile long toggles;

static void *toggler(void *arg)
{
	int sig = (int)(long)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		set_action(sig, on_sig);
		set_action(sig, SIG_IGN);
		__atomic_add_fetch(&toggles, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* One thread raises SIGUSR1 at itself while another switches the action: within a bound
 * on rounds, some raises find the handler (it runs before the call returns) and some
 * find SIG_IGN. */
static void race(void)
{
	set_action(SIGUSR1, on_sig);
	stop = 0;
	pthread_t th;
	toggles = 0;
	pthread_create(&th, NULL, toggler, (void *)(long)SIGUSR1);
	while (__atomic_load_n(&toggles, __ATOMIC_RELAXED) < 100)
		sched_yield();
	long rounds, ran = 0, dropped = 0;
	for (rounds = 0; rounds < 2000000 && (ran == 0 || dropped == 0); rounds++) {
		sig_atomic_t before = handled;
		tgkill_self(SIGUSR1);
		if (handled != before)
			ran++;
		else
			dropped++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	expect("a raise found the handler", ran > 0);
	expect("a raise found SIG_IGN", dropped > 0);
	set_action(SIGUSR1, on_sig);
	expect("nothing pending after", !pending(SIGUSR1));
}

/* Many threads at once: raisers send SIGUSR1 and queue SIGRTMIN at themselves, now and
 * then blocking them over a few raises; togglers switch both actions; the main thread
 * sends SIGUSR1 to the process. Every signal is handled at most once, and SIG_IGN leaves
 * nothing pending and no queued signal counted against the limit. */
enum { RAISERS = 4, TOGGLERS = 4, RAISES = 500 };
static long sent_rt[RAISERS];

static void *raiser(void *arg)
{
	long i = (long)arg;
	union sigval v = {.sival_int = 0};
	for (int n = 0; n < RAISES; n++) {
		if (n % 7 == 0) {
			mask(SIG_BLOCK, SIGUSR1);
			mask(SIG_BLOCK, SIGRTMIN);
		}
		tgkill_self(SIGUSR1);
		if (sigqueue(getpid(), SIGRTMIN, v) == 0)
			sent_rt[i]++;
		if (n % 7 == 3) {
			mask(SIG_UNBLOCK, SIGUSR1);
			mask(SIG_UNBLOCK, SIGRTMIN);
		}
	}
	mask(SIG_UNBLOCK, SIGUSR1);
	mask(SIG_UNBLOCK, SIGRTMIN);
	return NULL;
}

static void storm(void)
{
	handled_rt = handled_usr1 = 0;
	stop = 0;
	set_action(SIGUSR1, on_sig);
	set_action(SIGRTMIN, on_sig);
	pthread_t r[RAISERS], t[TOGGLERS];
	for (long i = 0; i < TOGGLERS; i++)
		pthread_create(&t[i], NULL, toggler, (void *)(long)(i % 2 ? SIGRTMIN : SIGUSR1));
	for (long i = 0; i < RAISERS; i++)
		pthread_create(&r[i], NULL, raiser, (void *)i);
	for (int n = 0; n < 1000; n++)
		kill(getpid(), SIGUSR1);
	for (int i = 0; i < RAISERS; i++)
		pthread_join(r[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < TOGGLERS; i++)
		pthread_join(t[i], NULL);
	long sent = 0;
	for (int i = 0; i < RAISERS; i++)
		sent += sent_rt[i];
	/* Leave SIG_IGN in place, then look: nothing may be pending anywhere. */
	set_action(SIGUSR1, SIG_IGN);
	set_action(SIGRTMIN, SIG_IGN);
	expect("storm: real-time signals handled at most once", handled_rt <= sent);
	expect("storm: SIGUSR1 handled at most once per raise or kill", handled_usr1 <= RAISERS * RAISES + 1000);
	expect("storm: nothing pending after SIG_IGN", !pending(SIGUSR1) && !pending(SIGRTMIN));

	/* The queue's entries went back to the limit: as many can be queued again. */
	mask(SIG_BLOCK, SIGRTMIN);
	set_action(SIGRTMIN, on_sig);
	union sigval v = {.sival_int = 0};
	int queued = 0;
	for (int n = 0; n < 100; n++)
		queued += sigqueue(getpid(), SIGRTMIN, v) == 0;
	set_action(SIGRTMIN, SIG_IGN);
	int after = pending(SIGRTMIN);
	for (int n = 0; n < 100; n++)
		queued += sigqueue(getpid(), SIGRTMIN, v) == 0;
	set_action(SIGRTMIN, on_sig);
	handled_rt = 0;
	mask(SIG_UNBLOCK, SIGRTMIN);
	expect("storm: queued again after", queued == 200 && !after);
	printf("storm: delivered after unblocking: %ld\n", handled_rt);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	rules();
	race();
	storm();
	return failures != 0;
}
