/* faultrf checks the flags a signal frame saves: a fault-class exception (a page fault,
 * ud2, a division by zero, hlt's general protection) has RF set in them, as the CPU
 * pushes them for a fault; a trap (int3) and a signal no exception raised (raise, a
 * timer's signal taken in a loop) have it clear. Redis's crash report prints them. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <ucontext.h>

#include "check.h"

#define RF (1L << 16)

static sigjmp_buf jb;
static volatile long flags;
static volatile int ticks, ticks_rf;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si;
	flags = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_EFL];
	siglongjmp(jb, 1);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si;
	flags = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_EFL];
}

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si;
	if (((ucontext_t *)uc)->uc_mcontext.gregs[REG_EFL] & RF)
		ticks_rf++;
	ticks++;
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
	int sigs[] = {SIGSEGV, SIGILL, SIGFPE, SIGTRAP};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);

	int *volatile bad = (int *)8;
	flags = 0;
	if (!sigsetjmp(jb, 1))
		*bad = 1;
	expect("a page fault saves RF", (flags & RF) != 0);
	flags = 0;
	if (!sigsetjmp(jb, 1))
		__asm__ volatile("ud2");
	expect("ud2 saves RF", (flags & RF) != 0);
	flags = 0;
	if (!sigsetjmp(jb, 1)) {
		volatile int zero = 0, q = 5 / zero;
		(void)q;
	}
	expect("a division by zero saves RF", (flags & RF) != 0);
	flags = 0;
	if (!sigsetjmp(jb, 1))
		__asm__ volatile("hlt");
	expect("hlt saves RF", (flags & RF) != 0);
	flags = RF;
	if (!sigsetjmp(jb, 1))
		__asm__ volatile("int3");
	expect("int3 leaves RF clear", (flags & RF) == 0);

	struct sigaction sb = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sb, NULL);
	flags = RF;
	raise(SIGUSR1);
	expect("raise leaves RF clear", (flags & RF) == 0);

	struct sigaction st = {.sa_sigaction = on_tick, .sa_flags = SA_SIGINFO};
	sigaction(SIGPROF, &st, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_PROF, &it, NULL);
	while (ticks < 20)
		;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	expect("a timer's signals in a loop leave RF clear", ticks_rf == 0);
	return failures != 0;
}
