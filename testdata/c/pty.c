/* pty: pseudo-terminals from /dev/ptmx (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER), and the
 * controlling terminal of a session the program makes: TIOCSCTTY and its refusals,
 * /dev/tty, TIOCGSID, tcgetpgrp/tcsetpgrp, TIOCNOTTY, acquiring one on open. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "check.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

/* master opens a pty master and returns it; *name gets the peer's path. */
static int master(char *name, size_t n)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, n) != 0)
		return -1;
	return m;
}

__attribute__((unused)) static int same_dev(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_rdev == y.st_rdev;
}

/* child runs f in a forked child and returns its exit status (or -1). */
static int child(int (*f)(int, const char *), int m, const char *name)
{
	pid_t c = fork();
	if (c == 0)
		_exit(f(m, name));
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A new session takes the pty as its terminal: each failed step is a bit of the status. */
static int leader(int m, const char *name)
{
	int bad = 0;
	if (setsid() < 0)
		return 1;
	errno = 0;
	if (open("/dev/tty", O_RDWR) >= 0 || errno != ENXIO)
		bad |= 2; /* no terminal yet */
	int s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0)
		return 4;
	if (open("/dev/tty", O_RDWR) >= 0)
		bad |= 8; /* O_NOCTTY: still none */
	int nt = open("/dev/null", O_RDWR);
	errno = 0;
	if (ioctl(nt, TIOCSCTTY, 0) == 0 || errno != ENOTTY)
		bad |= 16;
	if (ioctl(s, TIOCSCTTY, 0) != 0 || ioctl(s, TIOCSCTTY, 0) != 0)
		bad |= 32; /* twice the same: fine */
	int t = open("/dev/tty", O_RDWR);
	char c1 = 0;
	if (t < 0 || !isatty(t) || write(t, "t", 1) != 1 || read(m, &c1, 1) != 1 || c1 != 't')
		bad |= 64;
	pid_t sid = -1;
	if (ioctl(s, TIOCGSID, &sid) != 0 || sid != getpid())
		bad |= 128;
	if (tcgetpgrp(s) != getpgrp())
		bad |= 256;
	/* Job control shells ignore SIGTTOU: tcsetpgrp from a background group then works. */
	signal(SIGTTOU, SIG_IGN);
	pid_t c = fork();
	if (c == 0) {
		/* A member of the session, not its leader. */
		int r = 0;
		errno = 0;
		if (ioctl(s, TIOCSCTTY, 0) != 0)
			r |= 1; /* already its terminal: fine */
		setpgid(0, 0);
		if (tcsetpgrp(s, getpgrp()) != 0 || tcgetpgrp(s) != getpgrp())
			r |= 2;
		_exit(r);
	}
	int st;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		bad |= 512;
	if (tcsetpgrp(s, getpgrp()) != 0)
		bad |= 1024;
	errno = 0;
	if (tcsetpgrp(s, 999999) == 0 || errno != ESRCH)
		bad |= 2048;
	errno = 0;
	if (open("/dev/tty", O_RDWR | O_NOCTTY) < 0)
		bad |= 4096; /* O_NOCTTY does not matter to /dev/tty */
	/* Giving the terminal up sends SIGHUP and SIGCONT to its foreground group. */
	signal(SIGHUP, SIG_IGN);
	if (ioctl(s, TIOCNOTTY) != 0)
		bad |= 8192;
	errno = 0;
	if (open("/dev/tty", O_RDWR) >= 0 || errno != ENXIO)
		bad |= 16384;
	return bad;
}

static volatile sig_atomic_t hups;
static int result = -1; /* where the hung-up process writes its verdict */
static void on_hup(int sig) { (void)sig; hups++; }

/* The leader's end hangs up its foreground group: a member in it gets SIGHUP. */
static int hangup(int m, const char *name)
{
	close(m);
	setsid();
	int s = open(name, O_RDWR);
	int fds[2];
	pipe(fds);
	pid_t c = fork();
	if (c == 0) {
		signal(SIGHUP, on_hup);
		close(fds[0]);
		write(fds[1], "r", 1);
		for (int i = 0; i < 500 && !hups; i++)
			usleep(10000);
		write(result, hups ? "y" : "n", 1);
		_exit(0);
	}
	char r;
	read(fds[0], &r, 1);
	(void)s;
	_exit(c > 0 ? 0 : 1); /* the leader ends: c is orphaned and hung up */
}

