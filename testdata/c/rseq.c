/* rseq checks restartable sequences: registration and its errors, the area's cpu_id after
 * sched_setaffinity, a per-CPU counter whose critical section (load, add, commit store)
 * many threads run while they are preempted and signalled (the counts must be exact), a
 * signal delivered inside a section (rip goes to abort_ip), the descriptors Linux refuses
 * (SIGSEGV), an area unmapped after registration, and what fork, exec and new threads
 * keep. glibc registers an area for every thread itself (used when present); under musl
 * the program registers its own. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define LIBC_RSEQ 1
#endif
#endif

#include "check.h"

#define SIG 0x53053053
#define UNREGISTER 1
#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#define AT_RSEQ_ALIGN 28
#endif

/* The layouts of struct rseq and struct rseq_cs. */
struct area {
	uint32_t cpu_id_start, cpu_id;
	uint64_t rseq_cs;
	uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32)));

struct cs {
	uint32_t version, flags;
	uint64_t start_ip, post_commit_offset, abort_ip;
} __attribute__((aligned(32)));

static __thread struct area own_area;
static __thread int own_registered;

static long sys_rseq(void *a, unsigned len, int flags, unsigned sig)
{
	return syscall(SYS_rseq, a, len, flags, sig);
}

/* libc_area is the area libc registered for this thread, or NULL. */
static struct area *libc_area(void)
{
#ifdef LIBC_RSEQ
	if (__rseq_size > 0)
		return (struct area *)((char *)__builtin_thread_pointer() + __rseq_offset);
#endif
	return NULL;
}

/* my_area is the thread's registered area: libc's, or its own, registered now. */
static struct area *my_area(void)
{
	struct area *a = libc_area();
	if (a)
		return a;
	if (!own_registered) {
		if (sys_rseq(&own_area, 32, 0, SIG) != 0) {
			perror("rseq");
			exit(2);
		}
		own_registered = 1;
	}
	return &own_area;
}

/* drop_area unregisters the thread's area, libc's (32 bytes, as glibc registers) or
 * its own. */
static void drop_area(void)
{
	struct area *a = libc_area();
	if (!a && own_registered)
		a = &own_area;
	if (a && sys_rseq(a, 32, UNREGISTER, SIG) != 0) {
		perror("unregister");
		exit(2);
	}
	own_registered = 0;
}

