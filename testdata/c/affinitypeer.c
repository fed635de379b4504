/* affinitypeer: sched_getaffinity of another process's threads reads the mask they
 * set, as taskset -p shows it: a child that pins itself to its first CPU, a thread it
 * starts afterwards (which inherits the mask), and a grandchild it forks; a process
 * that set none reads as all the CPUs it may use. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int ids[2];

static void *thread(void *arg)
{
	int tid = syscall(SYS_gettid);
	write(ids[1], &tid, sizeof tid);
	char c;
	read(*(int *)arg, &c, 1);
	return NULL;
}

static int count(pid_t pid)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	if (sched_getaffinity(pid, sizeof s, &s) < 0)
		return -1;
	return CPU_COUNT(&s);
}

int main(void)
{
	cpu_set_t all, one;
	sched_getaffinity(0, sizeof all, &all);
	int first = -1;
	for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
		if (CPU_ISSET(i, &all))
			first = i;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	int n = CPU_COUNT(&all);

	int go[2];
	pipe(ids);
	pipe(go);
	pid_t child = fork();
	if (child == 0) {
		close(go[1]);
		sched_setaffinity(0, sizeof one, &one);
		pthread_t th;
		pthread_create(&th, NULL, thread, &go[0]);
		pid_t gc = fork();
		if (gc == 0) {
			int me = getpid();
			write(ids[1], &me, sizeof me);
			char c;
			read(go[0], &c, 1);
			_exit(0);
		}
		char c;
		read(go[0], &c, 1);
		pthread_join(th, NULL);
		waitpid(gc, NULL, 0);
		_exit(0);
	}
	int a, b;
	read(ids[0], &a, sizeof a);
	read(ids[0], &b, sizeof b);
	expect("the pinned child reads as one CPU", count(child) == 1);
	expect("its later thread and its child too", count(a) == 1 && count(b) == 1);
	pid_t idle = fork();
	if (idle == 0) {
		close(go[1]);
		char c;
		read(go[0], &c, 1);
		_exit(0);
	}
	expect("a process that set none reads as all CPUs", count(idle) == n);
	expect("the caller's own mask is all CPUs", count(0) == n);
	close(go[1]);
	waitpid(child, NULL, 0);
	waitpid(idle, NULL, 0);
	return failures != 0;
}
