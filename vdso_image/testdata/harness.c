// harness runs the vDSO image natively: it maps a file holding the vvar pages
// followed by the image, calls the functions through a trampoline that checks
// the callee-saved registers and the stack pointer, and prints the results
// for the Go test to compare.
//
// usage: harness FILE VVAR_SIZE CLOCK_GETTIME GETTIMEOFDAY TIME CLOCK_GETRES GETCPU MODE [ARGS]
//   offsets are from the image base; MODE is "all" or
//   "seqwait SEQ_OFF SEC_OFF NEW_SEC" (hold the seqlock odd, then publish NEW_SEC
//   as the REALTIME_COARSE seconds from another thread).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct result {
	long ret;
	long saved[6]; /* rbx rbp r12 r13 r14 r15 after the call */
	long rsp_ok;
};

long saved_rsp;

/* call_checked(fn, a0, a1, a2, struct result *r): calls fn(a0, a1, a2) with
 * known values in the callee-saved registers and records what fn left. */
long call_checked(void *fn, long a0, long a1, long a2, struct result *r);
__asm__(
	".intel_syntax noprefix\n"
	".text\n"
	".globl call_checked\n"
	"call_checked:\n"
	"  push rbx\n  push rbp\n  push r12\n  push r13\n  push r14\n  push r15\n"
	"  push r8\n"
	"  mov rax, rdi\n"
	"  mov rdi, rsi\n  mov rsi, rdx\n  mov rdx, rcx\n"
	"  movabs rbx, 0x1111111111111111\n"
	"  movabs rbp, 0x2222222222222222\n"
	"  movabs r12, 0x3333333333333333\n"
	"  movabs r13, 0x4444444444444444\n"
	"  movabs r14, 0x5555555555555555\n"
	"  movabs r15, 0x6666666666666666\n"
	"  mov [rip+saved_rsp], rsp\n"
	"  call rax\n"
	"  xor ecx, ecx\n"
	"  cmp rsp, [rip+saved_rsp]\n"
	"  sete cl\n"
	"  pop r8\n"
	"  mov [r8], rax\n"
	"  mov [r8+8], rbx\n  mov [r8+16], rbp\n  mov [r8+24], r12\n"
	"  mov [r8+32], r13\n  mov [r8+40], r14\n  mov [r8+48], r15\n"
	"  mov [r8+56], rcx\n"
	"  pop r15\n  pop r14\n  pop r13\n  pop r12\n  pop rbp\n  pop rbx\n"
	"  ret\n"
	".att_syntax\n");

static int preserved(const struct result *r) {
	static const long want[6] = {0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
	                             0x4444444444444444, 0x5555555555555555, 0x6666666666666666};
	for (int i = 0; i < 6; i++)
		if (r->saved[i] != want[i])
			return 0;
	return r->rsp_ok == 1;
}

