/* proctask reads its threads' entries in /proc: /proc/self/task lists every thread,
 * /proc/TID and /proc/self/task/TID describe that thread (its id, its name set with
 * PR_SET_NAME, its signal mask, whether it sleeps), and /proc/self is a directory that
 * lists its entries. Writing comm renames a thread of the writer's process. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define THREADS 3

static pthread_barrier_t ready;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;
static pid_t tids[THREADS];

static void *worker(void *arg)
{
	long i = (long)arg;
	char name[16];
	snprintf(name, sizeof name, "worker-%ld", i);
	prctl(PR_SET_NAME, name);
	if (i == 1) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	tids[i] = syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	pthread_mutex_lock(&mu);
	while (!done)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t got = read(fd, buf, n - 1);
	close(fd);
	if (got < 0)
		return -1;
	buf[got] = 0;
	return 0;
}

/* field copies the value of "Key:\t..." in a status text into out ("" if absent). */
static const char *field(const char *text, const char *key, char *out, size_t n)
{
	out[0] = 0;
	const char *p = strstr(text, key);
	if (p) {
		p += strlen(key);
		while (*p == '\t' || *p == ' ')
			p++;
		size_t len = strcspn(p, "\n");
		if (len >= n)
			len = n - 1;
		memcpy(out, p, len);
		out[len] = 0;
	}
	return out;
}

static int listed(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, name))
			found = 1;
	closedir(d);
	return found;
}

