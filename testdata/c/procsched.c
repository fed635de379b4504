/* procsched reads a thread's /proc syscall, wchan, stack, sched and schedstat as Linux
 * prints them: the reading call itself in its own syscall, the call a thread or a child
 * waits in (number, arguments, stack pointer, and a pc just past a syscall instruction),
 * "running" for a thread that may run, "-1 sp pc" for a stopped one, a zombie's and a
 * reaped one's; who may read them (stack is root's, syscall its owner's and a tracer's);
 * sched's layout and the numbers that must agree (switches, weight, priority), and
 * schedstat's fields. Only what is the same run after run is printed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char buf[8192];
static char comm[32]; /* the program's name, as sched's header has it */

/* call is a syscall line read back: its fields and how many there were. */
struct call {
	int n;
	long nr;
	unsigned long long a[8]; /* six arguments, sp, pc; or sp and pc after -1 */
};

static struct call parse(const char *s)
{
	struct call c = {0};
	c.n = sscanf(s, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &c.nr, &c.a[0], &c.a[1], &c.a[2], &c.a[3],
		     &c.a[4], &c.a[5], &c.a[6], &c.a[7]);
	return c;
}

static int read_path(const char *path, char *out, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int r = read(fd, out, n - 1);
	int e = errno;
	close(fd);
	out[r > 0 ? r : 0] = 0;
	errno = e;
	return r;
}

/* waiting reads path, a thread's syscall, into buf until the thread waits in a call,
 * for at most ten seconds, and returns the read's count. */
static int waiting(const char *path)
{
	int r = -1;
	for (int i = 0; i < 1000; i++) {
		r = read_path(path, buf, sizeof buf);
		if (r < 0 || strncmp(buf, "running", 7))
			break;
		usleep(10000);
	}
	return r;
}

/* zombie waits until process pid has exited (its state is Z), for at most ten seconds. */
static void zombie(pid_t pid)
{
	char path[64], st[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	for (int i = 0; i < 1000; i++) {
		if (read_path(path, st, sizeof st) > 0 && strstr(st, ") Z "))
			return;
		usleep(10000);
	}
}

/* after_syscall says whether the two bytes before pc, in pid's memory, are a syscall
 * instruction. */
static int after_syscall(pid_t pid, unsigned long long pc)
{
	char path[64];
	unsigned char b[2] = {0};
	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDONLY);
	pread(fd, b, 2, pc - 2);
	close(fd);
	return b[0] == 0x0f && b[1] == 0x05;
}

static void own(void)
{
	int fd = open("/proc/self/syscall", O_RDONLY);
	int r = read(fd, buf, sizeof buf - 1);
	buf[r > 0 ? r : 0] = 0;
	struct call c = parse(buf);
	int local;
	printf("own read: %d fields, nr %ld, fd %s, buffer %s, count %s\n", c.n, c.nr, c.a[0] == (unsigned)fd ? "yes" : "no",
	       c.a[1] == (uintptr_t)buf ? "yes" : "no", c.a[2] == sizeof buf - 1 ? "yes" : "no");
	expect("own read: sp on the stack", c.a[6] < (uintptr_t)&local + 65536 && c.a[6] + 65536 > (uintptr_t)&local);
	expect("own read: pc past a syscall instruction", after_syscall(getpid(), c.a[7]));
	r = pread(fd, buf, sizeof buf - 1, 0);
	buf[r > 0 ? r : 0] = 0;
	c = parse(buf);
	printf("own pread: nr %ld, offset %llu\n", c.nr, c.a[3]);
	/* A read that goes on from where the last one ended keeps the text made. */
	lseek(fd, 0, SEEK_SET);
	char head[4];
	read(fd, head, 2);
	r = read(fd, buf, sizeof buf - 1);
	buf[r > 0 ? r : 0] = 0;
	printf("read in two: the second goes on: %s\n", buf[0] == ' ' || (buf[0] >= '0' && buf[0] <= '9') ? "yes" : "no");
	expect_err("write", write(fd, "x", 1), EBADF);
	close(fd);

	r = read_path("/proc/self/wchan", buf, sizeof buf);
	printf("own wchan: \"%s\"\n", buf);
	fd = open("/proc/self/stack", O_RDONLY);
	printf("own stack, opened: %s\n", fd >= 0 ? "yes" : errname(errno));
	r = read(fd, buf, sizeof buf);
	printf("own stack, read: %s\n", r >= 0 ? "ok" : errname(errno));
	close(fd);

	struct stat st;
	const char *names[] = {"syscall", "wchan", "stack", "sched", "schedstat", "pagemap"};
	printf("modes:");
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		char p[64];
		snprintf(p, sizeof p, "/proc/self/%s", names[i]);
		printf(" %s %o", names[i], stat(p, &st) == 0 ? st.st_mode & 07777 : 0);
	}
	printf("\n");
}

