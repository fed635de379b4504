/* threadexit ends its process from a second thread, after that thread took a signal
 * of its own, while the first thread waits in pause(): a tracer that follows the first
 * thread only (strace without -f) must see its wait end with the process's status. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int got;

static void on_usr1(int sig)
{
	(void)sig;
	got = 1;
}

static void *ender(void *arg)
{
	(void)arg;
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	usleep(20000);
	if (write(1, got ? "handled\n" : "not handled\n", got ? 8 : 12) < 0)
		exit(2);
	exit(3);
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	pthread_t t;
	pthread_create(&t, 0, ender, 0);
	for (;;)
		pause();
}
