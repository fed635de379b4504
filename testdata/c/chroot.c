/* chroot: chroot(2) resolves its path and checks search permission before it asks for
 * CAP_SYS_CHROOT, so a missing path is ENOENT and a file ENOTDIR even for a process that
 * may not change its root. Run as root: root checks the path only (changing its root
 * would succeed natively), children that drop their capabilities or become uid 1000
 * check the refusals, in a directory of its own under /tmp that they may search. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char dir[64];

static char *at(const char *name)
{
	static char buf[4][4096];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", dir, name);
	return b;
}

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

/* paths tries the paths whose lookup fails whoever asks. */
static void paths(const char *who)
{
	char what[128];
	static char longname[5000];
	memset(longname, 'a', sizeof longname - 1);
#define TRY(name, arg)                                                  \
	do {                                                            \
		snprintf(what, sizeof what, "%s: %s", who, name);       \
		show(what, syscall(SYS_chroot, arg));                   \
	} while (0)
	TRY("missing", at("missing"));
	TRY("missing parent", at("missing/dir"));
	TRY("empty", "");
	TRY("NULL", NULL);
	TRY("bad pointer", (char *)8);
	TRY("file", at("file"));
	TRY("through a file", at("file/dir"));
	TRY("file through a symlink", at("tofile"));
	TRY("symlink loop", at("loop"));
	TRY("too long", longname);
#undef TRY
}

static void drop_caps(void)
{
	struct {
		unsigned version;
		int pid;
	} h = {0x20080522, 0};
	struct {
		unsigned eff, prm, inh;
	} d[2] = {{0, 0, 0}, {0, 0, 0}};
	if (syscall(SYS_capset, &h, d) != 0)
		printf("capset: %s\n", errname(errno));
}

/* refused runs in a child that may not change its root. */
static void refused(const char *who)
{
	paths(who);
	char what[128];
	snprintf(what, sizeof what, "%s: directory", who);
	show(what, syscall(SYS_chroot, at("dir")));
	snprintf(what, sizeof what, "%s: directory through a symlink", who);
	show(what, syscall(SYS_chroot, at("todir")));
	snprintf(what, sizeof what, "%s: unsearchable directory", who);
	show(what, syscall(SYS_chroot, at("closed")));
	snprintf(what, sizeof what, "%s: below an unsearchable directory", who);
	show(what, syscall(SYS_chroot, at("closed/in")));
	snprintf(what, sizeof what, "%s: read-only directory", who);
	show(what, syscall(SYS_chroot, at("readonly")));
	snprintf(what, sizeof what, "%s: search-only directory", who);
	show(what, syscall(SYS_chroot, at("searchonly")));
}

static void in_child(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("child exited 0", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void nocaps(void)
{
	drop_caps();
	refused("no capabilities");
}

static void user(void)
{
	if (setgid(1000) != 0 || setuid(1000) != 0) {
		printf("setuid: %s\n", errname(errno));
		return;
	}
	refused("uid 1000");
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skipped: not root\n");
		return 0;
	}
	snprintf(dir, sizeof dir, "/tmp/chroot.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	chmod(dir, 0755);
	int fd = open(at("file"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	close(fd);
	mkdir(at("dir"), 0755);
	mkdir(at("closed"), 0700);
	mkdir(at("closed/in"), 0755);
	mkdir(at("readonly"), 0744);
	mkdir(at("searchonly"), 0711);
	chmod(at("closed"), 0700);
	chmod(at("readonly"), 0744);
	chmod(at("searchonly"), 0711);
	symlink("file", at("tofile"));
	symlink("dir", at("todir"));
	symlink("loop", at("loop"));

	paths("root");
	in_child(nocaps);
	in_child(user);

	unlink(at("file"));
	unlink(at("tofile"));
	unlink(at("todir"));
	unlink(at("loop"));
	rmdir(at("dir"));
	rmdir(at("closed/in"));
	rmdir(at("closed"));
	rmdir(at("readonly"));
	rmdir(at("searchonly"));
	rmdir(dir);
	return failures;
}
