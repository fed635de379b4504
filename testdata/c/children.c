/* children forks processes and checks what passes between them: wait statuses, kill to a
 * child looping in user code (with and without a handler, blocked), process groups with
 * kill(0) and kill(-pgid), waitid and its options, SIGCHLD with its siginfo or discarded,
 * execve of /proc/self/exe, and a pipe whose reader goes away (EPIPE, SIGPIPE).
 *
 * Only the parent prints; children answer with their exit status.
 * Usage: children              (the checks)
 *        children exec ARG     (the program execve'd by a child: exits with strlen(ARG))
 *        children wait-MODE    (prints "ready", then waits for a signal, for tests that
 *                               signal vemu: MODE spin loops in user code, pause waits
 *                               in pause(), handler catches SIGINT, prints and exits 0) */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errnames.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static void expect_err(const char *what, int r, int want)
{
	int e = r < 0 ? errno : 0;
	printf("%s: %s\n", what, errname(e));
	if (r >= 0 || e != want)
		failures++;
}

static void on(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

static pid_t child(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	return pid;
}

static int status_of(pid_t pid)
{
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* ready tells the parent through fd that the child is where it should be. */
static void ready(int fd)
{
	char c = 'r';
	write(fd, &c, 1);
}

static void await(int fd)
{
	char c;
	read(fd, &c, 1);
}

static volatile unsigned long spin;
static volatile sig_atomic_t flag;

static void set_flag(int sig)
{
	(void)sig;
	flag = 1;
}

/* spin_child forks a child that runs setup, says it is ready and loops in user code
 * until flag is set, then exits with code. */
static pid_t spin_child(void (*setup)(void), int code)
{
	int p[2];
	pipe(p);
	pid_t pid = child();
	if (pid == 0) {
		close(p[0]);
		if (setup)
			setup();
		ready(p[1]);
		while (!flag)
			spin++;
		_exit(code);
	}
	close(p[1]);
	await(p[0]);
	close(p[0]);
	return pid;
}

static void usr1_flag(void) { on(SIGUSR1, set_flag, 0); }

static void statuses(void)
{
	pid_t pid = child();
	if (pid == 0)
		_exit(0);
	int st = status_of(pid);
	expect("exit 0: WIFEXITED", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pid = child();
	if (pid == 0)
		_exit(201);
	st = status_of(pid);
	expect("exit 201: WEXITSTATUS", WIFEXITED(st) && WEXITSTATUS(st) == 201);
	pid = child();
	if (pid == 0) {
		kill(getpid(), SIGTERM);
		_exit(99);
	}
	st = status_of(pid);
	expect("child killed itself: WIFSIGNALED SIGTERM", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	expect("no more children: ECHILD", waitpid(-1, NULL, 0) < 0 && errno == ECHILD);
}

static void kills(void)
{
	/* A loop with no handler and no system call: the default action ends it. */
	pid_t pid = spin_child(NULL, 1);
	expect("kill(child, 0) while it runs", kill(pid, 0) == 0);
	expect("kill(child, SIGTERM)", kill(pid, SIGTERM) == 0);
	int st = status_of(pid);
	expect("looping child killed by SIGTERM", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);

	/* SIGKILL, the same way. */
	pid = spin_child(NULL, 1);
	kill(pid, SIGKILL);
	st = status_of(pid);
	expect("looping child killed by SIGKILL", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* A handler interrupts the loop, which then exits. */
	pid = spin_child(usr1_flag, 17);
	kill(pid, SIGUSR1);
	st = status_of(pid);
	expect("looping child ran its SIGUSR1 handler and exited 17", WIFEXITED(st) && WEXITSTATUS(st) == 17);

	/* tgkill to another process's main thread. */
	pid = spin_child(usr1_flag, 18);
	expect("tgkill(child, child, SIGUSR1)", syscall(SYS_tgkill, pid, pid, SIGUSR1) == 0);
	st = status_of(pid);
	expect("tgkill reached the child's handler", WIFEXITED(st) && WEXITSTATUS(st) == 18);

	/* A blocked SIGTERM stays pending in a child waiting in read. */
	int go[2], rd[2];
	pipe(go);
	pipe(rd);
	pid = child();
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		ready(rd[1]);
		await(go[0]);
		sigpending(&set);
		_exit(sigismember(&set, SIGTERM) ? 5 : 6);
	}
	await(rd[0]);
	kill(pid, SIGTERM);
	ready(go[1]);
	st = status_of(pid);
	expect("blocked SIGTERM is pending, not fatal", WIFEXITED(st) && WEXITSTATUS(st) == 5);
	close(go[0]), close(go[1]), close(rd[0]), close(rd[1]);

	expect_err("kill(reaped child, 0)", kill(pid, 0), ESRCH);
	expect_err("kill(self, 1000)", kill(getpid(), 1000), EINVAL);
	expect_err("kill(self, -1)", kill(getpid(), -1), EINVAL);
	expect_err("kill(INT_MIN, 0)", kill(INT_MIN, 0), ESRCH);
	expect("kill(self, 0)", kill(getpid(), 0) == 0);
}

static volatile sig_atomic_t usr2_hits;
static void on_usr2(int sig)
{
	(void)sig;
	usr2_hits++;
}

static void groups(void)
{
	/* A child leads a new group with a grandchild in it, and signals the group with
	 * kill(0): its handler runs, the grandchild dies. */
	pid_t pid = child();
	if (pid == 0) {
		if (setpgid(0, 0) != 0 || getpgrp() != getpid())
			_exit(10);
		on(SIGUSR2, on_usr2, 0);
		int p[2];
		pipe(p);
		pid_t g = child();
		if (g == 0) {
			signal(SIGUSR2, SIG_DFL);
			ready(p[1]);
			for (;;)
				pause();
		}
		await(p[0]);
		if (getpgid(g) != getpid())
			_exit(11);
		if (kill(0, SIGUSR2) != 0)
			_exit(12);
		int st = status_of(g);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGUSR2)
			_exit(13);
		_exit(usr2_hits == 1 ? 0 : 14);
	}
	int st = status_of(pid);
	expect("kill(0) reached the group: handler in the sender, grandchild killed",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* kill(-pgid) from outside the group ends both members; the pipe they hold closes. */
	int p[2], gone[2];
	pipe(p);
	pipe(gone);
	pid = child();
	if (pid == 0) {
		setpgid(0, 0);
		close(gone[0]);
		pid_t g = child();
		if (g == 0) {
			ready(p[1]);
			for (;;)
				spin++;
		}
		for (;;)
			pause();
	}
	setpgid(pid, pid); /* as a shell does, in both */
	close(gone[1]);
	await(p[0]);
	expect("getpgid(child) is its pid", getpgid(pid) == pid);
	expect("kill(-pgid, SIGTERM)", kill(-pid, SIGTERM) == 0);
	st = status_of(pid);
	expect("group leader killed by SIGTERM", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	char c;
	expect("both members gone: the pipe reads EOF", read(gone[0], &c, 1) == 0);
	close(p[0]), close(p[1]), close(gone[0]);
	expect_err("setpgid(1, 1): not a child", setpgid(1, 1), ESRCH);
}

static void waitids(void)
{
	siginfo_t si;
	int p[2];
	pipe(p);
	pid_t pid = child();
	if (pid == 0) {
		close(p[1]);
		await(p[0]);
		_exit(42);
	}
	close(p[0]);
	memset(&si, 0xff, sizeof si);
	expect("waitid WNOHANG with nothing ready: 0", waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0);
	expect("  and si_pid, si_signo zero", si.si_pid == 0 && si.si_signo == 0);
	expect("waitpid WNOHANG with nothing ready: 0", waitpid(-1, NULL, WNOHANG) == 0);
	expect_err("waitid without WEXITED|WSTOPPED|WCONTINUED", waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
	expect_err("waitid bad idtype", waitid((idtype_t)9, 0, &si, WEXITED), EINVAL);
	expect_err("waitid P_PID 0", waitid(P_PID, 0, &si, WEXITED), EINVAL);
	expect_err("waitid P_PIDFD on a file that is not a pidfd", waitid((idtype_t)P_PIDFD, 1, &si, WEXITED), EBADF);
	close(p[1]); /* the child exits */
	memset(&si, 0, sizeof si);
	expect("waitid P_PID WNOWAIT", waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
	expect("  si_signo SIGCHLD, CLD_EXITED, status 42, si_pid",
	       si.si_signo == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 42 && si.si_pid == pid);
	expect("  si_uid", si.si_uid == getuid());
	expect("kill of the zombie succeeds", kill(pid, SIGTERM) == 0);
	memset(&si, 0, sizeof si);
	expect("waitid P_PGID 0 WNOWAIT again", waitid(P_PGID, 0, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid);
	int st = status_of(pid);
	expect("waitpid after WNOWAIT reaps it: 42", WIFEXITED(st) && WEXITSTATUS(st) == 42);
	expect_err("waitid when no child is left", waitid(P_ALL, 0, &si, WEXITED), ECHILD);

	pid = spin_child(NULL, 1);
	kill(pid, SIGINT);
	memset(&si, 0, sizeof si);
	expect("waitid P_ALL of a killed child", waitid(P_ALL, 0, &si, WEXITED) == 0);
	expect("  CLD_KILLED, si_status SIGINT", si.si_code == CLD_KILLED && si.si_status == SIGINT && si.si_pid == pid);

	pid = child();
	if (pid == 0)
		_exit(3);
	int st2;
	struct rusage ru;
	expect("wait4(-1) with rusage", wait4(-1, &st2, 0, &ru) == pid && WEXITSTATUS(st2) == 3);
	pid = child();
	if (pid == 0)
		_exit(4);
	expect("waitpid(0): own group", waitpid(0, &st2, 0) == pid && WEXITSTATUS(st2) == 4);
	pid = child();
	if (pid == 0)
		_exit(5);
	expect("waitpid(-pgrp)", waitpid(-getpgrp(), &st2, 0) == pid && WEXITSTATUS(st2) == 5);
	pid = child();
	if (pid == 0)
		_exit(6);
	expect_err("waitpid __WCLONE: no clone children", waitpid(-1, &st2, __WCLONE), ECHILD);
	expect("waitpid __WALL", waitpid(-1, &st2, __WALL) == pid && WEXITSTATUS(st2) == 6);
}

static volatile sig_atomic_t chld_hits;
static volatile int chld_pid, chld_code, chld_status;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	chld_hits++;
	chld_pid = si->si_pid;
	chld_code = si->si_code;
	chld_status = si->si_status;
}

static void sigchld(void)
{
	sigset_t chld, old, pend;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);

	/* SIG_DFL and unblocked: discarded, never pending. */
	pid_t pid = child();
	if (pid == 0)
		_exit(0);
	status_of(pid);
	sigprocmask(SIG_BLOCK, &chld, &old);
	sigpending(&pend);
	expect("SIGCHLD with SIG_DFL is discarded", !sigismember(&pend, SIGCHLD));

	/* SIG_DFL but blocked: pending, as blocked signals are never ignored. */
	pid = child();
	if (pid == 0)
		_exit(0);
	status_of(pid);
	sigpending(&pend);
	expect("a blocked SIGCHLD with SIG_DFL stays pending", sigismember(&pend, SIGCHLD));
	signal(SIGCHLD, SIG_IGN); /* discards it */
	signal(SIGCHLD, SIG_DFL);

	/* A handler gets si_pid, si_code and si_status. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGCHLD, &sa, NULL);
	pid = child();
	if (pid == 0)
		_exit(3);
	sigset_t none;
	sigemptyset(&none);
	while (!chld_hits)
		sigsuspend(&none);
	expect("SIGCHLD handler: si_pid, CLD_EXITED, si_status 3",
	       chld_pid == pid && chld_code == CLD_EXITED && chld_status == 3);
	status_of(pid);
	chld_hits = 0;
	pid = spin_child(NULL, 1);
	kill(pid, SIGUSR2);
	while (!chld_hits)
		sigsuspend(&none);
	expect("SIGCHLD handler: CLD_KILLED, si_status SIGUSR2",
	       chld_pid == pid && chld_code == CLD_KILLED && chld_status == SIGUSR2);
	status_of(pid);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* SIG_IGN: children are reaped at once, wait finds none. */
	signal(SIGCHLD, SIG_IGN);
	pid = child();
	if (pid == 0)
		_exit(0);
	expect_err("with SIGCHLD ignored, wait gives ECHILD", wait(NULL), ECHILD);
	signal(SIGCHLD, SIG_DFL);
}

static void execs(void)
{
	pid_t pid = child();
	if (pid == 0) {
		char *argv[] = {"children", "exec", "seven!!", NULL};
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	int st = status_of(pid);
	expect("execve /proc/self/exe exec seven!!: exit 7", WIFEXITED(st) && WEXITSTATUS(st) == 7);

	/* setpgid on a child that has called execve: EACCES. */
	int p[2];
	pipe(p);
	pid = child();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[1]);
		char *argv[] = {"children", "exec-wait", NULL};
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[0]);
	/* Wait until it has exec'd: its argv changes what /proc/PID/cmdline says, which
	 * vemu does not show for other processes, so give it a moment and retry. */
	int r = -1, e = 0;
	for (int i = 0; i < 200; i++) {
		r = setpgid(pid, pid);
		e = errno;
		if (r < 0)
			break;
		usleep(10000);
	}
	errno = e;
	expect_err("setpgid of a child after execve", r, EACCES);
	close(p[1]);
	status_of(pid);
}

static volatile sig_atomic_t pipe_hits;
static void on_pipe(int sig)
{
	(void)sig;
	pipe_hits++;
}

static void pipes(void)
{
	int p[2];
	pipe(p);
	pid_t pid = child();
	if (pid == 0) {
		close(p[0]);
		const char msg[] = "hello from the child\n";
		write(p[1], msg, sizeof msg - 1);
		_exit(0);
	}
	close(p[1]);
	char buf[64];
	ssize_t n, got = 0;
	while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	printf("from the pipe: %s", buf);
	close(p[0]);
	status_of(pid);

	/* The reader is gone: a default SIGPIPE kills the writer. */
	pipe(p);
	pid = child();
	if (pid == 0) {
		close(p[1]);
		_exit(0);
	}
	close(p[0]);
	status_of(pid);
	pid = child();
	if (pid == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	int st = status_of(pid);
	expect("write with no reader: killed by SIGPIPE", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
	on(SIGPIPE, on_pipe, 0);
	expect_err("with a handler: EPIPE", write(p[1], "x", 1), EPIPE);
	expect("  and the handler ran", pipe_hits == 1);
	signal(SIGPIPE, SIG_IGN);
	expect_err("with SIGPIPE ignored: EPIPE", write(p[1], "x", 1), EPIPE);
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
}

static void on_int(int sig)
{
	static const char msg[] = "caught SIGINT\n";
	(void)sig;
	write(1, msg, sizeof msg - 1);
	_exit(0);
}

static _Noreturn void wait_mode(const char *mode)
{
	if (strcmp(mode, "handler") == 0)
		on(SIGINT, on_int, 0);
	printf("ready\n");
	fflush(stdout);
	if (strcmp(mode, "spin") == 0)
		for (;;)
			spin++;
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strncmp(argv[1], "wait-", 5) == 0)
		wait_mode(argv[1] + 5);
	if (argc >= 3 && strcmp(argv[1], "exec") == 0)
		return (int)strlen(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "exec-wait") == 0) {
		char c;
		read(0, &c, 1);
		return 0;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	statuses();
	kills();
	groups();
	waitids();
	sigchld();
	execs();
	pipes();
	printf("failures: %d\n", failures);
	return failures != 0;
}
