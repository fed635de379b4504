/* orphanpg checks Linux's job control for orphaned process groups (POSIX: no member has
 * a parent in another group of the same session). When a process's exit orphans a group
 * that has a stopped member (its own group, or the group of a child it leaves), every
 * member gets SIGHUP, then SIGCONT; a group that stays connected, or has no stopped
 * member, gets nothing. A stop signal from SIGTSTP, SIGTTIN or SIGTTOU whose action is the
 * default is discarded in an orphaned group; SIGSTOP still stops. The cases run in a
 * session of their own, whose leader's group is orphaned from the start: its parent is
 * in another session, and so is the subreaper that orphans go to. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int report[2]; /* the members' lines, to the test */
static int gofd[2];   /* closed by the test when the members may say what they saw */

/* spawn forks a process of the case, which holds no write end of gofd. */
static pid_t spawn(void)
{
	pid_t pid = fork();
	if (pid == 0)
		close(gofd[1]);
	return pid;
}
static char seen[64];
static volatile sig_atomic_t nseen;

static void on_sig(int sig)
{
	if (nseen < (int)sizeof seen - 1)
		seen[nseen++] = sig == SIGHUP ? 'H' : sig == SIGCONT ? 'C' : '?';
}

static void catch_hup_cont(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCONT, &sa, NULL);
}

static void say(const char *who, const char *what)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%s: %s\n", who, what);
	write(report[1], line, n);
}

/* member stops itself, and once it continues (or after a SIGHUP that did not stop it)
 * waits for go and says which signals its handlers saw. */
static void member(const char *who, int stop, int go)
{
	catch_hup_cont();
	if (stop)
		raise(SIGSTOP);
	char x;
	while (read(go, &x, 1) != 0 && errno == EINTR) /* until the test closes go */
		;
	seen[nseen] = 0;
	say(who, nseen ? seen : "none");
	_exit(0);
}

static void wait_stopped(pid_t pid)
{
	int st;
	waitpid(pid, &st, WUNTRACED);
}