/* ended runs f in a child and says how the child ended. */
static void ended(const char *what, void (*f)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		f();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", what, WTERMSIG(st));
	else
		printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

/* ---- registration ---- */

static void *registration(void *arg)
{
	(void)arg;
	drop_area();
	static struct area big[2] __attribute__((aligned(64)));
	struct area *a = &own_area;
	expect_err("len 16", sys_rseq(a, 16, 0, SIG), EINVAL);
	expect_err("len 31", sys_rseq(a, 31, 0, SIG), EINVAL);
	expect_err("misaligned", sys_rseq((char *)a + 16, 32, 0, SIG), EINVAL);
	expect_err("misaligned by 8", sys_rseq((char *)a + 8, 32, 0, SIG), EINVAL);
	expect_err("unknown flag", sys_rseq(a, 32, 2, SIG), EINVAL);
	expect_err("kernel address", sys_rseq((void *)0xffffffffff600000ul, 32, 0, SIG), EFAULT);
	expect_err("past user space", sys_rseq((void *)0x7fffffffefe0ul, 64, 0, SIG), EFAULT);
	expect_err("unregister unregistered", sys_rseq(a, 32, UNREGISTER, SIG), EINVAL);
	printf("cpu_id before: %d\n", (int)a->cpu_id);

	expect("register 64 bytes", sys_rseq(big, 64, 0, SIG) == 0);
	expect_err("unregister with len 32", sys_rseq(big, 32, UNREGISTER, SIG), EINVAL);
	expect("unregister 64 bytes", sys_rseq(big, 64, UNREGISTER, SIG) == 0);

	a->cpu_id = 12345;
	a->rseq_cs = 0x1234; /* garbage: registration clears it unread */
	expect("register", sys_rseq(a, 32, 0, SIG) == 0);
	expect("rseq_cs cleared by the registration", a->rseq_cs == 0);
	unsigned cpu;
	syscall(SYS_getcpu, &cpu, NULL, NULL);
	expect("cpu_id is getcpu's", a->cpu_id == cpu && a->cpu_id_start == cpu);
	expect("node_id 0", a->node_id == 0);
	expect_err("again", sys_rseq(a, 32, 0, SIG), EBUSY);
	expect_err("again, other signature", sys_rseq(a, 32, 0, SIG + 1), EPERM);
	expect_err("again, other address", sys_rseq(big, 32, 0, SIG), EINVAL);
	expect_err("again, other len", sys_rseq(a, 64, 0, SIG), EINVAL);
	expect_err("unregister, other signature", sys_rseq(a, 32, UNREGISTER, SIG + 1), EPERM);
	expect_err("unregister, other address", sys_rseq(big, 32, UNREGISTER, SIG), EINVAL);
	expect_err("unregister, other len", sys_rseq(a, 64, UNREGISTER, SIG), EINVAL);
	expect_err("unregister with another flag", sys_rseq(a, 32, UNREGISTER | 2, SIG), EINVAL);
	expect("unregister", sys_rseq(a, 32, UNREGISTER, SIG) == 0);
	printf("after: cpu_id %d cpu_id_start %u node_id %u mm_cid %u\n", (int)a->cpu_id, a->cpu_id_start,
	       a->node_id, a->mm_cid);
	expect_err("unregister again", sys_rseq(a, 32, UNREGISTER, SIG), EINVAL);
	return NULL;
}

static void reg_unmapped(void)
{
	drop_area();
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	long r = sys_rseq(p, 32, 0, SIG);
	printf("registered: %s\n", r == 0 ? "yes" : errname(errno));
}

static void reg_readonly(void)
{
	drop_area();
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long r = sys_rseq(p, 32, 0, SIG);
	printf("registered: %s\n", r == 0 ? "yes" : errname(errno));
}

static void on_usr1(int sig) { (void)sig; }

static void unmapped_later(void)
{
	drop_area();
	struct area *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sys_rseq(p, 32, 0, SIG) != 0)
		_exit(3);
	munmap(p, 4096);
	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1); /* its delivery writes cpu_id */
	_exit(4);
}

/* ---- cpu_id follows the affinity ---- */

static void affinity(void)
{
	struct area *a = my_area();
	cpu_set_t all, one;
	sched_getaffinity(0, sizeof all, &all);
	int n = 0, ok = 0;
	for (int c = 0; c < CPU_SETSIZE && n < 8; c++) {
		if (!CPU_ISSET(c, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof one, &one) != 0)
			continue;
		n++;
		if (a->cpu_id == (uint32_t)c && a->cpu_id_start == (uint32_t)c && a->node_id == 0)
			ok++;
		else
			printf("pinned to %d: cpu_id %d cpu_id_start %u\n", c, (int)a->cpu_id, a->cpu_id_start);
	}
	sched_setaffinity(0, sizeof all, &all);
	expect("cpu_id follows every pinning", n > 0 && ok == n);
}

/* ---- the per-CPU counter ---- */

#define NCPU 1024
static long counts[NCPU];
static volatile int stop_signals;
static long signals_seen;

/* percpu_inc adds 1 to counts[cpu_id] in a critical section that spins a while between
 * the load and the commit store; it returns 1 when it had to start again. */
static int percpu_inc(struct area *a, int spin)
{
	int aborted = 0;
again:
	__asm__ __volatile__ goto(
		".pushsection .data.rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0, 0\n\t"
		".quad 1f, 2f - 1f, 4f\n\t"
		".popsection\n\t"
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, 8(%[a])\n\t"
		"1:\n\t"
		"movl 4(%[a]), %%eax\n\t"
		"movq (%[c], %%rax, 8), %%rdx\n\t"
		"addq $1, %%rdx\n\t"
		"movl %[spin], %%ecx\n\t"
		"5:\n\t"
		"decl %%ecx\n\t"
		"jnz 5b\n\t"
		"movq %%rdx, (%[c], %%rax, 8)\n\t"
		"2:\n\t"
		".pushsection .text.rseq_abort, \"ax\"\n\t"
		".long 0x53053053\n\t"
		"4:\n\t"
		"jmp %l[abort]\n\t"
		".popsection\n\t"
		:
		: [a] "r"(a), [c] "r"(counts), [spin] "r"(spin)
		: "rax", "rcx", "rdx", "memory", "cc"
		: abort);
	return aborted;
abort:
	aborted = 1;
	goto again;
}

