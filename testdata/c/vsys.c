/* vsys exercises the legacy vsyscall page as argv[1] selects; its output depends only on
 * what the kernel's vsyscall= mode allows, so runs on Linux and under vemu can be compared. */
#define _GNU_SOURCE
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define VSYS_GTOD 0xffffffffff600000UL
#define VSYS_TIME 0xffffffffff600400UL
#define VSYS_GETCPU 0xffffffffff600800UL

typedef long (*gtod_fn)(struct timeval *, struct timezone *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static void say(const char *what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "NO"); }

/* With "handled-CASE", a SIGSEGV handler reports what the signal says instead of the
 * process dying: si_code, si_addr, the rip of the interrupted context, and the trap
 * number and error code of its sigcontext. */
static sigjmp_buf jump;
static volatile int sig_code;
static volatile unsigned long sig_addr, sig_rip, sig_trap, sig_err;

static void on_segv(int sig, siginfo_t *si, void *ucp)
{
	(void)sig;
	ucontext_t *uc = ucp;
	sig_code = si->si_code;
	sig_addr = (unsigned long)si->si_addr;
	sig_rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
	sig_trap = (unsigned long)uc->uc_mcontext.gregs[REG_TRAPNO];
	sig_err = (unsigned long)uc->uc_mcontext.gregs[REG_ERR];
	siglongjmp(jump, 1);
}

static int run(const char *what);

static int handled(const char *what)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(jump, 1)) {
		printf("SIGSEGV si_code=%d si_addr=%#lx rip=%#lx trap=%lu err=%#lx\n", sig_code, sig_addr, sig_rip,
		       sig_trap, sig_err);
		return 0;
	}
	return run(what);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && strncmp(argv[1], "handled-", 8) == 0)
		return handled(argv[1] + 8);
	return run(argc > 1 ? argv[1] : "calls");
}

static int run(const char *what)
{
	if (strcmp(what, "calls") == 0) {
		struct timeval tv, stv;
		struct timezone tz;
		long r = ((gtod_fn)VSYS_GTOD)(&tv, &tz);
		syscall(SYS_gettimeofday, &stv, NULL);
		say("gettimeofday returns 0", r == 0);
		say("gettimeofday agrees with the syscall", tv.tv_sec <= stv.tv_sec && stv.tv_sec - tv.tv_sec <= 1);
		say("gettimeofday usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
		say("gettimeofday(NULL, NULL) returns 0", ((gtod_fn)VSYS_GTOD)(NULL, NULL) == 0);
		long t = 0, rt = ((time_fn)VSYS_TIME)(&t);
		long st = syscall(SYS_time, NULL);
		say("time returns what it stores", rt == t);
		say("time agrees with the syscall", rt <= st && st - rt <= 1);
		say("time(NULL) works", ((time_fn)VSYS_TIME)(NULL) > 0);
		unsigned cpu = 99, node = 99, scpu = 98, snode = 98;
		long rc = ((getcpu_fn)VSYS_GETCPU)(&cpu, &node, NULL);
		syscall(SYS_getcpu, &scpu, &snode, NULL);
		say("getcpu returns 0", rc == 0);
		say("getcpu node agrees with the syscall", node == snode);
		say("getcpu cpu is a valid cpu", cpu < 4096);
		say("getcpu(NULL, NULL) returns 0", ((getcpu_fn)VSYS_GETCPU)(NULL, NULL, NULL) == 0);
	} else if (strcmp(what, "maps") == 0) {
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512];
		int found = 0;
		while (f && fgets(line, sizeof line, f))
			if (strstr(line, "[vsyscall]")) {
				fputs(line, stdout);
				found = 1;
			}
		if (!found)
			puts("no [vsyscall] line");
	} else if (strcmp(what, "call-then-read") == 0) {
		/* A call through the page leaves it as unreadable as before (xonly). */
		struct timeval tv;
		((gtod_fn)VSYS_GTOD)(&tv, NULL);
		return run("read");
	} else if (strcmp(what, "read") == 0) {
		unsigned char b = *(volatile unsigned char *)VSYS_GTOD;
		printf("first byte 0x%02x\n", b);
		unsigned char code[10];
		memcpy(code, (const void *)VSYS_TIME, sizeof code);
		/* mov $201, %rax; syscall; ret */
		say("time entry holds mov $201,%rax; syscall; ret",
		    memcmp(code, "\x48\xc7\xc0\xc9\x00\x00\x00\x0f\x05\xc3", 10) == 0);
	} else if (strcmp(what, "misaligned") == 0) {
		((gtod_fn)(VSYS_GTOD + 0x10))(NULL, NULL);
		puts("misaligned call returned");
	} else if (strcmp(what, "kernel-pointer") == 0) {
		((gtod_fn)VSYS_GTOD)((struct timeval *)0xffff880000000000UL, NULL);
		puts("kernel pointer returned");
	} else if (strcmp(what, "unmapped-pointer") == 0) {
		((time_fn)VSYS_TIME)((long *)16);
		puts("unmapped pointer returned");
	} else {
		fprintf(stderr, "vsys: unknown case %s\n", what);
		return 2;
	}
	return 0;
}
