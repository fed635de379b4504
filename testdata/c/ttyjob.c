/* ttyjob: job control on a controlling terminal (a pty, so that it runs without a
 * terminal): a background process group that sets the foreground group (tcsetpgrp),
 * reads the terminal, or writes it with TOSTOP set gets SIGTTOU or SIGTTIN, unless it
 * blocks or ignores the signal (then EIO for a read, success for the rest) or its group
 * is orphaned (EIO); /dev/tty is the character device (5,0); closing the master hangs
 * up the session: who gets SIGHUP, and what the terminal then reads and polls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "check.h"

static int master(char *name, size_t n)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, n) != 0)
		return -1;
	return m;
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

static volatile sig_atomic_t got;
static void on_sig(int sig) { got = sig; }

/* bg runs f in a child of its own (background) process group and returns its pid. */
static pid_t bg(int (*f)(int), int s)
{
	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* not the leader's mask */
		_exit(f(s));
	}
	setpgid(c, c);
	return c;
}

/* stopped waits for c to stop and says by which signal. */
static int stopped(pid_t c)
{
	int st;
	if (waitpid(c, &st, WUNTRACED) != c)
		return -1;
	return WIFSTOPPED(st) ? WSTOPSIG(st) : -WEXITSTATUS(st) - 100;
}

