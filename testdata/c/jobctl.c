/* jobctl stops and continues children: SIGSTOP and SIGCONT from the parent, a child that
 * stops itself, wait4's WUNTRACED and WCONTINUED, waitid's WSTOPPED with WNOWAIT, SIGCHLD's
 * CLD_STOPPED and CLD_CONTINUED (and SA_NOCLDSTOP), a caught SIGTSTP, and SIGKILL of a
 * stopped child. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t codes[16], ncodes;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (ncodes < 16)
		codes[ncodes++] = si->si_code;
}

static void chld_handler(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
	sigaction(SIGCHLD, &sa, NULL);
}

static volatile sig_atomic_t got_cont, got_tstp;
static void on_cont(int sig)
{
	(void)sig;
	got_cont = 1;
}
static void on_tstp(int sig)
{
	(void)sig;
	got_tstp = 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int p[2], st;
	char b;

	/* The parent stops and continues a child that writes to it. */
	chld_handler(0);
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		signal(SIGCONT, on_cont);
		close(p[0]);
		for (int i = 0; i < 4; i++) {
			write(p[1], "x", 1);
			usleep(20000);
		}
		_exit(got_cont ? 7 : 8);
	}
	close(p[1]);
	read(p[0], &b, 1);
	kill(c, SIGSTOP);
	expect("wait4 WUNTRACED reports the stop",
	       waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	expect("a stop is reported once", waitpid(c, &st, WUNTRACED | WNOHANG) == 0);
	kill(c, SIGCONT);
	expect("wait4 WCONTINUED reports the continuation", waitpid(c, &st, WCONTINUED) == c && WIFCONTINUED(st));
	int n = 1;
	while (read(p[0], &b, 1) == 1)
		n++;
	expect("the child went on writing", n == 4);
	waitpid(c, &st, 0);
	expect("its SIGCONT handler ran", WIFEXITED(st) && WEXITSTATUS(st) == 7);
	close(p[0]);
	printf("SIGCHLD codes:");
	for (int i = 0; i < ncodes; i++)
		printf(" %d", codes[i]);
	printf("\n");

	/* A child that stops itself; waitid with WNOWAIT leaves the stop to report. */
	ncodes = 0;
	chld_handler(SA_NOCLDSTOP);
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(5);
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	expect("waitid WSTOPPED|WNOWAIT", waitid(P_PID, c, &si, WSTOPPED | WNOWAIT) == 0 &&
						  si.si_code == CLD_STOPPED && si.si_status == SIGSTOP && si.si_pid == c);
	expect("the stop is still there for wait4", waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st));
	kill(c, SIGCONT);
	waitpid(c, &st, 0);
	expect("it exits after SIGCONT", WIFEXITED(st) && WEXITSTATUS(st) == 5);
	expect("SA_NOCLDSTOP: only the exit's SIGCHLD", ncodes == 1 && codes[0] == CLD_EXITED);

	/* A caught SIGTSTP does not stop; SIGKILL ends a stopped child. */
	c = fork();
	if (c == 0) {
		signal(SIGTSTP, on_tstp);
		raise(SIGTSTP);
		if (!got_tstp)
			_exit(1);
		raise(SIGSTOP);
		_exit(2);
	}
	expect("the child stops after its SIGTSTP handler",
	       waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	kill(c, SIGKILL);
	expect("SIGKILL ends it while stopped", waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return failures != 0;
}
