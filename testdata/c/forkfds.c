/* forkfds opens one descriptor of every kind, forks, and uses each in the child: a
 * regular file (its offset shared with the parent), a pipe, a socket pair, an eventfd, a
 * timerfd, a signalfd, an epoll instance, an inotify instance, a memfd, a synthetic /proc
 * file and the /proc/self/fd directory. Then the parent checks what the child left. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *dir = argc > 1 ? argv[1] : ".";
	if (chdir(dir) != 0) {
		perror(dir);
		return 2;
	}

	int file = open("forkfds.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(file, "0123456789", 10);
	lseek(file, 2, SEEK_SET);
	int pipefd[2], sv[2];
	pipe(pipefd);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int efd = eventfd(5, 0);
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {.it_value = {0, 1000000}};
	timerfd_settime(tfd, 0, &its, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 42};
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	int ino = inotify_init1(0);
	inotify_add_watch(ino, ".", IN_CREATE);
	int mfd = memfd_create("forkfds", 0);
	write(mfd, "memfd!", 6);
	int status_fd = open("/proc/self/cmdline", O_RDONLY);
	int fddir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);

	pid_t pid = fork();
	if (pid == 0) {
		char b[64];
		expect("child: file reads at the shared offset", read(file, b, 3) == 3 && memcmp(b, "234", 3) == 0);
		expect("child: pipe writes", write(pipefd[1], "via pipe", 8) == 8);
		expect("child: socket writes", write(sv[1], "via socket", 10) == 10);
		uint64_t v = 0;
		expect("child: eventfd reads the count", read(efd, &v, 8) == 8 && v == 5);
		v = 0;
		expect("child: timerfd reads an expiry", read(tfd, &v, 8) == 8 && v >= 1);
		kill(getpid(), SIGUSR1);
		struct signalfd_siginfo si;
		expect("child: signalfd reads its own signal",
		       read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1 && si.ssi_pid == (uint32_t)getpid());
		uint64_t one = 1;
		write(efd, &one, 8);
		struct epoll_event out;
		expect("child: epoll sees the eventfd", epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 42);
		close(open("forkfds.new", O_CREAT | O_WRONLY, 0644));
		char evbuf[256];
		ssize_t n = read(ino, evbuf, sizeof evbuf);
		struct inotify_event *ie = (struct inotify_event *)evbuf;
		expect("child: inotify reports the creation",
		       n > 0 && (ie->mask & IN_CREATE) && strcmp(ie->name, "forkfds.new") == 0);
		expect("child: memfd reads", pread(mfd, b, 6, 0) == 6 && memcmp(b, "memfd!", 6) == 0);
		n = read(status_fd, b, sizeof b);
		expect("child: /proc/self/cmdline names the program", n > 0 && strstr(b, "forkfds") != NULL);
		DIR *d = fdopendir(fddir);
		int saw_fddir = 0, entries = 0;
		struct dirent *de;
		char name[16];
		snprintf(name, sizeof name, "%d", fddir);
		while (d && (de = readdir(d)) != NULL) {
			entries++;
			if (strcmp(de->d_name, name) == 0)
				saw_fddir = 1;
		}
		expect("child: /proc/self/fd lists the descriptors", saw_fddir && entries > 12);
		_exit(failures);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("child succeeded", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect("parent: the child moved the shared offset", lseek(file, 0, SEEK_CUR) == 5);
	char b[64] = {0};
	expect("parent: pipe reads the child's data", read(pipefd[0], b, sizeof b) == 8 && memcmp(b, "via pipe", 8) == 0);
	expect("parent: socket reads the child's data", read(sv[0], b, sizeof b) == 10 && memcmp(b, "via socket", 10) == 0);
	struct signalfd_siginfo si;
	fcntl(sfd, F_SETFL, O_NONBLOCK);
	expect("parent: F_GETFL of the signalfd says non-blocking", (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
	errno = 0;
	expect("parent: the child's signal is not the parent's", read(sfd, &si, sizeof si) < 0 && errno == EAGAIN);
	unlink("forkfds.txt");
	unlink("forkfds.new");
	return failures;
}
