/* diffproc issues random memory, signal, process and other system calls from a seed
 * (argv[1]), n of them (argv[2]), and prints one line per call with what is the same on
 * every run on Linux: its arguments, its result or error name, and what it wrote or
 * changed (old masks and actions, limits, mincore vectors, and whether pages near the
 * call's range can be read or written, and what they hold). It is run natively and under
 * vemu and the outputs are compared. Addresses are printed as page offsets into a
 * playground at a fixed address far from anything the kernel places, descriptors by
 * number; pids, times and host-sized values are never printed.
 *
 * Run it as an unprivileged user: it calls what a root process would be allowed to do
 * differently, and it leaves alone what would reach other processes (signals, priorities
 * and I/O priorities of process groups or users). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errnames.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define SO_RCVTIMEO_OLD_ 20
#define SO_SNDTIMEO_OLD_ 21

#define PG 4096UL
#define NP 64			/* pages of the playground the calls aim at */
#define SLOP 8			/* pages past it that count as the playground too */
#define PLAY ((char *)0x300000000000UL)

static uint64_t s;
static uint64_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
static unsigned R(unsigned n) { return (unsigned)(rnd() % n); }
#define PICK(a) ((a)[R(sizeof(a) / sizeof((a)[0]))])

static long op;			/* the index of the current call */
static int memfd;		/* 16 pages */
static int usock[2];		/* a Unix stream socket pair */

static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
	return syscall(nr, a, b, c, d, e, f);
}

/* res prints " = N" or " = -ENAME" from a raw result. */
static void res(long r)
{
	if (r == -1)
		printf(" = -%s", errname(errno));
	else
		printf(" = %ld", r);
}

/* where prints an address as a playground page offset, or says it is elsewhere. */
static void where(unsigned long a)
{
	unsigned long p = (unsigned long)PLAY;
	if (a >= p && a < p + (NP + SLOP) * PG)
		printf("P+%lx", a - p);
	else if (a == 0)
		printf("0");
	else
		printf("elsewhere");
}

/* ---- probes ---- */

static sigjmp_buf jb;
static volatile int inprobe;
static int unexpected; /* faults outside a probe during this call */

static void handler(int sig, siginfo_t *si, void *uc);

static void onfault(int sig, siginfo_t *si, void *uc)
{
	if (inprobe)
		siglongjmp(jb, sig);
	if (si->si_code <= 0 || ++unexpected < 100) { /* sent, by kill or with any code */
		handler(sig, si, uc);
		return;
	}
	printf("%ld unexpected signal %d code %d at ", op, sig, si->si_code);
	where((unsigned long)si->si_addr);
	printf("\n");
	_exit(3);
}

static uint64_t rawmask(void)
{
	uint64_t m = 0;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, &m, 8);
	return m;
}

/* probe prints what a read and then a write of the page at a show: '-' when a read faults
 * with SIGSEGV, 'b' with SIGBUS; else 'r' (write faults) or 'w' and the byte read. A write
 * stores a byte that tells which call wrote it. */
static void probe(char *a)
{
	uint64_t m = rawmask();
	volatile char *p = a;
	int v;
	inprobe = 1;
	int sig = sigsetjmp(jb, 0);
	if (sig) {
		inprobe = 0;
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &m, 0, 8);
		printf(" %c", sig == SIGBUS ? 'b' : '-');
		return;
	}
	v = (unsigned char)*p;
	sig = sigsetjmp(jb, 0);
	if (sig) {
		inprobe = 0;
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &m, 0, 8);
		printf(" r%02x", v);
		return;
	}
	*p = (char)(op * 7 + 1);
	inprobe = 0;
	printf(" w%02x", v);
}

/* probes shows the pages of a range, one more on each side, within the playground. */
static void probes(unsigned long a, unsigned long len)
{
	unsigned long p = (unsigned long)PLAY, end = p + (NP + SLOP) * PG;
	if (a < p || a >= end)
		return;
	long first = (long)((a - p) / PG) - 1, last = (long)((a - p + len + PG - 1) / PG);
	if (last > NP + SLOP - 1)
		last = NP + SLOP - 1;
	if (first < 0)
		first = 0;
	if (last - first > 10)
		last = first + 10;
	printf(" |");
	for (long i = first; i <= last; i++) {
		if (i == first)
			printf(" %lx:", i);
		probe(PLAY + i * PG);
	}
}

/* ---- signals ---- */

static volatile int redo; /* a delivery or a call may have set a default back */
static volatile int got[64];
static volatile int ngot;

/* handler records a delivery with its si_code; plain, without SA_SIGINFO, records 99. */
static void keep(int sig);

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (ngot < 64)
		got[ngot++] = sig * 1000 + (si->si_code & 0xff);
	keep(sig); /* after SA_RESETHAND, before another may come */
}

static void plain(int sig)
{
	if (ngot < 64)
		got[ngot++] = sig * 1000 + 99;
	keep(sig);
}

void diffproc_restorer(void);
#define restorer diffproc_restorer
__asm__(".text\n.align 16\n.globl diffproc_restorer\ndiffproc_restorer:\n\tmov $15, %eax\n\tsyscall\n\thlt\n");

struct ksa {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void showgot(void)
{
	if (!ngot)
		return;
	printf(" got");
	for (int i = 0; i < ngot; i++)
		printf(" %d/%d", got[i] / 1000, (signed char)(got[i] % 1000));
	ngot = 0;
}

static const char *hname(void *h)
{
	if (h == SIG_DFL)
		return "DFL";
	if (h == SIG_IGN)
		return "IGN";
	if (h == (void *)handler || h == (void *)plain)
		return "H";
	return "?";
}

/* stops reports whether a signal's default action ends or stops the process. */
static int stops(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
		return 0;
	}
	return 1;
}

/* keep gives a signal whose default would end or stop the run the handler instead,
 * silently, before a call may deliver it. */
static void keep(int sig)
{
	if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || !stops(sig))
		return;
	struct ksa old;
	if (syscall(SYS_rt_sigaction, sig, 0, &old, 8) == 0 && old.handler == SIG_DFL) {
		struct ksa sa = { (void *)handler, SA_SIGINFO | SA_RESTORER, (void *)restorer, 0 };
		syscall(SYS_rt_sigaction, sig, &sa, 0, 8);
	}
}


static void keepall(void)
{
	for (int i = 1; i <= 64; i++)
		if (i != SIGSEGV && i != SIGBUS)
			keep(i);
	redo = 0;
}

static void keeppending(void)
{
	uint64_t p = 0;
	syscall(SYS_rt_sigpending, &p, 8);
	for (int i = 1; i <= 64; i++)
		if (p & (1ULL << (i - 1)))
			keep(i);
}

static const uint64_t FAULTS = (1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1));

static uint64_t rmask(void)
{
	uint64_t m = 0;
	switch (R(6)) {
	case 0: return 0;
	case 1: return ~0ULL & ~FAULTS;
	case 2: return (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)) | (1ULL << (SIGUSR1 - 1));
	}
	for (int i = R(4); i >= 0; i--)
		m |= 1ULL << R(64);
	return m & ~FAULTS;
}

static int rsig(void)
{
	static const int odd[] = { 0, -1, 65, 64, 32, 33, SIGKILL, SIGSTOP, 128 };
	if (R(6) == 0)
		return PICK(odd);
	return 1 + R(64);
}

/* ---- the calls ---- */

static unsigned long rpage(void)
{
	return (unsigned long)PLAY + R(NP) * PG;
}

static unsigned long raddr(void)
{
	switch (R(16)) {
	case 0: return rpage() + 1 + R(4095);
	case 1: return 0;
	case 2: return (unsigned long)PLAY + (NP + SLOP - 1) * PG;
	}
	return rpage();
}

static unsigned long rlen(void)
{
	switch (R(16)) {
	case 0: return 0;
	case 1: return 1 + R(8000);
	case 2: return 1UL << 40; /* all of the playground's end of the address space */
	case 3: return -PG;
	}
	return (1 + R(R(2) ? 2 : 8)) * PG;
}

/* rrange picks a range in the playground. A range that starts at 0 is a page long:
 * madvise and mprotect act on what is mapped in a range before they fail on its holes, and
 * this run's own memory is below the playground. */
static void rrange(unsigned long *a, unsigned long *len)
{
	*a = raddr();
	*len = rlen();
	if (*a == 0 && *len > PG)
		*len = PG;
}

static const char *protname(int p)
{
	static char b[40];
	snprintf(b, sizeof b, "%s%s%s%s", p & PROT_READ ? "r" : "-", p & PROT_WRITE ? "w" : "-",
		 p & PROT_EXEC ? "x" : "-", "");
	if (p & ~7)
		snprintf(b + 3, sizeof b - 3, "+%x", p & ~7);
	return b;
}

static int rprot(void)
{
	static const int v[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
				 PROT_READ | PROT_EXEC, PROT_WRITE, PROT_READ | PROT_WRITE | PROT_EXEC,
				 PROT_READ | PROT_WRITE | PROT_GROWSDOWN, PROT_READ | PROT_GROWSUP,
				 PROT_READ | 0x8, PROT_READ | 0x10, 0x100 };
	return PICK(v);
}

