/* refused.c: calls a process without privileges gets refused, or that answer as on a
 * CPU without protection keys, checked from a child that dropped its capabilities.
 * What this host may answer differently (it may have io_uring, Landlock or kexec
 * enabled or compiled out, and lets an unprivileged process count its own events) is
 * checked in kernel/sys_absent_test.go instead. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

static void drop_caps(void)
{
	struct {
		unsigned version;
		int pid;
	} h = {0x20080522, 0};
	struct {
		unsigned eff, prm, inh;
	} d[2] = {{0, 0, 0}, {0, 0, 0}};
	if (syscall(SYS_capset, &h, d) != 0)
		printf("capset: %s\n", errname(errno));
}

static void unprivileged(void)
{
	drop_caps();
	union {
		char b[256];
		uint32_t u32[64];
		uint64_t u64[32];
	} at;

	/* bpf: an array map. */
	memset(&at, 0, sizeof at);
	at.u32[0] = 2; /* BPF_MAP_TYPE_ARRAY */
	at.u32[1] = 4;
	at.u32[2] = 4;
	at.u32[3] = 1;
	show("bpf map create", syscall(321, 0, &at, 72));
	show("bpf past a page", syscall(321, 0, &at, 8192));
	show("bpf NULL", syscall(321, 0, NULL, 72));

	/* perf_event_open: counting the kernel too needs privilege. */
	memset(&at, 0, sizeof at);
	at.u32[0] = 1;   /* PERF_TYPE_SOFTWARE */
	at.u32[1] = 128; /* size */
	at.u64[1] = 1;   /* PERF_COUNT_SW_TASK_CLOCK */
	show("perf_event_open with the kernel", syscall(298, &at, 0, -1, -1, 0));
	show("perf_event_open NULL", syscall(298, NULL, 0, -1, -1, 0));
	show("perf_event_open bad flags", syscall(298, &at, 0, -1, -1, 0x100));

	show("fanotify_init", syscall(300, 0, 0));
	show("fanotify_mark on a bad fd", syscall(301, 99, 1, 1, -100, "/"));
	show("fanotify_mark on stdin", syscall(301, 0, 1, 1, -100, "/"));

	show("io_uring_enter on stdin", syscall(426, 0, 1, 0, 0, NULL, 0));
	show("io_uring_enter on a bad fd", syscall(426, 99, 1, 0, 0, NULL, 0));
	show("io_uring_register on stdin", syscall(427, 0, 0, NULL, 0));

	/* Protection keys, on a CPU without them. */
	show("pkey_alloc", syscall(330, 0, 0));
	show("pkey_alloc again", syscall(330, 0, 0));
	show("pkey_alloc flags", syscall(330, 1, 0));
	show("pkey_alloc bad rights", syscall(330, 0, 4));
	show("pkey_free 0", syscall(331, 0));
	show("pkey_free 1", syscall(331, 1));
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("pkey_mprotect key -1", syscall(329, m, 4096, PROT_READ, -1));
	show("pkey_mprotect key 0", syscall(329, m, 4096, PROT_READ, 0));
	show("pkey_mprotect key 1, length 0", syscall(329, m, 0, PROT_READ, 1));
	show("pkey_mprotect key 1, unaligned", syscall(329, m + 1, 4096, PROT_READ, 1));
	show("pkey_mprotect key -1, bad prot", syscall(329, m, 4096, 0x100, -1));
	show("pkey_mprotect key -1, unmapped", syscall(329, (void *)4096, 4096, PROT_READ, -1));

	/* statmount and listmount: the request's checks. */
	uint64_t req[5] = {24, 5, 0, 0, 0};
	char buf[256];
	show("statmount flags", syscall(457, req, buf, sizeof buf, 1));
	show("statmount low id", syscall(457, req, buf, sizeof buf, 0));
	show("statmount NULL", syscall(457, NULL, buf, sizeof buf, 0));
	req[0] = 8192;
	show("statmount past a page", syscall(457, req, buf, sizeof buf, 0));
	req[0] = 16;
	show("statmount short", syscall(457, req, buf, sizeof buf, 0));
	req[0] = 24;
	show("listmount flags", syscall(458, req, buf, 4, 2));

	/* The security modules' calls, none of which has attributes for a process here. */
	uint32_t size = 0;
	show("lsm_list_modules flags", syscall(461, buf, &size, 1));
	show("lsm_list_modules NULL size", syscall(461, buf, NULL, 0));
	size = sizeof buf;
	show("lsm_get_self_attr", syscall(459, 100, buf, &size, 0));
	printf("lsm_get_self_attr size: %u\n", size);
	show("lsm_get_self_attr flags", syscall(459, 100, buf, &size, 2));
	uint64_t ctx[5] = {100, 0, 40, 8, 0};
	show("lsm_set_self_attr", syscall(460, 100, ctx, sizeof ctx, 0));
	show("lsm_set_self_attr short", syscall(460, 100, ctx, 16, 0));
	ctx[2] = 8;
	show("lsm_set_self_attr bad len", syscall(460, 100, ctx, sizeof ctx, 0));

	show("uprobe", syscall(336));
	int tsc = -1;
	show("PR_GET_TSC", prctl(PR_GET_TSC, &tsc, 0, 0, 0));
	printf("tsc mode: %d\n", tsc);
	show("PR_SET_TSC enable", prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0));
	fflush(stdout);
}

int main(void)
{
	pid_t c = fork();
	if (c == 0) {
		unprivileged();
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("unprivileged child: %d\n", WEXITSTATUS(st));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		syscall(335); /* uretprobe from outside its trampoline */
		_exit(0);
	}
	waitpid(c, &st, 0);
	c = fork();
	if (c == 0) {
		show("pkey_alloc in a fresh process's child", syscall(330, 0, 0));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, &st, 0);
	printf("uretprobe: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 0;
}
