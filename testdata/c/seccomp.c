/* seccomp.c: a small sandbox built with seccomp(2) and prctl: no_new_privs, the
 * filter checks made at load, the actions and their precedence, SIGSYS's siginfo,
 * inheritance by fork, threads and execve, TSYNC, int $0x80, strict mode, and the limits.
 * Each case runs in a child; the parent prints how it ended. With an argument "exec",
 * it is the program a filtered process execs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

struct sock_filter {
	unsigned short code;
	unsigned char jt, jf;
	unsigned int k;
};
struct sock_fprog {
	unsigned short len;
	struct sock_filter *filter;
};

#define RET_KILL_PROCESS 0x80000000u
#define RET_KILL_THREAD 0x00000000u
#define RET_TRAP 0x00030000u
#define RET_ERRNO 0x00050000u
#define RET_USER_NOTIF 0x7fc00000u
#define RET_TRACE 0x7ff00000u
#define RET_LOG 0x7ffc0000u
#define RET_ALLOW 0x7fff0000u
#define ARCH_X86_64 0xc000003eu
#define ARCH_I386 0x40000003u
#define FLAG_TSYNC 1
#define FLAG_TSYNC_ESRCH 16

#define LD_ABS 0x20
#define JEQ_K 0x15
#define RET_K 0x06

static long sc(long nr, long a, long b, long c) { return syscall(nr, a, b, c); }

static int load(unsigned flags, struct sock_filter *f, int n)
{
	struct sock_fprog p = {n, f};
	return syscall(SYS_seccomp, 1, flags, &p);
}

/* on returns action for system call nr of arch, and allows everything else. */
static int on(unsigned flags, unsigned arch, int nr, unsigned action)
{
	struct sock_filter f[] = {
		{LD_ABS, 0, 0, 4},
		{JEQ_K, 1, 0, arch},
		{RET_K, 0, 0, RET_ALLOW},
		{LD_ABS, 0, 0, 0},
		{JEQ_K, 0, 1, nr},
		{RET_K, 0, 0, action},
		{RET_K, 0, 0, RET_ALLOW},
	};
	return load(flags, f, 7);
}

static int deny(int nr, unsigned action) { return on(0, ARCH_X86_64, nr, action); }

static void nnp(void) { prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

/* errno of a call, or "ok N". */
static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: errno %d\n", what, errno);
	else
		printf("%s: ok %ld\n", what, r);
}

/* The raw call whose return address a SIGSYS handler checks. */
extern char after_raw[];
__attribute__((noinline)) static long raw(long nr, long a)
{
	long r;
	__asm__ volatile("syscall\n.globl after_raw\nafter_raw:"
			 : "=a"(r)
			 : "a"(nr), "D"(a)
			 : "rcx", "r11", "memory");
	return r;
}

static long int80(long nr, long a)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a) : "memory");
	return r;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	printf("SIGSYS: signo %d code %d errno %d syscall %d arch %#x call_addr %s rax=nr %s\n",
	       si->si_signo, si->si_code, si->si_errno, si->si_syscall, si->si_arch,
	       si->si_call_addr == (void *)after_raw ? "after the syscall" : "elsewhere",
	       u->uc_mcontext.gregs[REG_RAX] == si->si_syscall ? "yes" : "no");
	u->uc_mcontext.gregs[REG_RAX] = 4242; /* what the call "returns" */
}