/* A session leader that opens a terminal without O_NOCTTY gets it. */
static int opener(int m, const char *name)
{
	setsid();
	int s = open(name, O_RDWR);
	int t = open("/dev/tty", O_RDWR);
	char c = 0;
	if (s < 0 || t < 0)
		return 1;
	return write(t, "o", 1) == 1 && read(m, &c, 1) == 1 && c == 'o' ? 0 : 2;
}

/* The terminal of another session cannot be taken (no steal without the flag). */
static int thief(int m, const char *name)
{
	close(m);
	setsid();
	int s = open(name, O_RDWR | O_NOCTTY);
	errno = 0;
	int r = ioctl(s, TIOCSCTTY, 0);
	return r == 0 ? 1 : errno == EPERM ? 0 : 2;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char name[64];
	int m = master(name, sizeof name);
	expect("ptmx: master, grantpt, unlockpt, ptsname", m >= 0 && strncmp(name, "/dev/pts/", 9) == 0);
	int n = -1;
	expect("TIOCGPTN matches ptsname", ioctl(m, TIOCGPTN, &n) == 0 && n == atoi(name + 9));

	int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	int s = open(name, O_RDWR | O_NOCTTY);
	expect("TIOCGPTPEER: the same terminal as ptsname's", p >= 0 && same_dev(p, s) && isatty(p));
	expect("TIOCGPTPEER: close-on-exec", fcntl(p, F_GETFD) == FD_CLOEXEC);
	errno = 0;
	expect_err("TIOCGPTPEER on the peer", ioctl(s, TIOCGPTPEER, O_RDWR), EIO);
	char path[64];
	expect("ttyname of the peer", ttyname_r(p, path, sizeof path) == 0 && strcmp(path, name) == 0);

	struct termios tio;
	tcgetattr(s, &tio);
	cfmakeraw(&tio);
	tcsetattr(s, TCSANOW, &tio);
	char buf[16] = {0};
	write(m, "ping", 4);
	expect("master to peer", read(p, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
	write(s, "pong", 4);
	expect("peer to master", read(m, buf, sizeof buf) == 4 && memcmp(buf, "pong", 4) == 0);
	int lock = 1;
	expect("TIOCSPTLCK", ioctl(m, TIOCSPTLCK, &lock) == 0);
	errno = 0;
	expect_err("locked: the peer does not open", open(name, O_RDWR | O_NOCTTY), EIO);
	lock = 0;
	ioctl(m, TIOCSPTLCK, &lock);

	int r = child(leader, m, name);
	printf("session leader's terminal steps failed: %#x\n", r);
	if (r != 0)
		failures++;
	expect("open without O_NOCTTY makes it the terminal", child(opener, m, name) == 0);
	int res[2];
	pipe(res);
	result = res[1];
	char verdict = 0;
	expect("the leader's end hangs up its foreground group",
	       child(hangup, m, name) == 0 && (close(res[1]), read(res[0], &verdict, 1)) == 1 && verdict == 'y');
	close(res[0]);

	/* The parent's own session keeps its terminal; a pty it opens is not its terminal. */
	errno = 0;
	expect("TIOCSCTTY outside a new session: EPERM",
	       getsid(0) != getpid() && ioctl(s, TIOCSCTTY, 0) < 0 && errno == EPERM);

	/* Another session holding it refuses a thief. */
	pid_t c = fork();
	if (c == 0) {
		close(m);
		setsid();
		int t = open(name, O_RDWR | O_NOCTTY);
		ioctl(t, TIOCSCTTY, 0);
		write(t, "x", 1);
		pause();
		_exit(0);
	}
	read(m, buf, 1);
	expect("another session's terminal: EPERM", child(thief, m, name) == 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);

	/* When every peer descriptor is closed, the master reads EIO. */
	close(p);
	close(s);
	errno = 0;
	expect_err("master after the peer's last close", read(m, buf, sizeof buf), EIO);
	return failures != 0;
}
