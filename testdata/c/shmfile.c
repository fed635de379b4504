/* shmfile checks shared file mappings at their limits: mprotect of a read-only one (file
 * open read-only: EACCES; open read-write: allowed, and stores reach the file), and
 * accesses past the end of the file (SIGBUS with BUS_ADRERR at the address, EFAULT for a
 * system call's buffer there). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

static sigjmp_buf env;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = si->si_addr;
	siglongjmp(env, 1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *dir = argc > 1 ? argv[1] : ".";
	char path[512];
	snprintf(path, sizeof path, "%s/shmfile.dat", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char data[100];
	memset(data, 'a', sizeof data);
	expect("write the file", write(fd, data, sizeof data) == sizeof data);
	long pg = sysconf(_SC_PAGESIZE);

	int ro = open(path, O_RDONLY);
	char *p = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, ro, 0);
	expect("map read-only file shared", p != MAP_FAILED);
	expect_err("mprotect it writable", mprotect(p, pg, PROT_READ | PROT_WRITE), EACCES);
	expect("still readable", p[0] == 'a');
	munmap(p, 2 * pg);

	p = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 0);
	expect("map read-write file shared, read-only", p != MAP_FAILED);
	expect("mprotect it writable", mprotect(p, pg, PROT_READ | PROT_WRITE) == 0);
	p[0] = 'Z';
	p[200] = 'y'; /* past the end of the file, in its last page: kept in memory only */
	char c = 0;
	expect("the store reached the file", pread(fd, &c, 1, 0) == 1 && c == 'Z');
	expect("the tail of the last page reads zero", p[150] == 0);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	mprotect(p + pg, pg, PROT_READ | PROT_WRITE);
	for (int k = 0; k < 2; k++) {
		got_sig = 0;
		if (sigsetjmp(env, 1) == 0) {
			if (k == 0)
				p[pg + 8] = 'q';
			else
				c = ((volatile char *)p)[pg + 16];
			printf("%s past the end: no signal\n", k ? "load" : "store");
			failures++;
			continue;
		}
		printf("%s past the end: %s, %s, at the address: %s\n", k ? "load" : "store",
		       got_sig == SIGBUS ? "SIGBUS" : got_sig == SIGSEGV ? "SIGSEGV" : "other",
		       got_code == BUS_ADRERR ? "BUS_ADRERR" : "other code",
		       got_addr == p + pg + (k ? 16 : 8) ? "yes" : "no");
		if (got_sig != SIGBUS || got_code != BUS_ADRERR)
			failures++;
	}
	expect_err("read into the page past the end", read(ro, p + pg, 10), EFAULT);
	expect("the program goes on", p[0] == 'Z');
	munmap(p, 2 * pg);
	unlink(path);
	return failures != 0;
}