static uint64_t rdtsc_ordered(void) {
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

static long call(void *fn, long a0, long a1, long a2, int *ok) {
	struct result r;
	memset(&r, 0, sizeof r);
	call_checked(fn, a0, a1, a2, &r);
	*ok = preserved(&r);
	return r.ret;
}

/* host_clock runs the real system call and returns 0 or -errno. */
static long host_clock(long nr, long clk, struct timespec *ts) {
	long r = syscall(nr, clk, ts);
	return r == -1 ? -errno : r;
}

static char *base;
static long vvar_size;

struct seqwait {
	long seq_off, sec_off;
	uint64_t new_sec;
};

static void *writer(void *arg) {
	struct seqwait *w = arg;
	usleep(100000);
	uint32_t *seq = (uint32_t *)(base + w->seq_off);
	__atomic_store_n((uint64_t *)(base + w->sec_off), w->new_sec, __ATOMIC_RELAXED);
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 9) {
		fprintf(stderr, "usage: harness FILE VVAR_SIZE CG GTOD TIME GETRES GETCPU MODE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	struct stat st;
	fstat(fileno(f), &st);
	vvar_size = strtol(argv[2], NULL, 0);
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || fread(base, 1, st.st_size, f) != (size_t)st.st_size) {
		perror("load");
		return 2;
	}
	fclose(f);
	char *image = base + vvar_size;
	if (mprotect(image, st.st_size - vvar_size, PROT_READ | PROT_EXEC) != 0) {
		perror("mprotect");
		return 2;
	}
	void *cg = image + strtol(argv[3], NULL, 0);
	void *gtod = image + strtol(argv[4], NULL, 0);
	void *tm = image + strtol(argv[5], NULL, 0);
	void *getres = image + strtol(argv[6], NULL, 0);
	void *getcpu = image + strtol(argv[7], NULL, 0);
	const char *mode = argv[8];
	int ok;

	if (strcmp(mode, "seqwait") == 0) {
		struct seqwait w = {strtol(argv[9], NULL, 0), strtol(argv[10], NULL, 0), strtoull(argv[11], NULL, 0)};
		uint32_t *seq = (uint32_t *)(base + w.seq_off);
		*seq |= 1;
		pthread_t t;
		pthread_create(&t, NULL, writer, &w);
		struct timespec ts = {0, 0}, t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long ret = call(cg, CLOCK_REALTIME_COARSE, (long)&ts, 0, &ok);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pthread_join(t, NULL);
		long waited = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
		printf("seqwait %ld %lld %ld %ld %d\n", ret, (long long)ts.tv_sec, ts.tv_nsec, waited, ok);
		return 0;
	}

	static const long clocks[] = {-1, -6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 100, 0x7fffffff,
	                              -0x7fffffff - 1};
	for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		long clk = clocks[i];
		struct timespec ts = {-7, -7}, host = {-7, -7};
		uint64_t t0 = rdtsc_ordered();
		long ret = call(cg, clk, (long)&ts, 0, &ok);
		uint64_t t1 = rdtsc_ordered();
		long hret = host_clock(SYS_clock_gettime, clk, &host);
		printf("gettime %ld %ld %lld %ld %ld %lld %ld %llu %llu %d\n", clk, ret, (long long)ts.tv_sec,
		       ts.tv_nsec, hret, (long long)host.tv_sec, host.tv_nsec, (unsigned long long)t0,
		       (unsigned long long)t1, ok);

		/* A clock id with garbage in the upper half of rdi: only edi counts. */
		ts.tv_sec = ts.tv_nsec = -7;
		ret = call(cg, (long)(uint32_t)clk | 0x5a5a5a5a00000000L, (long)&ts, 0, &ok);
		printf("gettime_hi %ld %ld %lld %ld %d\n", clk, ret, (long long)ts.tv_sec, ts.tv_nsec, ok);

		ts.tv_sec = ts.tv_nsec = -7;
		host.tv_sec = host.tv_nsec = -7;
		ret = call(getres, clk, (long)&ts, 0, &ok);
		hret = host_clock(SYS_clock_getres, clk, &host);
		printf("getres %ld %ld %lld %ld %ld %lld %ld %d\n", clk, ret, (long long)ts.tv_sec, ts.tv_nsec,
		       hret, (long long)host.tv_sec, host.tv_nsec, ok);
		ret = call(getres, clk, 0, 0, &ok);
		hret = host_clock(SYS_clock_getres, clk, NULL);
		printf("getres_null %ld %ld %ld %d\n", clk, ret, hret, ok);
	}

	{
		struct timeval tv = {-7, -7};
		struct timezone tz = {-7, -7};
		struct timeval htv;
		uint64_t t0 = rdtsc_ordered();
		long ret = call(gtod, (long)&tv, (long)&tz, 0, &ok);
		uint64_t t1 = rdtsc_ordered();
		gettimeofday(&htv, NULL);
		printf("gtod %ld %lld %ld %d %d %lld %ld %llu %llu %d\n", ret, (long long)tv.tv_sec, (long)tv.tv_usec,
		       tz.tz_minuteswest, tz.tz_dsttime, (long long)htv.tv_sec, (long)htv.tv_usec,
		       (unsigned long long)t0, (unsigned long long)t1, ok);
		tz.tz_minuteswest = tz.tz_dsttime = -7;
		ret = call(gtod, 0, (long)&tz, 0, &ok);
		printf("gtod_tz %ld %d %d %d\n", ret, tz.tz_minuteswest, tz.tz_dsttime, ok);
		tv.tv_sec = tv.tv_usec = -7;
		ret = call(gtod, (long)&tv, 0, 0, &ok);
		printf("gtod_tv %ld %lld %ld %d\n", ret, (long long)tv.tv_sec, (long)tv.tv_usec, ok);
		ret = call(gtod, 0, 0, 0, &ok);
		printf("gtod_null %ld %d\n", ret, ok);
	}
	{
		time_t t = -7;
		long ret = call(tm, (long)&t, 0, 0, &ok);
		printf("time %ld %lld %d\n", ret, (long long)t, ok);
		ret = call(tm, 0, 0, 0, &ok);
		printf("time_null %ld %d\n", ret, ok);
	}
	{
		unsigned cpu = 0xdead, node = 0xbeef;
		long ret = call(getcpu, (long)&cpu, (long)&node, 0, &ok);
		printf("getcpu %ld %u %u %d\n", ret, cpu, node, ok);
		cpu = 0xdead;
		ret = call(getcpu, (long)&cpu, 0, 0, &ok);
		printf("getcpu_cpu %ld %u %d\n", ret, cpu, ok);
		node = 0xbeef;
		ret = call(getcpu, 0, (long)&node, 0, &ok);
		printf("getcpu_node %ld %u %d\n", ret, node, ok);
	}
	return 0;
}