static void do_mmap(void)
{
	static const int extra[] = { MAP_FIXED, MAP_FIXED, MAP_FIXED, MAP_FIXED_NOREPLACE,
				     MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_POPULATE, MAP_NORESERVE,
				     MAP_STACK, MAP_LOCKED, MAP_32BIT, MAP_DENYWRITE, MAP_EXECUTABLE,
				     MAP_SYNC, 0x4000000 /* MAP_UNINITIALIZED */, 0x800 /* bad */,
				     MAP_HUGETLB, MAP_NONBLOCK };
	static const int base[] = { MAP_PRIVATE, MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED,
				    MAP_SHARED_VALIDATE, 0, MAP_PRIVATE | MAP_SHARED };
	int flags = PICK(base);
	int file = R(3) == 0;
	if (!file)
		flags |= MAP_ANONYMOUS;
	int n = R(3);
	for (int i = 0; i < n; i++)
		flags |= PICK(extra);
	if (R(3))
		flags |= MAP_FIXED;
	if ((flags & MAP_HUGETLB) && R(2))
		flags &= ~MAP_HUGETLB;
	unsigned long a, len;
	rrange(&a, &len);
	int prot = rprot();
	long off = 0;
	switch (R(8)) {
	case 0: off = 1 + R(4095); break;
	case 1: off = -PG; break;
	case 2: case 3: off = R(20) * PG; break;
	}
	int fd = file ? memfd : (R(8) ? -1 : R(2) ? memfd : 99);
	/* Populating a terabyte would take the machine's memory. */
	if (len > 64 * PG)
		flags &= ~(MAP_POPULATE | MAP_LOCKED);
	/* Hugetlb pages depend on the host's pool. */
	if (flags & MAP_HUGETLB)
		flags &= ~MAP_HUGETLB, flags |= 0x800;
	printf("%ld mmap(", op);
	where(a);
	printf(", %lx, %s, %x, %d, %lx)", len, protname(prot), flags, fd, off);
	long r = sys(SYS_mmap, a, len, prot, flags, fd, off);
	res(r == -1 ? -1 : 0);
	if (r != -1) {
		printf(" @");
		where(r);
		if (r < (long)PLAY || r >= (long)(PLAY + (NP + SLOP) * PG)) {
			/* Placed by the kernel: looked at, then given back. */
			probe((char *)r);
			sys(SYS_munmap, r, len, 0, 0, 0, 0);
		} else {
			probes(r, len);
		}
	}
	printf("\n");
}

static void do_munmap(void)
{
	unsigned long a, len;
	rrange(&a, &len);
	printf("%ld munmap(", op);
	where(a);
	printf(", %lx)", len);
	res(sys(SYS_munmap, a, len, 0, 0, 0, 0));
	if (len < 64 * PG)
		probes(a, len);
	printf("\n");
}

static void do_mprotect(void)
{
	unsigned long a, len;
	rrange(&a, &len);
	int prot = rprot();
	printf("%ld mprotect(", op);
	where(a);
	printf(", %lx, %s)", len, protname(prot));
	res(sys(SYS_mprotect, a, len, prot, 0, 0, 0));
	if (len < 64 * PG)
		probes(a, len);
	printf("\n");
}

static void do_mremap(void)
{
	static const int fl[] = { 0, MREMAP_MAYMOVE, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED,
				  MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_FIXED, MREMAP_DONTUNMAP | MREMAP_MAYMOVE,
				  MREMAP_DONTUNMAP | MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_DONTUNMAP, 8 };
	unsigned long a = raddr(), olen = R(8) ? (1 + R(4)) * PG : rlen(), nlen = R(8) ? (1 + R(6)) * PG : rlen();
	if (R(10) == 0)
		olen = 0;
	int flags = PICK(fl);
	unsigned long na = (flags & MREMAP_FIXED) || R(4) == 0 ? raddr() : 0;
	printf("%ld mremap(", op);
	where(a);
	printf(", %lx, %lx, %x, ", olen, nlen, flags);
	where(na);
	printf(")");
	long r = sys(SYS_mremap, a, olen, nlen, flags, na, 0);
	res(r == -1 ? -1 : 0);
	if (r != -1) {
		printf(" @");
		where(r);
		if (r < (long)PLAY || r >= (long)(PLAY + (NP + SLOP) * PG)) {
			probe((char *)r);
			sys(SYS_munmap, r, nlen, 0, 0, 0, 0);
		} else {
			probes(r, nlen);
		}
	}
	if (olen < 64 * PG)
		probes(a, olen ? olen : PG);
	printf("\n");
}

static void do_madvise(void)
{
	static const int adv[] = { 0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
				   22, 23, 24, 100, 101, 102, 103, 5, 6, 7, 104, 999, -1,
				   4, 4, 4, 9, 9, 23, 22 };
	unsigned long a, len;
	rrange(&a, &len);
	int adv_ = PICK(adv);
	if (adv_ == 102 || adv_ == 103)
		adv_ = 4; /* guard regions (Linux 6.13): vemu has none (README) */
	if (adv_ == 12 || adv_ == 13 || adv_ == 14 || adv_ == 15 || adv_ == 25 || adv_ == 100 || adv_ == 101)
		adv_ = 4; /* KSM, THP, hwpoison and soft-offline depend on the host's kernel build */
	if ((adv_ == 22 || adv_ == 23) && len > 64 * PG)
		adv_ = 4; /* populating a terabyte would take the machine's memory */
	printf("%ld madvise(", op);
	where(a);
	printf(", %lx, %d)", len, adv_);
	res(sys(SYS_madvise, a, len, adv_, 0, 0, 0));
	if (len < 64 * PG)
		probes(a, len);
	printf("\n");
}

static void do_mlock(void)
{
	unsigned long a, len;
	rrange(&a, &len);
	int k = R(7);
	long r;
	static const int mcl[] = { 1, 2, 4, 6, 5, 3, 7, 0, 8, 2 };
	int f;
	switch (k) {
	case 0: case 1:
		printf("%ld mlock(", op); where(a); printf(", %lx)", len);
		r = sys(SYS_mlock, a, len, 0, 0, 0, 0);
		break;
	case 2:
		f = R(3) == 0 ? 2 : R(2);
		printf("%ld mlock2(", op); where(a); printf(", %lx, %d)", len, f);
		r = sys(SYS_mlock2, a, len, f, 0, 0, 0);
		break;
	case 3: case 4:
		printf("%ld munlock(", op); where(a); printf(", %lx)", len);
		r = sys(SYS_munlock, a, len, 0, 0, 0, 0);
		break;
	case 5:
		f = PICK(mcl);
		printf("%ld mlockall(%d)", op, f);
		r = sys(SYS_mlockall, f, 0, 0, 0, 0, 0);
		break;
	default:
		printf("%ld munlockall()", op);
		r = sys(SYS_munlockall, 0, 0, 0, 0, 0, 0);
		break;
	}
	res(r);
	printf("\n");
}

static void do_msync(void)
{
	static const int fl[] = { 0, MS_ASYNC, MS_SYNC, MS_INVALIDATE, MS_ASYNC | MS_SYNC,
				  MS_SYNC | MS_INVALIDATE, 8, MS_ASYNC };
	unsigned long a, len;
	rrange(&a, &len);
	int f = PICK(fl);
	printf("%ld msync(", op); where(a); printf(", %lx, %d)", len, f);
	res(sys(SYS_msync, a, len, f, 0, 0, 0));
	printf("\n");
}

static void do_mincore(void)
{
	unsigned char vec[64];
	unsigned long a, len;
	rrange(&a, &len);
	if (R(4))
		len = (1 + R(16)) * PG;
	int bad = R(12) == 0;
	memset(vec, 0xee, sizeof vec);
	if (len > 16 * PG && len <= (1UL << 40))
		len = 16 * PG;
	printf("%ld mincore(", op); where(a); printf(", %lx%s)", len, bad ? ", NULL" : "");
	long r = sys(SYS_mincore, a, len, bad ? 0 : (long)vec, 0, 0, 0);
	res(r);
	if (r == 0) {
		printf(" ");
		for (unsigned long i = 0; i < (len + PG - 1) / PG && i < 64; i++)
			printf("%x", vec[i]);
	}
	printf("\n");
}

static unsigned long brk0;

static void do_brk(void)
{
	unsigned long a;
	switch (R(6)) {
	case 0: a = 0; break;
	case 1: a = brk0 + R(4096); break;
	case 2: a = (unsigned long)PLAY; break;
	case 3: a = brk0 + (1UL << 46); break;
	default: a = brk0 + R(16) * PG; break;
	}
	if (a == brk0 + (1UL << 46) || a == (unsigned long)PLAY)
		printf("%ld brk(%s)", op, a == (unsigned long)PLAY ? "play" : "far");
	else
		printf("%ld brk(%s%lx)", op, a ? "base+" : "", a ? a - brk0 : 0);
	long r = sys(SYS_brk, a, 0, 0, 0, 0, 0);
	printf(" = base+%lx", r - brk0);
	if (r > (long)brk0) {
		printf(" |");
		probe((char *)brk0);
		probe((char *)((r - 1) & ~(PG - 1)));
	}
	printf("\n");
}

static void do_sigaction(void)
{
	static const unsigned long fl[] = { SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO, SA_ONSTACK, SA_RESTART,
					    SA_NODEFER, SA_RESETHAND, 0x00000400 /* SA_UNSUPPORTED */,
					    0x00000800 /* SA_EXPOSE_TAGBITS */, 0x10, 0x1000000 };
	static const int sizes[] = { 8, 8, 8, 8, 4, 16, 0 };
	int sig = rsig();
	int set = R(3) != 0, getold = R(4) != 0, size = PICK(sizes);
	struct ksa sa = { 0 }, old;
	memset(&old, 0xa5, sizeof old);
	if (set) {
		switch (R(3)) {
		case 0: sa.handler = SIG_DFL; break;
		case 1: sa.handler = SIG_IGN; break;
		default: sa.handler = (void *)handler; break;
		}
		sa.flags = SA_RESTORER;
		for (int i = R(3); i > 0; i--)
			sa.flags |= PICK(fl);
		sa.restorer = (void *)restorer;
		sa.mask = rmask();
	}
	if (sig == SIGSEGV || sig == SIGBUS)
		set = 0; /* the probes' handler stays */
	/* A default that would end or stop the run is refused only where the signal cannot come. */
	if (set && sa.handler == SIG_DFL && sig >= 1 && sig <= 64 && stops(sig))
		sa.handler = (void *)handler;
	if (set && sa.handler == (void *)handler && !(sa.flags & SA_SIGINFO))
		sa.handler = (void *)plain;
	printf("%ld rt_sigaction(%d, ", op, sig);
	if (set)
		printf("{%s %lx %llx}", hname(sa.handler), sa.flags & ~(unsigned long)SA_RESTORER,
		       (unsigned long long)sa.mask);
	else
		printf("NULL");
	printf(", %s, %d)", getold ? "old" : "NULL", size);
	long r = sys(SYS_rt_sigaction, sig, set ? (long)&sa : 0, getold ? (long)&old : 0, size, 0, 0);
	redo = 1;
	res(r);
	if (r == 0 && getold)
		printf(" old {%s %lx %llx}", hname(old.handler), old.flags & ~(unsigned long)SA_RESTORER,
		       (unsigned long long)old.mask);
	printf("\n");
}

