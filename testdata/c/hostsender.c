/* hostsender prints "ready", then takes SIGHUP, SIGQUIT and SIGUSR1 sent to it with
 * kill(2) by its parent: each with si_code SI_USER and the parent's pid and uid, and to
 * this process only, not to the child in its process group (as a terminal's signals would
 * reach it). nginx's master logs "signal 1 (SIGHUP) received from PID". */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got, bad_code, bad_pid, bad_uid;
static pid_t parent;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	got++;
	if (si->si_code != SI_USER)
		bad_code++;
	if (si->si_pid != parent)
		bad_pid++;
	if (si->si_uid != getuid())
		bad_uid++;
}

static volatile sig_atomic_t child_got;

static void on_child_sig(int sig)
{
	(void)sig;
	child_got++;
}

int main(void)
{
	parent = getppid();
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	int p[2];
	if (pipe(p))
		return 2;
	pid_t c = fork();
	if (c == 0) {
		signal(SIGHUP, on_child_sig);
		signal(SIGQUIT, on_child_sig);
		signal(SIGUSR1, on_child_sig);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(p[1]);
		char b;
		while (read(p[0], &b, 1) < 0)
			;
		printf("the child got %d of them\n", (int)child_got);
		return 0;
	}
	close(p[0]);
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (got < 3)
		sigsuspend(&old);
	/* Give a signal that went astray to the child time to arrive. */
	usleep(200000);
	close(p[1]);
	int st;
	waitpid(c, &st, 0);
	printf("signals: %d\n", (int)got);
	printf("si_code SI_USER: %s\n", bad_code ? "NO" : "yes");
	printf("si_pid the sender's: %s\n", bad_pid ? "NO" : "yes");
	printf("si_uid the sender's: %s\n", bad_uid ? "NO" : "yes");
	return 0;
}
