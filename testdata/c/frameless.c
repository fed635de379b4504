/* frameless delivers signals whose frame cannot be written (an alternate stack that is
 * read-only): Linux then forces SIGSEGV, which reaches its handler when it can run
 * (si_code SI_KERNEL), and ends the process when the signal was SIGSEGV itself. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static sigjmp_buf env;
static volatile int got_usr1, got_segv_code = -1;

static void on_usr1(int sig) { got_usr1 = 1; }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	got_segv_code = si->si_code;
	siglongjmp(env, 1);
}

static void readonly_altstack(void)
{
	stack_t ss = {0};
	ss.ss_size = 64 * 1024;
	ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sigaltstack(&ss, NULL);
}

int main(void)
{
	readonly_altstack();
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	struct sigaction sv = {0};
	sv.sa_sigaction = on_segv;
	sv.sa_flags = SA_SIGINFO; /* on the normal stack */
	sigaction(SIGSEGV, &sv, NULL);
	if (sigsetjmp(env, 1) == 0)
		raise(SIGUSR1);
	expect("the SIGUSR1 handler did not run", !got_usr1);
	printf("SIGSEGV handler: si_code %d\n", got_segv_code);
	struct sigaction now;
	sigaction(SIGSEGV, NULL, &now);
	expect("the SIGSEGV handler stays", now.sa_sigaction == on_segv);

	/* SIGSEGV itself on the read-only stack: the process dies by SIGSEGV. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		sv.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaction(SIGSEGV, &sv, NULL);
		raise(SIGSEGV);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("killed by SIGSEGV", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);

	/* SIGSEGV blocked: the forced one still kills. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigprocmask(SIG_BLOCK, &set, NULL);
		raise(SIGUSR1);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	expect("blocked SIGSEGV: killed by SIGSEGV", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	return failures;
}