static void do_sigprocmask(void)
{
	static const int hows[] = { SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK, SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK, 3, -1 };
	static const int sizes[] = { 8, 8, 8, 8, 8, 4, 16, 0 };
	int how = PICK(hows), size = PICK(sizes), set = R(5) != 0, getold = R(3) != 0;
	uint64_t m = rmask(), old = 0x5a5a;
	keeppending();
	printf("%ld rt_sigprocmask(%d, ", op, how);
	if (set)
		printf("%llx", (unsigned long long)m);
	else
		printf("NULL");
	printf(", %s, %d)", getold ? "old" : "NULL", size);
	long r = sys(SYS_rt_sigprocmask, how, set ? (long)&m : 0, getold ? (long)&old : 0, size, 0, 0);
	res(r);
	if (r == 0 && getold)
		printf(" old %llx", (unsigned long long)old);
	printf(" now %llx", (unsigned long long)rawmask());
	showgot();
	printf("\n");
}

static void do_sigpending(void)
{
	static const int sizes[] = { 8, 8, 4, 16, 0 };
	int size = PICK(sizes);
	uint64_t p = 0x5a5a5a5a5a5a5a5aULL;
	printf("%ld rt_sigpending(%d)", op, size);
	long r = sys(SYS_rt_sigpending, (long)&p, size, 0, 0, 0, 0);
	res(r);
	if (r == 0)
		printf(" %llx", (unsigned long long)p);
	printf("\n");
}

static char altstack[1 << 17];

static void do_sigaltstack(void)
{
	static const size_t sizes[] = { 0, 1, 1024, 2047, 2048, 4096, 32768, 65536, 65536 };
	static const int flags[] = { 0, 0, 0, SS_DISABLE, SS_ONSTACK, SS_AUTODISARM, SS_DISABLE | SS_AUTODISARM, 8, 0x80000000 };
	stack_t ss, old;
	size_t size = PICK(sizes);
	ss.ss_size = size;
	ss.ss_sp = altstack + sizeof altstack - size;
	ss.ss_flags = PICK(flags);
	int set = R(4) != 0, getold = R(3) != 0;
	memset(&old, 0xa5, sizeof old);
	printf("%ld sigaltstack(", op);
	if (set)
		printf("{%lx %x}", (unsigned long)size, ss.ss_flags);
	else
		printf("NULL");
	printf(", %s)", getold ? "old" : "NULL");
	long r = sys(SYS_sigaltstack, set ? (long)&ss : 0, getold ? (long)&old : 0, 0, 0, 0, 0);
	res(r);
	if (r == 0 && getold) {
		if (old.ss_flags & SS_DISABLE)
			printf(" old {disabled %x %lx}", old.ss_flags, (unsigned long)old.ss_size);
		else
			printf(" old {%x %lx %ld}", old.ss_flags, (unsigned long)old.ss_size,
			       (long)((char *)old.ss_sp - altstack));
	}
	/* A small stack would not hold a signal frame: the run keeps a large one. */
	if (r == 0 && set && !(ss.ss_flags & SS_DISABLE) && size < 32768) {
		ss.ss_size = 65536;
		ss.ss_sp = altstack + sizeof altstack - 65536;
		ss.ss_flags = 0;
		sys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0);
	}
	printf("\n");
}

static void do_sigtimedwait(void)
{
	static const int sizes[] = { 8, 8, 8, 4, 16 };
	uint64_t m = R(3) ? ~0ULL : rmask(), pend = 0;
	syscall(SYS_rt_sigpending, &pend, 8);
	struct timespec ts = { 0, 0 };
	int k = R(8), size = PICK(sizes);
	if (k == 0)
		ts.tv_nsec = 1000000000;
	if (k == 1)
		ts.tv_sec = -1;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int withinfo = R(4) != 0;
	/* No timeout only when a signal asked for is pending: never a wait. */
	int forever = k == 2 && (pend & m);
	printf("%ld rt_sigtimedwait(%llx, %s, %s, %d)", op, (unsigned long long)m, withinfo ? "info" : "NULL",
	       forever ? "NULL" : k == 0 ? "{0 1e9}" : k == 1 ? "{-1 0}" : "{0 0}", size);
	long r = sys(SYS_rt_sigtimedwait, (long)&m, withinfo ? (long)&si : 0, forever ? 0 : (long)&ts, size, 0, 0);
	res(r);
	if (r > 0 && withinfo)
		printf(" si %d %d %d", si.si_signo, si.si_code, si.si_code <= 0 ? (int)si.si_uid : -1);
	showgot();
	printf("\n");
}

static void do_kill(void)
{
	int sig = rsig(), k = R(8);
	long r;
	if (sig == SIGSTOP || sig == SIGKILL)
		sig = SIGCONT; /* it would stop or end the run */
	keep(sig);
	switch (k) {
	case 0: case 1:
		printf("%ld kill(self, %d)", op, sig);
		r = sys(SYS_kill, getpid(), sig, 0, 0, 0, 0);
		break;
	case 2:
		printf("%ld kill(nopid, %d)", op, sig);
		r = sys(SYS_kill, 0x3ffffff0, sig, 0, 0, 0, 0);
		break;
	case 3: case 4:
		printf("%ld tgkill(self, self, %d)", op, sig);
		r = sys(SYS_tgkill, getpid(), gettid(), sig, 0, 0, 0);
		break;
	case 5: {
		static const int bad[][2] = { { 0, 1 }, { 1, 0 }, { -1, 1 }, { 1, -1 }, { 0x3ffffff0, 0x3ffffff0 } };
		int i = R(5);
		int tg = bad[i][0] == 1 ? getpid() : bad[i][0], tid = bad[i][1] == 1 ? gettid() : bad[i][1];
		printf("%ld tgkill(%s, %s, %d)", op, bad[i][0] == 1 ? "self" : bad[i][0] ? "nopid" : "0",
		       bad[i][1] == 1 ? "self" : bad[i][1] ? "nopid" : "0", sig);
		r = sys(SYS_tgkill, tg, tid, sig, 0, 0, 0);
		break;
	}
	case 6:
		printf("%ld tkill(self, %d)", op, sig);
		r = sys(SYS_tkill, gettid(), sig, 0, 0, 0, 0);
		break;
	default: {
		siginfo_t si;
		static const int codes[] = { SI_QUEUE, SI_QUEUE, SI_USER, SI_TKILL, SI_KERNEL, -60, 1 };
		memset(&si, 0, sizeof si);
		si.si_signo = sig;
		si.si_code = PICK(codes);
		int tg = R(2);
		printf("%ld rt_%ssigqueueinfo(self, %d, code %d)", op, tg ? "tg" : "", sig, si.si_code);
		r = tg ? sys(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, (long)&si, 0, 0)
		       : sys(SYS_rt_sigqueueinfo, getpid(), sig, (long)&si, 0, 0, 0);
		break;
	}
	}
	res(r);
	showgot();
	printf("\n");
}

