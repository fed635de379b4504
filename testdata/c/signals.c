/* signals installs handlers and checks delivery, masks, siginfo, sigaltstack and sigreturn. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static volatile sig_atomic_t got_usr1, got_usr2, usr1_code, order[4], norder;
static volatile void *fault_addr;
static volatile int fault_signo, fault_code;
static sigjmp_buf jump;

static void on_usr(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGUSR1) {
		got_usr1++;
		usr1_code = si->si_code;
	} else {
		got_usr2++;
	}
	if (norder < 4)
		order[norder++] = sig;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_signo = sig;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(jump, 1);
}

static volatile int zero;
static volatile int *volatile bad_ptr = (volatile int *)16;
static volatile int depth;

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	depth = n;
	return recurse(n + 1) + pad[0];
}

/* sum_regs keeps values live in many registers across a signal delivered to itself. */
static __attribute__((noinline)) long regs_survive(void)
{
	register long a = 0x1111, b = 0x2222, c = 0x3333, d = 0x4444;
	__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
	raise(SIGUSR2);
	__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
	return a + b + c + d;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	expect("sigaction SIGUSR1", sigaction(SIGUSR1, &sa, NULL) == 0);
	expect("sigaction SIGUSR2", sigaction(SIGUSR2, &sa, NULL) == 0);
	struct sigaction old;
	expect("sigaction query", sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_sigaction == on_usr &&
					  (old.sa_flags & SA_SIGINFO));
	errno = 0;
	int r = sigaction(SIGKILL, &sa, NULL);
	printf("sigaction SIGKILL: %s\n", r == 0 ? "OK" : errname(errno));
	errno = 0;
	r = sigaction(0, &sa, NULL);
	printf("sigaction 0: %s\n", r == 0 ? "OK" : errname(errno));

	/* raise delivers synchronously */
	raise(SIGUSR1);
	expect("raise delivers", got_usr1 == 1);
	expect("si_code is SI_TKILL", usr1_code == SI_TKILL);
	kill(getpid(), SIGUSR1);
	expect("kill self delivers", got_usr1 == 2);
	expect("kill si_code is SI_USER", usr1_code == SI_USER);

	/* registers survive a handler */
	expect("registers survive a handler", regs_survive() == 0x1111 + 0x2222 + 0x3333 + 0x4444);

	/* blocked signals stay pending until unblocked, then arrive in signal order */
	sigset_t set, oldset, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	expect("sigprocmask block", sigprocmask(SIG_BLOCK, &set, &oldset) == 0);
	got_usr1 = got_usr2 = 0;
	norder = 0;
	raise(SIGUSR2);
	raise(SIGUSR1);
	raise(SIGUSR1); /* standard signals do not queue */
	expect("blocked not delivered", got_usr1 == 0 && got_usr2 == 0);
	sigpending(&pending);
	expect("sigpending shows both", sigismember(&pending, SIGUSR1) && sigismember(&pending, SIGUSR2));
	expect("sigprocmask unblock", sigprocmask(SIG_SETMASK, &oldset, NULL) == 0);
	expect("delivered once each after unblock", got_usr1 == 1 && got_usr2 == 1);
	/* Linux sets up a frame for each deliverable signal, lowest number first, so the last one
	 * set up runs first. */
	printf("handler order:");
	for (int i = 0; i < norder; i++)
		printf(" %s", order[i] == SIGUSR1 ? "USR1" : order[i] == SIGUSR2 ? "USR2" : "other");
	printf("\n");
	sigprocmask(SIG_BLOCK, NULL, &oldset);
	expect("mask restored", !sigismember(&oldset, SIGUSR1));

	/* SIG_IGN */
	signal(SIGUSR1, SIG_IGN);
	got_usr1 = 0;
	raise(SIGUSR1);
	expect("ignored signal not delivered", got_usr1 == 0);

	/* SIGSEGV handler with si_addr, then recover with siglongjmp */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(jump, 1) == 0)
		*bad_ptr = 1;
	expect("SIGSEGV caught", fault_signo == SIGSEGV);
	expect("SIGSEGV si_code SEGV_MAPERR", fault_code == SEGV_MAPERR);
	expect("SIGSEGV si_addr", fault_addr == (void *)16);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fault_signo = 0;
	if (sigsetjmp(jump, 1) == 0)
		*(volatile char *)(ro + 100) = 1;
	expect("write to read-only page caught", fault_signo == SIGSEGV);
	expect("si_code SEGV_ACCERR", fault_code == SEGV_ACCERR);
	expect("si_addr in page", fault_addr == ro + 100);
	fault_signo = 0;
	if (sigsetjmp(jump, 1) == 0)
		zero = 1000 / zero;
	expect("SIGFPE caught", fault_signo == SIGFPE);
	expect("si_code FPE_INTDIV", fault_code == FPE_INTDIV);
	fault_signo = 0;
	if (sigsetjmp(jump, 1) == 0)
		__asm__ volatile("ud2");
	expect("SIGILL caught", fault_signo == SIGILL);
	expect("si_code ILL_ILLOPN", fault_code == ILL_ILLOPN);
	fault_signo = 0;
	if (sigsetjmp(jump, 1) == 0)
		__asm__ volatile("int3");
	expect("SIGTRAP caught", fault_signo == SIGTRAP);
	expect("si_code SI_KERNEL", fault_code == SI_KERNEL);

	/* stack overflow handled on an alternate stack */
	stack_t ss;
	ss.ss_sp = malloc(1 << 16);
	ss.ss_size = 1 << 16;
	ss.ss_flags = 0;
	expect("sigaltstack", sigaltstack(&ss, NULL) == 0);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	fault_signo = 0;
	if (sigsetjmp(jump, 1) == 0)
		recurse(0);
	expect("stack overflow caught on alternate stack", fault_signo == SIGSEGV && depth > 1000);

	/* SIGPIPE ignored: write to a pipe without readers is EPIPE */
	signal(SIGPIPE, SIG_IGN);
	int p[2];
	pipe(p);
	close(p[0]);
	errno = 0;
	r = write(p[1], "x", 1);
	printf("write to broken pipe: %s\n", r < 0 ? errname(errno) : "OK");
	close(p[1]);

	/* alarm wakes pause */
	signal(SIGALRM, (void (*)(int))on_usr);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGALRM, &sa, NULL);
	norder = 0;
	alarm(1);
	pause();
	expect("alarm interrupts pause", norder == 1 && order[0] == SIGALRM);

	printf("failures: %d\n", failures);
	fflush(stdout);
	/* finally, die of a signal raised through the default action */
	signal(SIGUSR1, SIG_DFL);
	raise(SIGUSR1);
	return 1;
}
