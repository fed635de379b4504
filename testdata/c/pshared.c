/* pshared runs process-shared pthread mutexes, condition variables and semaphores, and
 * raw futexes, between a parent and a child: in anonymous shared memory inherited by
 * fork, in a file both map on their own, and in System V shared memory. A wait in one
 * process must be woken by the other. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_PRIVATE 128

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int turn, count;
	sem_t sem;
};

#define ROUNDS 200

static void pingpong(struct shared *s, int me)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&s->mu);
		while (s->turn != me)
			pthread_cond_wait(&s->cond, &s->mu);
		s->count++;
		s->turn = !me;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
	}
}

static void init(struct shared *s)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->mu, &ma);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_cond_init(&s->cond, &ca);
	sem_init(&s->sem, 1, 0);
	s->turn = 0;
	s->count = 0;
}

static int run(const char *what, struct shared *s)
{
	init(s);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pingpong(s, 1);
		for (int i = 0; i < 50; i++)
			sem_post(&s->sem);
		_exit(0);
	}
	pingpong(s, 0);
	int got = 0;
	for (int i = 0; i < 50; i++)
		got += sem_wait(&s->sem) == 0;
	int st;
	waitpid(pid, &st, 0);
	printf("%s: count %d, semaphore %d, child %s\n", what, s->count, got, WIFEXITED(st) && !WEXITSTATUS(st) ? "ok" : "failed");
	return s->count == 2 * ROUNDS && got == 50;
}

/* Atomic read-modify-writes of two processes on one word lose nothing: an atomic add,
 * and a plain increment under a compare-and-swap spinlock. */
#define ADDS 300000

static void add(long *counter, long *plain, int *lock)
{
	for (int i = 0; i < ADDS; i++) {
		__atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
		int free = 0;
		while (!__atomic_compare_exchange_n(lock, &free, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			free = 0;
		++*(volatile long *)plain;
		__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
	}
}

static int atomics(long *mem)
{
	mem[0] = mem[1] = mem[2] = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		add(&mem[0], &mem[1], (int *)&mem[2]);
		_exit(0);
	}
	add(&mem[0], &mem[1], (int *)&mem[2]);
	int st;
	waitpid(pid, &st, 0);
	printf("atomics: added %ld and %ld of %d\n", mem[0], mem[1], 2 * ADDS);
	return mem[0] == 2 * ADDS && mem[1] == 2 * ADDS;
}

static long futex(uint32_t *w, int op, uint32_t val) { return syscall(SYS_futex, w, op, val, NULL, NULL, 0); }

int main(void)
{
	struct shared *anon = mmap(NULL, sizeof *anon, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	expect("anonymous shared memory", run("anonymous", anon));
	expect("atomic updates by two processes are atomic", atomics((long *)anon));

	char path[] = "/tmp/pshared.XXXXXX";
	int fd = mkstemp(path);
	ftruncate(fd, 4096);
	struct shared *file = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect("shared file mapping", run("file", file));

	/* A child that maps the file on its own, at its own address, and waits on a raw
	 * futex that the parent wakes. */
	uint32_t *word = (uint32_t *)((char *)file + 2048);
	*word = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		munmap(file, 4096);
		void *again = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint32_t *mine = (uint32_t *)((char *)mmap((char *)again + 4096, 4096, PROT_READ | PROT_WRITE,
							    MAP_SHARED | MAP_FIXED, fd, 0) + 2048);
		while (__atomic_load_n(mine, __ATOMIC_SEQ_CST) == 0)
			futex(mine, FUTEX_WAIT, 0);
		_exit(*mine == 7 ? 0 : 1);
	}
	usleep(50000);
	__atomic_store_n(word, 7, __ATOMIC_SEQ_CST);
	long woke = futex(word, FUTEX_WAKE, 1);
	int st;
	waitpid(pid, &st, 0);
	expect("a raw futex wait in another mapping of the file is woken", WIFEXITED(st) && WEXITSTATUS(st) == 0 && woke <= 1);
	unlink(path);

	int id = shmget(IPC_PRIVATE, 4096, 0600);
	struct shared *seg = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	expect("System V shared memory", run("sysv", seg));
	/* FUTEX_PRIVATE_FLAG on shared memory stays within the process, as on Linux. */
	*word = 0;
	expect_err("private wait sees the value", futex(word, FUTEX_WAIT_PRIVATE, 1), EAGAIN);
	return failures;
}