static void do_prctl(void)
{
	static const int opts[] = {
		PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_SET_DUMPABLE, PR_GET_DUMPABLE,
		PR_SET_KEEPCAPS, PR_GET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_SET_TIMERSLACK,
		PR_GET_TIMERSLACK, PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_SET_MM, PR_SET_CHILD_SUBREAPER,
		PR_GET_CHILD_SUBREAPER, PR_GET_TID_ADDRESS, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_CAP_AMBIENT,
		PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_GET_TSC, PR_SET_ENDIAN, PR_GET_ENDIAN, PR_SET_FPEMU,
		PR_GET_FPEXC, PR_SET_UNALIGN, PR_GET_UNALIGN, PR_MCE_KILL, PR_MCE_KILL_GET, PR_GET_SECCOMP,
		PR_SET_IO_FLUSHER, PR_GET_IO_FLUSHER, PR_TASK_PERF_EVENTS_DISABLE, PR_TASK_PERF_EVENTS_ENABLE,
		PR_SET_TIMING, PR_GET_TIMING, PR_SET_SYSCALL_USER_DISPATCH, PR_GET_TAGGED_ADDR_CTRL,
		PR_SET_TAGGED_ADDR_CTRL, PR_SVE_GET_VL, 66 /* PR_GET_MDWE */, 0, 99, 1000, -1, 0x59616d61,
	};
	int o = PICK(opts);
	long a2 = 0, a3 = 0, a4 = 0, a5 = 0;
	static const long sm[] = { 0, 1, 2, 3, 16, 99 };
	char name[32];
	int ival = 0x5a5a;
	int z = R(6) == 0; /* a nonzero argument where Linux wants zeros */
	switch (o) {
	case PR_SET_NAME: {
		static const char *names[] = { "a", "diffproc", "fifteen-chars-x", "sixteen-chars-xy", "" };
		a2 = (long)PICK(names);
		if (R(10) == 0)
			a2 = 0;
		break;
	}
	case PR_GET_NAME: memset(name, 'z', sizeof name); a2 = R(10) ? (long)name : 0; break;
	case PR_SET_PDEATHSIG: a2 = rsig(); break;
	case PR_GET_PDEATHSIG: case PR_GET_TID_ADDRESS: a2 = R(10) ? (long)&ival : 0; break;
	case PR_SET_DUMPABLE: a2 = R(4); break;
	case PR_SET_KEEPCAPS: a2 = R(3); break;
	case PR_SET_NO_NEW_PRIVS: a2 = R(3); a3 = z; break;
	case PR_GET_NO_NEW_PRIVS: case PR_GET_THP_DISABLE: a2 = z; break;
	case PR_SET_TIMERSLACK: a2 = R(3) ? R(100000) : 0; break;
	case PR_SET_THP_DISABLE: a2 = R(2); a3 = z; break;
	case PR_SET_MM: a2 = PICK(sm); a3 = (long)PLAY; break;
	case PR_SET_CHILD_SUBREAPER: a2 = R(2); break;
	case PR_GET_CHILD_SUBREAPER: a2 = R(10) ? (long)&ival : 0; break;
	case PR_CAPBSET_READ: case PR_CAPBSET_DROP: a2 = R(45) - 2; break;
	case PR_CAP_AMBIENT: a2 = R(6); a3 = R(42); a4 = z; break;
	case PR_SET_SECUREBITS: a2 = R(2) ? 0 : 1 << R(8); break;
	case PR_GET_TSC: a2 = R(10) ? (long)&ival : 0; break;
	case PR_SET_ENDIAN: case PR_SET_FPEMU: case PR_SET_UNALIGN: a2 = R(3); break;
	case PR_GET_ENDIAN: case PR_GET_FPEXC: case PR_GET_UNALIGN: a2 = (long)&ival; break;
	case PR_MCE_KILL: a2 = R(3); a3 = R(4); a4 = z; break;
	case PR_MCE_KILL_GET: a2 = z; break;
	case PR_SET_IO_FLUSHER: a2 = R(2); break;
	case PR_GET_IO_FLUSHER: a2 = z; break;
	case PR_SET_TIMING: a2 = R(2); break;
	case PR_SET_SYSCALL_USER_DISPATCH: a2 = R(2) ? 0 : 3; a3 = z; break;
	case PR_SET_TAGGED_ADDR_CTRL: a2 = R(2); break;
	case 66: a2 = z; break;
	default: a2 = R(2); break;
	}
	if (o == PR_SET_NAME && a2)
		printf("%ld prctl(%d, \"%s\", %ld, %ld, %ld)", op, o, (char *)a2, a3, a4, a5);
	else if (a2 > 0x10000 || a2 < -0x10000)
		printf("%ld prctl(%d, ptr, %ld, %ld, %ld)", op, o, a3 == (long)PLAY ? 1L : a3, a4, a5);
	else
		printf("%ld prctl(%d, %ld, %s, %ld, %ld)", op, o, a2, a3 == (long)PLAY ? "play" : a3 ? "1" : "0", a4, a5);
	long r = sys(SYS_prctl, o, a2, a3, a4, a5, 0);
	res(r);
	if (r == 0 && o == PR_GET_NAME && a2)
		printf(" \"%.16s\"", name);
	if (r == 0 && (o == PR_GET_PDEATHSIG || o == PR_GET_CHILD_SUBREAPER || o == PR_GET_TSC ||
		       o == PR_GET_ENDIAN || o == PR_GET_FPEXC || o == PR_GET_UNALIGN) && a2)
		printf(" %d", ival);
	printf("\n");
}

static void do_arch_prctl(void)
{
	static const int codes[] = { 0x1001 /* SET_GS */, 0x1003, 0x1004, 0x1011, 0x1012, 0x1021, 0x1022,
				     0x2001, 0x2002, 0x2003, 0, 0x1000, 0x1005, 0x1013, 0x9999, -1, 0x4001 };
	int c = PICK(codes);
	unsigned long v = 0;
	long a = (long)&v;
	switch (c) {
	case 0x1001: a = 0; break;
	case 0x1012: c = 0x1011; break; /* ARCH_SET_CPUID: whether the CPU can fault is the host's */
	case 0x2001: case 0x2002: case 0x2003: a = (long)PLAY + R(NP) * PG; break;
	}
	if (R(8) == 0 && (c == 0x1003 || c == 0x1004 || c == 0x1011 || c == 0x1021 || c == 0x1022))
		a = 8; /* a bad pointer */
	printf("%ld arch_prctl(%#x, %s)", op, c, a == (long)&v ? "ptr" : a == 8 ? "bad" : a >= (long)PLAY ? "play" : a ? "1" : "0");
	long r = sys(SYS_arch_prctl, c, a, 0, 0, 0, 0);
	res(r);
	if (r >= 0 && c == 0x1011)
		printf(" %ld", r);
	printf("\n");
	if (r >= 0 && c >= 0x2001 && c <= 0x2003)
		printf("%ld note: a vdso was mapped\n", op);
}

static void showlim(unsigned long long v)
{
	if (v == RLIM64_INFINITY)
		printf("inf");
	else
		printf("%llu", v);
}

static void do_rlimit(void)
{
	static const int res_[] = { RLIMIT_CORE, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_DATA,
				    RLIMIT_STACK, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_LOCKS, RLIMIT_SIGPENDING,
				    RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_CPU,
				    RLIMIT_FSIZE, 16, 99, -1 };
	int rs = PICK(res_);
	int k = R(4);
	struct { unsigned long long cur, max; } cur, nw, old;
	memset(&old, 0x5a, sizeof old);
	long r;
	if (k == 0) {
		printf("%ld getrlimit(%d)", op, rs);
		r = sys(SYS_getrlimit, rs, (long)&old, 0, 0, 0, 0);
		res(r);
		if (r == 0) {
			printf(" ");
			showlim(old.cur);
			printf(" ");
			showlim(old.max);
		}
		printf("\n");
		return;
	}
	int have = sys(SYS_prlimit64, 0, rs, 0, (long)&cur, 0, 0) == 0;
	if (!have)
		cur.cur = cur.max = 1024;
	nw = cur;
	/* Only soft limits change, and only where the host's size of this run does not
	 * decide what follows: CPU and FSIZE would end it, MEMLOCK stays below any run's size. */
	switch (R(7)) {
	case 0: nw.cur = 0; break;
	case 1: nw.cur = nw.max; break;
	case 2: nw.cur = RLIM64_INFINITY; break;
	case 3: nw.cur = nw.max == RLIM64_INFINITY ? nw.max : nw.max + 1; break;
	case 4: nw.max = nw.max == RLIM64_INFINITY ? RLIM64_INFINITY : nw.max + 1; break;
	case 5: nw.cur = 4096; break;
	default: break;
	}
	/* Linux checks a soft RLIMIT_RTTIME of 0 on a timer tick even for a task that is not
	 * real-time, and sends SIGXCPU at a time of its own. */
	if (rs == RLIMIT_CPU || rs == RLIMIT_FSIZE || (rs == RLIMIT_RTTIME && nw.cur == 0))
		nw.cur = cur.cur;
	if (rs == RLIMIT_MEMLOCK && nw.cur > 65536)
		nw.cur = 65536;
	/* vemu bounds no mappings by RLIMIT_AS and RLIMIT_DATA (README): they are never
	 * lowered. */
	if ((rs == RLIMIT_AS || rs == RLIMIT_DATA) && nw.cur < cur.cur)
		nw.cur = cur.cur;
	if ((rs == RLIMIT_NOFILE || rs == RLIMIT_SIGPENDING || rs == RLIMIT_AS || rs == RLIMIT_DATA) && nw.cur < 64 && nw.cur < cur.cur)
		nw.cur = 64; /* enough for what the run needs */
	const char *what = nw.cur == cur.cur && nw.max == cur.max ? "same" : nw.cur == 0 ? "0" :
			   nw.cur == 4096 ? "4096" : nw.cur == 64 ? "64" : nw.cur == 65536 ? "65536" :
			   nw.max != cur.max ? "hard+1" : nw.cur == RLIM64_INFINITY ? "inf" :
			   nw.cur > nw.max ? "hard+1 soft" : "soft=hard";
	int getold = R(2);
	if (k == 1) {
		printf("%ld setrlimit(%d, %s)", op, rs, what);
		r = sys(SYS_setrlimit, rs, (long)&nw, 0, 0, 0, 0);
	} else {
		int pid = R(8) == 0 ? 0x3ffffff0 : R(2) ? 0 : getpid();
		int set = R(3) != 0;
		printf("%ld prlimit64(%s, %d, %s, %s)", op, pid == 0x3ffffff0 ? "nopid" : pid ? "self" : "0", rs,
		       set ? what : "NULL", getold ? "old" : "NULL");
		r = sys(SYS_prlimit64, pid, rs, set ? (long)&nw : 0, getold ? (long)&old : 0, 0, 0);
	}
	res(r);
	if (r == 0 && k != 1 && getold) {
		printf(" old ");
		showlim(old.cur);
		printf(" ");
		showlim(old.max);
	}
	printf("\n");
}

