/* pthwbp is a debugger's use of the x86 debug registers through ptrace: the tracer
 * writes breakpoint addresses into DR0-DR3 and enables them in DR7 (PTRACE_POKEUSER),
 * and the child stops with SIGTRAP (si_code TRAP_HWBKPT) before an instruction at a
 * breakpoint runs, or after one that wrote (or read) a watched range, with DR6 naming the
 * slot. It checks the values Linux refuses (kernel addresses, misaligned ranges, lengths
 * and types the CPU lacks), and that a tracer toggling every slot many times, on memory
 * that is not mapped, leaves the child running as before. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pt.h"

#define DR(i) offsetof(struct user, u_debugreg[i])

/* DR7 fields: the local enable bit of slot i, and its type and length bits. */
#define EN(i) (1ul << (2 * (i)))
#define RWLEN(i, rw, len) (((unsigned long)(rw) | (unsigned long)(len) << 2) << (16 + 4 * (i)))
#define T_EXEC 0
#define T_WRITE 1
#define T_IO 2
#define T_RW 3
#define L1 0
#define L2 1
#define L8 2
#define L4 3


static volatile union {
	uint64_t q[4];
	uint16_t w[16];
	char b[32];
} wv __attribute__((aligned(64)));
#define wvar wv.q

__attribute__((noinline)) static int hfn(int x)
{
	__asm__ volatile("");
	return x + 1;
}

static int (*volatile hfn_p)(int) = hfn;

/* worker runs over the main thread's breakpoint and watchpoint: they are not its. */
static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		hfn_p(i);
		wvar[1] = i;
	}
	return 0;
}

static void child(void)
{
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
		_exit(100);
	raise(SIGSTOP);
	/* 1: an execution breakpoint, passed three times. */
	int s = 0;
	for (int i = 0; i < 3; i++)
		s += hfn_p(i);
	raise(SIGSTOP);
	/* 2: a write watchpoint of 4 bytes on wvar[1]. */
	wv.b[10] = 1;                           /* a byte inside: hit */
	s += (int)wvar[1];                      /* a read: no hit */
	wvar[0] = 5;                            /* beside it: no hit */
	wvar[1] = 7;                            /* hit */
	wv.b[12] = 1;                           /* past its 4 bytes: no hit */
	raise(SIGSTOP);
	/* 3: read-write watchpoints of 8 bytes on wvar[2] and 2 bytes on wvar[3]. */
	s += (int)wvar[2];                      /* hit slot 1 */
	wvar[2] = 9;                            /* hit slot 1 */
	s += wv.w[13];                          /* beside slot 2: no hit */
	wv.w[12] = 3;                           /* hit slot 2 */
	raise(SIGSTOP);
	/* 4: everything cleared: no stops. */
	hfn_p(1);
	wvar[1] = 1;
	wvar[2] = 2;
	raise(SIGSTOP);
	/* 5: a second thread passes the first one's breakpoints 100 times; then it does. */
	pthread_t th;
	if (pthread_create(&th, 0, worker, 0) != 0 || pthread_join(th, 0) != 0)
		_exit(102);
	hfn_p(1);
	wvar[1] = 1;
	raise(SIGSTOP);
	/* 6: every slot enabled on memory that is not mapped, toggled at each of many stops. */
	for (int i = 0; i < 100; i++)
		raise(SIGSTOP);
	for (int i = 0; i < 1000; i++)
		s += hfn_p(i) & 1;
	raise(SIGSTOP);
	/* 7: a step, then a breakpoint whose SIGTRAP the tracer lets through. */
	s += hfn_p(2);
	_exit(s & 1);
}

/* wait_for waits for pid and returns its status. */
static int wait_for(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, __WALL) != pid)
		return -1;
	return st;
}

static unsigned long peek(pid_t pid, int i)
{
	unsigned long v = 0xdead;
	if (pt(PTRACE_PEEKUSER, pid, DR(i), (unsigned long)&v) != 0)
		return 0xbad;
	return v;
}

/* run_phase continues the child until its next SIGSTOP, describing each SIGTRAP stop
 * on the way; it returns how many there were. */
