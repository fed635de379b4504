/* killstart: SIGTERM sent to a child at once after fork or vfork and exec, while it
 * starts or runs guest code: every child dies of SIGTERM, none of another signal from a
 * run the signal cut short. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static volatile unsigned long sink;

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		/* Guest code and calls until the signal comes. */
		for (;;) {
			for (unsigned long i = 0; i < 100000; i++)
				sink += i * i;
			getppid();
		}
	}
	for (int v = 0; v < 2; v++) {
		int term = 0, other = 0;
		for (int i = 0; i < 300; i++) {
			pid_t c = v ? vfork() : fork();
			if (c == 0) {
				char *a[] = {argv[0], "child", NULL};
				execv("/proc/self/exe", a);
				_exit(127);
			}
			if (c < 0)
				break;
			if (i % 30)
				usleep((i % 30) * 30);
			kill(c, SIGTERM);
			int st;
			if (waitpid(c, &st, 0) != c)
				break;
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
				term++;
			else if (other++ < 3)
				printf("%s child %d: status %#x\n", v ? "vfork" : "fork", i, st);
		}
		printf("%s: %d of 300 children died of SIGTERM\n", v ? "vfork" : "fork", term);
		expect(v ? "vfork: every child died of SIGTERM" : "fork: every child died of SIGTERM",
		       term == 300 && other == 0);
	}
	return failures != 0;
}
