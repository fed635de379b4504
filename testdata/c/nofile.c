/* nofile fills its descriptor table up to RLIMIT_NOFILE: open fails with EMFILE there,
 * dup2 and F_DUPFD past it fail, a forked child has its own table under the same limit,
 * and raising the limit makes room again.
 *
 *   nofile            the checks
 *   nofile hostlimit  open descriptors until none is left, then fork: the child must
 *                     still write to stdout, or the fork fail (never a child without it)
 *   nofile hard       fill the table up to the hard limit, then fork: the last descriptor
 *                     is the limit's last, and the child opens what the parent closed
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void set(rlim_t n)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = n;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* fill opens /dev/null until open fails; it returns the last descriptor. */
static int fill(int *err)
{
	int last = -1, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	*err = errno;
	return last;
}

static int hostlimit(void)
{
	int err;
	int last = fill(&err);
	close(last);
	close(last - 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("fork failed: %s\n", errname(errno));
		return 0;
	}
	if (pid == 0)
		_exit(write(1, "child wrote\n", 12) == 12 ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int hard(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	set(rl.rlim_max);
	int err;
	int last = fill(&err);
	errno = err;
	expect_err("open past the hard limit", -1, EMFILE);
	expect("the last descriptor is the hard limit's last", last == (int)rl.rlim_max - 1);
	close(last);
	close(last - 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
		int c = open("/dev/null", O_RDONLY);
		int e = errno;
		_exit(write(1, "child wrote\n", 12) == 12 && a == last - 1 && b == last && c < 0 && e == EMFILE ? 0 : 1);
	}
	expect("fork with a full table", pid > 0);
	int st;
	waitpid(pid, &st, 0);
	expect("the child filled its own table", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return failures != 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "hostlimit"))
		return hostlimit();
	if (argc > 1 && !strcmp(argv[1], "hard"))
		return hard();
	set(64);
	int err;
	int last = fill(&err);
	errno = err;
	expect_err("open past the limit", -1, EMFILE);
	expect("the last descriptor is the limit's last", last == 63);
	expect_err("dup2 to the limit", dup2(0, 64), EBADF);
	expect_err("F_DUPFD from the limit", fcntl(0, F_DUPFD, 64), EINVAL);
	expect("dup2 below the limit", dup2(0, 63) == 63);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Its own table: what it frees is its own, and the limit is inherited. */
		int ok = write(1, "child: stdout\n", 14) == 14;
		close(10);
		close(11);
		int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
		int c = open("/dev/null", O_RDONLY);
		_exit(ok && a == 10 && b == 11 && c < 0 && errno == EMFILE ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("the child had its own table under the same limit", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_err("the parent's is still full", open("/dev/null", O_RDONLY), EMFILE);
	set(70);
	expect("raising the limit makes room", open("/dev/null", O_RDONLY) == 64);
	set(32);
	expect_err("lowering it below open descriptors: no new one", open("/dev/null", O_RDONLY), EMFILE);
	expect("those above it stay open", fcntl(63, F_GETFD) >= 0);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_max = rl.rlim_cur = (1 << 20) + 1;
	expect_err("a limit above fs.nr_open", setrlimit(RLIMIT_NOFILE, &rl), EPERM);
	return failures != 0;
}
