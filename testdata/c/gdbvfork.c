/* gdbvfork is a debugger's target that makes children with vfork from a threaded
 * process: the debugger waits for each child's first stop while the parent sits in its
 * vfork event stop, detaches the child and sees the parent's vfork-done stop. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		usleep(1000);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return 42;
	pthread_t th;
	pthread_create(&th, NULL, sleeper, NULL);
	for (int i = 0; i < 3; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			execl("/proc/self/exe", argv[0], "child", (char *)NULL);
			_exit(1);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		printf("child %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	return 0;
}