/* sched checks the layout of sched and what must hold of its numbers, and prints its keys. */
static void sched(const char *path, const char *comm, int id, int threads, int nice)
{
	if (read_path(path, buf, sizeof buf) < 0) {
		printf("sched: %s\n", errname(errno));
		failures++;
		return;
	}
	char want[128];
	snprintf(want, sizeof want, "%s (%d, #threads: %d)\n", comm, id, threads);
	expect("sched header", strncmp(buf, want, strlen(want)) == 0);
	char *line = strchr(buf, '\n') + 1;
	char *end = strchr(line, '\n');
	expect("sched rule", end && end - line == 67 && strspn(line, "-") == 67);
	long long nsw = -1, vol = -1, invol = -1, weight = -1, prio = -1, policy = -1;
	int bad = 0;
	printf("sched keys:");
	for (line = end + 1; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			break;
		*end = 0;
		char key[64];
		long long v;
		if (sscanf(line, "%63s", key) == 1 && strchr(line, ':') == line + 45) {
			if (sscanf(line + 46, "%lld", &v) != 1)
				bad++;
			printf(" %s", key);
			if (!strcmp(key, "nr_switches"))
				nsw = v;
			else if (!strcmp(key, "nr_voluntary_switches"))
				vol = v;
			else if (!strcmp(key, "nr_involuntary_switches"))
				invol = v;
			else if (!strcmp(key, "se.load.weight"))
				weight = v;
			else if (!strcmp(key, "prio"))
				prio = v;
			else if (!strcmp(key, "policy"))
				policy = v;
		} else if (strncmp(line, "current_node=", 13) && strncmp(line, "numa_faults ", 12)) {
			bad++;
		}
	}
	printf("\n");
	expect("sched lines well formed", bad == 0);
	expect("sched switches add up", nsw == vol + invol && vol >= 0 && invol >= 0);
	printf("sched policy %lld, prio %lld, weight %lld (nice %d)\n", policy, prio, weight, nice);
}

/* schedstat prints whether its three numbers are there, and returns the run time. */
static long long schedstat(const char *path, const char *what)
{
	long long run = -1, wait = -1, slices = -1;
	read_path(path, buf, sizeof buf);
	int n = sscanf(buf, "%lld %lld %lld", &run, &wait, &slices);
	printf("%s: %d fields, slices %s\n", what, n, slices >= 1 ? "some" : "none");
	return run;
}

static volatile int spin_stop;
static void *spinner(void *a)
{
	while (!spin_stop)
		;
	return a;
}

static volatile pid_t spinner_tid;
static void *spin_tid(void *a)
{
	spinner_tid = syscall(SYS_gettid);
	return spinner(a);
}

static void *joiner_read(void *a)
{
	waiting("/proc/self/syscall"); /* the main thread's, in pthread_join */
	struct call c = parse(buf);
	printf("the main thread, joining: nr %ld, %d fields\n", c.nr, c.n);
	return a;
}