static void do_priority(void)
{
	static const int which[] = { PRIO_PROCESS, PRIO_PROCESS, PRIO_PGRP, PRIO_USER, 3, -1 };
	int w = PICK(which), who, k = R(3);
	/* Users and groups other than this run's own are reached only through an id nobody holds. */
	switch (R(4)) {
	case 0: who = 0x3ffffff0; break;
	case 1: who = w == PRIO_PROCESS ? getpid() : 0; break;
	default: who = 0; break;
	}
	if (w == PRIO_USER)
		who = 0x3ffffff0;
	if (k == 0) {
		int prio = (int)R(50) - 25;
		printf("%ld setpriority(%d, %s, %d)", op, w, who == 0x3ffffff0 ? "none" : who ? "self" : "0", prio);
		res(sys(SYS_setpriority, w, who, prio, 0, 0, 0));
	} else {
		printf("%ld getpriority(%d, %s)", op, w, who == 0x3ffffff0 ? "none" : who ? "self" : "0");
		res(sys(SYS_getpriority, w, who, 0, 0, 0, 0));
	}
	printf("\n");
}

static void do_sched(void)
{
	static const int pols[] = { SCHED_OTHER, SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_BATCH,
				    SCHED_IDLE, 6, 8 /* not 7, SCHED_EXT, which the host may have */, -1,
				    SCHED_OTHER | SCHED_RESET_ON_FORK,
				    SCHED_BATCH | SCHED_RESET_ON_FORK };
	int k = R(10), pid = R(8) == 0 ? -1 : R(8) == 0 ? 0x3ffffff0 : 0;
	const char *pn = pid == -1 ? "-1" : pid ? "nopid" : "0";
	long r;
	struct sched_param sp = { 0 };
	switch (k) {
	case 0:
		printf("%ld sched_getscheduler(%s)", op, pn);
		res(sys(SYS_sched_getscheduler, pid, 0, 0, 0, 0, 0));
		break;
	case 1: {
		int pol = PICK(pols);
		sp.sched_priority = R(4) ? 0 : R(2) ? 1 : 100;
		int bad = R(10) == 0;
		printf("%ld sched_setscheduler(%s, %d, %s%d)", op, pn, pol, bad ? "NULL " : "", sp.sched_priority);
		res(sys(SYS_sched_setscheduler, pid, pol, bad ? 0 : (long)&sp, 0, 0, 0));
		break;
	}
	case 2:
		sp.sched_priority = 77;
		printf("%ld sched_getparam(%s)", op, pn);
		r = sys(SYS_sched_getparam, pid, (long)&sp, 0, 0, 0, 0);
		res(r);
		if (r == 0)
			printf(" %d", sp.sched_priority);
		break;
	case 3: {
		int pol = PICK(pols);
		printf("%ld sched_get_priority_%s(%d)", op, R(2) ? "min" : "max", pol);
		res(sys(R(2) ? SYS_sched_get_priority_min : SYS_sched_get_priority_max, pol, 0, 0, 0, 0, 0));
		break;
	}
	case 4: {
		struct timespec ts;
		int bad = R(5) == 0;
		printf("%ld sched_rr_get_interval(%s%s)", op, pn, bad ? ", NULL" : "");
		res(sys(SYS_sched_rr_get_interval, pid, bad ? 0 : (long)&ts, 0, 0, 0, 0));
		break;
	}
	case 5: {
		static const int sizes[] = { 0, 4, 7, 8, 16, 128, 1024 };
		unsigned char m[1024];
		int size = PICK(sizes);
		memset(m, 0xee, sizeof m);
		printf("%ld sched_getaffinity(%s, %d)", op, pn, size);
		r = sys(SYS_sched_getaffinity, pid, size, (long)m, 0, 0, 0);
		if (r > 0)
			printf(" = n %02x", m[0]); /* n: the size of the host's cpumask */
		else
			res(r);
		break;
	}
	case 6: {
		static const int sizes[] = { 0, 4, 7, 8, 16, 128 };
		unsigned char m[128];
		int size = PICK(sizes);
		memset(m, 0, sizeof m);
		if (R(3))
			m[0] = 1;
		else if (R(2))
			m[100] = 1; /* only a CPU that is not there */
		else
			m[0] = 3;
		printf("%ld sched_setaffinity(%s, %d, %x%s)", op, pn, size, m[0], m[100] ? "+cpu800" : "");
		res(sys(SYS_sched_setaffinity, pid, size, (long)m, 0, 0, 0));
		break;
	}
	case 7: case 8: {
		static const int sizes[] = { 0, 47, 48, 56, 64, 4096, 4097 };
		struct {
			uint32_t size, policy;
			uint64_t flags;
			int32_t nice;
			uint32_t prio;
			uint64_t runtime, deadline, period;
			uint32_t umin, umax;
			char pad[4096];
		} at;
		int size = PICK(sizes), fl = R(6) == 0 ? 1 : 0;
		memset(&at, 0, sizeof at);
		if (k == 7) {
			printf("%ld sched_getattr(%s, %d, %d)", op, pn, size, fl);
			r = sys(SYS_sched_getattr, pid, (long)&at, size, fl, 0, 0);
			res(r);
			if (r == 0)
				printf(" size %u policy %u flags %llx nice %d prio %u", at.size, at.policy,
				       (unsigned long long)at.flags, at.nice, at.prio);
		} else {
			static const uint64_t afl[] = { 0, 0, 1 /* RESET_ON_FORK */, 0x20 /* KEEP_POLICY */,
							0x40 /* KEEP_PARAMS */, 0x100, 0x80000 };
			at.size = size;
			at.policy = PICK(pols) & 0xff;
			at.flags = PICK(afl);
			at.nice = (int)R(44) - 22;
			if (R(5) == 0)
				at.pad[0] = 1; /* a nonzero byte past what this kernel knows */
			printf("%ld sched_setattr(%s, {size %d policy %u flags %llx nice %d%s}, %d)", op, pn, size,
			       at.policy, (unsigned long long)at.flags, at.nice, at.pad[0] ? " tail" : "", fl);
			r = sys(SYS_sched_setattr, pid, (long)&at, fl, 0, 0, 0);
			res(r);
			if (r == -1 && errno == E2BIG)
				printf(" size now %u", at.size);
		}
		break;
	}
	default:
		printf("%ld sched_yield()", op);
		res(sys(SYS_sched_yield, 0, 0, 0, 0, 0, 0));
		break;
	}
	printf("\n");
}

