/* clonevm makes a child with clone(CLONE_VM) that is not a thread: it runs in its
 * parent's memory, so what either writes the other reads, and their atomics and locks
 * work between them — a lock of their own on private futexes too, which Linux keys by the
 * memory they share — while each keeps its own process id. (libc's mutexes would not
 * do: each process believes it is single-threaded and skips their atomics.) Memory a
 * child maps is its parent's too once the child has ended: 200 children each map a page,
 * write it and unmap another's, and the parent reads what they left. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#include <unistd.h>

#include "check.h"

#define ADDS 200000

static int global;
static char *heap;
static long counter;
static int mu;
static long locked;
static volatile int go;
static pid_t child_pid_seen;

static char *mapped[200];

/* mapper maps a page for its parent and unmaps one an earlier child mapped. */
static int mapper(void *arg)
{
	long i = (long)arg;
	char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	p[0] = (char)i;
	p[4095] = 'e';
	mapped[i] = p;
	if (i >= 10 && i % 10 == 0) {
		munmap(mapped[i - 10], 4096); /* Linux unmaps it for both; vemu for the child */
		mapped[i - 10] = 0;
	}
	return 0;
}

static void lock(void)
{
	int c = 0;
	if (__atomic_compare_exchange_n(&mu, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	while (__atomic_exchange_n(&mu, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, &mu, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

static void unlock(void)
{
	if (__atomic_exchange_n(&mu, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, &mu, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int child(void *arg)
{
	global = 42;
	heap[0] = 'c';
	child_pid_seen = getpid();
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	for (int i = 0; i < ADDS; i++) {
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
		lock();
		locked++;
		unlock();
	}
	return 7;
}

int main(void)
{
	heap = malloc(64);
	heap[0] = 'p';
	size_t size = 256 * 1024;
	char *stack = malloc(size);
	pid_t pid = clone(child, stack + size, CLONE_VM | SIGCHLD, NULL);
	if (pid < 0) {
		perror("clone");
		return 1;
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < ADDS; i++) {
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
		lock();
		locked++;
		unlock();
	}
	int st;
	expect("waitpid finds the child", waitpid(pid, &st, 0) == pid);
	printf("child exit status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("global written by the child: %d\n", global);
	printf("heap byte written by the child: %c\n", heap[0]);
	expect("the child had its own pid", child_pid_seen == pid && pid != getpid());
	printf("atomic adds: %ld of %d\n", counter, 2 * ADDS);
	printf("adds under a futex lock: %ld of %d\n", locked, 2 * ADDS);

	/* Mappings made by children that then exit. */
	int seen = 0;
	for (int i = 0; i < 200; i++) {
		pid = clone(mapper, stack + size, CLONE_VM | SIGCHLD, (void *)(long)i);
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			break;
		if (mapped[i] && mapped[i][0] == (char)i && mapped[i][4095] == 'e')
			seen++;
	}
	printf("pages mapped by children, read by the parent: %d of 200\n", seen);
	free(stack);
	return failures;
}