int main(void)
{
	pid_t pid = getpid();
	char buf[8192], path[128], val[128], want[64];
	pthread_t th[THREADS];
	pthread_barrier_init(&ready, NULL, THREADS + 1);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	pthread_barrier_wait(&ready);
	usleep(100000); /* let them reach their waits */

	int n = 0, all = 1;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		pid_t t = atoi(e->d_name);
		int mine = t == pid;
		for (int i = 0; i < THREADS; i++)
			mine |= t == tids[i];
		all &= mine;
	}
	if (d)
		closedir(d);
	printf("threads listed in /proc/self/task: %d\n", n);
	expect("each is one of ours", all);

	for (int i = 0; i < THREADS; i++) {
		snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[i]);
		if (slurp(path, buf, sizeof buf) < 0)
			strcpy(buf, "(unreadable)\n");
		printf("task %d comm: %s", i, buf);
		snprintf(path, sizeof path, "/proc/%d/status", tids[i]);
		if (slurp(path, buf, sizeof buf) < 0)
			buf[0] = 0;
		snprintf(want, sizeof want, "%d", tids[i]);
		expect("/proc/TID/status has the thread's Pid", !strcmp(field(buf, "\nPid:", val, sizeof val), want));
		snprintf(want, sizeof want, "%d", pid);
		expect("and the process's Tgid", !strcmp(field(buf, "\nTgid:", val, sizeof val), want));
		printf("its name: %s\n", field(buf, "Name:", val, sizeof val));
		printf("its state: %s\n", field(buf, "State:", val, sizeof val));
		printf("its blocked signals: %s\n", field(buf, "SigBlk:", val, sizeof val));
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tids[i]);
		if (slurp(path, buf, sizeof buf) < 0)
			buf[0] = 0;
		snprintf(want, sizeof want, "%d (worker-%d) S ", tids[i], i);
		expect("its stat starts with its id, name and state", !strncmp(buf, want, strlen(want)));
	}

	prctl(PR_SET_NAME, "the-main-thread-name-is-long");
	char got[32] = "";
	prctl(PR_GET_NAME, got);
	printf("PR_GET_NAME after a long PR_SET_NAME: %s\n", got);
	slurp("/proc/self/comm", buf, sizeof buf);
	printf("/proc/self/comm: %s", buf);
	slurp("/proc/thread-self/comm", buf, sizeof buf);
	printf("/proc/thread-self/comm: %s", buf);
	snprintf(path, sizeof path, "/proc/self/task/%d/nonexistent", pid);
	expect_err("a missing entry of a thread", open(path, O_RDONLY), ENOENT);
	expect_err("a thread that does not exist", open("/proc/self/task/999999999/status", O_RDONLY), ENOENT);

	printf("/proc/self lists status: %d, task: %d, fd: %d\n", listed("/proc/self", "status"),
	       listed("/proc/self", "task"), listed("/proc/self", "fd"));
	snprintf(path, sizeof path, "/proc/self/task/%d", tids[0]);
	printf("a thread's directory lists status: %d\n", listed(path, "status"));

	int fd = open("/proc/self/status", O_RDONLY);
	printf("status opened read-only: F_GETFL access mode %d\n", fcntl(fd, F_GETFL) & O_ACCMODE);
	expect_err("writing it", write(fd, "x", 1), EBADF);
	close(fd);

	/* Writing comm names the thread, as PR_SET_NAME does: the first 15 bytes, a newline
	 * kept. Other files take no writes, and a seq file no pwrite. */
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[0]);
	int cfd = open(path, O_WRONLY);
	expect("a thread's comm opens for writing", cfd >= 0);
	expect("a write names the thread", write(cfd, "renamed-by-proc-and-cut\n", 24) == 24);
	snprintf(path, sizeof path, "/proc/%d/status", tids[0]);
	slurp(path, buf, sizeof buf);
	printf("its name now: %s\n", field(buf, "Name:", val, sizeof val));
	expect_err("pwrite on comm", pwrite(cfd, "x", 1, 0), ESPIPE);
	fd = open("/proc/self/comm", O_RDWR);
	expect("the main thread's comm opens read-write", fd >= 0);
	expect("a name with its newline", write(fd, "mine\n", 5) == 5);
	slurp("/proc/self/comm", buf, sizeof buf);
	printf("/proc/self/comm after writing \"mine\\n\": %zu bytes\n", strlen(buf));
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		/* The inherited file names a thread of another process now. */
		expect_err("a forked child writing its parent's comm", write(fd, "child", 5), EINVAL);
		if (getuid() == 0 && setuid(65534) != 0)
			_exit(99);
		expect_err("opening stat for writing as another user", open("/proc/self/stat", O_WRONLY), EACCES);
		if (getuid() == 65534)
			expect_err("comm too: a process that changed ids is root's", open("/proc/self/comm", O_WRONLY), EACCES);
		prctl(PR_SET_DUMPABLE, 1);
		expect_err("stat again, dumpable", open("/proc/self/stat", O_WRONLY), EACCES);
		int own = open("/proc/self/comm", O_WRONLY);
		expect("its own comm opens for writing", own >= 0);
		expect("and takes a name", write(own, "kid", 3) == 3);
		char kid[32] = "";
		prctl(PR_GET_NAME, kid);
		printf("child's name: %s\n", kid);
		fflush(stdout);
		_exit(failures);
	}
	int st;
	waitpid(child, &st, 0);
	expect("the child's checks", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	if (getuid() == 0) {
		fd = open("/proc/self/stat", O_RDWR);
		expect("root opens stat for writing", fd >= 0);
		expect_err("and cannot write it", write(fd, "x", 1), EINVAL);
		close(fd);
	}

	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	/* Linux wakes a joiner when the thread clears its tid, a moment before the thread
	 * leaves /proc: look again for up to a second while one lingers. */
	for (int tries = 0; tries < 1000; tries++) {
		d = opendir("/proc/self/task");
		n = 0;
		while (d && (e = readdir(d)))
			n += e->d_name[0] != '.';
		if (d)
			closedir(d);
		if (n <= 1)
			break;
		usleep(1000);
	}
	printf("threads listed after the joins: %d\n", n);
	expect_err("writing the comm of a thread that has ended", write(cfd, "late", 4), ESRCH);
	close(cfd);
	return failures;
}
