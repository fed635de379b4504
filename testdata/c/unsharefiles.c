/* unsharefiles: a thread's descriptor table and working directory, as Linux keeps them.
 * unshare(CLONE_FILES) and unshare(CLONE_FS) in a process with several threads give the
 * caller its own copy while the others keep the shared one; a thread made by clone
 * without CLONE_FILES or CLONE_FS starts with copies; kcmp tells shared from copied; the
 * descriptors of a thread's own table close when the thread ends. Run in a directory
 * with a subdirectory "work". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define KCMP_FILES 2
#define KCMP_FS 3

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void wait_stage(int s)
{
	pthread_mutex_lock(&mu);
	while (stage < s)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void set_stage(int s)
{
	pthread_mutex_lock(&mu);
	stage = s;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int valid(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static int shared_fd, thread_fd = -1, pipe_r, pipe_w;
static pid_t main_tid;
static volatile pid_t thread_tid;
static char start_dir[4096];

static int in_work(void)
{
	char d[4096];
	if (!getcwd(d, sizeof d))
		return -1;
	size_t n = strlen(d);
	return n >= 5 && strcmp(d + n - 5, "/work") == 0;
}

static long kcmp(pid_t a, pid_t b, int type) { return syscall(SYS_kcmp, a, b, type, 0, 0); }

static void *worker(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	wait_stage(1);
	/* The main thread unshared its table: this thread still has the shared one. */
	printf("the thread still has the descriptor main closed: %d\n", valid(shared_fd));
	thread_fd = open("/dev/null", O_RDONLY);
	set_stage(2);
	wait_stage(3);
	/* Now this thread unshares its working directory and moves. */
	expect("unshare(CLONE_FS) in the thread", unshare(CLONE_FS) == 0);
	expect("chdir in the thread", chdir("work") == 0);
	printf("the thread is in work: %d\n", in_work());
	set_stage(4);
	wait_stage(5);
	/* Its own table (after unshare) keeps a copy of the pipe's write end: it goes when
	 * the thread ends. */
	expect("unshare(CLONE_FILES) in the thread", unshare(CLONE_FILES) == 0);
	set_stage(6);
	wait_stage(7);
	return NULL;
}

static volatile int cloned_done;
static int cloned_fd = -1;
static int cloned_in_work = -1;

/* cloned runs as a thread made by clone with the flags main chose. */
static int cloned(void *arg)
{
	(void)arg;
	cloned_fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
	syscall(SYS_chdir, "work");
	char d[4096];
	long n = syscall(SYS_getcwd, d, sizeof d);
	cloned_in_work = n > 6 && strcmp(d + n - 6, "/work") == 0;
	__atomic_store_n(&cloned_done, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_exit, 0);
	return 0;
}

static void clone_with(const char *what, int flags)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	cloned_done = 0;
	cloned_fd = -1;
	cloned_in_work = -1;
	int base = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_SYSVSEM;
	if (clone(cloned, stack + sizeof stack, base | flags, NULL) < 0) {
		printf("%s: clone: %s\n", what, errname(errno));
		return;
	}
	while (!__atomic_load_n(&cloned_done, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(20000); /* let it reach exit */
	char d[4096];
	getcwd(d, sizeof d);
	printf("%s: its descriptor %s here, it moved to work: %d, this thread did: %d\n", what,
	       valid(cloned_fd) ? "is" : "is not", cloned_in_work, strcmp(d, start_dir) != 0);
	if (valid(cloned_fd))
		close(cloned_fd);
	chdir(start_dir);
}

int main(void)
{
	main_tid = gettid();
	getcwd(start_dir, sizeof start_dir);
	expect("unshare(CLONE_FILES|CLONE_FS) alone", unshare(CLONE_FILES | CLONE_FS) == 0);
	shared_fd = open("/dev/null", O_RDONLY);
	int p[2];
	pipe(p);
	pipe_r = p[0], pipe_w = p[1];
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	while (!thread_tid)
		usleep(1000);
	printf("kcmp: the threads share files: %d, fs: %d\n", kcmp(main_tid, thread_tid, KCMP_FILES) == 0,
	       kcmp(main_tid, thread_tid, KCMP_FS) == 0);

	expect("unshare(CLONE_FILES) in main", unshare(CLONE_FILES) == 0);
	printf("kcmp after: files shared: %d, fs shared: %d\n", kcmp(main_tid, thread_tid, KCMP_FILES) == 0,
	       kcmp(main_tid, thread_tid, KCMP_FS) == 0);
	printf("main's copy has the descriptor: %d\n", valid(shared_fd));
	close(shared_fd);
	set_stage(1);
	wait_stage(2);
	printf("main does not see the thread's new descriptor: %d\n", thread_fd >= 0 && !valid(thread_fd));

	set_stage(3);
	wait_stage(4);
	printf("main stayed in its directory: %d\n", !in_work());
	printf("kcmp: fs shared: %d\n", kcmp(main_tid, thread_tid, KCMP_FS) == 0);

	set_stage(5);
	wait_stage(6);
	close(pipe_w); /* main's copy; the thread's own table keeps one */
	struct pollfd pfd = {pipe_r, POLLIN, 0};
	printf("the pipe is open while the thread's table holds its end: %d\n", poll(&pfd, 1, 100) == 0);
	set_stage(7);
	pthread_join(th, NULL);
	pfd.revents = 0;
	printf("after the thread ended, its end closed: %d\n", poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLHUP));

	clone_with("without CLONE_FILES and CLONE_FS", 0);
	clone_with("with CLONE_FILES", CLONE_FILES);
	clone_with("with CLONE_FS", CLONE_FS);
	clone_with("with both", CLONE_FILES | CLONE_FS);
	return failures;
}