struct worker {
	pthread_t th;
	int iters, spin;
	long aborts;
	int registered;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	sigset_t alarm;
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alarm, NULL);
	struct area *a = my_area();
	w->registered = (int)a->cpu_id >= 0;
	for (int i = 0; i < w->iters; i++)
		w->aborts += percpu_inc(a, w->spin);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	__atomic_add_fetch(&signals_seen, 1, __ATOMIC_RELAXED);
}

/* counter runs n threads of iters increments each and checks the total. */
static long counter(const char *what, int n, int iters, int spin, int timer)
{
	memset(counts, 0, sizeof counts);
	struct worker w[64];
	/* The timer's signals go to the workers: the main thread blocks them. */
	sigset_t alarm;
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm, NULL);
	if (timer) {
		struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval it = {{0, 100}, {0, 100}};
		setitimer(ITIMER_REAL, &it, NULL);
	}
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){.iters = iters, .spin = spin};
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	long aborts = 0;
	int registered = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		aborts += w[i].aborts;
		registered += w[i].registered;
	}
	if (timer) {
		struct itimerval it = {{0, 0}, {0, 0}};
		setitimer(ITIMER_REAL, &it, NULL);
		signal(SIGALRM, SIG_IGN);
	}
	long total = 0;
	for (int i = 0; i < NCPU; i++)
		total += counts[i];
	printf("%s: %d threads registered, total %ld of %ld\n", what, registered, total, (long)n * iters);
	if (total != (long)n * iters)
		failures++;
	return aborts;
}

/* ---- a signal inside a section, and the descriptors Linux refuses ---- */

/* sigcs_run stores desc in *field, then, inside the section [sigcs_start, sigcs_end),
 * sends itself sig with tgkill: 0 if it went through, 1 if it ended at sigcs_abort. */
int sigcs_run(long tgid, long tid, long sig, uint64_t *field, struct cs *desc);
extern char sigcs_start[], sigcs_end[], sigcs_abort[], sigcs_nosig[];
__asm__(".text\n"
	".globl sigcs_run, sigcs_start, sigcs_end, sigcs_abort, sigcs_nosig\n"
	".type sigcs_run, @function\n"
	"sigcs_run:\n"
	"	movq %r8, (%rcx)\n"
	"sigcs_start:\n"
	"	movl $234, %eax\n"
	"	syscall\n"
	"	xorl %eax, %eax\n"
	"sigcs_end:\n"
	"	ret\n"
	"	.long 0x53053053\n"
	"sigcs_abort:\n"
	"	movl $1, %eax\n"
	"	ret\n"
	"	.long 0x12345678\n"
	"sigcs_nosig:\n"
	"	movl $2, %eax\n"
	"	ret\n");

static struct cs good_cs(void)
{
	return (struct cs){0, 0, (uint64_t)sigcs_start, (uint64_t)(sigcs_end - sigcs_start), (uint64_t)sigcs_abort};
}

static struct cs desc;
static int signalled;

static void on_usr2(int sig)
{
	(void)sig;
	signalled = 1;
}

/* run_in_section signals the thread inside the section desc describes. */
static int run_in_section(void)
{
	struct area *a = my_area();
	struct sigaction sa = {.sa_handler = on_usr2};
	sigaction(SIGUSR2, &sa, NULL);
	return sigcs_run(getpid(), syscall(SYS_gettid), SIGUSR2, &a->rseq_cs, &desc);
}

static void bad_section(void)
{
	int r = run_in_section();
	printf("section returned %d\n", r);
}