static int run_phase(pid_t pid, const char *name, unsigned long bp)
{
	int traps = 0;
	for (;;) {
		if (pt(PTRACE_CONT, pid, 0, 0) != 0) {
			printf("%s: cont failed: %s\n", name, errname(errno));
			return -1;
		}
		int st = wait_for(pid);
		if (!WIFSTOPPED(st)) {
			printf("%s: child ended (%#x)\n", name, st);
			return -1;
		}
		if (WSTOPSIG(st) == SIGSTOP)
			break;
		if (WSTOPSIG(st) != SIGTRAP) {
			printf("%s: stop with signal %d\n", name, WSTOPSIG(st));
			continue;
		}
		traps++;
		siginfo_t si;
		struct user_regs_struct r;
		memset(&si, 0, sizeof si);
		pt(PTRACE_GETSIGINFO, pid, 0, (unsigned long)&si);
		pt(PTRACE_GETREGS, pid, 0, (unsigned long)&r);
		unsigned long dr6 = peek(pid, 6);
		printf("%s: trap %d: si_code %d, si_addr is rip: %s, at the breakpoint: %s, dr6 %#lx\n", name, traps,
		       si.si_code, (unsigned long)si.si_addr == r.rip ? "yes" : "no", r.rip == bp ? "yes" : "no", dr6);
	}
	printf("%s: %d traps\n", name, traps);
	return traps;
}

static void poke_err(const char *what, pid_t pid, int i, unsigned long v)
{
	errno = 0;
	long r = pt(PTRACE_POKEUSER, pid, DR(i), v);
	unsigned long now = peek(pid, i);
	if (i < 4 && now >= (unsigned long)&wv && now < (unsigned long)&wv + sizeof wv)
		printf("%s: %s; dr%d reads wv+%lu\n", what, r == 0 ? "success" : errname(errno), i, now - (unsigned long)&wv);
	else
		printf("%s: %s; dr%d reads %#lx\n", what, r == 0 ? "success" : errname(errno), i, now);
}

static void checks(pid_t pid)
{
	for (int i = 0; i < 8; i++)
		printf("dr%d at first: %#lx\n", i, peek(pid, i));
	poke_err("dr4", pid, 4, 0);
	poke_err("dr5", pid, 5, 0);
	poke_err("dr0 at the top of user space", pid, 0, 0x7ffffffff000ul);
	poke_err("dr0 just below it", pid, 0, 0x7fffffffeffful);
	poke_err("dr0 non-canonical", pid, 0, 1ul << 47);
	poke_err("dr0 in the kernel", pid, 0, 0xffffffff81000000ul);
	poke_err("dr0 on the vsyscall page", pid, 0, 0xffffffffff600000ul);
	poke_err("dr0 -1", pid, 0, ~0ul);
	poke_err("dr1 odd", pid, 1, (unsigned long)&wvar[1] + 1);
	poke_err("dr7 odd address with 8 bytes", pid, 7, EN(1) | RWLEN(1, T_WRITE, L8));
	poke_err("dr7 odd address with 2 bytes", pid, 7, EN(1) | RWLEN(1, T_RW, L2));
	poke_err("dr7 odd address with 1 byte", pid, 7, EN(1) | RWLEN(1, T_RW, L1));
	poke_err("dr1 odd address under a 1-byte watch", pid, 1, (unsigned long)&wvar[1] + 3);
	poke_err("dr1 made even under a 1-byte watch", pid, 1, (unsigned long)&wvar[1] + 4);
	poke_err("dr7 cleared", pid, 7, 0);
	poke_err("dr7 an I/O breakpoint", pid, 7, EN(0) | RWLEN(0, T_IO, L1));
	poke_err("dr7 an execution breakpoint of 4 bytes", pid, 7, EN(0) | RWLEN(0, T_EXEC, L4));
	poke_err("dr7 slot 0 good, slot 2 bad", pid, 7, EN(0) | EN(2) | RWLEN(2, T_IO, L1));
	poke_err("dr7 disabled slot with an I/O type", pid, 7, RWLEN(1, T_IO, L1));
	poke_err("dr7 global enable", pid, 7, 2ul << 6 | RWLEN(3, T_WRITE, L4));
	poke_err("dr7 reserved bits", pid, 7, 0xffffffff0000fc00ul);
	poke_err("dr7 exact bits", pid, 7, 0x300);
	poke_err("dr6 zero", pid, 6, 0);
	poke_err("dr6 one", pid, 6, 1);
	poke_err("dr6 all", pid, 6, ~0ul);
	/* A kernel address with the slot already enabled, and a watch that ends past user space. */
	poke_err("dr3 last user word", pid, 3, 0x7fffffffeff8ul);
	poke_err("dr7 slot 3 watches it", pid, 7, EN(3) | RWLEN(3, T_WRITE, L8));
	poke_err("dr3 then in the kernel", pid, 3, 0xffffffffff600000ul);
	poke_err("dr3 unmapped", pid, 3, 0x10000ul);
	/* Every slot on unmapped memory, toggled many times. */
	int bad = 0;
	for (int n = 0; n < 1000; n++) {
		for (int i = 0; i < 4; i++)
			bad += pt(PTRACE_POKEUSER, pid, DR(i), 0x1000ul * (i + 1) + 8 * (n % 8)) != 0;
		bad += pt(PTRACE_POKEUSER, pid, DR(7), n % 2 ? 0 : EN(0) | EN(1) | EN(2) | EN(3) | RWLEN(0, T_EXEC, L1) | RWLEN(1, T_WRITE, L8) | RWLEN(2, T_RW, L8) | RWLEN(3, T_RW, L4)) != 0;
	}
	expect("a thousand toggles of all four slots", bad == 0);
	poke_err("dr7 cleared again", pid, 7, 0);
	for (int i = 0; i < 4; i++)
		pt(PTRACE_POKEUSER, pid, DR(i), 0);
	pt(PTRACE_POKEUSER, pid, DR(6), 0);
}

