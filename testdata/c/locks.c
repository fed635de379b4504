/* locks checks fcntl record locks between processes: writers that increment a counter
 * under a lock (the count comes out exact), F_GETLK naming the holder, Linux's merging
 * and splitting of one owner's locks, EDEADLK, EINTR in F_SETLKW, locks released by the
 * close of any descriptor of the file and by exit, and OFD locks against record locks.
 * Usage: locks DIR   (a directory to work in) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define WRITERS 4
#define ROUNDS 200

static char path[4096];

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	return fcntl(fd, cmd, &fl);
}

/* probe asks F_GETLK for a write lock of one byte at off and prints what is in the way. */
static struct flock probe(int fd, off_t off)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};
	fcntl(fd, F_GETLK, &fl);
	return fl;
}

static const char *type_name(short t)
{
	return t == F_RDLCK ? "read" : t == F_WRLCK ? "write" : t == F_UNLCK ? "unlocked" : "?";
}

static void writers(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	long zero = 0;
	pwrite(fd, &zero, sizeof zero, 0);
	close(fd);
	pid_t kids[WRITERS];
	int start[2];
	pipe(start);
	for (int w = 0; w < WRITERS; w++) {
		kids[w] = fork();
		if (kids[w] == 0) {
			int fd = open(path, O_RDWR);
			char c;
			close(start[1]);
			read(start[0], &c, 1); /* all start together, when the parent closes its end */
			for (int i = 0; i < ROUNDS; i++) {
				if (lock(fd, F_SETLKW, F_WRLCK, 0, 8) != 0)
					_exit(1);
				long n;
				pread(fd, &n, sizeof n, 0);
				n++;
				for (volatile int spin = 0; spin < 2000; spin++)
					;
				pwrite(fd, &n, sizeof n, 0);
				lock(fd, F_SETLK, F_UNLCK, 0, 8);
			}
			_exit(0);
		}
	}
	close(start[0]);
	close(start[1]);
	int ok = 1;
	for (int w = 0; w < WRITERS; w++) {
		int st;
		waitpid(kids[w], &st, 0);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	long n = 0;
	fd = open(path, O_RDONLY);
	pread(fd, &n, sizeof n, 0);
	close(fd);
	expect("writers finished", ok);
	printf("count after %d writers x %d: %ld\n", WRITERS, ROUNDS, n);
}

/* in_child runs f in a child process and returns its exit status. */
static int in_child(int (*f)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(f());
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t parent;

/* The layout the parent sets up, as a child sees it through F_GETLK. */
static int child_probes(void)
{
	int fd = open(path, O_RDWR);
	off_t offs[] = {0, 15, 45, 70, 110, 130};
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		struct flock fl = probe(fd, offs[i]);
		if (fl.l_type == F_UNLCK)
			printf("  at %ld: unlocked\n", (long)offs[i]);
		else
			printf("  at %ld: %s from %ld, length %ld, owner is the parent: %s\n", (long)offs[i],
			       type_name(fl.l_type), (long)fl.l_start, (long)fl.l_len, fl.l_pid == parent ? "yes" : "NO");
	}
	return 0;
}

static void merge_split(void)
{
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	parent = getpid();
	lock(fd, F_SETLK, F_RDLCK, 0, 100);
	lock(fd, F_SETLK, F_WRLCK, 40, 20); /* splits the read lock */
	lock(fd, F_SETLK, F_UNLCK, 10, 10); /* a hole */
	lock(fd, F_SETLK, F_RDLCK, 100, 10); /* touches [60, 100): merges */
	lock(fd, F_SETLK, F_RDLCK, 110, 10); /* and again */
	printf("after read 0-100, write 40-60, unlock 10-20, read 100-120:\n");
	in_child(child_probes);
	lock(fd, F_SETLK, F_WRLCK, 0, 0); /* to the end of the file: replaces them all */
	printf("after write from 0 to the end:\n");
	in_child(child_probes);
	struct flock fl = probe(fd, 50);
	expect("F_GETLK does not see the caller's own locks", fl.l_type == F_UNLCK);
	close(fd);
}

static int fd_a;

static int child_deadlock(void)
{
	int fd = open(path, O_RDWR);
	if (lock(fd, F_SETLK, F_WRLCK, 1, 1) != 0)
		return 10;
	write(fd_a, "x", 1); /* tell the parent; then wait for its byte 0 */
	if (lock(fd, F_SETLKW, F_WRLCK, 0, 1) != 0)
		return 11;
	return 0;
}

static void deadlock(void)
{
	int fd = open(path, O_RDWR);
	lock(fd, F_SETLK, F_WRLCK, 0, 1);
	int p[2];
	pipe(p);
	fd_a = p[1];
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_deadlock());
	char c;
	read(p[0], &c, 1);
	usleep(100000); /* let the child reach its wait */
	expect_err("F_SETLKW that closes a cycle", lock(fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK);
	lock(fd, F_SETLK, F_UNLCK, 0, 1); /* the child gets byte 0 and exits */
	int st;
	waitpid(pid, &st, 0);
	expect("the child got the lock after all", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void on_alarm(int sig) { (void)sig; }

static int child_eintr(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 100000}};
	setitimer(ITIMER_REAL, &it, NULL);
	int fd = open(path, O_RDWR);
	int r = lock(fd, F_SETLKW, F_WRLCK, 0, 1);
	int e = errno;
	printf("  F_SETLKW interrupted by a handler without SA_RESTART: %s\n", r < 0 ? errname(e) : "success");
	fflush(stdout);
	return 0;
}

static int child_try(void)
{
	int fd = open(path, O_RDWR);
	return lock(fd, F_SETLK, F_WRLCK, 0, 1) == 0 ? 0 : errno == EAGAIN || errno == EACCES ? 1 : 2;
}

static int child_lock_and_exit(void)
{
	int fd = open(path, O_RDWR);
	return lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0 ? 0 : 1; /* and never unlocks */
}

static void releases(void)
{
	int fd = open(path, O_RDWR);
	lock(fd, F_SETLK, F_WRLCK, 0, 1);
	in_child(child_eintr);
	expect("another process cannot take a held lock", in_child(child_try) == 1);
	int other = open(path, O_RDONLY);
	close(other); /* any close of the file drops the process's locks */
	expect("closing another descriptor of the file releases", in_child(child_try) == 0);
	close(fd);

	expect("a child takes a lock and exits", in_child(child_lock_and_exit) == 0);
	fd = open(path, O_RDWR);
	expect("its exit released it", lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0);
	close(fd);
}

static int child_against_ofd(void)
{
	int fd = open(path, O_RDWR);
	int bad = 0;
	bad |= lock(fd, F_SETLK, F_WRLCK, 0, 1) == 0;
	struct flock fl = probe(fd, 0);
	printf("  F_GETLK sees the OFD lock: %s, l_pid %d\n", type_name(fl.l_type), fl.l_pid);
	bad |= lock(fd, F_OFD_SETLK, F_RDLCK, 5, 1) == 0;
	return bad;
}

static int child_ofd_against_record(void)
{
	int fd = open(path, O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 1};
	fcntl(fd, F_OFD_GETLK, &fl);
	printf("  F_OFD_GETLK sees the record lock: %s, from the parent: %s\n", type_name(fl.l_type),
	       fl.l_pid == parent ? "yes" : "NO");
	return lock(fd, F_OFD_SETLK, F_WRLCK, 20, 1) == 0;
}

static void ofd(void)
{
	int fd = open(path, O_RDWR);
	expect("an OFD write lock", lock(fd, F_OFD_SETLK, F_WRLCK, 0, 10) == 0);
	expect("a record lock of another process is refused, and an OFD lock", in_child(child_against_ofd) == 0);
	lock(fd, F_OFD_SETLK, F_UNLCK, 0, 10);
	expect("a record lock", lock(fd, F_SETLK, F_WRLCK, 20, 1) == 0);
	expect("another open file's OFD lock is refused", in_child(child_ofd_against_record) == 0);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: locks DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof path, "%s/locked", argv[1]);
	parent = getpid();
	writers();
	merge_split();
	deadlock();
	releases();
	ofd();
	int fd = open(path, O_RDWR);
	expect_err("F_GETLK of F_UNLCK", lock(fd, F_GETLK, F_UNLCK, 0, 1), EINVAL);
	expect_err("a range before the start", lock(fd, F_SETLK, F_RDLCK, 5, -10), EINVAL);
	expect_err("a bad type", lock(fd, F_SETLK, 7, 0, 1), EINVAL);
	int ro = open(path, O_RDONLY);
	expect_err("a write lock through a read-only descriptor", lock(ro, F_SETLK, F_WRLCK, 0, 1), EBADF);
	return failures != 0;
}
