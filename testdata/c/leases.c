/* leases checks fcntl's F_SETLEASE and F_GETLEASE in directory argv[1]: when a read or
 * write lease is granted (EACCES for another user, as root), F_GETLEASE through the
 * description and its duplicates, a lease going with its description, and a lease
 * break: another process's conflicting open sends the holder SIGIO (or F_SETSIG's
 * signal, with si_fd and POLL_MSG), F_GETLEASE answers what the lease must go down to,
 * the opener (or truncate) waits until the holder releases or downgrades it, an
 * O_NONBLOCK opener gets EWOULDBLOCK, and a signal ends the wait. With "hold" after
 * the directory, it leaves a child waiting in its open and waits for a signal. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile int got, got_sig, got_fd, got_code, lease_seen, action;
static int lfd;

/* on_break notes the signal and what F_GETLEASE says, then releases the lease
 * (action 0), downgrades it to a read lease (1), or leaves it (2). */
static void on_break(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got++;
	got_sig = sig;
	got_fd = si->si_fd;
	got_code = si->si_code;
	lease_seen = fcntl(lfd, F_GETLEASE);
	if (action == 0)
		fcntl(lfd, F_SETLEASE, F_UNLCK);
	else if (action == 1)
		fcntl(lfd, F_SETLEASE, F_RDLCK);
}

static void on_alarm(int sig) { (void)sig; }

/* wait_got waits up to 2 s for the count of signals to reach n. */
static void wait_got(int n)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < 2000 && got < n; i++)
		nanosleep(&ms, NULL);
}

/* reap waits for pid and returns its exit status, -1 if it did not exit. */
static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void granting(void)
{
	int rw = open("f", O_RDWR);
	expect_err("read lease through a descriptor open for writing", fcntl(rw, F_SETLEASE, F_RDLCK), EAGAIN);
	expect("write lease for the only description", fcntl(rw, F_SETLEASE, F_WRLCK) == 0);
	expect("F_GETLEASE says F_WRLCK", fcntl(rw, F_GETLEASE) == F_WRLCK);
	expect("F_UNLCK releases it", fcntl(rw, F_SETLEASE, F_UNLCK) == 0);
	expect("F_GETLEASE says F_UNLCK", fcntl(rw, F_GETLEASE) == F_UNLCK);
	expect_err("F_UNLCK without a lease", fcntl(rw, F_SETLEASE, F_UNLCK), EAGAIN);

	int r1 = open("f", O_RDONLY);
	expect_err("read lease while another description writes", fcntl(r1, F_SETLEASE, F_RDLCK), EAGAIN);
	expect_err("write lease while another description is open", fcntl(rw, F_SETLEASE, F_WRLCK), EAGAIN);
	close(rw);
	int r2 = open("f", O_RDONLY);
	expect("read lease among readers", fcntl(r1, F_SETLEASE, F_RDLCK) == 0);
	expect("F_GETLEASE says F_RDLCK", fcntl(r1, F_GETLEASE) == F_RDLCK);
	expect("F_GETLEASE of the other reader says F_UNLCK", fcntl(r2, F_GETLEASE) == F_UNLCK);
	int r3 = open("f", O_RDONLY);
	expect("another reader opens at once", r3 >= 0);
	close(r3);
	expect_err("write lease while another reader is open", fcntl(r1, F_SETLEASE, F_WRLCK), EAGAIN);
	close(r2);
	int d = dup(r1);
	expect("upgrade to a write lease once alone (a dup is the same description)", fcntl(r1, F_SETLEASE, F_WRLCK) == 0);
	expect("F_GETLEASE through the dup", fcntl(d, F_GETLEASE) == F_WRLCK);
	close(d);
	expect("held after the dup is closed", fcntl(r1, F_GETLEASE) == F_WRLCK);
	expect_err("a type that is no lock", fcntl(r1, F_SETLEASE, 7), EINVAL);
	close(r1);
	int w = open("f", O_WRONLY | O_NONBLOCK);
	expect("the lease went with its description: a writer opens", w >= 0);
	close(w);

	int p[2];
	if (pipe(p) == 0) {
		expect_err("lease on a pipe", fcntl(p[0], F_SETLEASE, F_RDLCK), EINVAL);
		close(p[0]);
		close(p[1]);
	}
}

/* non_owner: a process that is not the file's owner and lacks CAP_LEASE gets EACCES
 * (root only: it drops to another user, after opening the file as root). */
