/* sysvipc checks System V message queues, semaphores and shared memory between a parent
 * and its children: keys and ids, waits that another process ends, IPC_RMID under a
 * waiter, SEM_UNDO at exit, permissions, and the errors Linux gives. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

struct msg {
	long type;
	char text[64];
};

static void child_then(int delay_ms, void (*f)(int), int arg)
{
	fflush(stdout);
	if (fork() == 0) {
		usleep(delay_ms * 1000);
		f(arg);
		_exit(0);
	}
}

static void send_late(int q)
{
	struct msg m = {7, "late"};
	msgsnd(q, &m, 5, 0);
}

static void rm_queue(int q) { msgctl(q, IPC_RMID, NULL); }

static void sem_up(int s)
{
	struct sembuf op = {0, 1, 0};
	semop(s, &op, 1);
}

static void sem_rm(int s) { semctl(s, 0, IPC_RMID); }

static void reap(void)
{
	while (wait(NULL) > 0)
		;
}

static void queues(void)
{
	int q = msgget(IPC_PRIVATE, 0600);
	expect("msgget", q >= 0);
	struct msg m;
	for (int i = 1; i <= 3; i++) {
		m.type = i;
		snprintf(m.text, sizeof m.text, "message %d", i);
		expect("msgsnd", msgsnd(q, &m, strlen(m.text) + 1, 0) == 0);
	}
	struct msqid_ds ds;
	expect("IPC_STAT", msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 3 && ds.msg_cbytes == 30 && ds.msg_lspid == getpid());
	expect("msgrcv type 2", msgrcv(q, &m, sizeof m.text, 2, 0) == 10 && m.type == 2 && strcmp(m.text, "message 2") == 0);
	expect("msgrcv type -3 takes the lowest", msgrcv(q, &m, sizeof m.text, -3, 0) == 10 && m.type == 1);
	expect_err("msgrcv too small", msgrcv(q, &m, 4, 0, 0), E2BIG);
	expect("MSG_NOERROR truncates", msgrcv(q, &m, 4, 0, MSG_NOERROR) == 4 && m.type == 3);
	expect_err("empty, IPC_NOWAIT", msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT), ENOMSG);
	m.type = 0;
	expect_err("msgsnd type 0", msgsnd(q, &m, 1, 0), EINVAL);
	m.type = 1;
	expect_err("msgsnd too big", msgsnd(q, &m, 9000, 0), EINVAL);
	expect_err("msgctl bad cmd", msgctl(q, 99, &ds), EINVAL);
	expect_err("msgsnd bad id", msgsnd(q + 1, &m, 1, 0), EINVAL);

	child_then(30, send_late, q);
	expect("msgrcv waits for another process", msgrcv(q, &m, sizeof m.text, 7, 0) == 5 && strcmp(m.text, "late") == 0);
	reap();
	child_then(30, rm_queue, q);
	expect_err("IPC_RMID under a waiter", msgrcv(q, &m, sizeof m.text, 0, 0), EIDRM);
	reap();
	expect_err("msgrcv on the removed queue", msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT), EINVAL);

	key_t key = 0x5e000000 | (getpid() & 0xffff);
	int k1 = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	expect("msgget with a key", k1 >= 0);
	expect("msgget finds it", msgget(key, 0) == k1);
	expect_err("IPC_EXCL again", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	expect_err("no such key", msgget(key + 1, 0), ENOENT);
	/* Fill the queue: msgsnd with IPC_NOWAIT then fails. */
	char big[8200];
	memset(big, 'x', sizeof big);
	*(long *)big = 1;
	int sent = 0;
	while (msgsnd(k1, big, 8000, IPC_NOWAIT) == 0)
		sent++;
	expect("a full queue refuses with EAGAIN", errno == EAGAIN && sent == 2);
	msgctl(k1, IPC_RMID, NULL);
}

