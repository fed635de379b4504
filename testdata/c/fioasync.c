/* fioasync checks the generic ioctls FIOASYNC and FIONBIO, as nginx sets up the channel
 * to its workers: FIOASYNC turns O_ASYNC on and off where the file can signal (a socket,
 * a pipe) and SIGIO follows a write; where it cannot (a regular file, a directory,
 * /dev/null, an eventfd) a change is ENOTTY and no change succeeds; FIONBIO sets and
 * clears O_NONBLOCK on any file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got;

static void on_io(int sig)
{
	(void)sig;
	got++;
}

/* wait_for waits up to 2 s for a signal. */
static int wait_for(void)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < 2000 && !got; i++)
		nanosleep(&ms, NULL);
	return got;
}

static int async_set(int fd) { return (fcntl(fd, F_GETFL) & O_ASYNC) != 0; }
static int nonblock_set(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

/* cannot checks a file that has no way to signal: a change is ENOTTY, none succeeds. */
static void cannot(const char *what, int fd)
{
	char name[100];
	int on = 1, off = 0;
	snprintf(name, sizeof name, "FIOASYNC on %s", what);
	expect_err(name, ioctl(fd, FIOASYNC, &on), ENOTTY);
	snprintf(name, sizeof name, "%s keeps O_ASYNC off", what);
	expect(name, !async_set(fd));
	snprintf(name, sizeof name, "FIOASYNC off on %s, off already", what);
	expect(name, ioctl(fd, FIOASYNC, &off) == 0);
	/* Linux 6.x leaves O_ASYNC off here, older kernels set it: either way FIOASYNC
	 * succeeds without a change and fails with one. */
	expect("F_SETFL O_ASYNC", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC) == 0);
	int now = async_set(fd), same = now, other = !now;
	snprintf(name, sizeof name, "FIOASYNC on %s to the state F_SETFL left", what);
	expect(name, ioctl(fd, FIOASYNC, &same) == 0 && async_set(fd) == now);
	snprintf(name, sizeof name, "FIOASYNC on %s to the other state", what);
	expect_err(name, ioctl(fd, FIOASYNC, &other), ENOTTY);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_ASYNC);
}

/* nonblock checks FIONBIO on fd, whatever its kind. */
static void nonblock(const char *what, int fd)
{
	char name[100];
	int on = 1, off = 0;
	snprintf(name, sizeof name, "FIONBIO on %s", what);
	expect(name, ioctl(fd, FIONBIO, &on) == 0 && nonblock_set(fd));
	snprintf(name, sizeof name, "FIONBIO off %s", what);
	expect(name, ioctl(fd, FIONBIO, &off) == 0 && !nonblock_set(fd));
}

int main(void)
{
	signal(SIGIO, on_io);
	int on = 1, off = 0, big = 0x10000;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;

	/* nginx's channel: FIONBIO, FIOASYNC, F_SETOWN, and a write from another process. */
	expect("FIONBIO on a socket", ioctl(sv[0], FIONBIO, &on) == 0 && nonblock_set(sv[0]));
	expect("FIOASYNC on a socket", ioctl(sv[1], FIOASYNC, &on) == 0);
	expect("F_GETFL shows O_ASYNC", async_set(sv[1]));
	expect("F_SETOWN", fcntl(sv[1], F_SETOWN, getpid()) == 0);
	pid_t c = fork();
	if (c == 0) {
		_exit(write(sv[0], "x", 1) == 1 ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	expect("SIGIO after another process's write", wait_for() == 1);
	char b;
	expect("the byte arrived", read(sv[1], &b, 1) == 1 && b == 'x');
	expect("FIOASYNC with any nonzero value", ioctl(sv[1], FIOASYNC, &big) == 0 && async_set(sv[1]));
	expect("FIOASYNC off", ioctl(sv[1], FIOASYNC, &off) == 0 && !async_set(sv[1]));
	got = 0;
	write(sv[0], "y", 1);
	struct timespec ms20 = {0, 20000000};
	nanosleep(&ms20, NULL);
	expect("no SIGIO once off", got == 0);
	read(sv[1], &b, 1);
	expect_err("FIOASYNC from a bad pointer", ioctl(sv[1], FIOASYNC, (int *)8), EFAULT);
	expect_err("FIONBIO from a bad pointer", ioctl(sv[1], FIONBIO, (int *)8), EFAULT);

	int p[2];
	if (pipe(p))
		return 2;
	expect("FIOASYNC on a pipe", ioctl(p[0], FIOASYNC, &on) == 0 && async_set(p[0]));
	fcntl(p[0], F_SETOWN, getpid());
	got = 0;
	write(p[1], "z", 1);
	expect("SIGIO from the pipe", wait_for() == 1);

	char path[] = "/tmp/fioasyncXXXXXX";
	int reg = mkstemp(path);
	if (reg < 0)
		return 2;
	unlink(path);
	cannot("a regular file", reg);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	cannot("a directory", dir);
	int null = open("/dev/null", O_RDWR);
	cannot("/dev/null", null);
	int ev = eventfd(0, 0);
	cannot("an eventfd", ev);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	int sfd = signalfd(-1, &set, 0);
	nonblock("a regular file", reg);
	nonblock("a directory", dir);
	nonblock("an eventfd", ev);
	nonblock("a signalfd", sfd);
	nonblock("a pipe", p[1]);
	expect_err("FIOASYNC on a closed descriptor", ioctl(99, FIOASYNC, &on), EBADF);
	return failures != 0;
}