/* Threads that read each other's syscall and sched while they run. */
enum { READERS = 8 };
static volatile pid_t reader_tid[READERS];
static volatile int readers_ready, readers_done;
static void *reader(void *a)
{
	long i = (long)a, errs = 0;
	reader_tid[i] = syscall(SYS_gettid);
	__sync_fetch_and_add(&readers_ready, 1);
	while (readers_ready < READERS)
		sched_yield();
	char p[64], b[2048];
	for (int n = 0; n < 40; n++) {
		snprintf(p, sizeof p, "/proc/self/task/%d/%s", reader_tid[(i + n) % READERS], n % 2 ? "syscall" : "sched");
		if (read_path(p, b, sizeof b) <= 0)
			errs++;
	}
	__sync_fetch_and_add(&readers_done, 1);
	while (readers_done < READERS) /* none ends while others read its files */
		sched_yield();
	return (void *)errs;
}

static void threads(void)
{
	pthread_t rs[READERS];
	for (long i = 0; i < READERS; i++)
		pthread_create(&rs[i], 0, reader, (void *)i);
	long errs = 0;
	for (int i = 0; i < READERS; i++) {
		void *r;
		pthread_join(rs[i], &r);
		errs += (long)r;
	}
	printf("%d threads reading each other's files: %ld errors\n", READERS, errs);

	pthread_t t;
	pthread_create(&t, 0, joiner_read, 0);
	pthread_join(t, 0);

	pthread_create(&t, 0, spin_tid, 0);
	while (!spinner_tid)
		sched_yield();
	char p[64];
	snprintf(p, sizeof p, "/proc/self/task/%d/syscall", spinner_tid);
	read_path(p, buf, sizeof buf);
	printf("a thread spinning: %s", buf);
	snprintf(p, sizeof p, "/proc/self/task/%d/sched", spinner_tid);
	sched(p, comm, spinner_tid, 2, 0);
	spin_stop = 1;
	pthread_join(t, 0);
}

static void nothing(int sig) { (void)sig; }

static void children(void)
{
	int fds[2];
	pipe(fds);
	static char one;
	pid_t c = fork();
	if (c == 0) {
		read(fds[0], &one, 1);
		_exit(0);
	}
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/syscall", c);
	waiting(p);
	int fd = open(p, O_RDONLY);
	int r = read(fd, buf, sizeof buf - 1);
	buf[r > 0 ? r : 0] = 0;
	struct call k = parse(buf);
	printf("a child reading a pipe: %d fields, nr %ld, fd %s, buffer %s, count %llu\n", k.n, k.nr,
	       k.a[0] == (unsigned)fds[0] ? "yes" : "no", k.a[1] == (uintptr_t)&one ? "yes" : "no", k.a[2]);
	expect("its pc past a syscall instruction", after_syscall(c, k.a[7]));
	snprintf(p, sizeof p, "/proc/%d/wchan", c);
	read_path(p, buf, sizeof buf);
	printf("its wchan: %s\n", buf[0] ? "some" : "empty");
	snprintf(p, sizeof p, "/proc/%d/sched", c);
	sched(p, comm, c, 1, 0);
	if (read_path(p, buf, sizeof buf) > 0) {
		char *v = strstr(buf, "nr_voluntary_switches");
		long long n = v ? atoll(strchr(v, ':') + 1) : -1;
		printf("it waited: %s\n", n >= 1 ? "yes" : "no");
		/* It waits still: status counts the same switches as sched. */
		char st[64];
		snprintf(st, sizeof st, "/proc/%d/status", c);
		read_path(st, buf, sizeof buf);
		v = strstr(buf, "\nvoluntary_ctxt_switches:");
		expect("its status's voluntary switches are sched's", v && atoll(strchr(v, ':') + 1) == n);
	}
	snprintf(p, sizeof p, "/proc/%d/schedstat", c);
	schedstat(p, "its schedstat");
	int w = open(p, O_WRONLY);
	if (w >= 0)
		expect_err("write its schedstat", write(w, "0", 1), EINVAL);
	snprintf(p, sizeof p, "/proc/%d/sched", c);
	w = open(p, O_WRONLY);
	printf("write its sched: %ld\n", w >= 0 ? (long)write(w, "0\n", 2) : -1l);
	close(w);

	write(fds[1], "x", 1);
	zombie(c);
	r = pread(fd, buf, sizeof buf - 1, 0);
	buf[r > 0 ? r : 0] = 0;
	printf("a zombie: %s", r > 0 ? buf : "(nothing)\n");
	waitpid(c, 0, 0);
	expect_err("a reaped one's", pread(fd, buf, sizeof buf, 0), ESRCH);
	close(fd);
	expect_err("a reaped one's, opened", open(p, O_RDONLY), ENOENT);

	/* Stopped in user code: no call. (With a handler installed, which vemu needs to
	 * stop a loop that makes no system call.) */
	int started[2];
	pipe(started);
	c = fork();
	if (c == 0) {
		signal(SIGUSR1, nothing);
		write(started[1], "s", 1);
		for (;;)
			;
	}
	read(started[0], &one, 1);
	usleep(50000); /* well out of its write */
	kill(c, SIGSTOP);
	waitpid(c, 0, WUNTRACED);
	snprintf(p, sizeof p, "/proc/%d/syscall", c);
	read_path(p, buf, sizeof buf);
	k = parse(buf);
	printf("a child stopped in user code: nr %ld, %d fields\n", k.nr, k.n);
	kill(c, SIGKILL);
	waitpid(c, 0, 0);
}

