/* inject.c: a fixed sequence of system calls in a main thread, a second thread and a
 * child process, printing what each returned, for comparing tampered runs (strace -e
 * inject= natively, vemu run --inject= under vemu). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	(void)sig;
	got++;
}

static void calls(const char *who, int base)
{
	for (int i = 0; i < 4; i++) {
		int r = close(base + i);
		printf("%s close(%d) = %d %s\n", who, base + i, r, r < 0 ? strerror(errno) : "");
	}
	int d = dup(1);
	printf("%s dup = %d\n", who, d >= 0 ? 1 : -errno); /* the number differs by host */
	if (d > 2 && d != 42)
		close(d);
	fflush(stdout);
}

static void *thread(void *arg)
{
	(void)arg;
	calls("thread", 100);
	return NULL;
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	calls("main", 10);
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		calls("child", 200);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	long pp = getppid();
	printf("getppid %s, usr1 %d\n", pp == 42 ? "42" : pp < 0 ? strerror(errno) : "real", (int)got);
	return 0;
}
