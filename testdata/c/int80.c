/* int80 makes system calls through int $0x80 from a 64-bit program, which Linux runs from
 * its i386 table: the number in eax, arguments in ebx, ecx, edx, esi, edi and ebp, each
 * 32 bits. Its buffers are static, below 4 GiB (the program is not position-independent). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long int80(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

/* syscall6_80 passes six arguments, the sixth in ebp. */
static long syscall6_80(long nr, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long rsi __asm__("rsi") = d, rdi __asm__("rdi") = e, r8 __asm__("r8") = f;
	__asm__ volatile("push %%rbp; mov %%r8, %%rbp; int $0x80; pop %%rbp"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "r"(rsi), "r"(rdi), "r"(r8)
			 : "memory");
	return r;
}

/* err80 turns a raw result into -1 and errno, as libc does. */
static long err80(long r)
{
	if (r < 0 && r > -4096) {
		errno = -r;
		return -1;
	}
	return r;
}

static char path[512], buf[64];
static int fds[2];
static volatile sig_atomic_t caught;
static void on_alarm(int sig)
{
	(void)sig;
	caught++;
}

static void soon(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof path, "%s/int80.txt", argc > 1 ? argv[1] : ".");
	expect("getpid (20)", int80(20, 0, 0, 0) == getpid());
	expect("gettid (224)", int80(224, 0, 0, 0) == syscall(SYS_gettid));
	expect("getuid32 (199)", int80(199, 0, 0, 0) == getuid());
	fflush(stdout);
	static const char hello[] = "write (4) to stdout\n";
	expect("write's count", int80(4, 1, (long)hello, sizeof hello - 1) == sizeof hello - 1);
	long fd = int80(5, (long)path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	expect("open (5)", fd >= 0);
	expect("write to it", int80(4, fd, (long)"0123456789", 10) == 10);
	expect("lseek (19) back", int80(19, fd, 2, SEEK_SET) == 2);
	expect_err("lseek to -1: the offset is a signed 32-bit long", err80(int80(19, fd, -1, SEEK_SET)), EINVAL);
	expect("read (3)", int80(3, fd, (long)buf, 4) == 4 && !memcmp(buf, "2345", 4));
	expect("close (6)", int80(6, fd, 0, 0) == 0);
	expect_err("close it again", err80(int80(6, fd, 0, 0)), EBADF);
	expect("unlink (10)", int80(10, (long)path, 0, 0) == 0);
	expect("brk (45) as the x86-64 call", int80(45, 0, 0, 0) == syscall(SYS_brk, 0));
	/* mmap2 (192): the offset counts pages, and the mapping is below 4 GiB. */
	long m = (long)syscall6_80(192, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect("mmap2 maps below 4 GiB", m > 0 && m < 0x100000000L);
	if (m > 0)
		*(volatile char *)m = 1;
	fd = int80(5, (long)path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	static char page[8192];
	memset(page + 4096, 'p', 4096);
	write(fd, page, sizeof page);
	m = syscall6_80(192, 0, 4096, PROT_READ, MAP_PRIVATE, fd, 1);
	expect("mmap2 of a file at page 1", m > 0 && m < 0x100000000L && *(char *)m == 'p');
	close(fd);
	unlink(path);
	/* A pointer above 4 GiB loses its high half. */
	char *high = mmap((void *)0x100000000000UL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	memcpy(high, "high\n", 5);
	expect_err("a buffer above 4 GiB is cut to 32 bits", err80(int80(4, 1, (long)high, 5)), EFAULT);
	/* The registers beside the arguments are the program's still. */
	long r8 = 0x1122334455667788, r11, rcx;
	register long r8v __asm__("r8") = r8;
	long nr = 20;
	__asm__ volatile("int $0x80; mov %%r11, %1; mov %%rcx, %2" : "+a"(nr), "=&r"(r11), "=&r"(rcx), "+r"(r8v) : "c"(7) : "r11", "memory");
	expect("r8 kept", r8v == r8);
	expect("rcx kept", rcx == 7);
	/* A pipe, and a read interrupted by a signal: EINTR, or restarted under SA_RESTART. */
	expect("pipe (42)", int80(42, (long)fds, 0, 0) == 0);
	soon(0);
	expect_err("a read interrupted", err80(int80(3, fds[0], (long)buf, sizeof buf)), EINTR);
	caught = 0;
	soon(1);
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = {0, 300000000};
		nanosleep(&ts, NULL);
		write(fds[1], "late", 4);
		_exit(0);
	}
	long n = int80(3, fds[0], (long)buf, sizeof buf);
	expect("a restarted read", n == 4 && !memcmp(buf, "late", 4) && caught == 1);
	waitpid(pid, NULL, 0);
	expect("an unknown number: ENOSYS", int80(100000, 0, 0, 0) == -ENOSYS);
	expect("eax alone picks the call", int80(0x100000014L, 0, 0, 0) == getpid());
	fflush(stdout);
	int80(252, failures != 0, 0, 0); /* exit_group */
	return 99;
}