static int exited(pid_t c)
{
	int st;
	if (waitpid(c, &st, 0) != c)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int setfg(int s) { return tcsetpgrp(s, getpgrp()) == 0 ? 0 : 10 + errno % 100; }

static int setfg_ignored(int s)
{
	signal(SIGTTOU, SIG_IGN);
	return setfg(s);
}

static int setfg_blocked(int s)
{
	block(SIGTTOU, SIG_BLOCK);
	return setfg(s);
}

static int readtty(int s)
{
	char c;
	errno = 0;
	ssize_t r = read(s, &c, 1);
	return r == 1 ? 0 : r == 0 ? 1 : 10 + errno % 100;
}

static int read_ignored(int s)
{
	signal(SIGTTIN, SIG_IGN);
	return readtty(s);
}

static int read_blocked(int s)
{
	block(SIGTTIN, SIG_BLOCK);
	return readtty(s);
}

static int read_handled(int s)
{
	struct sigaction sa = {.sa_handler = on_sig};
	sigaction(SIGTTIN, &sa, NULL);
	int r = readtty(s);
	return got == SIGTTIN ? r : 50 + r;
}

static int writetty(int s) { return write(s, "w", 1) == 1 ? 0 : 10 + errno % 100; }

static int write_ignored(int s)
{
	signal(SIGTTOU, SIG_IGN);
	return writetty(s);
}

static int setattr(int s)
{
	struct termios tio;
	tcgetattr(s, &tio);
	return tcsetattr(s, TCSANOW, &tio) == 0 ? 0 : 10 + errno % 100;
}

/* orphan reads the terminal from a process group with no parent in the session
 * outside it: its parent ends first. */
static int orphan(int s)
{
	int fds[2];
	pipe(fds);
	pid_t c = fork();
	if (c == 0) {
		close(fds[1]);
		char x;
		read(fds[0], &x, 1); /* until the parent has ended */
		while (getppid() != 1 && getppid() == getpgrp())
			usleep(1000);
		int r = readtty(s);
		int w = writetty(s); /* no TOSTOP here */
		printf("orphaned group: read %s, write %s\n", r == 10 + EIO ? "EIO" : r == 0 ? "ok" : "other",
		       w == 0 ? "ok" : "fails");
		_exit(0);
	}
	_exit(0); /* closes fds[1]: the child goes on */
}

/* pair: two processes in one background group; one calls tcsetpgrp, and SIGTTOU goes
 * to the group. */
static __attribute__((noreturn)) void pair_member(void)
{
	for (;;)
		pause();
}

static void pair(int s)
{
	pid_t a = fork();
	if (a == 0) {
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		pair_member();
	}
	setpgid(a, a);
	pid_t b = fork();
	if (b == 0) {
		setpgid(0, a);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(setfg(s));
	}
	setpgid(b, a);
	expect("background pair: the caller stopped by SIGTTOU", stopped(b) == SIGTTOU);
	expect("and the other member of its group too", stopped(a) == SIGTTOU);
	kill(-a, SIGKILL);
	exited(a);
	exited(b);
}

/* statfields reads tty_nr and tpgid of /proc/PID/stat. */
static int statfields(pid_t pid, long *tty, long *tpgid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	char *l = fgets(buf, sizeof buf, f);
	fclose(f);
	char *q = l ? strrchr(l, ')') : NULL;
	long ppid, pgrp, sid;
	char st;
	return q && sscanf(q + 2, "%c %ld %ld %ld %ld %ld", &st, &ppid, &pgrp, &sid, tty, tpgid) == 6 ? 0 : -1;
}

/* leader runs in a new session with the pty slave as its controlling terminal. */
static int leader(int m, const char *name)
{
	close(m);
	setsid();
	int s = open(name, O_RDWR);
	if (s < 0)
		return 1;
	struct stat st;
	int t = open("/dev/tty", O_RDWR);
	expect("/dev/tty opens", t >= 0);
	expect("fstat of /dev/tty: the character device (5,0)",
	       fstat(t, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 0);
	expect("stat of /dev/tty: the same", stat("/dev/tty", &st) == 0 && st.st_rdev == makedev(5, 0));
	expect("it is a terminal", isatty(t));
	close(t);
	long tty = 0, tpgid = 0;
	fstat(s, &st);
	long want = (minor(st.st_rdev) & 0xff) | (major(st.st_rdev) << 8) | ((minor(st.st_rdev) & ~0xffu) << 12);
	expect("stat's tty_nr and tpgid: the terminal and its foreground group",
	       statfields(getpid(), &tty, &tpgid) == 0 && tty == want && tpgid == getpgrp());
	pid_t other = fork();
	if (other == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(other, other);
	expect("and another process's, in the background",
	       statfields(other, &tty, &tpgid) == 0 && tty == want && tpgid == getpgrp());
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);

	/* tcsetpgrp from the background: SIGTTOU stops the group; once in the foreground
	 * and continued, the call restarts and succeeds. */
	block(SIGTTOU, SIG_BLOCK); /* the leader takes the terminal back at will */
	pid_t c = bg(setfg, s);
	int sig = stopped(c);
	expect("background tcsetpgrp: stopped by SIGTTOU", sig == SIGTTOU);
	tcsetpgrp(s, c);
	kill(c, SIGCONT);
	expect("restarted in the foreground: success", exited(c) == 0);
	expect("the leader (SIGTTOU blocked) takes it back", tcsetpgrp(s, getpgrp()) == 0 && tcgetpgrp(s) == getpgrp());

	c = bg(setfg_ignored, s);
	expect("SIGTTOU ignored: tcsetpgrp succeeds", exited(c) == 0 && tcgetpgrp(s) == c);
	tcsetpgrp(s, getpgrp());
	c = bg(setfg_blocked, s);
	expect("SIGTTOU blocked: tcsetpgrp succeeds", exited(c) == 0 && tcgetpgrp(s) == c);
	tcsetpgrp(s, getpgrp());

	/* Reads from the background. */
	c = bg(readtty, s);
	expect("background read: stopped by SIGTTIN", stopped(c) == SIGTTIN);
	kill(c, SIGKILL);
	exited(c);
	c = bg(read_ignored, s);
	expect("SIGTTIN ignored: read gives EIO", exited(c) == 10 + EIO);
	c = bg(read_blocked, s);
	expect("SIGTTIN blocked: read gives EIO", exited(c) == 10 + EIO);
	c = bg(read_handled, s);
	expect("SIGTTIN handled: the handler runs, read gives EINTR", exited(c) == 10 + EINTR);

	/* Writes from the background: allowed, unless TOSTOP. */
	c = bg(writetty, s);
	expect("background write without TOSTOP: written", exited(c) == 0);
	struct termios tio;
	tcgetattr(s, &tio);
	tio.c_lflag |= TOSTOP;
	tcsetattr(s, TCSANOW, &tio);
	c = bg(writetty, s);
	expect("background write with TOSTOP: stopped by SIGTTOU", stopped(c) == SIGTTOU);
	kill(c, SIGKILL);
	exited(c);
	c = bg(write_ignored, s);
	expect("with TOSTOP, SIGTTOU ignored: written", exited(c) == 0);
	tio.c_lflag &= ~TOSTOP;
	tcsetattr(s, TCSANOW, &tio);

	c = bg(setattr, s);
	expect("background tcsetattr: stopped by SIGTTOU", stopped(c) == SIGTTOU);
	kill(c, SIGKILL);
	exited(c);

	pair(s);

	c = bg(orphan, s);
	exited(c);
	usleep(200000);
	/* The orphan prints its own line; wait until it is gone from the group. */
	for (int i = 0; i < 500 && kill(-c, 0) == 0; i++)
		usleep(10000);

	/* The foreground reads and writes as always. */
	expect("foreground write", write(s, "f", 1) == 1);
	return 0;
}

/* Hang-up: the master's last close. */
static volatile sig_atomic_t hups, conts;
static void on_hup(int sig) { hups++; (void)sig; }
static void on_cont(int sig) { conts++; (void)sig; }

/* member waits for the hang-up and reports what it got on fd out. */
static void member(int s, int out, int ready)
{
	signal(SIGHUP, on_hup);
	signal(SIGCONT, on_cont);
	write(ready, "r", 1);
	struct pollfd w = {.fd = s, .events = POLLIN};
	poll(&w, 1, 5000); /* until the hang-up */
	usleep(100000);
	char c;
	errno = 0;
	ssize_t r = read(s, &c, 1);
	int rerr = r < 0 ? errno : 0;
	struct pollfd p = {.fd = s, .events = POLLIN};
	int pr = poll(&p, 1, 0);
	char buf[160];
	snprintf(buf, sizeof buf, "SIGHUP %s, SIGCONT %s; read %s; poll %s\n", hups ? "yes" : "no", conts ? "yes" : "no",
		 r == 0 ? "0" : r > 0 ? "data" : errname(rerr), pr == 1 && (p.revents & POLLHUP) ? "POLLHUP" : "no POLLHUP");
	write(out, buf, strlen(buf));
}

static int session(int m, const char *name, int out)
{
	close(m);
	setsid();
	int s = open(name, O_RDWR);
	if (s < 0) {
		dprintf(out, "open %s: %s\n", name, errname(errno));
		return 1;
	}
	int r[2];
	pipe(r);
	int fg[2], bgp[2];
	pipe(fg);
	pipe(bgp);
	pid_t a = fork();
	if (a == 0) {
		member(s, fg[1], r[1]);
		_exit(0);
	}
	pid_t b = fork();
	if (b == 0) {
		setpgid(0, 0);
		member(s, bgp[1], r[1]);
		_exit(0);
	}
	setpgid(b, b);
	char c;
	read(r[0], &c, 1);
	read(r[0], &c, 1);
	signal(SIGHUP, on_hup);
	signal(SIGCONT, on_cont);
	write(out, "R", 1); /* ready: the master may close */
	member(s, out, r[1]);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	char buf[160];
	ssize_t n = read(fg[0], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	dprintf(out, "foreground member: %s", buf);
	n = read(bgp[0], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	dprintf(out, "background member: %s", buf);
	return 0;
}

/* selfhangup: a session leader that closes the only master of its own terminal hangs
 * itself up. */
static int selfhangup(int m, const char *name)
{
	setsid();
	int s = open(name, O_RDWR);
	if (s < 0)
		return 1;
	signal(SIGHUP, on_hup);
	close(m);
	for (int i = 0; i < 100 && !hups; i++)
		usleep(10000);
	char c;
	ssize_t r = read(s, &c, 1);
	printf("leader closing its own master: SIGHUP %s; read %zd\n", hups ? "yes" : "no", r);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char name[64];
	int m = master(name, sizeof name);
	if (m < 0) {
		printf("no pty\n");
		return 1;
	}
	pid_t l = fork();
	if (l == 0)
		_exit(leader(m, name));
	expect("job control steps", exited(l) == 0);
	/* Drain what the background wrote. */
	fcntl(m, F_SETFL, O_NONBLOCK);
	char junk[64];
	while (read(m, junk, sizeof junk) > 0)
		;
	close(m);

	m = master(name, sizeof name);
	int out[2];
	pipe(out);
	pid_t s = fork();
	if (s == 0) {
		close(out[0]);
		_exit(session(m, name, out[1]));
	}
	close(out[1]);
	char c;
	read(out[0], &c, 1);
	close(m); /* the last descriptor of the master: the session is hung up */
	char buf[1024];
	int n = 0, r;
	while ((r = read(out[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	printf("session leader: %s", buf);
	int es = exited(s);
	expect("session steps", es == 0);

	m = master(name, sizeof name);
	s = fork();
	if (s == 0)
		_exit(selfhangup(m, name));
	close(m);
	expect("self hang-up steps", exited(s) == 0);
	if (es)
		printf("session: status %d\n", es);
	return failures != 0;
}