static void semaphores(void)
{
	int s = semget(IPC_PRIVATE, 2, 0600);
	expect("semget", s >= 0);
	expect("SETVAL", semctl(s, 0, SETVAL, 0) == 0);
	expect("GETVAL", semctl(s, 0, GETVAL) == 0);
	struct sembuf down = {0, -1, IPC_NOWAIT};
	expect_err("semop would block", semop(s, &down, 1), EAGAIN);
	down.sem_flg = 0;
	child_then(30, sem_up, s);
	expect("semop waits for another process", semop(s, &down, 1) == 0);
	reap();
	struct timespec ts = {0, 20000000};
	expect_err("semtimedop times out", semtimedop(s, &down, 1, &ts), EAGAIN);
	unsigned short all[2] = {3, 4}, got[2];
	expect("SETALL", semctl(s, 0, SETALL, all) == 0);
	expect("GETALL", semctl(s, 0, GETALL, got) == 0 && got[0] == 3 && got[1] == 4);
	expect("GETPID", semctl(s, 0, GETPID) == getpid());
	struct sembuf two[2] = {{0, -3, 0}, {1, -5, IPC_NOWAIT}};
	expect_err("all or nothing", semop(s, two, 2), EAGAIN);
	expect("nothing taken", semctl(s, 0, GETVAL) == 3);
	struct sembuf bad = {5, 1, 0};
	expect_err("sem_num out of range", semop(s, &bad, 1), EFBIG);
	expect_err("SETVAL too big", semctl(s, 0, SETVAL, 40000), ERANGE);
	expect_err("nsops 0", semop(s, &bad, 0), EINVAL);

	/* SEM_UNDO: the child's increment is undone when it exits. */
	semctl(s, 1, SETVAL, 0);
	fflush(stdout);
	if (fork() == 0) {
		struct sembuf up = {1, 2, SEM_UNDO};
		semop(s, &up, 1);
		_exit(semctl(s, 1, GETVAL));
	}
	int st;
	wait(&st);
	expect("the child saw its increment", WIFEXITED(st) && WEXITSTATUS(st) == 2);
	expect("undone at its exit", semctl(s, 1, GETVAL) == 0);

	semctl(s, 0, SETVAL, 0);
	child_then(30, sem_rm, s);
	expect_err("IPC_RMID under a waiter", semop(s, &down, 1), EIDRM);
	reap();
	expect_err("semctl on the removed set", semctl(s, 0, GETVAL), EINVAL);
	expect_err("semget 0 semaphores", semget(IPC_PRIVATE, 0, 0600), EINVAL);
}

static void segments(void)
{
	int id = shmget(IPC_PRIVATE, 10000, 0600);
	expect("shmget", id >= 0);
	char *p = shmat(id, NULL, 0);
	expect("shmat", p != (void *)-1);
	strcpy(p, "parent");
	fflush(stdout);
	if (fork() == 0) {
		char *q = shmat(id, NULL, 0);
		int ok = strcmp(q, "parent") == 0 && strcmp(p, "parent") == 0;
		strcpy(q, "child");
		strcpy(p + 5000, "inherited");
		shmdt(q);
		_exit(ok ? 0 : 1);
	}
	int st;
	wait(&st);
	expect("the child saw the parent's bytes", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect("the parent sees the child's", strcmp(p, "child") == 0 && strcmp(p + 5000, "inherited") == 0);
	struct shmid_ds ds;
	expect("IPC_STAT", shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz == 10000 && ds.shm_nattch == 1 &&
				   ds.shm_cpid == getpid());
	expect("shmdt", shmdt(p) == 0);
	expect_err("shmdt again", shmdt(p), EINVAL);
	expect_err("shmat misaligned", (long)shmat(id, (void *)0x10001, 0), EINVAL);
	expect("IPC_RMID", shmctl(id, IPC_RMID, NULL) == 0);
	expect_err("shmat after IPC_RMID", (long)shmat(id, NULL, 0), EINVAL);
	expect_err("shmget size 0", shmget(IPC_PRIVATE, 0, 0600), EINVAL);
	key_t key = 0x5f000000 | (getpid() & 0xffff);
	int k = shmget(key, 4096, IPC_CREAT | 0600);
	expect_err("shmget bigger than the segment", shmget(key, 8192, 0), EINVAL);
	shmctl(k, IPC_RMID, NULL);
}

static void permissions(void)
{
	int q = msgget(IPC_PRIVATE, 0600), s = semget(IPC_PRIVATE, 1, 0644), m = shmget(IPC_PRIVATE, 4096, 0600);
	fflush(stdout);
	if (fork() == 0) {
		if (setuid(1000))
			_exit(9);
		struct msg msg = {1, "x"};
		expect_err("msgsnd without permission", msgsnd(q, &msg, 1, 0), EACCES);
		expect("semctl GETVAL with read permission", semctl(s, 0, GETVAL) == 0);
		struct sembuf up = {0, 1, 0};
		expect_err("semop without write permission", semop(s, &up, 1), EACCES);
		expect_err("shmat without permission", (long)shmat(m, NULL, 0), EACCES);
		expect_err("IPC_RMID by another user", msgctl(q, IPC_RMID, NULL), EPERM);
		fflush(stdout);
		_exit(failures);
	}
	int st;
	wait(&st);
	failures += WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	msgctl(q, IPC_RMID, NULL);
	semctl(s, 0, IPC_RMID);
	shmctl(m, IPC_RMID, NULL);
}

int main(void)
{
	queues();
	semaphores();
	segments();
	if (getuid() == 0)
		permissions();
	return failures;
}
