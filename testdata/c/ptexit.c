/* ptexit: a tracer's request that lets its tracee go must succeed even when the tracee
 * ends before the tracer reads the answer. Each round a child asks to be traced, stops,
 * makes one call and exits; the parent resumes it at every stop with PTRACE_SYSCALL,
 * PTRACE_CONT or PTRACE_DETACH, the last of which races the child's exit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long pt(long req, pid_t pid, long data)
{
	return syscall(SYS_ptrace, req, pid, 0L, data);
}

/* rounds runs n children to their end, resuming each with req; it returns how many
 * requests failed and prints the first failure. */
static int rounds(const char *what, long req, int n)
{
	int failed = 0, stops = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			pt(PTRACE_TRACEME, 0, 0);
			kill(getpid(), SIGSTOP);
			syscall(SYS_getppid);
			_exit(7);
		}
		for (;;) {
			int st;
			if (waitpid(pid, &st, 0) != pid) {
				printf("%s: waitpid: %s\n", what, strerror(errno));
				return n;
			}
			if (WIFEXITED(st) || WIFSIGNALED(st)) {
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
					printf("%s: child ended with %#x\n", what, st);
				break;
			}
			stops++;
			if (pt(req, pid, 0) != 0) {
				if (failed++ == 0)
					printf("%s: round %d: the request failed: %s\n", what, i, strerror(errno));
				kill(pid, SIGKILL);
			}
		}
	}
	printf("%s: %d rounds, %d failed requests, %s stops\n", what, n, failed,
	       stops >= n ? "all" : "missing");
	return failed;
}

int main(void)
{
	int bad = rounds("PTRACE_SYSCALL", PTRACE_SYSCALL, 300);
	bad += rounds("PTRACE_CONT", PTRACE_CONT, 300);
	bad += rounds("PTRACE_DETACH", PTRACE_DETACH, 300);
	return bad != 0;
}
