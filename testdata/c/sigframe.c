/* sigframe checks what a signal handler sees and what it can change: siginfo for faults,
 * the ucontext (registers written by the handler take effect), SA_RESETHAND, SA_NODEFER,
 * sigaltstack, masks, nested delivery, sigsuspend, sigtimedwait, queued real-time signals,
 * and that SSE and MXCSR state survive a handler that clobbers them. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static void on(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

/* Faults: siginfo, then recovery with siglongjmp. */
static sigjmp_buf jump;
static volatile int f_signo, f_code;
static void *volatile f_addr;
static volatile uintptr_t f_rip;

static void on_fault(int sig, siginfo_t *si, void *ucp)
{
	ucontext_t *uc = ucp;
	f_signo = si->si_signo == sig ? sig : -1;
	f_code = si->si_code;
	f_addr = si->si_addr;
	f_rip = uc->uc_mcontext.gregs[REG_RIP];
	siglongjmp(jump, 1);
}

/* Skipping a faulting instruction by editing rip, and setting rax. */
extern char sigframe_ud2[], sigframe_load[];
static volatile uintptr_t skip_rip;
static void on_skip(int sig, siginfo_t *si, void *ucp)
{
	(void)si;
	ucontext_t *uc = ucp;
	skip_rip = uc->uc_mcontext.gregs[REG_RIP];
	/* Both instructions are two bytes long. Resume after the one meant, even when the
	 * frame's rip is wrong, so that a wrong rip fails a check instead of looping. */
	uc->uc_mcontext.gregs[REG_RIP] = (uintptr_t)(sig == SIGILL ? sigframe_ud2 : sigframe_load) + 2;
	uc->uc_mcontext.gregs[REG_RAX] = 42;
}

static volatile int hits, depth, maxdepth, nodefer_unblocked, defer_blocked;
static void on_count(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	hits++;
	depth++;
	if (depth > maxdepth)
		maxdepth = depth;
	if (blocked(sig))
		defer_blocked = 1;
	else
		nodefer_unblocked = 1;
	if (hits < 3)
		raise(sig);
	depth--;
}

static volatile int once_hits;
static void on_once(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	once_hits++;
}

/* The alternate stack. */
static char *alt;
static volatile int on_alt, alt_flags_onstack;
static void on_altstack(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	char here;
	on_alt = &here > alt && &here < alt + 65536;
	stack_t cur;
	sigaltstack(NULL, &cur);
	alt_flags_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

/* Nesting: raise inside a handler. */
static char order[16];
static volatile int norder;
static void on_order(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (norder < 15)
		order[norder++] = sig == SIGUSR1 ? '1' : sig == SIGUSR2 ? '2' : '?';
	if (sig == SIGUSR1)
		raise(SIGUSR2);
	if (norder < 15)
		order[norder++] = sig == SIGUSR1 ? 'a' : 'b';
}

/* sigsuspend: the mask inside the handler and after. */
static volatile int susp_usr1_blocked_in_handler, susp_usr2_blocked_in_handler, susp_hits;
static void on_susp(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	susp_hits++;
	susp_usr1_blocked_in_handler = blocked(SIGUSR1);
	susp_usr2_blocked_in_handler = blocked(SIGUSR2);
}

/* Real-time signals with values. */
static int rt_vals[8];
static volatile int n_rt, rt_code;
static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_code = si->si_code;
	if (n_rt < 8)
		rt_vals[n_rt++] = si->si_value.sival_int;
}