static void do_misc(void)
{
	long r;
	switch (R(14)) {
	case 0: {
		struct { char f[6][65]; } u;
		int bad = R(4) == 0;
		printf("%ld uname(%s)", op, bad ? "bad" : "ptr");
		r = sys(SYS_uname, bad ? 8 : (long)&u, 0, 0, 0, 0, 0);
		res(r);
		if (r == 0)
			printf(" %s %s", u.f[0], u.f[4]);
		break;
	}
	case 1: {
		struct sysinfo_ {
			long uptime;
			unsigned long loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap;
			unsigned short procs, pad;
			unsigned long totalhigh, freehigh;
			unsigned int mem_unit;
			char _f[8];
		} si;
		int bad = R(4) == 0;
		printf("%ld sysinfo(%s)", op, bad ? "bad" : "ptr");
		r = sys(SYS_sysinfo, bad ? 8 : (long)&si, 0, 0, 0, 0, 0);
		res(r);
		if (r == 0)
			printf(" unit %u high %lu %lu", si.mem_unit, si.totalhigh, si.freehigh);
		break;
	}
	case 2: {
		static const int fl[] = { 0, 0, 1, 2, 4, 6, 5, 8, 3 };
		static const long lens[] = { 0, 16, 256, 1 };
		char buf[256];
		int f = PICK(fl);
		long len = PICK(lens);
		int bad = R(6) == 0;
		printf("%ld getrandom(%s, %ld, %d)", op, bad ? "NULL" : "buf", len, f);
		res(sys(SYS_getrandom, bad ? 0 : (long)buf, len, f, 0, 0, 0));
		break;
	}
	case 3: {
		static const unsigned long p[] = { 0xffffffff, 0xffffffff, 0, 0x0040000 /* ADDR_NO_RANDOMIZE */,
						   0x0400000 /* READ_IMPLIES_EXEC */, 0x8000000 /* ADDR_LIMIT_3GB */,
						   0x0200000 /* MMAP_PAGE_ZERO */, 0x12345678, 0x0000001 /* PER_SVR4 */ };
		unsigned long v = PICK(p);
		printf("%ld personality(%#lx)", op, v);
		res(sys(SYS_personality, v, 0, 0, 0, 0, 0));
		break;
	}
	case 4: {
		long m = R(4) ? R(01000) : R(2) ? 0xffffffff : 0777777;
		printf("%ld umask(%lo)", op, m);
		res(sys(SYS_umask, m, 0, 0, 0, 0, 0));
		break;
	}
	case 5: {
		struct { long a[4]; } t;
		int k = R(3);
		printf("%ld times(%s)", op, k == 0 ? "NULL" : k == 1 ? "bad" : "ptr");
		r = sys(SYS_times, k == 0 ? 0 : k == 1 ? 8 : (long)&t, 0, 0, 0, 0, 0);
		printf(" = %s", r == -1 ? errname(errno) : "ticks");
		break;
	}
	case 6: case 7: case 8: {
		/* Not the alarm clocks (8, 9): what they answer depends on the host's RTC. */
		static const int clks[] = { 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 16, -1, -2, -6, 0x7fffffff,
					    ~(0 << 3) | 2 /* a process CPU clock of pid 0 via the dynamic form */,
					    ~(1 << 3) | 3 };
		int c = PICK(clks), kind = R(3);
		struct timespec ts = { 0, 0 };
		int bad = R(6) == 0;
		if (kind == 0) {
			printf("%ld clock_getres(%d, %s)", op, c, bad ? "bad" : "ptr");
			r = sys(SYS_clock_getres, c, bad ? 8 : (long)&ts, 0, 0, 0, 0);
			res(r);
			/* Only a high-resolution clock's is this host's: the coarse ones follow HZ. */
			if (r == 0 && !bad)
				printf(" %s", ts.tv_sec == 0 && ts.tv_nsec == 1 ? "1ns" : "coarse");
		} else if (kind == 1) {
			printf("%ld clock_gettime(%d, %s)", op, c, bad ? "bad" : "ptr");
			res(sys(SYS_clock_gettime, c, bad ? 8 : (long)&ts, 0, 0, 0, 0));
		} else {
			static const int fl[] = { 0, TIMER_ABSTIME, TIMER_ABSTIME, 2, -1 };
			int f = PICK(fl);
			if (R(5) == 0)
				ts.tv_nsec = 1000000000;
			if (R(8) == 0)
				ts.tv_sec = -1;
			/* A relative sleep is one of a nanosecond at most; an absolute one is in the past. */
			if (f == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0)
				ts.tv_nsec = 1;
			/* Not on this process's CPU clock, which does not run while it sleeps. */
			if (f == 0 && (c == 2 || c == -6) && ts.tv_sec == 0 && ts.tv_nsec == 1)
				ts.tv_nsec = 0;
			printf("%ld clock_nanosleep(%d, %d, {%ld %ld}%s)", op, c, f, (long)ts.tv_sec, (long)ts.tv_nsec,
			       bad ? ", bad" : "");
			r = sys(SYS_clock_nanosleep, c, f, bad ? 8 : (long)&ts, 0, 0, 0);
			/* clock_nanosleep answers an error number, not -1 and errno */
			r = r == -1 ? -errno : r;
			printf(" = %s%s", r ? "-" : "", r ? errname((int)-r) : "0");
		}
		break;
	}
	case 9: {
		struct { long ru[18]; } ru;
		int st = 0x5a5a;
		static const int opts[] = { 0, WNOHANG, WUNTRACED, WCONTINUED, __WALL, __WCLONE, __WNOTHREAD,
					    0x80000, WNOHANG | __WALL, 0x40000000 };
		static const int pids[] = { -1, 0, 0x3ffffff0, -0x3ffffff0, (int)0x80000000 };
		int pid = PICK(pids), o = PICK(opts);
		printf("%ld wait4(%d, %x)", op, pid, o);
		res(sys(SYS_wait4, pid, (long)&st, o, R(2) ? (long)&ru : 0, 0, 0));
		break;
	}
	case 10: {
		siginfo_t si;
		static const int types[] = { P_ALL, P_PID, P_PGID, 3 /* P_PIDFD */, 4, -1 };
		static const int opts[] = { WEXITED, WEXITED | WNOHANG, 0, WSTOPPED, WCONTINUED, WNOHANG,
					    WEXITED | __WALL, WEXITED | 0x80000, WEXITED | WNOWAIT };
		int t = PICK(types), o = PICK(opts), id = R(2) ? 0 : R(2) ? 0x3ffffff0 : 1;
		printf("%ld waitid(%d, %d, %x)", op, t, id == 0x3ffffff0 ? 999 : id, o);
		res(sys(SYS_waitid, t, id, (long)&si, o, 0, 0));
		break;
	}
	case 11: {
		/* Not the SYNC_CORE commands (32, 64): on the test machine's kernel, a process
		 * that registers for them loses its FS base on the way back and crashes. */
		static const int cmds[] = { 0, 1, 2, 4, 8, 16, 128, 256, 512, 3, 1024, -1 };
		int c = PICK(cmds), f = R(4) == 0 ? R(3) : 0;
		printf("%ld membarrier(%d, %d)", op, c, f);
		r = sys(SYS_membarrier, c, f, 0, 0, 0, 0);
		if (c == 0 && r > 0)
			printf(" = mask"); /* which commands the host has */
		else
			res(r);
		break;
	}
	case 12: {
		static const int whichs[] = { 1, 1, 1, 2, 3, 0, 4 };
		int w = PICK(whichs), who = R(4) == 0 ? 0x3ffffff0 : 0;
		if (w == 3)
			who = 0x3ffffff0;
		if (R(2)) {
			printf("%ld ioprio_get(%d, %s)", op, w, who ? "none" : "0");
			res(sys(SYS_ioprio_get, w, who, 0, 0, 0, 0));
		} else {
			static const int cls[] = { 0, 1, 2, 2, 2, 3, 4, 7 };
			int c = PICK(cls), d = R(4) ? R(8) : R(2) ? 8 : 0x1fff;
			printf("%ld ioprio_set(%d, %s, %d/%d)", op, w, who ? "none" : "0", c, d);
			res(sys(SYS_ioprio_set, w, who, (c << 13) | d, 0, 0, 0));
		}
		break;
	}
	default: {
		static const unsigned vers[] = { 0x19980330, 0x20071026, 0x20080522, 0x20080522, 0, 0x12345678 };
		struct { uint32_t version; int pid; } hdr;
		struct { uint32_t eff, perm, inh; } data[2];
		memset(data, 0x5a, sizeof data);
		hdr.version = PICK(vers);
		hdr.pid = R(4) == 0 ? 0x3ffffff0 : R(2) ? 0 : getpid();
		int set = R(3) == 0, nodata = R(5) == 0;
		printf("%ld cap%s({%x %s}, %s)", op, set ? "set" : "get", hdr.version,
		       hdr.pid == 0x3ffffff0 ? "nopid" : hdr.pid ? "self" : "0", nodata ? "NULL" : "data");
		if (set) {
			memset(data, 0, sizeof data);
			if (R(2))
				data[0].perm = data[0].eff = 1 << R(32);
		}
		r = sys(set ? SYS_capset : SYS_capget, (long)&hdr, nodata ? 0 : (long)data, 0, 0, 0, 0);
		res(r);
		printf(" hdr %x", hdr.version);
		if (r == 0 && !set && !nodata)
			printf(" %x %x %x", data[0].eff, data[0].perm, data[0].inh);
		break;
	}
	}
	printf("\n");
}

/* ---- descriptors made here ---- */

static int fds[64];
static int nfds;

static void keepfd(long r)
{
	if (r >= 0 && nfds < 64)
		fds[nfds++] = (int)r;
}

static int rfd(void)
{
	switch (R(10)) {
	case 0: return -1;
	case 1: return 999;
	case 2: return memfd;
	case 3: return usock[0];
	}
	return nfds ? fds[R(nfds)] : usock[1];
}

static void do_close(void)
{
	if (!nfds)
		return;
	int i = R(nfds), fd = fds[i];
	fds[i] = fds[--nfds];
	printf("%ld close(%d)", op, fd);
	res(sys(SYS_close, fd, 0, 0, 0, 0, 0));
	printf("\n");
}

