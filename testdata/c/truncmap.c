/* truncmap shrinks a file under its shared mappings: the pages wholly past the new end
 * raise SIGBUS (BUS_ADRERR, at the address) for reads and writes, which a handler
 * survives with siglongjmp; the rest of the last page reads as zero; growing the file
 * back gives the pages back; a private mapping loses them too (written ones included)
 * and one made past the end is SIGBUS there; a child forked before the shrink sees it
 * too; open with O_TRUNC, truncate(2) and fallocate's collapsed range shrink too; a
 * child goes on through SIGBUS after SIGBUS while its parent shrinks and grows the
 * file; read(2), write(2), epoll_wait(2) and nanosleep(2) with a buffer there fail
 * with EFAULT; and a thousand shrinks and growths in a row. Usage: truncmap DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif

#define PG 4096
#define CYCLES 1000

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

static char *base;
static char *origin; /* where touch counts addresses from */

/* touch reads (or writes) p, and reports the SIGBUS it raised: "ok" without one,
 * else its code and the address as an offset into the mapping. */
static const char *touch(volatile char *p, int write, char *out, size_t n)
{
	bus_code = 0;
	bus_addr = 0;
	if (sigsetjmp(jb, 1) == 0) {
		if (write)
			*p = 'w';
		else
			(void)*p;
		snprintf(out, n, "ok");
	} else {
		snprintf(out, n, "SIGBUS code %d at +%#lx", (int)bus_code,
			 (unsigned long)((char *)bus_addr - origin));
	}
	return out;
}

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: truncmap DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	char path[4096], other[4096], buf[128];
	snprintf(path, sizeof path, "%s/truncmap.dat", argv[1]);
	snprintf(other, sizeof other, "%s/truncmap.src", argv[1]);
	struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);

	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	must(fd >= 0, "open");
	must(ftruncate(fd, 3 * PG) == 0, "ftruncate");
	base = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	must(base != MAP_FAILED, "mmap");
	origin = base;
	memset(base, 'x', 3 * PG);
	printf("before: page 2 %s\n", touch(base + 2 * PG, 0, buf, sizeof buf));

	/* Shrink to a page and a bit: page 1 is the last, page 2 is gone. */
	must(ftruncate(fd, PG + 100) == 0, "ftruncate");
	printf("read page 2: %s\n", touch(base + 2 * PG + 8, 0, buf, sizeof buf));
	printf("write page 2: %s\n", touch(base + 2 * PG + 16, 1, buf, sizeof buf));
	printf("read inside page 1: %s, %c\n", touch(base + PG + 50, 0, buf, sizeof buf), base[PG + 50]);
	printf("read past the end in page 1: %s, %d\n", touch(base + PG + 200, 0, buf, sizeof buf), base[PG + 200]);
	printf("write past the end in page 1: %s\n", touch(base + PG + 300, 1, buf, sizeof buf));

	/* System calls with a buffer in the lost page. */
	int src = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	must(src >= 0, "open src");
	must(write(src, "0123456789", 10) == 10, "write src");
	errno = 0;
	long r = pread(src, base + 2 * PG, 10, 0);
	printf("pread into page 2: %ld %s\n", r, r < 0 ? errname(errno) : "");
	int pfd[2];
	must(pipe(pfd) == 0, "pipe");
	errno = 0;
	r = write(pfd[1], base + 2 * PG, 10);
	printf("write from page 2: %ld %s\n", r, r < 0 ? errname(errno) : "");
	errno = 0;
	r = write(pfd[1], base + 2 * PG - 4, 10);
	printf("write across the end: %ld %s\n", r, r < 0 ? errname(errno) : "");
	errno = 0;
	r = pread(src, base + 2 * PG - 4, 10, 0);
	printf("pread across the end: %ld %s\n", r, r < 0 ? errname(errno) : "");

	/* epoll_wait writes its events from Go under vemu: into the lost page, EFAULT. */
	int ep = epoll_create1(0);
	must(ep >= 0, "epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN};
	must(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) == 0, "epoll_ctl");
	must(write(pfd[1], "r", 1) == 1, "write pipe");
	errno = 0;
	r = epoll_wait(ep, (struct epoll_event *)(base + 2 * PG), 4, 0);
	printf("epoll_wait into page 2: %ld %s\n", r, r < 0 ? errname(errno) : "");
	errno = 0;
	r = epoll_wait(ep, (struct epoll_event *)(base + 2 * PG - sizeof ev), 4, 0);
	printf("epoll_wait across the end: %ld %s\n", r, r < 0 ? errname(errno) : "");
	close(ep);
	errno = 0;
	r = syscall(SYS_nanosleep, base + 2 * PG, NULL);
	printf("nanosleep from page 2: %ld %s\n", r, r < 0 ? errname(errno) : "");

	/* A private mapping loses its pages past the end too, written ones included, and
	 * reads the file's bytes there once it grows. One made past the end is SIGBUS there. */
	must(ftruncate(fd, 3 * PG) == 0, "ftruncate");
	must(pwrite(fd, "f", 1, PG) == 1, "pwrite");
	char *priv = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	must(priv != MAP_FAILED, "mmap private");
	origin = priv;
	priv[2 * PG] = 'p';
	printf("private page 1 before: %c\n", priv[PG]);
	must(ftruncate(fd, PG) == 0, "ftruncate");
	printf("private page 0: %s\n", touch(priv, 0, buf, sizeof buf));
	printf("private page 1: %s\n", touch(priv + PG, 0, buf, sizeof buf));
	printf("private page 2, written before: %s\n", touch(priv + 2 * PG, 1, buf, sizeof buf));
	must(ftruncate(fd, 3 * PG) == 0, "ftruncate");
	must(pwrite(fd, "g", 1, 2 * PG + 1) == 1, "pwrite");
	printf("private page 2 after growth: %s, %d %c\n", touch(priv + 2 * PG, 0, buf, sizeof buf), priv[2 * PG], priv[2 * PG + 1]);
	munmap(priv, 3 * PG);
	must(ftruncate(fd, PG) == 0, "ftruncate");
	priv = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	must(priv != MAP_FAILED, "mmap private");
	origin = priv;
	printf("private past the end at mmap: %s\n", touch(priv + PG, 0, buf, sizeof buf));
	printf("the same, page 0: %s\n", touch(priv, 0, buf, sizeof buf));
	munmap(priv, 3 * PG);
	origin = base;

	/* Growing the file back: the pages are the file's again (zero). */
	must(ftruncate(fd, 3 * PG) == 0, "ftruncate");
	printf("grown: read page 2: %s, %d\n", touch(base + 2 * PG + 8, 0, buf, sizeof buf), base[2 * PG + 8]);
	printf("grown: write page 2: %s\n", touch(base + 2 * PG + 8, 1, buf, sizeof buf));
	char c = 0;
	must(pread(fd, &c, 1, 2 * PG + 8) == 1, "pread");
	printf("the file has it: %c\n", c);

	/* A child forked before the shrink. */
	int go[2];
	must(pipe(go) == 0, "pipe");
	pid_t pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		close(go[1]);
		char b;
		if (read(go[0], &b, 1) != 1)
			_exit(3);
		printf("child: read page 2: %s\n", touch(base + 2 * PG, 0, buf, sizeof buf));
		printf("child: read page 0: %s\n", touch(base, 0, buf, sizeof buf));
		_exit(0);
	}
	close(go[0]);
	must(ftruncate(fd, 2 * PG) == 0, "ftruncate");
	must(write(go[1], "g", 1) == 1, "write");
	int st;
	must(waitpid(pid, &st, 0) == pid, "waitpid");
	printf("child status %#x\n", st);

	/* open(O_TRUNC) shrinks it to nothing. */
	int fd2 = open(path, O_RDWR | O_TRUNC);
	must(fd2 >= 0, "open O_TRUNC");
	printf("after O_TRUNC: page 0: %s\n", touch(base, 0, buf, sizeof buf));
	close(fd2);

	/* truncate(2) by path, and a collapsed range where the file system has them. */
	must(ftruncate(fd, 3 * PG) == 0, "ftruncate");
	must(truncate(path, PG) == 0, "truncate");
	printf("after truncate: page 1: %s\n", touch(base + PG, 0, buf, sizeof buf));
	must(ftruncate(fd, 3 * PG) == 0, "ftruncate");
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 2 * PG) == 0)
		printf("after a collapse: page 1: %s\n", touch(base + PG, 0, buf, sizeof buf));
	else
		printf("after a collapse: not supported here\n");

	/* Many shrinks and growths. */
	int bus = 0, ok = 0, want = 0;
	for (int i = 0; i < CYCLES; i++) {
		want += i % 3 == 2; /* the page is inside the file */
		must(ftruncate(fd, (i % 3) * PG) == 0, "ftruncate");
		const char *res = touch(base + PG + (i % 7), i & 1, buf, sizeof buf);
		if (strcmp(res, "ok") == 0)
			ok++;
		else if (bus_code == BUS_ADRERR && bus_addr == base + PG + (i % 7))
			bus++;
	}
	printf("cycles: %d ok, %d SIGBUS\n", ok, bus);
	expect("every cycle as expected", ok == want && bus == CYCLES - want);

	/* A child reads and writes the page in a loop while its parent shrinks and grows
	 * the file under it: each access is the file's or a SIGBUS, and both go on. */
	volatile int *stop = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	must(stop != MAP_FAILED, "mmap stop");
	must(ftruncate(fd, 2 * PG) == 0, "ftruncate");
	pid = fork();
	must(pid >= 0, "fork");
	if (pid == 0) {
		volatile unsigned long n = 0;
		sigsetjmp(jb, 1);
		while (!*stop) {
			base[PG + (n % 64)] = 'c';
			n += base[PG + 8] != 1;
		}
		_exit(0);
	}
	for (int i = 0; i < CYCLES; i++) {
		must(ftruncate(fd, (1 + i % 2) * PG) == 0, "ftruncate");
		if (i % 100 == 0)
			usleep(1000); /* the child runs, past the end */
	}
	*stop = 1;
	must(waitpid(pid, &st, 0) == pid, "waitpid");
	printf("race: child status %#x\n", st);
	unlink(path);
	unlink(other);
	return failures != 0;
}
