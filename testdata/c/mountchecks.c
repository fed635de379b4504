/* mountchecks: mount(2) copies its strings in and resolves its target before it asks for
 * CAP_SYS_ADMIN, so a process that may not mount still sees EFAULT, EINVAL and the
 * target's lookup errors, in Linux's order. Run as root: only children that drop their
 * capabilities or become uid 1000 call mount, in a directory of its own under /tmp. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
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

static const char *who;

static void try(const char *what, const char *src, const char *target, const char *type,
		unsigned long flags, const void *data)
{
	long r = syscall(SYS_mount, src, target, type, flags, data);
	if (r < 0)
		printf("%s: %s: %s\n", who, what, errname(errno));
	else
		printf("%s: %s: %ld\n", who, what, r);
}

static void checks(void)
{
	static char longname[5000];
	memset(longname, 'a', sizeof longname - 1);
	static char justfits[4096];
	memset(justfits, 'a', sizeof justfits - 1);
	/* A page that ends in readable data, the next one unmapped. */
	char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(pg + 4096, 4096);
	memset(pg, 'x', 4096);
	char *bad = (char *)8;
	char *d = strdup(at("dir"));

	try("directory", "none", d, "tmpfs", 0, NULL);
	try("missing target", "none", at("missing"), "tmpfs", 0, NULL);
	try("missing parent", "none", at("missing/dir"), "tmpfs", 0, NULL);
	try("empty target", "none", "", "tmpfs", 0, NULL);
	try("NULL target", "none", NULL, "tmpfs", 0, NULL);
	try("bad target", "none", bad, "tmpfs", 0, NULL);
	try("through a file", "none", at("file/dir"), "tmpfs", 0, NULL);
	try("file target", "none", at("file"), "tmpfs", 0, NULL);
	try("symlink loop", "none", at("loop"), "tmpfs", 0, NULL);
	try("long target", "none", longname, "tmpfs", 0, NULL);
	try("below an unsearchable directory", "none", at("closed/in"), "tmpfs", 0, NULL);
	try("bad type", "none", d, bad, 0, NULL);
	try("long type", "none", d, longname, 0, NULL);
	try("type of 4095 bytes", "none", d, justfits, 0, NULL);
	try("type running into a hole", "none", d, pg + 4090, 0, NULL);
	try("NULL type", "none", d, NULL, 0, NULL);
	try("bad source", bad, d, "tmpfs", 0, NULL);
	try("long source", longname, d, "tmpfs", 0, NULL);
	try("NULL source", NULL, d, "tmpfs", 0, NULL);
	try("bad data", "none", d, "tmpfs", 0, bad);
	try("data running into a hole", "none", d, "tmpfs", 0, pg + 4090);
	try("bad type, missing target", "none", at("missing"), bad, 0, NULL);
	try("bad source, missing target", bad, at("missing"), "tmpfs", 0, NULL);
	try("bad data, missing target", "none", at("missing"), "tmpfs", 0, bad);
	try("long type, bad source", bad, d, longname, 0, NULL);
	try("MS_NOUSER", "none", d, "tmpfs", 1UL << 31, NULL);
	try("MS_NOUSER, missing target", "none", at("missing"), "tmpfs", 1UL << 31, NULL);
	try("magic and read-only", "none", d, "tmpfs", MS_MGC_VAL | MS_RDONLY, NULL);
	try("magic in the high word", "none", d, "tmpfs", (1UL << 32) | MS_MGC_VAL, NULL);
	try("bind of a missing source", at("missing"), d, NULL, MS_BIND, NULL);
	try("remount", NULL, d, NULL, MS_REMOUNT | MS_RDONLY, NULL);
	try("bit 32", "none", d, "tmpfs", 1UL << 32, NULL);
	try("bit 63", "none", d, "tmpfs", 1UL << 63, NULL);
	try("bit 40, missing target", "none", at("missing"), "tmpfs", 1UL << 40, NULL);
	try("bit 40, bad type", "none", d, bad, 1UL << 40, NULL);
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

static void nocaps(void)
{
	drop_caps();
	who = "no capabilities";
	checks();
}

static void user(void)
{
	if (setgid(1000) != 0 || setuid(1000) != 0) {
		printf("setuid: %s\n", errname(errno));
		return;
	}
	who = "uid 1000";
	checks();
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

int main(void)
{
	if (geteuid() != 0) {
		printf("skipped: not root\n");
		return 0;
	}
	snprintf(dir, sizeof dir, "/tmp/mountchecks.XXXXXX");
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
	chmod(at("closed"), 0700);
	symlink("loop", at("loop"));

	in_child(nocaps);
	in_child(user);

	unlink(at("file"));
	unlink(at("loop"));
	rmdir(at("dir"));
	rmdir(at("closed/in"));
	rmdir(at("closed"));
	rmdir(dir);
	return failures;
}