static void c_prctl(void)
{
	printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	printf("PR_GET_NO_NEW_PRIVS: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	expect_err("PR_SET_NO_NEW_PRIVS 2", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL);
	expect_err("PR_SET_NO_NEW_PRIVS 1 with arg3", prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
	expect_err("PR_GET_NO_NEW_PRIVS with arg2", prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);
	expect("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	printf("PR_GET_NO_NEW_PRIVS: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	expect_err("PR_SET_SECCOMP 3", prctl(PR_SET_SECCOMP, 3, 0, 0, 0), EINVAL);
	expect_err("PR_SET_SECCOMP filter NULL", prctl(PR_SET_SECCOMP, 2, 0, 0, 0), EFAULT);
	pid_t c = fork();
	if (c == 0) {
		printf("child PR_GET_NO_NEW_PRIVS: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
		_exit(0);
	}
	waitpid(c, 0, 0);
	unsigned a;
	unsigned actions[] = {RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP, RET_ERRNO, RET_USER_NOTIF,
			      RET_TRACE, RET_LOG, RET_ALLOW};
	for (int i = 0; i < 8; i++) {
		a = actions[i];
		printf("action %#x available: %ld\n", a, sc(SYS_seccomp, 2, 0, (long)&a));
	}
	a = 0x00010000;
	expect_err("unknown action", sc(SYS_seccomp, 2, 0, (long)&a), EOPNOTSUPP);
	expect_err("action with flags", sc(SYS_seccomp, 2, 1, (long)&a), EINVAL);
	expect_err("action at NULL", sc(SYS_seccomp, 2, 0, 0), EFAULT);
	unsigned short sizes[3];
	expect("notif sizes", sc(SYS_seccomp, 3, 0, (long)sizes) == 0);
	printf("sizes: notif %d resp %d data %d\n", sizes[0], sizes[1], sizes[2]);
	expect_err("bad operation", sc(SYS_seccomp, 9, 0, 0), EINVAL);
	expect_err("strict with flags", sc(SYS_seccomp, 0, 1, 0), EINVAL);
	expect_err("strict with args", sc(SYS_seccomp, 0, 0, (long)sizes), EINVAL);
}

static void c_verify(void)
{
	nnp();
	struct sock_filter ok[] = {{RET_K, 0, 0, RET_ALLOW}};
	struct sock_fprog p = {0, ok};
	expect_err("length 0", sc(SYS_seccomp, 1, 0, (long)&p), EINVAL);
	p.len = 4097;
	expect_err("length 4097", sc(SYS_seccomp, 1, 0, (long)&p), EINVAL);
	p.len = 2;
	p.filter = (void *)8;
	expect_err("program at a bad address", sc(SYS_seccomp, 1, 0, (long)&p), EFAULT);
	expect_err("fprog at NULL", sc(SYS_seccomp, 1, 0, 0), EFAULT);
	expect_err("unknown flag", sc(SYS_seccomp, 1, 0x400, (long)&p), EINVAL);
	struct {
		const char *what;
		struct sock_filter f[3];
		int n;
	} bad[] = {
		{"unknown code", {{0xff, 0, 0, 0}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"byte load", {{0x30, 0, 0, 0}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"mod", {{0x94, 0, 0, 3}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"unaligned load", {{LD_ABS, 0, 0, 2}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"load past seccomp_data", {{LD_ABS, 0, 0, 64}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"jump past the end", {{JEQ_K, 0, 1, 0}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"ja past the end", {{0x05, 0, 0, 1}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"no return at the end", {{RET_K, 0, 0, RET_ALLOW}, {0x00, 0, 0, 1}}, 2},
		{"divide by 0", {{0x34, 0, 0, 0}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"shift by 32", {{0x64, 0, 0, 32}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"scratch word 16", {{0x02, 0, 0, 16}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"scratch read unwritten", {{0x60, 0, 0, 3}, {RET_K, 0, 0, RET_ALLOW}}, 2},
		{"scratch written on one path", {{JEQ_K, 0, 1, 5}, {0x02, 0, 0, 1}, {0x60, 0, 0, 1}}, 3},
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_err(bad[i].what, load(0, bad[i].f, bad[i].n), EINVAL);
	struct sock_filter good[] = {
		{0x00, 0, 0, 7},  /* ld #7 */
		{0x02, 0, 0, 15}, /* st M[15] */
		{0x61, 0, 0, 15}, /* ldx M[15] */
		{0x80, 0, 0, 0},  /* ld len */
		{0x1d, 1, 0, 0},  /* jeq x: no */
		{0x05, 0, 0, 0},  /* ja 0 */
		{RET_K, 0, 0, RET_ALLOW},
	};
	expect("a good program loads", load(0, good, 7) == 0);
	printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	expect_err("strict after a filter", sc(SYS_seccomp, 0, 0, 0), EINVAL);
}

static void c_eacces(void)
{
	/* Without CAP_SYS_ADMIN and without no_new_privs. */
	struct {
		unsigned version;
		int pid;
	} h = {0x20080522, 0};
	struct {
		unsigned eff, prm, inh;
	} d[2] = {{0, 0, 0}, {0, 0, 0}};
	if (syscall(SYS_capset, &h, d) != 0)
		printf("capset: errno %d\n", errno);
	struct sock_filter ok[] = {{RET_K, 0, 0, RET_ALLOW}};
	expect_err("filter without no_new_privs", load(0, ok, 1), EACCES);
	struct sock_fprog p = {0, ok};
	expect_err("length checked first", sc(SYS_seccomp, 1, 0, (long)&p), EINVAL);
	nnp();
	expect("with no_new_privs", load(0, ok, 1) == 0);
}

static void c_errno(void)
{
	nnp();
	expect("openat filter", deny(SYS_openat, RET_ERRNO | 13) == 0);
	expect("getppid filter", deny(SYS_getppid, RET_ERRNO | 1) == 0);
	expect("getpid filter", deny(SYS_getpid, RET_ERRNO | 5000) == 0);
	expect("umask filter", deny(SYS_umask, RET_ERRNO | 0) == 0);
	expect("dup filter", deny(SYS_dup, RET_TRACE) == 0);
	expect("dup2 filter", deny(SYS_dup2, RET_USER_NOTIF) == 0);
	expect("getuid filter", deny(SYS_getuid, RET_LOG) == 0);
	printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	show("openat", sc(SYS_openat, -100, (long)"/", 0));
	show("getppid", sc(SYS_getppid, 0, 0, 0));
	show("getpid", sc(SYS_getpid, 0, 0, 0));
	show("getpid again", sc(SYS_getpid, 0, 0, 0));
	show("umask", sc(SYS_umask, 077, 0, 0));
	show("dup (TRACE)", sc(SYS_dup, 1, 0, 0));
	show("dup2 (USER_NOTIF)", sc(SYS_dup2, 1, 50, 0));
	show("getuid (LOG)", sc(SYS_getuid, 0, 0, 0) >= 0 ? 0 : -1);
	show("getgid", sc(SYS_getgid, 0, 0, 0) >= 0 ? 0 : -1);
	/* Precedence: the lowest action wins; between equals, the newest filter. */
	expect("older ERRNO 20", deny(SYS_getsid, RET_ERRNO | 20) == 0);
	expect("newer ERRNO 21", deny(SYS_getsid, RET_ERRNO | 21) == 0);
	expect("LOG", deny(SYS_getsid, RET_LOG) == 0);
	show("getsid", sc(SYS_getsid, 0, 0, 0));
	/* An argument filter: close(99) is refused, close(98) is not. */
	struct sock_filter f[] = {
		{LD_ABS, 0, 0, 0},
		{JEQ_K, 0, 3, SYS_close},
		{LD_ABS, 0, 0, 16},
		{JEQ_K, 0, 1, 99},
		{RET_K, 0, 0, RET_ERRNO | 7},
		{RET_K, 0, 0, RET_ALLOW},
	};
	expect("argument filter", load(0, f, 6) == 0);
	show("close(99)", sc(SYS_close, 99, 0, 0));
	show("close(98)", sc(SYS_close, 98, 0, 0));
	pid_t c = fork();
	if (c == 0) {
		show("child getppid", sc(SYS_getppid, 0, 0, 0));
		printf("child PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
		fflush(stdout);
		execl("/proc/self/exe", "seccomp", "exec", (char *)0);
		_exit(9);
	}
	int st;
	waitpid(c, &st, 0);
	printf("exec child: %d\n", WEXITSTATUS(st));
}

static void c_exec(void)
{
	show("after exec getppid", sc(SYS_getppid, 0, 0, 0));
	printf("after exec PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	printf("after exec PR_GET_NO_NEW_PRIVS: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
}

static void c_trap(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, 0);
	nnp();
	expect("trap filter", deny(SYS_getppid, RET_TRAP | 77) == 0);
	expect("errno filter", deny(SYS_getppid, RET_ERRNO | 1) == 0);
	long r = raw(SYS_getppid, 0);
	printf("getppid after the handler: %ld\n", r);
}

static void on_sigsys_vsys(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	printf("SIGSYS: syscall %d errno %d call_addr %p rax %lld\n", si->si_syscall, si->si_errno,
	       si->si_call_addr, (long long)u->uc_mcontext.gregs[REG_RAX]);
	u->uc_mcontext.gregs[REG_RAX] = 4343;
}

/* The vsyscall page goes through the filters (the page is emulated); the vDSO does not. */
static void c_vsys(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_sigsys_vsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, 0);
	nnp();
	deny(SYS_time, RET_ERRNO | 1);
	deny(SYS_clock_gettime, RET_ERRNO | 1);
	deny(SYS_gettimeofday, RET_TRAP | 5);
	long (*vtime)(long *) = (void *)0xffffffffff600400;
	long (*vgtod)(void *, void *) = (void *)0xffffffffff600000;
	printf("vsyscall time: %ld\n", vtime(0));
	struct timespec ts;
	printf("vDSO clock_gettime: %d\n", clock_gettime(CLOCK_MONOTONIC, &ts));
	show("syscall clock_gettime", sc(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0));
	printf("vsyscall gettimeofday: %ld\n", vgtod(0, 0));
}

static void c_trap_blocked(void)
{
	nnp();
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	sigprocmask(SIG_BLOCK, &s, 0);
	deny(SYS_getppid, RET_TRAP);
	sc(SYS_getppid, 0, 0, 0);
	printf("not reached\n");
}

static void c_kill(unsigned action)
{
	nnp();
	deny(SYS_getppid, action);
	printf("before\n");
	fflush(stdout);
	sc(SYS_getppid, 0, 0, 0);
	printf("not reached\n");
}

static void c_divzero(void)
{
	nnp();
	struct sock_filter f[] = {
		{0x01, 0, 0, 0},  /* ldx #0 */
		{0x00, 0, 0, 5},  /* ld #5 */
		{0x3c, 0, 0, 0},  /* div x */
		{RET_K, 0, 0, RET_ALLOW},
	};
	load(0, f, 4);
	printf("not reached\n");
}

static volatile long victim_tid;

static void *victim(void *arg)
{
	(void)arg;
	victim_tid = syscall(SYS_gettid);
	deny(SYS_getppid, RET_KILL_THREAD);
	sc(SYS_getppid, 0, 0, 0);
	printf("not reached\n");
	return 0;
}

static void c_kill_thread(void)
{
	nnp();
	pthread_t th;
	pthread_create(&th, 0, victim, 0);
	/* Not pthread_join: musl's waits for the thread's own exit path, which never ran. */
	int gone = 0;
	for (int i = 0; i < 500 && !gone; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, 0);
		gone = victim_tid && syscall(SYS_tgkill, getpid(), victim_tid, 0) < 0 && errno == ESRCH;
	}
	printf("killed thread gone: %s\n", gone ? "yes" : "no");
	show("main thread getppid", sc(SYS_getppid, 0, 0, 0) > 0 ? 0 : -1);
}

static pthread_barrier_t bar;
static long tid2;

static void *worker(void *arg)
{
	tid2 = syscall(SYS_gettid);
	if (arg)
		deny(SYS_getsid, RET_ERRNO | 3);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	show("other thread getppid", sc(SYS_getppid, 0, 0, 0) > 0 ? 0 : -1);
	printf("other thread PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	return 0;
}

static void threads(int tsync, int conflict)
{
	nnp();
	pthread_t th;
	pthread_barrier_init(&bar, 0, 2);
	pthread_create(&th, 0, worker, conflict ? (void *)1 : 0);
	pthread_barrier_wait(&bar);
	long r = on(tsync ? FLAG_TSYNC : 0, ARCH_X86_64, SYS_getppid, RET_ERRNO | 1);
	if (conflict)
		printf("TSYNC against another filter returns its tid: %s\n", r == tid2 ? "yes" : "no");
	if (conflict)
		expect_err("TSYNC_ESRCH", on(FLAG_TSYNC | FLAG_TSYNC_ESRCH, ARCH_X86_64, SYS_getppid, RET_ERRNO | 1), ESRCH);
	pthread_barrier_wait(&bar);
	pthread_join(th, 0);
	show("main thread getppid", sc(SYS_getppid, 0, 0, 0) > 0 ? 0 : -1);
}

static void *many(void *arg)
{
	long i = (long)arg, ok = 0;
	for (int j = 0; j < 50; j++)
		ok += deny(SYS_getsid, RET_ERRNO | (unsigned)(i + 1)) == 0;
	ok += sc(SYS_getsid, 0, 0, 0) < 0 && errno == i + 1;
	return (void *)ok;
}

/* Threads that each stack filters of their own at once. */
static void c_threads_many(void)
{
	nnp();
	pthread_t th[16];
	for (long i = 0; i < 16; i++)
		pthread_create(&th[i], 0, many, (void *)i);
	long all = 0;
	for (int i = 0; i < 16; i++) {
		void *r;
		pthread_join(th[i], &r);
		all += (long)r;
	}
	printf("16 threads x 50 filters, each its own errno: %ld of %d\n", all, 16 * 51);
	show("main thread getsid", sc(SYS_getsid, 0, 0, 0) > 0 ? 0 : -1);
}

static void c_int80(void)
{
	nnp();
	on(0, ARCH_I386, 20, RET_ERRNO | 9);  /* i386 getpid */
	on(0, ARCH_I386, 999, RET_ERRNO | 8); /* no such i386 call */
	printf("int80 getpid: %ld\n", int80(20, 0));
	printf("int80 999: %ld\n", int80(999, 0));
	printf("int80 getppid: %s\n", int80(64, 0) > 0 ? "ok" : "fails");
	printf("syscall getpid: %s\n", sc(SYS_getpid, 0, 0, 0) > 0 ? "ok" : "fails");
	/* A filter that allows only x86-64 calls kills an i386 one. */
	struct sock_filter f[] = {
		{LD_ABS, 0, 0, 4},
		{JEQ_K, 1, 0, ARCH_X86_64},
		{RET_K, 0, 0, RET_KILL_PROCESS},
		{RET_K, 0, 0, RET_ALLOW},
	};
	load(0, f, 4);
	printf("before\n");
	fflush(stdout);
	int80(20, 0);
	printf("not reached\n");
}

static void c_stack(void)
{
	nnp();
	struct sock_filter one[] = {{RET_K, 0, 0, RET_ALLOW}};
	int n = 0;
	for (int i = 0; i < 1000; i++)
		if (load(0, one, 1) == 0)
			n++;
	printf("1000 one-instruction filters: %d loaded\n", n);
	show("getppid through 1000 filters", sc(SYS_getppid, 0, 0, 0) > 0 ? 0 : -1);
	static struct sock_filter big[4096];
	for (int i = 0; i < 4095; i++)
		big[i] = (struct sock_filter){0x04, 0, 0, 1}; /* add #1 */
	big[4095] = (struct sock_filter){RET_K, 0, 0, RET_ALLOW};
	long r;
	n = 0;
	while ((r = load(0, big, 4096)) == 0)
		n++;
	printf("4096-instruction filters after them: %d, then errno %d\n", n, errno);
}

static void strict_write(const char *s) { syscall(SYS_write, 1, s, strlen(s)); }

static void c_strict(int how)
{
	prctl(PR_SET_SECCOMP, 1, 0, 0, 0);
	strict_write("strict: write works\n");
	if (how == 0)
		syscall(SYS_exit, 3);
	if (how == 1)
		syscall(SYS_getpid);
	if (how == 2)
		syscall(SYS_exit_group, 4);
	strict_write("not reached\n");
}

static void run(const char *name, void (*f)(void))
{
	printf("== %s\n", name);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		setvbuf(stdout, 0, _IONBF, 0);
		f();
		fflush(stdout);
		_exit(failures ? 1 : 0);
	}
	int st;
	waitpid(c, &st, 0);
	if (WIFSIGNALED(st))
		printf("status: signal %d\n", WTERMSIG(st));
	else
		printf("status: exit %d\n", WEXITSTATUS(st));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
		failures++;
}

static void kill_process(void) { c_kill(RET_KILL_PROCESS); }
static void kill_thread_single(void) { c_kill(RET_KILL_THREAD); }
static void kill_unknown(void) { c_kill(0x00010000); }
static void strict_exit(void) { c_strict(0); }
static void strict_getpid(void) { c_strict(1); }
static void strict_exit_group(void) { c_strict(2); }
static void threads_local(void) { threads(0, 0); }
static void threads_tsync(void) { threads(1, 0); }
static void threads_conflict(void) { threads(1, 1); }

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		c_exec();
		return 0;
	}
	struct rlimit no = {0, 0};
	setrlimit(RLIMIT_CORE, &no); /* killed by SIGSYS without a core file */
	run("prctl", c_prctl);
	run("verify", c_verify);
	run("eacces", c_eacces);
	run("errno", c_errno);
	run("trap", c_trap);
	run("trap-blocked", c_trap_blocked);
	run("vsyscall-vdso", c_vsys);
	run("kill-process", kill_process);
	run("kill-thread-single", kill_thread_single);
	run("kill-unknown-action", kill_unknown);
	run("divide-by-zero-x", c_divzero);
	run("kill-thread", c_kill_thread);
	run("threads-local", threads_local);
	run("threads-tsync", threads_tsync);
	run("threads-tsync-conflict", threads_conflict);
	run("threads-many", c_threads_many);
	run("int80", c_int80);
	run("stack", c_stack);
	run("strict-exit", strict_exit);
	run("strict-getpid", strict_getpid);
	run("strict-exit-group", strict_exit_group);
	return failures ? 1 : 0;
}
