/* nproc makes processes (nproc fork) or threads (nproc thread) until the system refuses
 * one, as a fork bomb under a low `ulimit -u` does, and says how it was refused; then
 * ends them all. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errnames.h"

#define MAX 2000

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int n = 0, err = 0;
	if (argc > 1 && !strcmp(argv[1], "thread")) {
		pthread_t th;
		for (; n < MAX; n++)
			if ((err = pthread_create(&th, NULL, sleeper, NULL)) != 0)
				break;
		printf("threads: refused: %s\n", n < MAX ? errname(err) : "never");
		return n < MAX && err == EAGAIN ? 0 : 1;
	}
	static pid_t kids[MAX];
	for (; n < MAX; n++) {
		pid_t pid = fork();
		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			pause();
			_exit(0);
		}
		kids[n] = pid;
	}
	printf("processes: refused: %s\n", n < MAX ? errname(err) : "never");
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return n < MAX && err == EAGAIN ? 0 : 1;
}