/* SSE state across a handler. */
static volatile unsigned handler_mxcsr;
static void on_clobber(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	unsigned m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	handler_mxcsr = m;
	m = 0x7f80; /* round toward zero */
	__asm__ volatile("ldmxcsr %0\n\t"
			 "pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tpcmpeqd %%xmm2, %%xmm2\n\t"
			 "pcmpeqd %%xmm3, %%xmm3\n\tpcmpeqd %%xmm4, %%xmm4\n\tpcmpeqd %%xmm5, %%xmm5\n\t"
			 "pcmpeqd %%xmm6, %%xmm6\n\tpcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\t"
			 "pcmpeqd %%xmm9, %%xmm9\n\tpcmpeqd %%xmm10, %%xmm10\n\tpcmpeqd %%xmm11, %%xmm11\n\t"
			 "pcmpeqd %%xmm12, %%xmm12\n\tpcmpeqd %%xmm13, %%xmm13\n\tpcmpeqd %%xmm14, %%xmm14\n\t"
			 "pcmpeqd %%xmm15, %%xmm15\n\t"
			 :
			 : "m"(m)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static int xmm_survive(void)
{
	uint64_t in[32], out[32];
	for (int i = 0; i < 32; i++)
		in[i] = 0x0101010101010101ull * (uint64_t)(i + 1);
	memset(out, 0, sizeof out);
	unsigned before = 0x5f80, after = 0; /* round down */
	__asm__ volatile("ldmxcsr %[before]\n\t"
			 "movdqu 0(%[in]), %%xmm0\n\tmovdqu 16(%[in]), %%xmm1\n\tmovdqu 32(%[in]), %%xmm2\n\t"
			 "movdqu 48(%[in]), %%xmm3\n\tmovdqu 64(%[in]), %%xmm4\n\tmovdqu 80(%[in]), %%xmm5\n\t"
			 "movdqu 96(%[in]), %%xmm6\n\tmovdqu 112(%[in]), %%xmm7\n\tmovdqu 128(%[in]), %%xmm8\n\t"
			 "movdqu 144(%[in]), %%xmm9\n\tmovdqu 160(%[in]), %%xmm10\n\tmovdqu 176(%[in]), %%xmm11\n\t"
			 "movdqu 192(%[in]), %%xmm12\n\tmovdqu 208(%[in]), %%xmm13\n\tmovdqu 224(%[in]), %%xmm14\n\t"
			 "movdqu 240(%[in]), %%xmm15\n\t"
			 "mov $39, %%eax\n\tsyscall\n\t" /* getpid */
			 "mov %%eax, %%edi\n\tmov $12, %%esi\n\tmov $62, %%eax\n\tsyscall\n\t" /* kill(pid, SIGUSR2) */
			 "movdqu %%xmm0, 0(%[out])\n\tmovdqu %%xmm1, 16(%[out])\n\tmovdqu %%xmm2, 32(%[out])\n\t"
			 "movdqu %%xmm3, 48(%[out])\n\tmovdqu %%xmm4, 64(%[out])\n\tmovdqu %%xmm5, 80(%[out])\n\t"
			 "movdqu %%xmm6, 96(%[out])\n\tmovdqu %%xmm7, 112(%[out])\n\tmovdqu %%xmm8, 128(%[out])\n\t"
			 "movdqu %%xmm9, 144(%[out])\n\tmovdqu %%xmm10, 160(%[out])\n\tmovdqu %%xmm11, 176(%[out])\n\t"
			 "movdqu %%xmm12, 192(%[out])\n\tmovdqu %%xmm13, 208(%[out])\n\tmovdqu %%xmm14, 224(%[out])\n\t"
			 "movdqu %%xmm15, 240(%[out])\n\t"
			 "stmxcsr %[after]\n\t"
			 : [after] "=m"(after)
			 : [in] "r"(in), [out] "r"(out), [before] "m"(before)
			 : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
			   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
			   "xmm15");
	unsigned dflt = 0x1f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(dflt));
	return memcmp(in, out, sizeof in) == 0 && (after & ~0x3fu) == 0x5f80;
}

static volatile int zero;
static int *volatile null_ptr;

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1. NULL dereference */
	on(SIGSEGV, on_fault, SA_NODEFER);
	if (sigsetjmp(jump, 1) == 0)
		f_signo = *null_ptr;
	expect("NULL deref: SIGSEGV", f_signo == SIGSEGV);
	expect("NULL deref: SEGV_MAPERR", f_code == SEGV_MAPERR);
	expect("NULL deref: si_addr 0", f_addr == NULL);
	expect("SIGSEGV unblocked after siglongjmp", !blocked(SIGSEGV));

	/* 2. SIGFPE: si_addr is the faulting instruction, the frame's rip too */
	on(SIGFPE, on_fault, 0);
	f_signo = 0;
	if (sigsetjmp(jump, 1) == 0)
		zero = 7 / zero;
	expect("division: SIGFPE", f_signo == SIGFPE);
	expect("division: FPE_INTDIV", f_code == FPE_INTDIV);
	expect("division: si_addr is rip", f_addr != NULL && (uintptr_t)f_addr == f_rip);
	expect("SIGFPE unblocked after siglongjmp", !blocked(SIGFPE));

	/* 3. A handler that moves rip past ud2 and sets rax */
	on(SIGILL, on_skip, 0);
	long r;
	__asm__ volatile("xor %%eax, %%eax\n\t"
			 ".globl sigframe_ud2\n"
			 "sigframe_ud2: ud2\n\t"
			 : "=a"(r)
			 :
			 : "memory");
	expect("SIGILL: the frame's rip is the ud2", skip_rip == (uintptr_t)sigframe_ud2);
	expect("SIGILL handler sets rip and rax", r == 42);
	/* the same for a data fault: mov (%rdx), %eax is two bytes */
	on(SIGSEGV, on_skip, 0);
	__asm__ volatile("mov $7, %%eax\n\t"
			 "add $1, %%eax\n\t"
			 "mov $16, %%rdx\n\t"
			 ".globl sigframe_load\n"
			 "sigframe_load: mov (%%rdx), %%eax\n\t"
			 : "=a"(r)
			 :
			 : "rdx", "memory");
	expect("SIGSEGV: the frame's rip is the faulting load", skip_rip == (uintptr_t)sigframe_load);
	expect("SIGSEGV handler skips the load", r == 42);

	/* 4. SA_NODEFER and the default deferral, with nesting */
	on(SIGUSR1, on_count, 0);
	hits = maxdepth = defer_blocked = nodefer_unblocked = 0;
	raise(SIGUSR1);
	printf("deferred: hits %d, max depth %d, blocked inside %d\n", hits, maxdepth, defer_blocked);
	on(SIGUSR1, on_count, SA_NODEFER);
	hits = maxdepth = defer_blocked = nodefer_unblocked = 0;
	raise(SIGUSR1);
	printf("SA_NODEFER: hits %d, max depth %d, unblocked inside %d\n", hits, maxdepth, nodefer_unblocked);

	/* 5. SA_RESETHAND */
	on(SIGUSR1, on_once, SA_RESETHAND);
	raise(SIGUSR1);
	struct sigaction cur;
	sigaction(SIGUSR1, NULL, &cur);
	expect("SA_RESETHAND: ran once", once_hits == 1);
	expect("SA_RESETHAND: back to SIG_DFL", cur.sa_handler == SIG_DFL);

	/* 6. sigaltstack and SA_ONSTACK */
	alt = malloc(65536);
	stack_t ss = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0}, old;
	expect("sigaltstack set", sigaltstack(&ss, NULL) == 0);
	sigaltstack(NULL, &old);
	expect("sigaltstack query", old.ss_sp == alt && old.ss_size == 65536 && old.ss_flags == 0);
	stack_t tiny = {.ss_sp = alt, .ss_size = 1024, .ss_flags = 0};
	errno = 0;
	expect("sigaltstack too small: ENOMEM", sigaltstack(&tiny, NULL) == -1 && errno == ENOMEM);
	stack_t bad = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0x7};
	errno = 0;
	expect("sigaltstack bad flags: EINVAL", sigaltstack(&bad, NULL) == -1 && errno == EINVAL);
	on(SIGUSR2, on_altstack, SA_ONSTACK);
	raise(SIGUSR2);
	expect("handler runs on the alternate stack", on_alt);
	expect("sigaltstack inside reports SS_ONSTACK", alt_flags_onstack);
	on(SIGUSR2, on_altstack, 0);
	on_alt = 1;
	raise(SIGUSR2);
	expect("without SA_ONSTACK the handler stays on the stack", !on_alt);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	sigaltstack(NULL, &old);
	expect("sigaltstack disabled", old.ss_flags == SS_DISABLE);

	/* 7. raise inside a handler */
	on(SIGUSR1, on_order, 0);
	on(SIGUSR2, on_order, 0);
	norder = 0;
	raise(SIGUSR1);
	order[norder] = 0;
	printf("nested order: %s\n", order);

	/* 8. blocked, then unblocked */
	sigset_t set, oldset;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &oldset);
	norder = 0;
	raise(SIGUSR2);
	raise(SIGUSR1);
	expect("blocked signals wait", norder == 0);
	sigprocmask(SIG_SETMASK, &oldset, NULL);
	order[norder] = 0;
	printf("after unblock: %s\n", order);

	/* 9. sigsuspend */
	on(SIGUSR1, on_susp, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &oldset);
	raise(SIGUSR1);
	sigset_t during;
	sigemptyset(&during);
	sigaddset(&during, SIGUSR2);
	errno = 0;
	int rs = sigsuspend(&during);
	expect("sigsuspend: EINTR", rs == -1 && errno == EINTR);
	expect("sigsuspend: handler ran", susp_hits == 1);
	expect("sigsuspend: mask inside is the temporary one plus the signal",
	       susp_usr1_blocked_in_handler && susp_usr2_blocked_in_handler);
	expect("sigsuspend: mask restored", blocked(SIGUSR1) && !blocked(SIGUSR2));
	sigprocmask(SIG_SETMASK, &oldset, NULL);

	/* 10. sigtimedwait */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &oldset);
	raise(SIGUSR2);
	siginfo_t si;
	struct timespec ts0 = {0, 0}, ts10 = {0, 10000000};
	int w = sigtimedwait(&set, &si, &ts0);
	expect("sigtimedwait takes the pending signal", w == SIGUSR2 && si.si_signo == SIGUSR2 &&
							   (si.si_code == SI_TKILL || si.si_code == SI_USER));
	errno = 0;
	w = sigtimedwait(&set, &si, &ts0);
	expect("sigtimedwait with nothing pending: EAGAIN", w == -1 && errno == EAGAIN);
	errno = 0;
	w = sigtimedwait(&set, &si, &ts10);
	expect("sigtimedwait times out: EAGAIN", w == -1 && errno == EAGAIN);
	sigprocmask(SIG_SETMASK, &oldset, NULL);

	/* 11. queued real-time signals keep their order and values */
	on(SIGRTMIN + 1, on_rt, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, &oldset);
	for (int i = 1; i <= 3; i++)
		sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 100 * i});
	expect("real-time signals wait while blocked", n_rt == 0);
	sigprocmask(SIG_SETMASK, &oldset, NULL);
	printf("real-time values: %d %d %d (n=%d, SI_QUEUE %d)\n", rt_vals[0], rt_vals[1], rt_vals[2], n_rt,
	       rt_code == SI_QUEUE);

	/* 12. SSE registers and MXCSR survive a handler that clobbers them */
	on(SIGUSR2, on_clobber, 0);
	expect("xmm0-15 and MXCSR survive a handler", xmm_survive());
	printf("handler starts with MXCSR %#x\n", handler_mxcsr & ~0x3fu);

	printf("failures: %d\n", failures);
	return failures != 0;
}