static void non_owner(void)
{
	if (geteuid() != 0) {
		printf("lease as another user: skipped\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int r = open("f", O_RDONLY);
		if (r < 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(fcntl(r, F_SETLEASE, F_RDLCK) < 0 && errno == EACCES ? 0 : 1);
	}
	expect("lease as another user without CAP_LEASE: EACCES", reap(pid) == 0);
}

static void breaking(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_break;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	/* An O_NONBLOCK writer: EWOULDBLOCK, and the break starts. */
	lfd = open("f", O_RDONLY);
	action = 0;
	expect("write lease set", fcntl(lfd, F_SETLEASE, F_WRLCK) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		int w = open("f", O_WRONLY | O_NONBLOCK);
		_exit(w < 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	expect("an O_NONBLOCK opener gets EWOULDBLOCK", reap(pid) == 0);
	wait_got(1);
	expect("the holder gets SIGIO", got == 1 && got_sig == SIGIO);
	expect("F_GETLEASE during the break says F_UNLCK", lease_seen == F_UNLCK);
	expect("the handler released the lease", fcntl(lfd, F_GETLEASE) == F_UNLCK);

	/* A blocking writer waits until the holder's handler releases the lease. */
	fcntl(lfd, F_SETSIG, SIGUSR1);
	expect("write lease set again", fcntl(lfd, F_SETLEASE, F_WRLCK) == 0);
	pid = fork();
	if (pid == 0) {
		int w = open("f", O_WRONLY);
		_exit(w >= 0 && write(w, "x", 1) == 1 ? 0 : 1);
	}
	expect("the blocked writer's open completes", reap(pid) == 0);
	expect("the holder gets F_SETSIG's signal", got == 2 && got_sig == SIGUSR1);
	expect("with si_fd the lease's descriptor", got_fd == lfd);
	expect("and si_code POLL_MSG", got_code == POLL_MSG);
	expect("the lease is gone", fcntl(lfd, F_GETLEASE) == F_UNLCK);

	/* truncate(2) breaks a lease as an open for writing does. */
	expect("read lease set", fcntl(lfd, F_SETLEASE, F_RDLCK) == 0);
	pid = fork();
	if (pid == 0)
		_exit(truncate("f", 2) == 0 ? 0 : 1);
	expect("the blocked truncate completes", reap(pid) == 0);
	expect("the holder was told of the truncate", got == 3 && lease_seen == F_UNLCK);
	struct stat st;
	expect("the file was truncated", stat("f", &st) == 0 && st.st_size == 2);

	/* A reader breaks a write lease down to a read lease. */
	action = 1;
	expect("write lease set a third time", fcntl(lfd, F_SETLEASE, F_WRLCK) == 0);
	pid = fork();
	if (pid == 0) {
		int r = open("f", O_RDONLY);
		_exit(r >= 0 ? 0 : 1);
	}
	expect("the blocked reader's open completes", reap(pid) == 0);
	expect("F_GETLEASE during that break says F_RDLCK", got == 4 && lease_seen == F_RDLCK);
	expect("the lease was downgraded", fcntl(lfd, F_GETLEASE) == F_RDLCK);

	/* A signal ends a writer's wait with EINTR; the holder keeps its lease meanwhile. */
	action = 2;
	pid = fork();
	if (pid == 0) {
		struct sigaction al;
		memset(&al, 0, sizeof al);
		al.sa_handler = on_alarm;
		sigaction(SIGALRM, &al, NULL);
		struct itimerval it = {{0, 0}, {0, 50000}};
		setitimer(ITIMER_REAL, &it, NULL);
		int w = open("f", O_WRONLY);
		_exit(w < 0 && errno == EINTR ? 0 : 1);
	}
	expect("a signal ends the writer's wait with EINTR", reap(pid) == 0);
	expect("the holder was told", got == 5 && lease_seen == F_UNLCK);
	expect("the lease is still breaking: F_GETLEASE says F_UNLCK", fcntl(lfd, F_GETLEASE) == F_UNLCK);
	expect("F_UNLCK releases a breaking lease", fcntl(lfd, F_SETLEASE, F_UNLCK) == 0);
	int w = open("f", O_WRONLY | O_NONBLOCK);
	expect("released: a writer opens", w >= 0);
	close(w);
	close(lfd);
}

/* hold sets a write lease and leaves a child waiting in its open, then says "ready" and
 * waits for a signal to end it. */
static int hold(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_break;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGIO, &sa, NULL);
	action = 2;
	lfd = open("f", O_RDONLY);
	if (fcntl(lfd, F_SETLEASE, F_WRLCK) != 0) {
		printf("no lease\n");
		return 1;
	}
	if (fork() == 0) {
		close(1);
		close(lfd);
		int w = open("f", O_WRONLY);
		_exit(w >= 0 ? 0 : 1);
	}
	wait_got(1);
	printf("%s\n", got ? "ready" : "no break");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) != 0) {
		printf("usage: leases DIR [hold]\n");
		return 2;
	}
	int fd = open("f", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "data", 4) != 4) {
		printf("cannot make the file\n");
		return 2;
	}
	close(fd);
	if (argc > 2 && strcmp(argv[2], "hold") == 0)
		return hold();
	setvbuf(stdout, NULL, _IONBF, 0);
	granting();
	non_owner();
	breaking();
	unlink("f");
	return failures != 0;
}