static void set_bad(int which)
{
	desc = good_cs();
	switch (which) {
	case 0:
		desc.version = 1;
		break;
	case 1:
		desc.flags = 2; /* RSEQ_CS_FLAG_NO_RESTART_ON_SIGNAL */
		break;
	case 2:
		desc.abort_ip = (uint64_t)sigcs_start + 1; /* inside */
		break;
	case 3:
		desc.post_commit_offset = ~0ull - 8; /* start + offset wraps */
		break;
	case 4:
		desc.abort_ip = 0xffffffffff600000ull;
		break;
	case 5:
		desc.abort_ip = (uint64_t)sigcs_nosig; /* another signature before it */
		break;
	case 6:
		desc.start_ip = 0x7ffffffff000ull;
		break;
	}
}

static void bad_version(void) { set_bad(0), bad_section(); }
static void bad_flag(void) { set_bad(1), bad_section(); }
static void bad_abort_inside(void) { set_bad(2), bad_section(); }
static void bad_wrap(void) { set_bad(3), bad_section(); }
static void bad_abort_kernel(void) { set_bad(4), bad_section(); }
static void bad_signature(void) { set_bad(5), bad_section(); }
static void bad_start(void) { set_bad(6), bad_section(); }

static void bad_area_flags(void)
{
	desc = good_cs();
	my_area()->flags = 1; /* RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT, refused since Linux 6.0 */
	bad_section();
}

/* bad_pointer leaves rseq_cs at p outside any section, then takes a signal. */
static void bad_pointer(uint64_t p)
{
	struct area *a = my_area();
	signal(SIGUSR1, on_usr1);
	a->rseq_cs = p;
	raise(SIGUSR1);
	printf("survived\n");
}

static void cs_unmapped(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	bad_pointer((uint64_t)p);
}
static void cs_kernel(void) { bad_pointer(0xffffffffff600000ull); }
static void cs_garbage(void)
{
	static struct cs g __attribute__((aligned(32)));
	memset(&g, 0xa5, sizeof g);
	bad_pointer((uint64_t)&g);
}

/* ---- fork, exec, threads ---- */

static void forked(void)
{
	struct area *a = my_area();
	expect_err("fork child: still registered", sys_rseq(a, 32, 0, SIG), EBUSY);
}

static void execd(void)
{
	printf("after exec: libc registered: %s\n", libc_area() ? "yes" : "no");
	long r = sys_rseq(&own_area, 32, 0, SIG);
	printf("after exec: own area: %s\n", r == 0 ? "registered" : errname(errno));
}

static void exec_self(void)
{
	execl("/proc/self/exe", "rseq", "execd", (char *)NULL);
	perror("exec");
}

/* own_only runs with glibc's registration turned off (its tunable): the program's own
 * areas, registered in each thread, serve the counters as glibc's did. */
static void own_only(void)
{
	printf("tunable: libc registered: %s\n", libc_area() ? "yes" : "no");
	long aborts = counter("own areas, signalled", 4, 3000, 200, 1);
	expect("own areas: signals ended sections", aborts > 0);
}

static void exec_own(void)
{
	char *envp[] = {"GLIBC_TUNABLES=glibc.pthread.rseq=0", NULL};
	execle("/proc/self/exe", "rseq", "own", (char *)NULL, envp);
	perror("exec");
}

static struct area *main_area;

static void *other_thread(void *arg)
{
	(void)arg;
	struct area *a = my_area();
	expect("new thread has an area of its own", a != main_area && (int)a->cpu_id >= 0);
	expect_err("unregister another thread's area", sys_rseq(main_area, 32, UNREGISTER, SIG), EINVAL);
	return NULL;
}

/* vforked has a vfork child, which shares the parent's memory but not its registration,
 * register the parent's area for itself. */