static void do_fds(void)
{
	long r;
	if (nfds > 40) {
		do_close();
		return;
	}
	switch (R(16)) {
	case 0: {
		static const int clks[] = { 0, 1, 7, 10, 2, 3, 5, -1, 12 }; /* no alarm clocks */
		static const int fls[] = { 0, 02000000, 04000, 02004000, 1, 0x100 };
		int c = PICK(clks), f = PICK(fls);
		printf("%ld timerfd_create(%d, %o)", op, c, f);
		r = sys(SYS_timerfd_create, c, f, 0, 0, 0, 0);
		res(r);
		keepfd(r);
		break;
	}
	case 1: case 2: {
		struct itimerspec nv = { { 0, 0 }, { 0, 0 } }, ov;
		static const int fls[] = { 0, 1 /* ABSTIME */, 3 /* ABSTIME|CANCEL_ON_SET */, 2, 4 };
		int fd = rfd(), f = PICK(fls), k = R(5);
		if (k == 1)
			nv.it_value.tv_sec = 1000;
		if (k == 2)
			nv.it_value.tv_nsec = 1000000000;
		if (k == 3)
			nv.it_interval.tv_sec = 1, nv.it_value.tv_sec = 1000;
		if (k == 4)
			nv.it_value.tv_sec = -1;
		int gettime = R(4) == 0;
		memset(&ov, 0x5a, sizeof ov);
		if (gettime) {
			printf("%ld timerfd_gettime(%d)", op, fd);
			r = sys(SYS_timerfd_gettime, fd, (long)&ov, 0, 0, 0, 0);
		} else {
			printf("%ld timerfd_settime(%d, %d, {%ld %ld / %ld})", op, fd, f, (long)nv.it_value.tv_sec,
			       (long)nv.it_value.tv_nsec, (long)nv.it_interval.tv_sec);
			r = sys(SYS_timerfd_settime, fd, f, (long)&nv, (long)&ov, 0, 0);
		}
		res(r);
		if (r == 0)
			printf(" old %s / %ld", ov.it_value.tv_sec || ov.it_value.tv_nsec ? "armed" : "0",
			       (long)ov.it_interval.tv_sec);
		break;
	}
	case 3: {
		static const int fls[] = { 0, 02000000, 04000, 1, 2, 0x100 };
		int f = PICK(fls);
		unsigned v = R(3) ? R(3) : 0xffffffff;
		printf("%ld eventfd2(%u, %o)", op, v, f);
		r = sys(SYS_eventfd2, v, f, 0, 0, 0, 0);
		res(r);
		keepfd(r);
		break;
	}
	case 4: {
		static const int fls[] = { 0, 02000000, 04000, 1, 0x100 };
		static const int sizes[] = { 8, 8, 8, 4, 16 };
		uint64_t m = rmask();
		int f = PICK(fls), size = PICK(sizes), fd = R(3) ? -1 : rfd();
		printf("%ld signalfd4(%d, %llx, %d, %o)", op, fd, (unsigned long long)m, size, f);
		r = sys(SYS_signalfd4, fd, (long)&m, size, f, 0, 0);
		res(r);
		if (fd == -1)
			keepfd(r);
		break;
	}
	case 5: {
		int k = R(4);
		if (k == 0) {
			int size = R(2) ? 0 : 1;
			printf("%ld epoll_create(%d)", op, size);
			r = sys(SYS_epoll_create, size, 0, 0, 0, 0, 0);
		} else {
			static const int fls[] = { 0, 02000000, 1, 04000 };
			int f = PICK(fls);
			printf("%ld epoll_create1(%o)", op, f);
			r = sys(SYS_epoll_create1, f, 0, 0, 0, 0, 0);
		}
		res(r);
		keepfd(r);
		break;
	}
	case 6: case 7: case 8: {
		static const uint32_t evs[] = { EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLET, EPOLLIN | EPOLLEXCLUSIVE,
						EPOLLIN | EPOLLONESHOT, EPOLLIN | EPOLLWAKEUP,
						EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, EPOLLEXCLUSIVE | EPOLLRDHUP,
						EPOLLEXCLUSIVE | EPOLLPRI, 0, EPOLLIN | EPOLLOUT | EPOLLHUP };
		static const int ops[] = { EPOLL_CTL_ADD, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL, 0, 4 };
		int ep = rfd(), fd = R(6) == 0 ? ep : rfd(), o = PICK(ops);
		struct epoll_event ev = { PICK(evs), { .u64 = (uint64_t)fd } };
		int noev = R(12) == 0;
		printf("%ld epoll_ctl(%d, %d, %d, %s%x)", op, ep, o, fd, noev ? "NULL " : "", ev.events);
		res(sys(SYS_epoll_ctl, ep, o, fd, noev ? 0 : (long)&ev, 0, 0));
		break;
	}
	case 9: {
		struct epoll_event ev[8];
		static const int maxs[] = { 8, 8, 1, 0, -1 };
		int ep = rfd(), mx = PICK(maxs);
		printf("%ld epoll_wait(%d, %d, 0)", op, ep, mx);
		r = sys(SYS_epoll_wait, ep, (long)ev, mx, 0, 0, 0);
		res(r);
		/* In the order of the descriptors: Linux's is that of readiness. */
		for (int i = 0; i < r; i++)
			for (int j = i + 1; j < r; j++)
				if (ev[j].data.u64 < ev[i].data.u64) {
					struct epoll_event t = ev[i];
					ev[i] = ev[j];
					ev[j] = t;
				}
		for (int i = 0; i < r; i++)
			printf(" %d:%x", (int)ev[i].data.u64, ev[i].events);
		break;
	}
	case 10: case 11: {
		struct pollfd p[4];
		static const long ns[] = { 0, 1, 2, 4, 4, 1 << 20, -1 };
		long n = PICK(ns);
		for (int i = 0; i < 4; i++) {
			p[i].fd = rfd();
			p[i].events = R(2) ? POLLIN : POLLIN | POLLOUT | POLLPRI;
			p[i].revents = 0x5a;
		}
		int pp = R(2);
		if (pp) {
			struct timespec ts = { 0, R(6) == 0 ? 1000000000 : 0 };
			uint64_t m = rmask();
			int size = R(6) == 0 ? 4 : 8, nomask = R(2);
			printf("%ld ppoll(%d %d %d %d, %ld, {0 %ld}, %s, %d)", op, p[0].fd, p[1].fd, p[2].fd, p[3].fd,
			       n, (long)ts.tv_nsec, nomask ? "NULL" : "mask", size);
			r = sys(SYS_ppoll, (long)p, n, (long)&ts, nomask ? 0 : (long)&m, size, 0);
		} else {
			printf("%ld poll(%d %d %d %d, %ld, 0)", op, p[0].fd, p[1].fd, p[2].fd, p[3].fd, n);
			r = sys(SYS_poll, (long)p, n, 0, 0, 0, 0);
		}
		res(r);
		if (r >= 0)
			for (int i = 0; i < 4 && i < n; i++)
				printf(" %x", p[i].revents);
		showgot();
		break;
	}
	case 12: case 13: {
		static const int doms[] = { AF_UNIX, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, 0, 46, 99, -1 };
		static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SOCK_RDM, 0, 11 };
		static const int tfl[] = { 0, 0, SOCK_NONBLOCK, SOCK_CLOEXEC, 0x100000, 0x40 };
		static const int protos[] = { 0, 0, 0, 1, 6, 17, 999, -1 };
		int d = PICK(doms), t = PICK(types) | PICK(tfl), p = PICK(protos);
		int pair = R(3) == 0;
		if (pair) {
			int sv[2];
			int bad = R(6) == 0;
			printf("%ld socketpair(%d, %x, %d%s)", op, d, t, p, bad ? ", NULL" : "");
			r = sys(SYS_socketpair, d, t, p, bad ? 0 : (long)sv, 0, 0);
			res(r);
			if (r == 0) {
				printf(" %d %d", sv[0], sv[1]);
				keepfd(sv[0]);
				keepfd(sv[1]);
			}
		} else {
			printf("%ld socket(%d, %x, %d)", op, d, t, p);
			r = sys(SYS_socket, d, t, p, 0, 0, 0);
			res(r);
			keepfd(r);
		}
		break;
	}
	default: {
		static const int levels[] = { SOL_SOCKET, SOL_SOCKET, SOL_SOCKET, 6 /* TCP */, 0 /* IP */, 999, -1 };
		static const int opts[] = { SO_RCVBUF, SO_SNDBUF, SO_PASSCRED, SO_KEEPALIVE, SO_RCVTIMEO_OLD_,
					    SO_SNDTIMEO_OLD_, SO_LINGER, SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR,
					    SO_ACCEPTCONN, SO_PEERCRED, SO_RCVLOWAT, SO_PRIORITY, SO_MARK,
					    SO_REUSEADDR, SO_BROADCAST, SO_OOBINLINE, SO_PASSSEC, 999, 0 };
		static const int lens[] = { 4, 4, 4, 4, 0, 2, 8, 16, 100, -1 };
		int lv = PICK(levels), o = PICK(opts), len = PICK(lens);
		int fd = R(4) ? usock[R(2)] : rfd();
		union { int i; long l[4]; struct { int a, b, c; } cr; char c[100]; } v;
		memset(&v, 0, sizeof v);
		if (R(2)) {
			v.i = R(3) ? R(3) : R(2) ? 7 : 100000;
			if (o == SO_RCVTIMEO_OLD_ || o == SO_SNDTIMEO_OLD_) {
				v.l[0] = R(3);
				v.l[1] = R(3) ? 0 : 1000000;
			}
			printf("%ld setsockopt(%d, %d, %d, %d, %d)", op, fd, lv, o, v.i, len);
			r = sys(SYS_setsockopt, fd, lv, o, (long)&v, len, 0);
			res(r);
		} else {
			socklen_t l = len;
			int nolen = R(10) == 0;
			memset(&v, 0x5a, sizeof v);
			printf("%ld getsockopt(%d, %d, %d, %d%s)", op, fd, lv, o, len, nolen ? ", NULL" : "");
			r = sys(SYS_getsockopt, fd, lv, o, (long)&v, nolen ? 0 : (long)&l, 0);
			res(r);
			if (r == 0) {
				printf(" len %d", (int)l);
				if (o == SO_PEERCRED) {
					if (l >= 12)
						printf(" uid %d gid %d", v.cr.b, v.cr.c);
				}
				else if (o == SO_RCVBUF || o == SO_SNDBUF)
					printf(" size"); /* host-sized */
				else if (l >= 4)
					printf(" %d", v.i);
				if ((o == SO_RCVTIMEO_OLD_ || o == SO_SNDTIMEO_OLD_ || o == SO_LINGER) && l >= 8)
					printf(" %ld %ld", v.l[0] & 0xffffffff, v.l[1]);
			}
		}
		break;
	}
	}
	printf("\n");
}

static void do_time(void)
{
	static const int clks[] = { 0, 1, 2, 3, 7, 10, 11, 12, -1, 6, 4 }; /* no alarm clocks */
	static timer_t ids[16];
	static int nids;
	long r;
	int k = R(8);
	if (k <= 2 && nids < 16) {
		struct { long value; int sigev_signo, sigev_notify, tid; char pad[44]; } sev;
		static const int notify[] = { SIGEV_NONE, SIGEV_SIGNAL, SIGEV_SIGNAL, 4 /* THREAD_ID */, SIGEV_THREAD, 99 };
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = PICK(notify);
		sev.sigev_signo = rsig();
		if (sev.sigev_signo == SIGSTOP || sev.sigev_signo == SIGKILL)
			sev.sigev_signo = SIGCONT;
		if (sev.sigev_notify == 4)
			sev.tid = R(2) ? gettid() : 0x3ffffff0;
		int c = PICK(clks), nosev = R(5) == 0;
		timer_t id = (timer_t)0;
		printf("%ld timer_create(%d, ", op, c);
		if (nosev)
			printf("NULL)");
		else
			printf("{%d %d %s})", sev.sigev_notify, sev.sigev_signo,
			       sev.sigev_notify == 4 ? (sev.tid == 0x3ffffff0 ? "nopid" : "self") : "-");
		int tid;
		r = sys(SYS_timer_create, c, nosev ? 0 : (long)&sev, (long)&tid, 0, 0, 0);
		res(r);
		if (r == 0)
			ids[nids++] = (timer_t)(long)tid;
		(void)id;
	} else if (k <= 5) {
		struct itimerspec nv = { { 0, 0 }, { 0, 0 } }, ov;
		static const int fls[] = { 0, 0, 1 /* ABSTIME */, 2, -1 };
		int i = nids ? (int)R(nids) : -1, bad = i < 0 || R(8) == 0;
		long id = bad ? (R(2) ? 999 : -1) : (long)ids[i];
		int f = PICK(fls), kk = R(5);
		if (kk == 1)
			nv.it_value.tv_sec = 1000;
		if (kk == 2)
			nv.it_value.tv_nsec = 1000000000;
		if (kk == 3)
			nv.it_interval.tv_nsec = -1, nv.it_value.tv_sec = 1000;
		if (kk == 4)
			nv.it_value.tv_sec = -1;
		memset(&ov, 0x5a, sizeof ov);
		int get = R(4) == 0;
		if (get) {
			printf("%ld timer_gettime(%s)", op, bad ? "bad" : "t");
			r = sys(SYS_timer_gettime, id, (long)&ov, 0, 0, 0, 0);
		} else {
			printf("%ld timer_settime(%s, %d, {%ld %ld / %ld})", op, bad ? "bad" : "t", f,
			       (long)nv.it_value.tv_sec, (long)nv.it_value.tv_nsec, (long)nv.it_interval.tv_nsec);
			r = sys(SYS_timer_settime, id, f, (long)&nv, (long)&ov, 0, 0);
		}
		res(r);
		if (r == 0)
			printf(" old %s", ov.it_value.tv_sec || ov.it_value.tv_nsec ? "armed" : "0");
	} else if (k == 6) {
		int i = nids ? (int)R(nids) : -1, bad = i < 0 || R(8) == 0;
		long id = bad ? 999 : (long)ids[i];
		printf("%ld timer_getoverrun(%s)", op, bad ? "bad" : "t");
		res(sys(SYS_timer_getoverrun, id, 0, 0, 0, 0, 0));
	} else {
		int i = nids ? (int)R(nids) : -1, bad = i < 0 || R(8) == 0;
		long id = bad ? 999 : (long)ids[i];
		printf("%ld timer_delete(%s)", op, bad ? "bad" : "t");
		r = sys(SYS_timer_delete, id, 0, 0, 0, 0, 0);
		res(r);
		if (r == 0)
			ids[i] = ids[--nids];
	}
	printf("\n");
}

