/* exitfiles checks that a process's descriptors are closed by the time its parent's wait
 * returns: a child holding a pipe's only other read end exits, and once it is reaped a
 * write to the pipe must find no reader (EPIPE), every time. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	int late = 0;
	for (int i = 0; i < 300; i++) {
		int p[2];
		if (pipe(p) != 0)
			return 2;
		pid_t pid = fork();
		if (pid == 0)
			_exit(0); /* holds p[0] until it exits */
		close(p[0]);
		waitpid(pid, NULL, 0);
		errno = 0;
		if (write(p[1], "x", 1) != -1 || errno != EPIPE)
			late++;
		close(p[1]);
	}
	printf("writes that found the dead child's read end still open: %d\n", late);
	expect("every write after the wait: EPIPE", late == 0);
	return failures;
}
