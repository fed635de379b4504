/* gdbattach is a debugger's target to attach to: three threads and the first sleep, and
 * it says "ready" on stdout once all four are there. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		sleep(1);
	return arg;
}

int main(void)
{
	pthread_t th;
	for (int i = 0; i < 3; i++)
		pthread_create(&th, NULL, sleeper, NULL);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 60; i++)
		sleep(1);
	return 0;
}
