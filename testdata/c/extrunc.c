/* extrunc maps FILE (two pages or more) shared, says "mapped", and reads its second page
 * in a loop until another program truncates the file under it. MODE says what it does:
 *   handle:    read and write, a SIGBUS handler prints the signal and ends the loop
 *   handle-ro: the same with the file and the mapping read-only
 *   die:       no handler: SIGBUS ends the program
 *   syscall:   nanosleep(2) reads its timespec from the page, until it fails (EFAULT)
 * Usage: extrunc FILE MODE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "errnames.h"

#define PG 4096

static sigjmp_buf jb;
static volatile sig_atomic_t bus_code;
static void *volatile bus_addr;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	bus_code = si->si_code;
	bus_addr = si->si_addr;
	siglongjmp(jb, 1);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: extrunc FILE MODE\n");
		return 2;
	}
	const char *mode = argv[2];
	int ro = strcmp(mode, "handle-ro") == 0;
	int fd = open(argv[1], ro ? O_RDONLY : O_RDWR);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	char *p = mmap(NULL, 2 * PG, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	volatile char *q = p + PG + 8;
	if (strcmp(mode, "syscall") == 0) {
		struct timespec *ts = (struct timespec *)(p + PG);
		memset(ts, 0, sizeof *ts);
		printf("mapped\n");
		fflush(stdout);
		long r;
		while ((r = syscall(SYS_nanosleep, ts, NULL)) == 0)
			;
		printf("nanosleep: %ld %s\n", r, errname(errno));
		return 0;
	}
	if (strcmp(mode, "die") != 0) {
		struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
	}
	printf("mapped\n");
	fflush(stdout);
	if (sigsetjmp(jb, 1) == 0) {
		for (unsigned long i = 0;; i++) {
			if (ro || i % 2)
				(void)*q;
			else
				*q = 'w';
		}
	}
	printf("SIGBUS code %d at +%#lx\n", (int)bus_code, (unsigned long)((char *)bus_addr - p));
	return 0;
}
