/* limits checks resource limits as Linux enforces them: RLIMIT_NOFILE at open, dup, pipe,
 * socket and accept (EMFILE), dup2 and F_DUPFD beyond it; RLIMIT_SIGPENDING at sigqueue
 * and tgkill (EAGAIN) but not kill; what setrlimit refuses; prlimit64 on a child. Run it
 * as root: a child drops to another uid. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void expect_ok(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? errname(errno) : "success");
	if (r < 0)
		failures++;
}

static int setlim(int res, rlim_t cur, rlim_t max)
{
	struct rlimit r = {cur, max};
	return setrlimit(res, &r);
}

static void nofile(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un {
		sa_family_t f;
		char p[108];
	} sa = {AF_UNIX, ""};
	/* An abstract name: nothing on disk. */
	snprintf(sa.p + 1, sizeof sa.p - 1, "limits.%d", getpid());
	socklen_t len = sizeof(sa_family_t) + 1 + strlen(sa.p + 1);
	expect_ok("bind", bind(ls, (void *)&sa, len));
	expect_ok("listen", listen(ls, 4));
	int cl = socket(AF_UNIX, SOCK_STREAM, 0);
	expect_ok("connect", connect(cl, (void *)&sa, len));
	struct rlimit hard;
	getrlimit(RLIMIT_NOFILE, &hard);
	expect_ok("RLIMIT_NOFILE 10", setlim(RLIMIT_NOFILE, 10, hard.rlim_max));
	int n = 0;
	while (open("/dev/null", O_RDONLY) >= 0)
		n++;
	printf("opened until EMFILE: %d more (%s)\n", n, errname(errno));
	expect_err("dup", dup(0), EMFILE);
	int p[2];
	expect_err("pipe", pipe(p), EMFILE);
	expect_err("socket", socket(AF_UNIX, SOCK_STREAM, 0), EMFILE);
	expect_err("accept", accept(ls, NULL, NULL), EMFILE);
	expect_err("F_DUPFD at the limit", fcntl(0, F_DUPFD, 10), EINVAL);
	expect_err("F_DUPFD below it", fcntl(0, F_DUPFD, 5), EMFILE);
	expect_err("dup2 beyond it", dup2(0, 10), EBADF);
	expect_ok("dup2 within it", dup2(0, 9));
	close(9);
	expect_ok("dup after a close", dup(0));
	expect_ok("RLIMIT_NOFILE 1000", setlim(RLIMIT_NOFILE, 1000, hard.rlim_max));
	expect_ok("pipe again", pipe(p));
	expect_ok("dup2 to 999", dup2(0, 999));
	expect_err("dup2 to 1000", dup2(0, 1000), EBADF);
	expect_ok("accept again", accept(ls, NULL, NULL));
	exit(failures);
}

static void setrlimit_rules(void)
{
	struct rlimit r;
	expect_err("soft above hard", setlim(RLIMIT_CORE, 10, 5), EINVAL);
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	unsigned long nr = 1048576;
	if (f) {
		if (fscanf(f, "%lu", &nr) != 1)
			nr = 1048576;
		fclose(f);
	}
	expect_err("RLIMIT_NOFILE above fs.nr_open", setlim(RLIMIT_NOFILE, 10, nr + 1), EPERM);
	/* Allowed with CAP_SYS_RESOURCE only, when the hard limit is below it. */
	printf("RLIMIT_NOFILE at fs.nr_open: %s\n", setlim(RLIMIT_NOFILE, 10, nr) ? errname(errno) : "success");
	expect_err("bad resource", setlim(99, 1, 1), EINVAL);
	expect_ok("lower RLIMIT_CORE's hard limit", setlim(RLIMIT_CORE, 0, 100));
	printf("root raises it again: %s\n", setlim(RLIMIT_CORE, 0, 200) ? errname(errno) : "success");
	if (setresuid(4242, 4242, 4242))
		exit(2);
	expect_err("a user raises a hard limit", setlim(RLIMIT_CORE, 0, 300), EPERM);
	expect_ok("a user lowers it", setlim(RLIMIT_CORE, 0, 50));
	expect_ok("a user raises the soft limit to the hard one", setlim(RLIMIT_CORE, 50, 50));
	getrlimit(RLIMIT_CORE, &r);
	expect("getrlimit sees it", r.rlim_cur == 50 && r.rlim_max == 50);
	exit(failures);
}