int main(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		child();
	int st = wait_for(pid);
	expect("stopped by SIGSTOP", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	checks(pid);
	fflush(stdout);

	unsigned long fn = (unsigned long)hfn;
	pt(PTRACE_POKEUSER, pid, DR(0), fn);
	poke_err("an execution breakpoint", pid, 7, EN(0));
	expect("three breakpoint stops", run_phase(pid, "exec", fn) == 3);

	pt(PTRACE_POKEUSER, pid, DR(0), 0);
	pt(PTRACE_POKEUSER, pid, DR(2), (unsigned long)&wvar[1]);
	poke_err("a write watch in slot 2", pid, 7, EN(2) | RWLEN(2, T_WRITE, L4));
	expect("two write stops", run_phase(pid, "write", 0) == 2);

	pt(PTRACE_POKEUSER, pid, DR(1), (unsigned long)&wvar[2]);
	pt(PTRACE_POKEUSER, pid, DR(2), (unsigned long)&wvar[3]);
	poke_err("read-write watches in slots 1 and 2", pid, 7, EN(1) | RWLEN(1, T_RW, L8) | EN(2) | RWLEN(2, T_RW, L2));
	expect("three read-write stops", run_phase(pid, "rw", 0) == 3);

	poke_err("dr7 cleared", pid, 7, 0);
	expect("no stops once cleared", run_phase(pid, "cleared", 0) == 0);

	pt(PTRACE_POKEUSER, pid, DR(0), fn);
	pt(PTRACE_POKEUSER, pid, DR(1), (unsigned long)&wvar[1]);
	poke_err("the main thread's breakpoint and watch", pid, 7, EN(0) | EN(1) | RWLEN(1, T_WRITE, L8));
	expect("the main thread's two stops only", run_phase(pid, "threads", fn) == 2);

	int bad = 0;
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 4; j++)
			bad += pt(PTRACE_POKEUSER, pid, DR(j), 0x1000ul * (j + 1) + 8 * (i % 4)) != 0;
		bad += pt(PTRACE_POKEUSER, pid, DR(7), i % 2 ? EN(0) | EN(1) | EN(2) | EN(3) | RWLEN(1, T_WRITE, L8) | RWLEN(2, T_RW, L8) | RWLEN(3, T_RW, L4) : 0) != 0;
		bad += pt(PTRACE_CONT, pid, 0, 0) != 0;
		st = wait_for(pid);
		bad += !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP;
	}
	expect("all four slots toggled at a hundred stops", bad == 0);
	poke_err("dr7 left enabled on unmapped memory", pid, 7, EN(0) | EN(1) | EN(2) | EN(3) | RWLEN(1, T_WRITE, L8) | RWLEN(2, T_RW, L8) | RWLEN(3, T_RW, L4));
	expect("and no stops", run_phase(pid, "unmapped", 0) == 0);
	poke_err("dr7 cleared", pid, 7, 0);

	/* A step sets DR6's single-step bit. */
	errno = 0;
	expect("singlestep", pt(PTRACE_SINGLESTEP, pid, 0, 0) == 0);
	st = wait_for(pid);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	pt(PTRACE_GETSIGINFO, pid, 0, (unsigned long)&si);
	printf("step: stopped with %d, si_code %d, dr6 %#lx\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1, si.si_code, peek(pid, 6));
	pt(PTRACE_POKEUSER, pid, DR(0), fn);
	pt(PTRACE_POKEUSER, pid, DR(7), EN(0));
	pt(PTRACE_CONT, pid, 0, 0);
	st = wait_for(pid);
	memset(&si, 0, sizeof si);
	pt(PTRACE_GETSIGINFO, pid, 0, (unsigned long)&si);
	printf("breakpoint: stopped with %d, si_code %d, dr6 %#lx\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1, si.si_code, peek(pid, 6));
	/* Passed on, the SIGTRAP ends the child. */
	pt(PTRACE_CONT, pid, 0, SIGTRAP);
	st = wait_for(pid);
	printf("the child ended by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	return failures != 0;
}
