/* killperm checks who may signal whom: kill, tgkill and sigqueue from a process whose
 * ids no longer match its target's are EPERM (SIGCONT within the session excepted), a
 * match of real or effective uid with the target's real or saved uid is enough, and the
 * processes outside the program (its parent, init) exist for kill(pid, 0), getpgid,
 * getsid and getpriority as they do natively. Changing ids needs root: as another user those checks say
 * "skipped". */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t usr1;
static pid_t grandparent, held;
static int ready[2];

static void on_usr1(int sig) { (void)sig; usr1++; }

/* child runs f in a child process after fflush, and returns its exit status. */
static int child(int (*f)(pid_t), pid_t arg)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		int r = f(arg);
		fflush(stdout);
		_exit(r);
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* as_nobody drops every id to nobody's and tries to signal parent. */
static int as_nobody(pid_t parent)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 99;
	union sigval v = {.sival_int = 1};
	expect_err("nobody: kill(root parent, 0)", kill(parent, 0), EPERM);
	expect_err("nobody: kill(root parent, SIGUSR1)", kill(parent, SIGUSR1), EPERM);
	expect_err("nobody: tgkill(root parent, SIGUSR1)", syscall(SYS_tgkill, parent, parent, SIGUSR1), EPERM);
	expect_err("nobody: sigqueue(root parent, SIGUSR1)", sigqueue(parent, SIGUSR1, v), EPERM);
	expect("nobody: kill(root parent, SIGCONT) in the same session", kill(parent, SIGCONT) == 0);
	expect("nobody: kill(own group, 0) reaches itself", kill(-getpgrp(), 0) == 0);
	expect_err("nobody: kill(1, 0)", kill(1, 0), EPERM);
	expect_err("nobody: kill(root grandparent, 0)", kill(grandparent, 0), EPERM);
	return failures;
}

/* holder keeps real uid 2000 and saved uid 1000, and waits to be killed. */
static int holder(pid_t unused)
{
	(void)unused;
	if (setresuid(2000, 2000, 1000))
		return 99;
	close(ready[1]);
	pause();
	return 0;
}

/* saved_match runs as uid 1000, which is held's saved uid. */
static int saved_match(pid_t unused)
{
	(void)unused;
	if (setresuid(1000, 1000, 1000))
		return 99;
	expect("uid 1000: kill(ruid 2000 suid 1000, 0)", kill(held, 0) == 0);
	return failures;
}

/* no_match runs as uid 3000, none of held's. */
static int no_match(pid_t unused)
{
	(void)unused;
	if (setresuid(3000, 3000, 3000))
		return 99;
	expect_err("uid 3000: kill(ruid 2000 suid 1000, 0)", kill(held, 0), EPERM);
	expect_err("uid 3000: kill(ruid 2000 suid 1000, SIGKILL)", kill(held, SIGKILL), EPERM);
	return failures;
}

int main(void)
{
	pid_t pp = getppid();
	grandparent = pp;
	expect("kill(parent, 0)", kill(pp, 0) == 0);
	expect("getsid(parent) is our session", getsid(pp) == getsid(0));
	expect("getpgid(parent) answers", getpgid(pp) > 0);
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, pp);
	printf("getpriority(parent): %d %s\n", prio, errno ? errname(errno) : "");
	expect_err("kill(INT_MAX, 0)", kill(INT_MAX, 0), ESRCH);
	expect_err("getpgid(INT_MAX)", getpgid(INT_MAX), ESRCH);
	expect_err("getsid(INT_MAX)", getsid(INT_MAX), ESRCH);
	if (geteuid() != 0) {
		printf("not root: skipped\n");
		return failures;
	}
	expect("kill(1, 0) as root", kill(1, 0) == 0);
	expect("getsid(1)", getsid(1) >= 0);
	signal(SIGUSR1, on_usr1);
	expect("the nobody child's checks", child(as_nobody, getpid()) == 0);
	expect("no SIGUSR1 arrived", usr1 == 0);

	fflush(stdout);
	if (pipe(ready))
		return 1;
	held = fork();
	if (held == 0)
		_exit(holder(0)); /* prints nothing */
	close(ready[1]);
	char b;
	expect("the holder changed its ids", read(ready[0], &b, 1) == 0);
	expect("the saved-uid child's checks", child(saved_match, 0) == 0);
	expect("the other uid's checks", child(no_match, 0) == 0);
	kill(held, SIGKILL);
	int st;
	expect("the holder ends by SIGKILL", waitpid(held, &st, 0) == held && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return failures;
}
