/* umask: each process has its own umask, kept with its working directory as Linux keeps
 * them. A child's umask(2) leaves its parent's alone; threads share one unless a thread
 * unshares CLONE_FS; execve keeps it; /proc shows it; and every kind of file a process
 * creates (regular, O_TMPFILE, directory, FIFO, socket, POSIX message queue) loses the
 * bits it names. Run with a directory "work" to create in. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static const char *dir;

static char *at(const char *name)
{
	static char buf[4][4096];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", dir, name);
	return b;
}

/* mode_of is the permission bits of path, or -1. */
static int mode_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -1;
	return st.st_mode & 07777;
}

/* create_file makes name with mode 0666 and answers its permission bits. */
static int create_file(const char *name)
{
	unlink(at(name));
	int fd = open(at(name), O_CREAT | O_WRONLY | O_EXCL, 0666);
	if (fd < 0)
		return -1;
	close(fd);
	return mode_of(at(name));
}

/* proc_umask reads the Umask line of a status file. */
static int proc_umask(const char *status)
{
	FILE *f = fopen(status, "r");
	if (!f)
		return -1;
	char line[256];
	int m = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Umask:\t%o", (unsigned *)&m) == 1)
			break;
	fclose(f);
	return m;
}

static int current(void)
{
	mode_t m = umask(0);
	umask(m);
	return m;
}

static volatile int thread_saw;
static volatile int thread_file;
static volatile int thread_proc;

static void *sharing(void *arg)
{
	(void)arg;
	umask(0077); /* shared with the main thread */
	return NULL;
}

static void *unsharing(void *arg)
{
	(void)arg;
	if (unshare(CLONE_FS) < 0)
		return NULL;
	umask(0);
	thread_saw = current();
	thread_file = create_file("thread-own");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
	thread_proc = proc_umask(path);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[2], "exec") == 0) {
		printf("after execve: %03o\n", current());
		return 0;
	}
	dir = argc > 1 ? argv[1] : ".";

	umask(027);
	expect("umask answers the old value", umask(027) == 027);
	printf("regular file 0666: %04o\n", create_file("plain"));

	unlink(at("tmpfile"));
	int fd = open(dir, O_TMPFILE | O_WRONLY, 0666);
	if (fd >= 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, path, AT_FDCWD, at("tmpfile"), AT_SYMLINK_FOLLOW) == 0)
			printf("O_TMPFILE 0666: %04o\n", mode_of(at("tmpfile")));
		close(fd);
	}

	rmdir(at("sub"));
	mkdir(at("sub"), 0777);
	printf("directory 0777: %04o\n", mode_of(at("sub")));

	unlink(at("fifo"));
	mkfifo(at("fifo"), 0666);
	printf("FIFO 0666: %04o\n", mode_of(at("fifo")));

	unlink(at("node"));
	mknod(at("node"), S_IFREG | 0666, 0);
	printf("mknod 0666: %04o\n", mode_of(at("node")));

	unlink(at("sock"));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", at("sock"));
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0)
		printf("socket: %04o\n", mode_of(at("sock")));
	close(s);
	unlink(at("sock"));

	char qname[64];
	snprintf(qname, sizeof qname, "/umask-%d", getpid());
	mqd_t q = mq_open(qname, O_CREAT | O_RDWR, 0666, NULL);
	if (q != (mqd_t)-1) {
		struct stat st;
		fstat(q, &st);
		printf("message queue 0666: %04o\n", st.st_mode & 07777);
		mq_close(q);
		mq_unlink(qname);
	}

	expect("/proc/self/status shows it", proc_umask("/proc/self/status") == 027);

	/* A child's umask is its own. */
	pid_t c = fork();
	if (c == 0) {
		int inherited = current() == 027;
		umask(0);
		int m = create_file("child");
		_exit(inherited && m == 0666 ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	expect("a child inherits it and makes its own files with its own", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect("a child's umask(0) leaves the parent's", current() == 027);
	printf("parent's file after the child: %04o\n", create_file("after-child"));

	/* Each of many children at once. */
	enum { N = 8 };
	pid_t kids[N];
	for (int i = 0; i < N; i++) {
		if ((kids[i] = fork()) == 0) {
			umask(i);
			for (int j = 0; j < 50; j++) {
				char name[32];
				snprintf(name, sizeof name, "kid%d", i);
				if (create_file(name) != (0666 & ~i))
					_exit(1);
			}
			_exit(current() == i ? 0 : 1);
		}
	}
	int all = 1;
	for (int i = 0; i < N; i++) {
		waitpid(kids[i], &st, 0);
		all &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	expect("8 children with 8 umasks each create with their own", all);

	/* Threads share it... */
	pthread_t th;
	pthread_create(&th, NULL, sharing, NULL);
	pthread_join(th, NULL);
	expect("a thread's umask is the process's", current() == 0077);
	printf("file after the thread's umask(077): %04o\n", create_file("shared"));
	umask(027);

	/* ...unless the thread unshares CLONE_FS. */
	pthread_create(&th, NULL, unsharing, NULL);
	pthread_join(th, NULL);
	expect("after unshare(CLONE_FS) a thread's umask is its own", thread_saw == 0);
	printf("that thread's file: %04o\n", thread_file);
	expect("its /proc status shows its own", thread_proc == 0);
	expect("the main thread's stays", current() == 027);
	printf("main thread's file: %04o\n", create_file("main-after"));

	/* execve keeps it. */
	fflush(stdout);
	umask(0157);
	c = fork();
	if (c == 0) {
		execl("/proc/self/exe", argv[0], dir, "exec", (char *)NULL);
		_exit(127);
	}
	waitpid(c, &st, 0);
	return failures ? 1 : 0;
}
