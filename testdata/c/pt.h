/* pt.h: what the ptrace guests share: the raw call, a pause, a word of a tracee's memory. */
#ifndef PT_H
#define PT_H

#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Requests and events older C libraries' headers may lack. */
#ifndef PTRACE_LISTEN
#define PTRACE_LISTEN 0x4208
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* pt is ptrace(2) itself: glibc's and musl's wrappers differ for the PEEK requests. */
__attribute__((unused)) static long pt(long req, pid_t pid, unsigned long addr, unsigned long data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

__attribute__((unused)) static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
	nanosleep(&ts, 0);
}

/* read_text reads the text of a small file (a /proc one) into buf, NUL-terminated;
 * 0 if it cannot be opened. */
__attribute__((unused)) static int read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	return 1;
}

/* wait_asleep waits (up to 5 s) until process pid sleeps in a call, as /proc/PID/stat's
 * state shows it: a child about to block, without a guess at how long that takes. */
__attribute__((unused)) static void wait_asleep(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 500; i++) {
		char *e = read_text(path, buf, sizeof buf) ? strrchr(buf, ')') : NULL;
		if (e && e[1] == ' ' && e[2] == 'S')
			return;
		pause_ms(10);
	}
}

/* peekdata reads the word at addr of stopped tracee pid; -1 if it cannot. */
__attribute__((unused)) static long peekdata(pid_t pid, const volatile void *addr)
{
	long v = -1;
	if (pt(PTRACE_PEEKDATA, pid, (unsigned long)addr, (unsigned long)&v) != 0)
		return -1;
	return v;
}

#endif