static void vforked(void)
{
	static volatile long r = 99;
	static volatile int e;
	pid_t pid = vfork();
	if (pid == 0) {
		r = syscall(SYS_rseq, main_area, 32, 0, SIG);
		e = errno;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("vfork child: register the parent's area: %s\n", r == 0 ? "registered" : errname(e));
	expect_err("parent still registered", sys_rseq(main_area, 32, 0, SIG), EBUSY);
}

/* traced reads a stopped child's registration as its tracer. */
static void traced(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		my_area();
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	struct {
		uint64_t ptr;
		uint32_t size, sig, flags, pad;
	} conf, part;
	memset(&conf, 0xff, sizeof conf);
	memset(&part, 0xff, sizeof part);
	long r = syscall(SYS_ptrace, 0x420f /* PTRACE_GET_RSEQ_CONFIGURATION */, pid, sizeof conf, &conf);
	printf("tracer: size %ld, the child's area: %s, len %u, signature %#x, flags %u\n", r,
	       conf.ptr == (uint64_t)main_area ? "yes" : "no", conf.size, conf.sig, conf.flags);
	r = syscall(SYS_ptrace, 0x420f, pid, 8, &part);
	expect("tracer: 8 bytes asked, 8 written", r == 24 && part.ptr == conf.ptr && part.size == 0xffffffff);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "execd") == 0) {
		execd();
		return failures != 0;
	}
	if (argc > 1 && strcmp(argv[1], "own") == 0) {
		own_only();
		return failures != 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct rlimit no = {0, 0};
	setrlimit(RLIMIT_CORE, &no);
	printf("AT_RSEQ_FEATURE_SIZE %lu AT_RSEQ_ALIGN %lu\n", getauxval(AT_RSEQ_FEATURE_SIZE),
	       getauxval(AT_RSEQ_ALIGN));
#ifdef LIBC_RSEQ
	printf("libc registered: %s\n", libc_area() ? "yes" : "no");
#endif
	main_area = my_area();
	expect("registered, length 32", sys_rseq(main_area, 32, 0, SIG) < 0 && errno == EBUSY);

	pthread_t th;
	pthread_create(&th, NULL, registration, NULL);
	pthread_join(th, NULL);
	ended("register an unmapped area", reg_unmapped);
	ended("register a read-only area", reg_readonly);
	ended("area unmapped, then a signal", unmapped_later);

	affinity();

	pthread_create(&th, NULL, other_thread, NULL);
	pthread_join(th, NULL);
	ended("fork", forked);
	ended("exec", exec_self);
	ended("exec without libc's registration", exec_own);
	traced();
	vforked();

	/* A signal inside a section: the handler runs, and the section ends at abort_ip. */
	desc = good_cs();
	signalled = 0;
	int r = run_in_section();
	expect("signal inside a section: handler ran", signalled);
	expect("signal inside a section: aborted", r == 1);
	expect("rseq_cs cleared", main_area->rseq_cs == 0);
	main_area->rseq_cs = (uint64_t)&desc;
	raise(SIGUSR2);
	expect("rseq_cs cleared by a signal outside the section", main_area->rseq_cs == 0);

	ended("rseq_cs version 1", bad_version);
	ended("rseq_cs flag NO_RESTART_ON_SIGNAL", bad_flag);
	ended("abort_ip inside the section", bad_abort_inside);
	ended("start_ip + post_commit_offset wraps", bad_wrap);
	ended("abort_ip past user space", bad_abort_kernel);
	ended("start_ip past user space", bad_start);
	ended("no signature before abort_ip", bad_signature);
	ended("area flags NO_RESTART_ON_PREEMPT", bad_area_flags);
	ended("rseq_cs unmapped", cs_unmapped);
	ended("rseq_cs past user space", cs_kernel);
	ended("rseq_cs garbage", cs_garbage);

	/* Every thread on one CPU: they preempt each other on the same counter. */
	cpu_set_t all, one;
	sched_getaffinity(0, sizeof all, &all);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	sched_setaffinity(0, sizeof one, &one);
	counter("one CPU, preempted", 6, 3000, 200, 0);
	long aborts = counter("one CPU, signalled", 4, 5000, 200, 1);
	expect("signals ended sections", aborts > 0);
	sched_setaffinity(0, sizeof all, &all);
	counter("every CPU, signalled", 4, 3000, 200, 1);
	counter("many threads", 48, 50, 50, 0);
	return failures != 0;
}
