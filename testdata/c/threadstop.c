/* threadstop stops itself with SIGSTOP while three more threads wait in read, and a
 * child it forked first continues it: the child sends SIGCONT until the first thread
 * says, through a pipe, that it runs again (a SIGCONT sent before the stop does not end
 * it; the next one does). Under `strace -f`, each of the four threads reports the stop. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wake[2];   /* the threads wait to read it */
static int resumed[2]; /* the first thread tells the child it runs */

static void *waiter(void *arg)
{
	(void)arg;
	char c;
	read(wake[0], &c, 1);
	return 0;
}

int main(void)
{
	pipe(wake);
	pipe(resumed);
	pid_t me = getpid();
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(resumed[1]);
		for (;;) {
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, 0);
			kill(me, SIGCONT);
			fd_set r;
			FD_ZERO(&r);
			FD_SET(resumed[0], &r);
			struct timeval tv = {0, 0};
			if (select(resumed[0] + 1, &r, 0, 0, &tv) > 0)
				_exit(0);
		}
	}
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], 0, waiter, 0);
	kill(me, SIGSTOP);
	write(resumed[1], "r", 1);
	write(wake[1], "www", 3);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], 0);
	int st;
	waitpid(child, &st, 0);
	printf("stopped, continued, threads joined, child status %d\n", st);
	return 0;
}