static uint32_t fword[2];
static struct { void *next; long off; void *pending; } robust = { &robust, 0, 0 };

static void do_futex(void)
{
	static const int ops[] = { FUTEX_WAIT, FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
				   FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI,
				   FUTEX_TRYLOCK_PI, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, 13 /* LOCK_PI2 */,
				   14, 99, -1 };
	static const int mods[] = { 0, FUTEX_PRIVATE_FLAG, FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME,
				    FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0x400 };
	int k = R(10);
	if (k == 0) {
		static const long lens[] = { 24, 24, 0, 23, 25, 48 };
		long len = PICK(lens);
		int bad = R(6) == 0;
		printf("%ld set_robust_list(%s, %ld)", op, bad ? "NULL" : "head", len);
		res(sys(SYS_set_robust_list, bad ? 0 : (long)&robust, len, 0, 0, 0, 0));
		printf("\n");
		return;
	}
	if (k == 1) {
		void *head = (void *)1;
		size_t len = 77;
		int pid = R(4) == 0 ? 0x3ffffff0 : 0;
		printf("%ld get_robust_list(%s)", op, pid ? "nopid" : "0");
		long r = sys(SYS_get_robust_list, pid, (long)&head, (long)&len, 0, 0, 0);
		res(r);
		if (r == 0)
			printf(" len %zu %s", len, head == (void *)&robust ? "ours" : "libc's");
		printf("\n");
		return;
	}
	int o = PICK(ops) | PICK(mods);
	int bo = o & 0x7f;
	uint32_t *uaddr = &fword[0];
	int ak = R(10);
	long a = ak == 0 ? 0 : ak == 1 ? (long)uaddr + 1 : ak == 2 ? (long)PLAY : (long)uaddr;
	struct timespec ts = { 0, 0 };
	if (R(8) == 0)
		ts.tv_nsec = -1;
	/* The waits that could block get a timeout of zero and are then given a value that
	 * differs from the word (or a lock that is free or ours): none waits for long. */
	long val = R(3) ? fword[0] : fword[0] + 1;
	long a4 = (long)&ts;
	if (bo == FUTEX_WAKE || bo == FUTEX_REQUEUE || bo == FUTEX_CMP_REQUEUE || bo == FUTEX_WAKE_OP ||
	    bo == FUTEX_CMP_REQUEUE_PI)
		a4 = R(3), val = R(3);
	if (bo == FUTEX_WAKE_BITSET)
		val = 1;
	long a5 = bo == FUTEX_REQUEUE || bo == FUTEX_CMP_REQUEUE || bo == FUTEX_CMP_REQUEUE_PI ||
			  bo == FUTEX_WAIT_REQUEUE_PI || bo == FUTEX_WAKE_OP ? (long)&fword[1] : 0;
	long a6 = R(4) == 0 ? 0 : bo == FUTEX_CMP_REQUEUE ? (R(2) ? fword[0] : 12345) : 0xffffffff;
	if (bo == FUTEX_WAIT_REQUEUE_PI && R(2))
		a5 = a;
	if (bo == FUTEX_WAIT && a == (long)uaddr && val == fword[0] && ts.tv_nsec == -1)
		ts.tv_nsec = 0;
	printf("%ld futex(%s, %#x, %s, %s, %s, %ld)", op,
	       a == 0 ? "NULL" : a == (long)uaddr + 1 ? "odd" : a == (long)PLAY ? "play" : "word", o,
	       val == fword[0] ? "=word" : val == fword[0] + 1 ? "word+1" : val == 0 ? "0" : val == 1 ? "1" : "2",
	       a4 == (long)&ts ? (ts.tv_nsec < 0 ? "{0 -1}" : "{0 0}") : a4 ? "n" : "0", a5 ? "word2" : "0",
	       a6 == (long)fword[0] ? -2L : a6);
	long r = sys(SYS_futex, a, o, val, a4, a5, a6);
	res(r);
	printf(" word %s", fword[0] == 0 ? "0" : (fword[0] & 0x3fffffff) == (uint32_t)gettid() ? "tid" : "other");
	printf("\n");
}

/* ---- the run ---- */

static void dumpall(void)
{
	printf("%ld pages |", op);
	for (int i = 0; i < NP + SLOP; i++) {
		uint64_t m = rawmask();
		volatile char *p = PLAY + i * PG;
		inprobe = 1;
		int sig = sigsetjmp(jb, 0);
		if (sig) {
			inprobe = 0;
			syscall(SYS_rt_sigprocmask, SIG_SETMASK, &m, 0, 8);
			printf("%c", sig == SIGBUS ? 'b' : '-');
			continue;
		}
		int v = (unsigned char)*p;
		inprobe = 0;
		printf("%c", v ? 'x' : '0');
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	s = argc > 1 ? strtoull(argv[1], 0, 0) * 0x9e3779b97f4a7c15ULL + 1 : 1;
	long n = argc > 2 ? atol(argv[2]) : 1000;
	setvbuf(stdout, 0, _IOLBF, 0);
	printf("diffproc seed %s\n", argc > 1 ? argv[1] : "1");
	if (getuid() == 0) {
		printf("run me as an unprivileged user\n");
		return 2;
	}
	/* A process group and session of its own: what reaches "0" reaches only this run. */
	syscall(SYS_setsid);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = onfault;
	sa.sa_flags = SA_NODEFER | SA_SIGINFO;
	sigaction(SIGSEGV, &sa, 0);
	sigaction(SIGBUS, &sa, 0);
	/* Every signal whose default ends or stops the run gets the handler. */
	keepall();

	stack_t ss = { altstack + sizeof altstack - 65536, 0, 65536 };
	sigaltstack(&ss, 0);

	struct { unsigned long long cur, max; } ml = { 65536, 65536 };
	syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, 0, &ml, 0, 0);
	ml.cur = 65536;
	syscall(SYS_prlimit64, 0, RLIMIT_MEMLOCK, &ml, 0, 0, 0);

	memfd = (int)syscall(SYS_memfd_create, "diffproc", 0);
	syscall(SYS_ftruncate, memfd, 16 * PG);
	socketpair(AF_UNIX, SOCK_STREAM, 0, usock);
	brk0 = (unsigned long)syscall(SYS_brk, 0);
	printf("memfd %d sockets %d %d\n", memfd, usock[0], usock[1]);

	/* The playground must be free: it is far from anything the kernel places. */
	if (syscall(SYS_mmap, PLAY, (NP + SLOP) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (long)PLAY) {
		printf("playground taken\n");
		return 1;
	}
	syscall(SYS_munmap, PLAY, (NP + SLOP) * PG);
	syscall(SYS_mmap, PLAY, NP * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	for (op = 0; op < n; op++) {
		unsigned k = R(100);
		if (k < 8) do_mmap();
		else if (k < 12) do_munmap();
		else if (k < 18) do_mprotect();
		else if (k < 24) do_mremap();
		else if (k < 31) do_madvise();
		else if (k < 34) do_mlock();
		else if (k < 36) do_msync();
		else if (k < 39) do_mincore();
		else if (k < 41) do_brk();
		else if (k < 46) do_sigaction();
		else if (k < 50) do_sigprocmask();
		else if (k < 52) do_sigpending();
		else if (k < 54) do_sigaltstack();
		else if (k < 56) do_sigtimedwait();
		else if (k < 60) do_kill();
		else if (k < 64) do_prctl();
		else if (k < 65) do_arch_prctl();
		else if (k < 68) do_rlimit();
		else if (k < 70) do_priority();
		else if (k < 73) do_sched();
		else if (k < 80) do_misc();
		else if (k < 90) do_fds();
		else if (k < 93) do_time();
		else if (k < 97) do_futex();
		else if (k < 98) do_close();
		else dumpall();
		unexpected = 0;
		if (ngot) {
			printf("%ld", op);
			showgot();
			printf("\n");
		}
		if (redo)
			keepall();
	}
	dumpall();
	printf("done\n");
	return 0;
}