/* A process exits and orphans its own group, which holds its stopped child. */
static void own_group(int go)
{
	pid_t p = spawn();
	if (p == 0) {
		setpgid(0, 0);
		pid_t c = spawn();
		if (c == 0)
			member("own group, stopped child", 1, go);
		wait_stopped(c);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* A process exits and orphans its child's group, which the child made. */
static void child_group(int go, int stop)
{
	pid_t p = spawn();
	if (p == 0) {
		pid_t c = spawn();
		if (c == 0) {
			setpgid(0, 0);
			member(stop ? "child's group, stopped" : "child's group, none stopped", stop, go);
		}
		setpgid(c, c);
		if (stop)
			wait_stopped(c);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* The child's group stays connected through another member, whose parent lives on in
 * another group of the session. */
static pid_t still_connected(int go)
{
	pid_t keeper = spawn();
	if (keeper == 0) {
		setpgid(0, 0);
		pid_t other = spawn();
		if (other == 0)
			member("connected group, running member", 0, go);
		char x;
		read(go, &x, 1);
		waitpid(other, NULL, 0);
		_exit(0);
	}
	setpgid(keeper, keeper);
	pid_t p = spawn();
	if (p == 0) {
		pid_t c = spawn();
		if (c == 0) {
			setpgid(0, keeper);
			member("connected group, stopped member", 1, go);
		}
		setpgid(c, keeper);
		wait_stopped(c);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	return keeper;
}

/* A stopped member killed by the SIGHUP its default action gives. */
static void default_hup(void)
{
	pid_t p = fork();
	if (p == 0) {
		pid_t c = fork();
		if (c == 0) {
			setpgid(0, 0);
			raise(SIGSTOP);
			_exit(0);
		}
		setpgid(c, c);
		wait_stopped(c);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* Stop signals in an orphaned group (the session leader's own). */
static void stops(void)
{
	int sigs[] = {SIGTSTP, SIGTTIN, SIGTTOU};
	const char *names[] = {"SIGTSTP", "SIGTTIN", "SIGTTOU"};
	for (int i = 0; i < 3; i++) {
		pid_t c = fork();
		if (c == 0) {
			kill(getpid(), sigs[i]);
			sigset_t set;
			sigpending(&set);
			_exit(sigismember(&set, sigs[i]) ? 2 : 0);
		}
		int st;
		waitpid(c, &st, WUNTRACED);
		char what[96];
		snprintf(what, sizeof what, "%s with the default action in an orphaned group: %s", names[i],
			 WIFSTOPPED(st) ? "stopped" : WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "discarded" : "pending");
		say("stops", what);
		if (WIFSTOPPED(st)) {
			kill(c, SIGKILL);
			waitpid(c, NULL, 0);
		}
	}
	/* Blocked, it stays pending; unblocked, it is discarded at delivery. */
	pid_t c = fork();
	if (c == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTSTP);
		sigprocmask(SIG_BLOCK, &set, NULL);
		kill(getpid(), SIGTSTP);
		sigset_t pend;
		sigpending(&pend);
		int was = sigismember(&pend, SIGTSTP);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		_exit(was ? 0 : 3);
	}
	int st;
	waitpid(c, &st, WUNTRACED);
	say("stops", WIFSTOPPED(st) ? "a blocked SIGTSTP, unblocked: stopped"
		     : WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "a blocked SIGTSTP, unblocked: discarded"
							   : "a blocked SIGTSTP: not pending");
	if (WIFSTOPPED(st)) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
	}
	/* A handler runs; SIGSTOP stops. */
	c = fork();
	if (c == 0) {
		catch_hup_cont();
		signal(SIGTSTP, on_sig);
		kill(getpid(), SIGTSTP);
		_exit(nseen == 1 ? 0 : 4);
	}
	waitpid(c, &st, WUNTRACED);
	say("stops", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "SIGTSTP with a handler: handled" : "SIGTSTP with a handler: not handled");
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	waitpid(c, &st, WUNTRACED);
	say("stops", WIFSTOPPED(st) ? "SIGSTOP: stopped" : "SIGSTOP: not stopped");
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

/* A parent that joins its stopped child's group orphans it when the parent's own parent
 * is in that group or outside the session. */
static void join_group(int go)
{
	pid_t p = spawn(); /* the session leader's group is orphaned */
	if (p == 0) {
		setpgid(0, 0);
		pid_t c = spawn();
		if (c == 0) {
			setpgid(0, getsid(0));
			member("child joined the leader's group, parent joins too", 1, go);
		}
		setpgid(c, getsid(0));
		wait_stopped(c);
		setpgid(0, getsid(0));
		usleep(100000);
		int st;
		if (waitpid(c, &st, WCONTINUED | WNOHANG) == 0)
			kill(c, SIGCONT); /* still stopped: its line says "C" alone */
		waitpid(c, NULL, 0);
		_exit(0);
	}
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void)
{
	/* Orphans come here, outside their session: a parent there connects no group. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pipe(report);
	fflush(stdout);
	pid_t leader = fork();
	if (leader == 0) {
		close(report[0]);
		setsid();
		for (int i = 0; i < 5; i++) {
			pipe(gofd);
			int go[2] = {gofd[0], gofd[1]};
			pid_t keeper = 0;
			switch (i) {
			case 0: own_group(go[0]); break;
			case 1: child_group(go[0], 1); break;
			case 2: child_group(go[0], 0); break;
			case 3: keeper = still_connected(go[0]); break;
			case 4: join_group(go[0]); break;
			}
			usleep(100000); /* signals the exits send arrive meanwhile */
			/* The stopped member of a connected group stays stopped: continue it (its
			 * running peer sees the SIGCONT too). */
			if (keeper)
				killpg(keeper, SIGCONT);
			close(go[1]); /* the members' reads end */
			close(go[0]);
			while (wait(NULL) > 0)
				;
		}
		default_hup();
		stops();
		_exit(0);
	}
	close(report[1]);
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(report[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	/* The members' lines come in any order: print them sorted. */
	char *lines[64];
	int nl = 0;
	for (char *l = strtok(buf, "\n"); l && nl < 64; l = strtok(NULL, "\n"))
		lines[nl++] = l;
	qsort(lines, nl, sizeof lines[0], by_text);
	for (int i = 0; i < nl; i++)
		puts(lines[i]);
	int st;
	waitpid(leader, &st, 0);
	expect("the session's leader ended normally", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pid_t w;
	while ((w = waitpid(-1, &st, 0)) > 0)
		if (WIFSIGNALED(st))
			printf("an orphan was killed by signal %d\n", WTERMSIG(st));
	return failures;
}
