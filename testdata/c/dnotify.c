/* dnotify asks for directory change notification with fcntl(F_NOTIFY): each kind of
 * change (create, delete, modify, attributes, rename, access) sends the owner a signal,
 * SIGIO or the F_SETSIG signal with si_fd and POLL_MSG, once or (DN_MULTISHOT) each time;
 * masks add up, a zero mask or closing the descriptor ends the watch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t hits, lastfd, lastcode, lastsig;
static volatile long lastband;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	lastsig = sig;
	lastfd = si->si_fd;
	lastcode = si->si_code;
	lastband = si->si_band;
}

static char dir[200];

static void path(char *out, const char *name) { snprintf(out, 256, "%s/%s", dir, name); }

static void touch(const char *name)
{
	char p[256];
	path(p, name);
	close(open(p, O_CREAT | O_WRONLY, 0644));
}

static int watch(int fd, unsigned long mask)
{
	hits = 0;
	return fcntl(fd, F_NOTIFY, mask);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO};
	sigaction(SIGRTMIN, &sa, NULL);
	sigaction(SIGIO, &sa, NULL);
	/* In the directory given (the test's own), or in /tmp. */
	snprintf(dir, sizeof dir, "%s/dnotify.%d", argc > 1 ? argv[1] : "/tmp", getpid());
	mkdir(dir, 0755);
	char p[256], q[256];
	touch("a");

	path(p, "a");
	int reg = open(p, O_RDONLY);
	expect_err("F_NOTIFY on a regular file", fcntl(reg, F_NOTIFY, DN_CREATE), ENOTDIR);
	close(reg);

	int d = open(dir, O_RDONLY | O_DIRECTORY);
	expect("F_SETSIG", fcntl(d, F_SETSIG, SIGRTMIN) == 0);
	expect("a one-shot DN_CREATE", watch(d, DN_CREATE) == 0);
	printf("F_GETOWN is the caller: %d\n", fcntl(d, F_GETOWN) == getpid());
	touch("b");
	printf("create: %d signal(s), at once\n", hits);
	printf("signal is F_SETSIG's: %d, si_fd: %d, si_code POLL_MSG: %d, si_band: %#lx\n",
	       lastsig == SIGRTMIN, lastfd == d, lastcode == POLL_MSG, lastband);
	touch("c");
	printf("one-shot, a second create: %d more\n", hits - 1);

	expect("DN_CREATE|DN_MULTISHOT", watch(d, DN_CREATE | DN_MULTISHOT) == 0);
	touch("d");
	touch("e");
	printf("multishot, two creates: %d signal(s)\n", hits);

	watch(d, 0);
	struct {
		const char *what;
		unsigned long mask;
	} kinds[] = {{"DN_DELETE", DN_DELETE}, {"DN_MODIFY", DN_MODIFY}, {"DN_ATTRIB", DN_ATTRIB},
		     {"DN_RENAME", DN_RENAME}, {"DN_ACCESS", DN_ACCESS}};
	for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		int w = open(dir, O_RDONLY | O_DIRECTORY);
		fcntl(w, F_SETSIG, SIGRTMIN);
		watch(w, kinds[i].mask | DN_MULTISHOT);
		int counts[6];
		/* Every kind of change, in turn: which ones does this mask see? */
		hits = 0;
		path(p, "a");
		int fd = open(p, O_RDWR);
		counts[0] = hits; /* open: nothing */
		char buf[4];
		read(fd, buf, sizeof buf);
		counts[1] = hits;
		write(fd, "xy", 2);
		counts[2] = hits;
		close(fd);
		chmod(p, 0600);
		counts[3] = hits;
		path(q, "a2");
		rename(p, q);
		rename(q, p);
		counts[4] = hits;
		path(q, "z");
		close(open(q, O_CREAT | O_WRONLY, 0644));
		unlink(q);
		counts[5] = hits;
		printf("%-9s after open %d read %d write %d chmod %d 2 renames %d create+unlink %d\n", kinds[i].what,
		       counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
		close(w);
	}

	watch(d, DN_CREATE | DN_MULTISHOT);
	expect("masks add up: DN_DELETE on top", fcntl(d, F_NOTIFY, DN_DELETE | DN_MULTISHOT) == 0);
	hits = 0;
	touch("f");
	path(p, "f");
	unlink(p);
	printf("create then delete with both: %d signal(s)\n", hits);

	expect("a zero mask ends the watch", watch(d, 0) == 0);
	touch("g");
	printf("after the zero mask: %d signal(s)\n", hits);

	expect("F_SETSIG 0", fcntl(d, F_SETSIG, 0) == 0);
	watch(d, DN_CREATE | DN_MULTISHOT);
	touch("h");
	printf("without F_SETSIG: SIGIO %d, si_code SI_KERNEL %d\n", lastsig == SIGIO, lastcode == SI_KERNEL);

	int dup = fcntl(d, F_DUPFD, 10);
	close(dup);
	hits = 0;
	touch("i");
	printf("closing a duplicate ends it: %d signal(s)\n", hits);

	watch(d, DN_CREATE | DN_MULTISHOT);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t kid = fork();
	if (kid == 0) {
		touch("from-child");
		_exit(0);
	}
	waitpid(kid, NULL, 0);
	struct timespec ts = {5, 0};
	siginfo_t si;
	int got = sigtimedwait(&set, &si, &ts);
	printf("a child's create signals the owner: %d\n", got == SIGIO);
	sigprocmask(SIG_SETMASK, &old, NULL);

	close(d);
	hits = 0;
	touch("j");
	printf("after close: %d signal(s)\n", hits);

	/* Attacker's cases: many watches on one directory, a watched directory removed. */
	int fds[200], n = 0;
	for (int i = 0; i < 200; i++) {
		fds[i] = open(dir, O_RDONLY | O_DIRECTORY);
		if (fds[i] >= 0 && fcntl(fds[i], F_NOTIFY, DN_CREATE | DN_MULTISHOT) == 0)
			n++;
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	touch("k");
	expect("200 watches, one pending SIGIO", sigtimedwait(&set, &si, &(struct timespec){5, 0}) == SIGIO);
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("watches made: %d\n", n);
	for (int i = 0; i < 200; i++)
		close(fds[i]);
	char sub[256];
	path(sub, "sub");
	mkdir(sub, 0755);
	int s = open(sub, O_RDONLY | O_DIRECTORY);
	watch(s, DN_CREATE | DN_DELETE | DN_ATTRIB | DN_MULTISHOT);
	rmdir(sub);
	printf("watched directory removed: watch still answers %d\n", fcntl(s, F_NOTIFY, DN_CREATE) == 0);
	close(s);

	const char *names[] = {"a", "b", "c", "d", "e", "g", "h", "i", "j", "k", "from-child"};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		path(p, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return failures;
}
