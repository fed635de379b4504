/* escape OUTSIDE SOCKET PROGRAM: tries to reach files outside a confined root. OUTSIDE
   is the host path of a directory outside the root holding a file "secret" (its bytes
   start with SECRET), SOCKET the host path of a listening Unix socket outside it, and
   PROGRAM the host path of a program outside it. Run inside the root (with /tmp in it),
   every attempt must fail or land inside the root: a line starting "ESCAPED" says one
   did not. Also checks getcwd and readlink of /proc/self/cwd inside the root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *outside;
static int escapes;

/* reads: opens path relative to dirfd and says whether it reached the secret. */
static void reads(const char *what, int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY);
	if (fd < 0) {
		printf("%s: %s\n", what, strerror(errno));
		return;
	}
	char buf[16] = {0};
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n >= 6 && !memcmp(buf, "SECRET", 6)) {
		printf("ESCAPED %s: read the secret through %s\n", what, path);
		escapes++;
		return;
	}
	printf("%s: opened something inside\n", what);
}

static char *join(const char *a, const char *b)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char *s = bufs[i++ % 4];
	snprintf(s, PATH_MAX, "%s%s", a, b);
	return s;
}

static void race(const char *secret)
{
	/* A child swaps /tmp/sw between a directory inside and the outside directory's
	   host path while the parent walks through it. */
	mkdir("/tmp/in", 0755);
	symlink("/tmp/in", "/tmp/sw");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (;;) {
			symlink(outside, "/tmp/sw.new");
			rename("/tmp/sw.new", "/tmp/sw");
			symlink("/tmp/in", "/tmp/sw.new");
			rename("/tmp/sw.new", "/tmp/sw");
		}
	}
	int reached = 0;
	for (int i = 0; i < 3000; i++) {
		int fd = open("/tmp/sw/secret", O_RDONLY);
		if (fd < 0)
			continue;
		char buf[8] = {0};
		if (read(fd, buf, 6) == 6 && !memcmp(buf, "SECRET", 6))
			reached++;
		close(fd);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (reached) {
		printf("ESCAPED race: read the secret %d times through a swapped symlink\n", reached);
		escapes++;
	} else {
		printf("race: stayed inside\n");
	}
	/* A directory renamed back and forth while lookups climb out of it. */
	mkdir("/tmp/a", 0755);
	mkdir("/tmp/a/b", 0755);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (;;) {
			rename("/tmp/a/b", "/tmp/c");
			rename("/tmp/c", "/tmp/a/b");
		}
	}
	char deep[PATH_MAX];
	snprintf(deep, sizeof deep, "/tmp/a/b/../../../../../../..%s", secret);
	reached = 0;
	for (int i = 0; i < 2000; i++) {
		int fd = open(deep, O_RDONLY);
		if (fd >= 0) {
			char buf[8] = {0};
			if (read(fd, buf, 6) == 6 && !memcmp(buf, "SECRET", 6))
				reached++;
			close(fd);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (reached) {
		printf("ESCAPED rename race: %d times\n", reached);
		escapes++;
	} else {
		printf("rename race: stayed inside\n");
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: escape OUTSIDE SOCKET PROGRAM\n");
		return 2;
	}
	outside = argv[1];
	const char *sock = argv[2], *prog = argv[3];
	const char *secret = join(outside, "/secret");
	char cwd[PATH_MAX];

	reads("absolute host path", AT_FDCWD, secret);
	reads("dot-dot chain", AT_FDCWD, join("../../../../../../../../..", secret));
	reads("relative dot-dot chain", AT_FDCWD, join("../../../../../../../../..", secret) + 1);
	symlink("/", "/tmp/abs");
	reads("absolute symlink to /", AT_FDCWD, join("/tmp/abs", secret));
	symlink("../../../../../../../../..", "/tmp/rel");
	reads("relative symlink climbing", AT_FDCWD, join("/tmp/rel", secret));
	symlink(secret, "/tmp/direct");
	reads("symlink to the secret", AT_FDCWD, "/tmp/direct");
	symlink("loop", "/tmp/loop");
	reads("symlink loop", AT_FDCWD, "/tmp/loop");
	reads("/proc/self/root", AT_FDCWD, join("/proc/self/root", secret));
	reads("/proc/self/root/..", AT_FDCWD, join("/proc/self/root/../../..", secret));
	reads("/proc/self/cwd", AT_FDCWD, join("/proc/self/cwd/../../../../../..", secret));

	/* Paths through the links of /proc, its own and another process's, on into
	   symlinks: the walk goes on inside the root. */
	chdir("/tmp");
	reads("/proc/self/cwd and a symlink to /", AT_FDCWD, join("/proc/self/cwd/abs", secret));
	reads("/proc/self/cwd and a climbing symlink", AT_FDCWD, join("/proc/self/cwd/rel", secret));
	reads("/proc/self/root/proc/self/cwd", AT_FDCWD, join("/proc/self/root/proc/self/cwd/abs", secret));
	int tmpfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	char through[64];
	snprintf(through, sizeof through, "/proc/self/fd/%d/abs", tmpfd);
	reads("/proc/self/fd/N and a symlink to /", AT_FDCWD, join(through, secret));
	int ready[2], done[2];
	pipe(ready);
	pipe(done);
	fflush(stdout);
	pid_t peer = fork();
	if (peer == 0) {
		char x;
		write(ready[1], "x", 1);
		read(done[0], &x, 1);
		_exit(0);
	}
	char x;
	read(ready[0], &x, 1);
	snprintf(through, sizeof through, "/proc/%d/cwd/abs", (int)peer);
	reads("another process's cwd and a symlink to /", AT_FDCWD, join(through, secret));
	snprintf(through, sizeof through, "/proc/%d/fd/%d/rel", (int)peer, tmpfd);
	reads("another process's fd/N and a climbing symlink", AT_FDCWD, join(through, secret));
	snprintf(through, sizeof through, "/proc/%d/root/tmp/abs", (int)peer);
	reads("another process's root and a symlink to /", AT_FDCWD, join(through, secret));
	write(done[1], "x", 1);
	waitpid(peer, NULL, 0);
	close(tmpfd);
	chdir("/");

	/* A descriptor opened before chdir, and a working directory renamed. */
	mkdir("/tmp/d", 0755);
	int dfd = open("/tmp/d", O_RDONLY | O_DIRECTORY);
	chdir("/tmp/d");
	if (getcwd(cwd, sizeof cwd))
		printf("getcwd: %s\n", cwd);
	ssize_t n = readlink("/proc/self/cwd", cwd, sizeof cwd - 1);
	if (n >= 0) {
		cwd[n] = 0;
		printf("/proc/self/cwd: %s\n", cwd);
	}
	chdir("/");
	reads("dirfd from before chdir", dfd, join("../../../../../../../..", secret));
	chdir("/tmp/d");
	if (rename("/tmp/d", "/../../../../d") == 0 && getcwd(cwd, sizeof cwd))
		printf("renamed cwd: getcwd %s\n", cwd);
	reads("cwd renamed", AT_FDCWD, join("../../../../../../../..", secret));
	reads("dirfd renamed", dfd, join("../../../../../../../..", secret));
	chdir("/");

	/* Hard links, and creations. */
	printf("link to the secret: %s\n", link(secret, "/tmp/hard") ? strerror(errno) : "made");
	reads("hard link", AT_FDCWD, "/tmp/hard");
	printf("linkat through a symlink: %s\n",
	       linkat(AT_FDCWD, "/tmp/direct", AT_FDCWD, "/tmp/hard2", AT_SYMLINK_FOLLOW) ? strerror(errno) : "made");
	reads("linkat through a symlink", AT_FDCWD, "/tmp/hard2");
	int cfd = open(join(outside, "/created"), O_CREAT | O_WRONLY, 0644);
	printf("create outside: %s\n", cfd < 0 ? strerror(errno) : "made (inside)");
	symlink(join(outside, "/created2"), "/tmp/dangling");
	cfd = open("/tmp/dangling", O_CREAT | O_WRONLY, 0644);
	printf("create through a dangling symlink: %s\n", cfd < 0 ? strerror(errno) : "made (inside)");
	printf("mkdir outside: %s\n", mkdir(join("/tmp/abs", join(outside, "/newdir")), 0755) ? strerror(errno) : "made (inside)");
	printf("rename the secret: %s\n", rename(join("/tmp/rel", secret), "/tmp/stolen") ? strerror(errno) : "renamed");
	reads("renamed secret", AT_FDCWD, "/tmp/stolen");
	printf("unlink the secret: %s\n", unlink(join("/tmp/abs", secret)) ? strerror(errno) : "unlinked");

	/* A Unix socket outside, by its path and through a symlink. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
		printf("ESCAPED socket: connected to %s\n", sock);
		escapes++;
	} else {
		printf("socket: %s\n", strerror(errno));
	}
	close(s);
	symlink(sock, "/tmp/socklink");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "/tmp/socklink");
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
		printf("ESCAPED socket symlink: connected\n");
		escapes++;
	} else {
		printf("socket through a symlink: %s\n", strerror(errno));
	}
	close(s);

	/* execve of a program outside, by its path and through a symlink. */
	symlink(prog, "/tmp/proglink");
	const char *targets[] = {prog, "/tmp/proglink", join("/tmp/rel", prog)};
	for (int i = 0; i < 3; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			execl(targets[i], "echo", "ESCAPED", (char *)NULL);
			printf("exec %d: %s\n", i, strerror(errno));
			fflush(stdout);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
	}

	race(secret);
	printf("escapes: %d\n", escapes);
	return escapes != 0;
}
