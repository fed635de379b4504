/* mountchecks: mount(2) copies its strings in and resolves its target before it asks for
 * CAP_SYS_ADMIN, so a process that may not mount still sees EFAULT, EINVAL and the
 * target's lookup errors, in Linux's order; open_tree without TREE_CLONE needs no
 * privilege and opens its path as O_PATH does; mount_setattr checks its flags and size;
 * fsconfig its arguments, since no descriptor it can get is a filesystem context. Run as root: only children that drop their
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

/* Not in every C library's headers. */
#define NR_open_tree 428
#define NR_mount_setattr 442
#define NR_fsconfig 431
#define TREE_CLONE 1
#define TREE_RECURSIVE 0x8000

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

/* opened describes descriptor r from open_tree: its type, O_PATH, close-on-exec, name. */
static void opened(const char *what, long r)
{
	if (r < 0) {
		printf("%s: %s: %s\n", who, what, errname(errno));
		return;
	}
	struct stat st;
	char link[4096] = "", proc[64];
	fstat(r, &st);
	snprintf(proc, sizeof proc, "/proc/self/fd/%ld", r);
	ssize_t n = readlink(proc, link, sizeof link - 1);
	if (n > 0)
		link[n] = 0;
	char buf[1];
	long rd = read(r, buf, 1);
	int rderr = errno;
	printf("%s: %s: type %o, O_PATH %d, cloexec %d, read %s, names %s\n", who, what,
	       st.st_mode & S_IFMT, (fcntl(r, F_GETFL) & O_PATH) != 0, fcntl(r, F_GETFD),
	       rd < 0 ? errname(rderr) : "data", strncmp(link, dir, strlen(dir)) ? link : link + strlen(dir));
	close(r);
}

static void newapi(void)
{
	char *d = strdup(at("dir"));
	opened("open_tree a directory", syscall(NR_open_tree, AT_FDCWD, d, 0));
	opened("open_tree a file", syscall(NR_open_tree, AT_FDCWD, at("file"), O_CLOEXEC));
	opened("open_tree a symlink", syscall(NR_open_tree, AT_FDCWD, at("tofile"), 0));
	opened("open_tree a symlink, not followed", syscall(NR_open_tree, AT_FDCWD, at("tofile"), AT_SYMLINK_NOFOLLOW));
	opened("open_tree missing", syscall(NR_open_tree, AT_FDCWD, at("missing"), 0));
	opened("open_tree empty", syscall(NR_open_tree, AT_FDCWD, "", 0));
	opened("open_tree NULL", syscall(NR_open_tree, AT_FDCWD, NULL, 0));
	opened("open_tree below an unsearchable directory", syscall(NR_open_tree, AT_FDCWD, at("closed/in"), 0));
	opened("open_tree clone", syscall(NR_open_tree, AT_FDCWD, d, TREE_CLONE));
	opened("open_tree clone of a missing path", syscall(NR_open_tree, AT_FDCWD, at("missing"), TREE_CLONE));
	opened("open_tree recursive without clone", syscall(NR_open_tree, AT_FDCWD, d, TREE_RECURSIVE));
	opened("open_tree unknown flags", syscall(NR_open_tree, AT_FDCWD, d, 0x4));
	opened("open_tree unknown flags, missing path", syscall(NR_open_tree, AT_FDCWD, at("missing"), 0x4));
	int fd = open(at("file"), O_RDONLY);
	opened("open_tree empty path of a file", syscall(NR_open_tree, fd, "", AT_EMPTY_PATH));
	opened("open_tree empty path without AT_EMPTY_PATH", syscall(NR_open_tree, fd, "", 0));
	opened("open_tree relative to a file", syscall(NR_open_tree, fd, "x", 0));
	close(fd);
	opened("open_tree empty path of a closed descriptor", syscall(NR_open_tree, fd, "", AT_EMPTY_PATH));
	fd = open(d, O_RDONLY | O_DIRECTORY);
	opened("open_tree relative to a directory", syscall(NR_open_tree, fd, "../file", 0));
	close(fd);

	char attr[8192] = {0};
	long r = syscall(NR_mount_setattr, AT_FDCWD, d, 0, attr, 32);
	printf("%s: mount_setattr: %s\n", who, r < 0 ? errname(errno) : "0");
	r = syscall(NR_mount_setattr, AT_FDCWD, d, 0x4, attr, 32);
	printf("%s: mount_setattr unknown flags: %s\n", who, r < 0 ? errname(errno) : "0");
	r = syscall(NR_mount_setattr, AT_FDCWD, d, 0, attr, 8);
	printf("%s: mount_setattr short: %s\n", who, r < 0 ? errname(errno) : "0");
	r = syscall(NR_mount_setattr, AT_FDCWD, d, 0, attr, 4097);
	printf("%s: mount_setattr past a page: %s\n", who, r < 0 ? errname(errno) : "0");
	r = syscall(NR_mount_setattr, AT_FDCWD, at("missing"), 0, attr, 32);
	printf("%s: mount_setattr missing: %s\n", who, r < 0 ? errname(errno) : "0");

	/* fsconfig: no descriptor is a filesystem context, so each call fails; which error
	 * depends on the checks Linux makes before it looks at the descriptor. */
	int dfd = open(d, O_RDONLY), pfd = open(d, O_PATH);
	struct {
		const char *what;
		int fd;
		const char *key, *value;
		int aux;
	} fc[] = {
	    {"negative descriptor", -1, NULL, NULL, 0},
	    {"nothing", dfd, NULL, NULL, 0},
	    {"key", dfd, "source", NULL, 0},
	    {"key, closed descriptor", 99, "source", NULL, 0},
	    {"key, O_PATH descriptor", pfd, "source", NULL, 0},
	    {"key and value", dfd, "source", "x", 0},
	    {"key, value and 1", dfd, "source", "x", 1},
	    {"key, value and 1, closed descriptor", 99, "source", "x", 1},
	    {"key, value and 1, O_PATH descriptor", pfd, "source", "x", 1},
	    {"key, value and AT_FDCWD", dfd, "source", "x", AT_FDCWD},
	    {"key, value and -5", dfd, "source", "x", -5},
	    {"key, value and 2 MiB", dfd, "source", "x", 2 << 20},
	    {"key and 3", dfd, "source", NULL, 3},
	    {"key and -1", dfd, "source", NULL, -1},
	    {"nothing, O_PATH descriptor", pfd, NULL, NULL, 0},
	    {"nothing, closed descriptor", 99, NULL, NULL, 0},
	    {"bad pointers", dfd, (char *)8, (char *)8, 1},
	};
	for (unsigned cmd = 0; cmd <= 9; cmd++) {
		for (unsigned i = 0; i < sizeof fc / sizeof fc[0]; i++) {
			r = syscall(NR_fsconfig, fc[i].fd, cmd, fc[i].key, fc[i].value, fc[i].aux);
			printf("%s: fsconfig %u, %s: %s\n", who, cmd, fc[i].what, r < 0 ? errname(errno) : "0");
		}
	}
	close(dfd);
	close(pfd);
	free(d);
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
	newapi();
}

static void user(void)
{
	if (setgid(1000) != 0 || setuid(1000) != 0) {
		printf("setuid: %s\n", errname(errno));
		return;
	}
	who = "uid 1000";
	checks();
	newapi();
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
	symlink("file", at("tofile"));

	in_child(nocaps);
	in_child(user);

	unlink(at("file"));
	unlink(at("loop"));
	unlink(at("tofile"));
	rmdir(at("dir"));
	rmdir(at("closed/in"));
	rmdir(at("closed"));
	rmdir(dir);
	return failures;
}
