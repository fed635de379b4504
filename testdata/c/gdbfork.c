/* gdbfork forks a child that sets a global, says so and dies of SIGSEGV; the parent
 * ends with status 0 when the child was killed by a signal (gdb kills it at the end),
 * silently, since it runs on detached while gdb prints. Run by gdb with
 * follow-fork-mode child. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int g;

static void crash(volatile int *p)
{
	*p = 1;
}

int main(void)
{
	pid_t c = fork();
	if (c == 0) {
		g = 5;
		printf("child %d\n", g);
		fflush(stdout);
		crash(0);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	return WIFSIGNALED(st) ? 0 : 1;
}
