/* threadstop: a process of four threads stops itself with SIGSTOP while three of them
 * wait in read, and its parent, once waitpid(WUNTRACED) says it stopped (every thread
 * stopped in the group-stop), continues it with SIGCONT. Under `strace -f`, each of the
 * four threads reports the stop. No step depends on timing: the threads tell the
 * first one through a pipe that they read their byte, then wait in read until the
 * process ends, so that the calls made are the same at each run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

enum { N = 3 };

static int wake[2]; /* the threads wait to read it */
static int ack[2];  /* each says it read its byte */
static int never[2]; /* nobody writes it: the process's end ends the read */

static void *waiter(void *arg)
{
	(void)arg;
	char c;
	if (read(wake[0], &c, 1) != 1)
		_exit(10);
	if (write(ack[1], "a", 1) != 1)
		_exit(11);
	read(never[0], &c, 1);
	return 0;
}

static int stopper(void)
{
	pthread_t th[N];
	for (int i = 0; i < N; i++)
		if (pthread_create(&th[i], 0, waiter, 0) != 0)
			return 12;
	kill(getpid(), SIGSTOP);
	if (write(wake[1], "www", N) != N)
		return 13;
	char c[N];
	for (int got = 0; got < N;) {
		ssize_t n = read(ack[0], c, N - got);
		if (n <= 0)
			return 14;
		got += n;
	}
	return 0;
}

int main(void)
{
	if (pipe(wake) != 0 || pipe(ack) != 0 || pipe(never) != 0)
		return 1;
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		return 2;
	if (child == 0)
		_exit(stopper());
	int st;
	if (waitpid(child, &st, WUNTRACED) != child)
		return 3;
	printf("child: %s %d\n", WIFSTOPPED(st) ? "stopped, signal" : "ended, status", WIFSTOPPED(st) ? WSTOPSIG(st) : st);
	if (WIFSTOPPED(st)) {
		kill(child, SIGCONT);
		if (waitpid(child, &st, 0) != child)
			return 4;
		printf("continued, then %s %d\n", WIFEXITED(st) ? "exit status" : "status", WIFEXITED(st) ? WEXITSTATUS(st) : st);
	}
	return 0;
}