static void sigpending_limit(void)
{
	/* Another uid, so that no other process shares the count. */
	expect_ok("RLIMIT_SIGPENDING 4", setlim(RLIMIT_SIGPENDING, 4, 4));
	if (setresuid(4343, 4343, 4343))
		exit(2);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	union sigval v = {0};
	int n = 0;
	while (sigqueue(getpid(), SIGRTMIN, v) == 0 && n < 100)
		v.sival_int = ++n;
	printf("sigqueue until EAGAIN: %d (%s)\n", n, errname(errno));
	pid_t tid = syscall(SYS_gettid);
	expect_err("tgkill of a real-time signal", syscall(SYS_tgkill, getpid(), tid, SIGRTMIN + 1), EAGAIN);
	expect_ok("kill of a real-time signal", kill(getpid(), SIGRTMIN + 1));
	expect_ok("tgkill of a standard signal", syscall(SYS_tgkill, getpid(), tid, SIGUSR1));
	struct timespec zero = {0, 0};
	siginfo_t si;
	int sig;
	while ((sig = sigtimedwait(&set, &si, &zero)) > 0)
		printf("took %s%d code %d value %d pid-set %d\n", sig >= SIGRTMIN ? "RT+" : "", sig >= SIGRTMIN ? sig - SIGRTMIN : sig,
		       si.si_code, si.si_code == SI_QUEUE ? si.si_value.sival_int : 0, si.si_pid != 0);
	n = 0;
	while (sigqueue(getpid(), SIGRTMIN, v) == 0 && n < 100)
		n++;
	printf("after taking them, sigqueue until EAGAIN: %d\n", n);
	exit(failures);
}

static void prlimit_child(void)
{
	int p[2];
	if (pipe(p))
		exit(2);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		read(p[0], &b, 1);
		struct rlimit r;
		getrlimit(RLIMIT_NOFILE, &r);
		printf("child sees RLIMIT_NOFILE %lu %lu\n", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
		exit(0);
	}
	close(p[0]);
	struct rlimit nr = {64, 128}, old;
	expect_ok("prlimit of a child", prlimit(c, RLIMIT_NOFILE, &nr, &old));
	expect_ok("prlimit reads it back", prlimit(c, RLIMIT_NOFILE, NULL, &old));
	expect("old is the new", old.rlim_cur == 64 && old.rlim_max == 128);
	struct rlimit bad = {256, 128};
	expect_err("prlimit soft above hard", prlimit(c, RLIMIT_NOFILE, &bad, NULL), EINVAL);
	expect_err("prlimit of no process", prlimit(999999, RLIMIT_NOFILE, NULL, &old), ESRCH);
	fflush(stdout);
	pid_t u = fork();
	if (u == 0) {
		if (setresuid(4444, 4444, 4444))
			exit(2);
		expect_err("a user's prlimit of root's child", prlimit(c, RLIMIT_NOFILE, NULL, &old), EPERM);
		expect_ok("a user's prlimit of itself", prlimit(0, RLIMIT_NOFILE, NULL, &old));
		exit(failures);
	}
	int st;
	waitpid(u, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failures++;
	write(p[1], "x", 1);
	waitpid(c, &st, 0);
	exit(failures);
}

static void run(const char *name, void (*f)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		f();
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: %d\n", name, st);
		failures++;
	}
}

int main(void)
{
	if (geteuid() != 0) {
		printf("not root: skipped\n");
		return 0;
	}
	run("nofile", nofile);
	run("setrlimit", setrlimit_rules);
	run("sigpending", sigpending_limit);
	run("prlimit", prlimit_child);
	return failures;
}