static void others(void)
{
	if (geteuid() != 0) {
		printf("another uid: skipped\n");
		return;
	}
	int parent = getpid();
	int fd = open("/proc/self/stack", O_RDONLY); /* opened as root: read as nobody too */
	pid_t c = fork();
	if (c == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/syscall", parent);
		expect_err("another uid's syscall", open(p, O_RDONLY), EACCES);
		snprintf(p, sizeof p, "/proc/%d/stack", parent);
		expect_err("another uid's stack", open(p, O_RDONLY), EACCES);
		snprintf(p, sizeof p, "/proc/%d/wchan", parent);
		read_path(p, buf, sizeof buf);
		printf("another uid's wchan: \"%s\"\n", buf);
		snprintf(p, sizeof p, "/proc/%d/schedstat", parent);
		schedstat(p, "another uid's schedstat");
		printf("a stack root opened, read as nobody: %s\n", read(fd, buf, sizeof buf) >= 0 ? "ok" : errname(errno));
		/* Its ids changed: it is no longer dumpable, its files are root's. */
		expect_err("its own syscall, no longer dumpable", open("/proc/self/syscall", O_RDONLY), EACCES);
		prctl(PR_SET_DUMPABLE, 1);
		fd = open("/proc/self/syscall", O_RDONLY);
		printf("its own syscall, dumpable again: %s\n", fd >= 0 ? "opened" : errname(errno));
		expect_err("its own stack, read without CAP_SYS_ADMIN", read(open("/proc/self/stack", O_RDONLY), buf, 8),
			   EACCES);
		_exit(failures);
	}
	int st;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failures++;
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	read_path("/proc/self/comm", comm, sizeof comm);
	comm[strcspn(comm, "\n")] = 0;
	own();
	sched("/proc/self/sched", comm, getpid(), 1, 0);
	for (volatile long i = 0; i < 20000000; i++)
		;
	printf("own run time: %s\n", schedstat("/proc/self/schedstat", "own schedstat") > 0 ? "some" : "none");
	setpriority(PRIO_PROCESS, 0, 5);
	sched("/proc/self/sched", comm, getpid(), 1, 5);
	int w = open("/proc/self/sched", O_WRONLY);
	printf("write own sched: %ld\n", (long)write(w, "0", 1));
	close(w);
	setpriority(PRIO_PROCESS, 0, 0); /* back, if allowed */
	threads();
	children();
	others();
	return failures != 0;
}
