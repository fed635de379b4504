/* fsperm checks that file access follows the caller's credentials after it drops root:
 * owner, group and other mode bits, supplementary groups, search permission along a
 * path, creation in directories it may or may not write, set-group-id and sticky
 * directories, rename and unlink rules, chmod and chown by owner, access(2) with the real
 * ids against AT_EACCESS, setfsuid alone, root without CAP_DAC_OVERRIDE, and the owner of
 * what it creates. Run it as root: the children drop to uid 1000. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define UID 1000
#define GID 1000
#define GRP 2000

static char dir[64];

/* at names a file in the test directory. */
static const char *at(const char *name)
{
	static char buf[4][256];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", dir, name);
	return b;
}

static void mk(const char *name, int mode, uid_t u, gid_t g)
{
	int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "data\n", 5) != 5) {
		perror(name);
		exit(2);
	}
	close(fd);
	if (chown(at(name), u, g) || chmod(at(name), mode)) {
		perror(name);
		exit(2);
	}
}

static void mkd(const char *name, int mode, uid_t u, gid_t g)
{
	if (mkdir(at(name), 0700) || chown(at(name), u, g) || chmod(at(name), mode)) {
		perror(name);
		exit(2);
	}
}

static int openr(const char *name, int flags)
{
	int fd = open(at(name), flags, 0666);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

/* owned says whether name (not followed) belongs to u:g. */
static int owned(const char *name, uid_t u, gid_t g)
{
	struct stat st;
	if (lstat(at(name), &st) != 0)
		return 0;
	return st.st_uid == u && st.st_gid == g;
}

static void expect_ok(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? errname(errno) : "success");
	if (r < 0)
		failures++;
}

static void drop(void)
{
	gid_t gs[] = {GRP};
	if (setgroups(1, gs) || setresgid(GID, GID, GID) || setresuid(UID, UID, UID)) {
		perror("drop");
		exit(2);
	}
}

/* as_user runs the checks of one process that dropped to UID with group GRP. */
static void as_user(void)
{
	drop();
	umask(022);
	expect_err("read a 0600 file of root", openr("secret", O_RDONLY), EACCES);
	expect_ok("read a 0644 file of root", openr("pub", O_RDONLY));
	expect_err("write a 0644 file of root", openr("pub", O_WRONLY), EACCES);
	expect_ok("read a 0640 file of a supplementary group", openr("grp", O_RDONLY));
	expect_err("read a 0604 file of a supplementary group", openr("grpdeny", O_RDONLY), EACCES);
	struct stat st;
	expect_err("stat under a 0700 directory", stat(at("closed/f"), &st), EACCES);
	expect_err("chdir into a 0700 directory", chdir(at("closed")), EACCES);
	expect_err("create in a 0755 directory of root", openr("new", O_CREAT | O_WRONLY), EACCES);
	expect_err("mkdir in a 0755 directory of root", mkdir(at("newdir"), 0755), EACCES);
	expect_ok("create in a 0777 directory", openr("open/new", O_CREAT | O_WRONLY));
	expect("the new file is the user's", owned("open/new", UID, GID));
	expect("its mode follows the umask", stat(at("open/new"), &st) == 0 && (st.st_mode & 07777) == 0644);
	expect_ok("mkdir in a 0777 directory", mkdir(at("open/dir"), 0777));
	expect("the new directory is the user's", owned("open/dir", UID, GID));
	expect_ok("symlink in a 0777 directory", symlink("pub", at("open/sym")));
	expect("the link is the user's", owned("open/sym", UID, GID));
	expect_ok("create in a set-group-id directory", openr("sgid/new", O_CREAT | O_WRONLY));
	expect("it takes the directory's group", owned("sgid/new", UID, GRP));
	expect_err("unlink root's file in a sticky directory", unlink(at("sticky/rootf")), EPERM);
	expect_err("rename root's file in a sticky directory", rename(at("sticky/rootf"), at("sticky/x")), EPERM);
	expect_ok("create in a sticky directory", openr("sticky/own", O_CREAT | O_WRONLY));
	expect_ok("unlink one's own file there", unlink(at("sticky/own")));
	expect_ok("O_CREAT of an existing file in a 0555 directory", openr("ronly/f", O_CREAT | O_RDWR));
	expect_err("O_CREAT of a new file in a 0555 directory", openr("ronly/g", O_CREAT | O_RDWR), EACCES);
	expect_err("unlink in a 0555 directory", unlink(at("ronly/f")), EACCES);
	expect_err("rename out of a 0777 into a 0755 directory", rename(at("open/new"), at("new2")), EACCES);
	expect_err("chmod root's file", chmod(at("pub"), 0777), EPERM);
	expect_ok("chmod one's own file", chmod(at("mine"), 0600));
	expect_err("chown one's own file to root", chown(at("mine"), 0, -1), EPERM);
	expect_ok("chown one's own file to a supplementary group", chown(at("mine"), -1, GRP));
	expect_err("chown one's own file to another group", chown(at("mine"), -1, 3000), EPERM);
	int fd = open(at("mine"), O_RDONLY);
	expect_err("fchown of a descriptor to root", fchown(fd, 0, 0), EPERM);
	close(fd);
	fd = open(at("pub"), O_RDONLY);
	expect_err("fchmod of root's file", fchmod(fd, 0666), EPERM);
	close(fd);
	expect_err("truncate root's file", truncate(at("pub"), 0), EACCES);
	expect_err("utimensat now on root's file", utimensat(AT_FDCWD, at("pub"), NULL, 0), EACCES);
	struct timespec ts[2] = {{1, 0}, {1, 0}};
	expect_err("utimensat a time on root's file", utimensat(AT_FDCWD, at("pub"), ts, 0), EPERM);
	expect_ok("utimensat a time on one's own file", utimensat(AT_FDCWD, at("mine"), ts, 0));
	expect_err("access R_OK to a 0600 file of root", access(at("secret"), R_OK), EACCES);
	expect_ok("access R_OK to a 0644 file", access(at("pub"), R_OK));
	expect_err("access W_OK to a 0644 file of root", access(at("pub"), W_OK), EACCES);
	expect_err("access X_OK to a 0644 file", access(at("pub"), X_OK), EACCES);

	/* A Unix socket: bound as the user, and root's 0755 one refused for connect
	 * (blocking: the wait runs off the loop under vemu) and sendto. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", at("open/sock"));
	expect_ok("bind a socket in a 0777 directory", bind(s, (struct sockaddr *)&sa, sizeof sa));
	close(s);
	expect("the socket is the user's", owned("open/sock", UID, GID));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", at("rootsock"));
	expect_err("connect to root's 0755 socket", connect(s, (struct sockaddr *)&sa, sizeof sa), EACCES);
	close(s);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	expect_err("connect to it without blocking", connect(s, (struct sockaddr *)&sa, sizeof sa), EACCES);
	close(s);
	exit(failures);
}

/* as_fsuid keeps uid 0 but sets only the filesystem ids. */
static void as_fsuid(void)
{
	setfsgid(GID);
	setfsuid(UID);
	umask(022);
	expect_err("read a 0600 file of root with fsuid 1000", openr("secret", O_RDONLY), EACCES);
	expect_ok("create with fsuid 1000", openr("open/fsfile", O_CREAT | O_WRONLY));
	expect("the file is the fsuid's", owned("open/fsfile", UID, GID));
	expect_ok("access uses the real uid 0", access(at("secret"), R_OK));
	expect_err("faccessat AT_EACCESS uses the fsuid", faccessat(AT_FDCWD, at("secret"), R_OK, AT_EACCESS), EACCES);
	setfsuid(0);
	expect_ok("read it again with fsuid 0", openr("secret", O_RDONLY));
	exit(failures);
}

/* as_realuser has real uid 1000 and effective uid 0. */
static void as_realuser(void)
{
	if (setresuid(UID, 0, 0)) {
		perror("setresuid");
		exit(2);
	}
	expect_ok("open a 0600 file of root with euid 0", openr("secret", O_RDONLY));
	expect_err("access with real uid 1000", access(at("secret"), R_OK), EACCES);
	expect_ok("faccessat AT_EACCESS with euid 0", faccessat(AT_FDCWD, at("secret"), R_OK, AT_EACCESS));
	expect_ok("open still works after access", openr("secret", O_RDONLY));
	exit(failures);
}

struct caphdr {
	uint32_t version;
	int pid;
};
struct capdata {
	uint32_t eff, prm, inh;
};

/* as_nodac is root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. */
static void as_nodac(void)
{
	struct caphdr h = {0x20080522, 0};
	struct capdata d[2];
	if (syscall(SYS_capget, &h, d)) {
		perror("capget");
		exit(2);
	}
	d[0].eff &= ~(1u << 1 | 1u << 2);
	if (syscall(SYS_capset, &h, d)) {
		perror("capset");
		exit(2);
	}
	expect_ok("root reads its own 0600 file", openr("secret", O_RDONLY));
	expect_err("root without CAP_DAC_OVERRIDE reads a user's 0600 file", openr("mine600", O_RDONLY), EACCES);
	expect_ok("but CAP_FOWNER lets it chmod the file", chmod(at("mine600"), 0644));
	expect_ok("and then read it", openr("mine600", O_RDONLY));
	exit(failures);
}

static void run(const char *name, void (*f)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		f();
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: %d\n", name, st);
		failures++;
	}
}

static void cleanup(const char *path)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "%s", path);
	/* Depth first, by hand: no shell in the guest. */
	static const char *files[] = {
	    "secret", "pub", "grp", "grpdeny", "closed/f", "sticky/rootf", "sticky/x", "sticky/own",
	    "ronly/f", "mine", "mine600", "open/new", "open/sym", "open/sock", "open/fsfile", "sgid/new",
	    "rootsock", "new", "new2", "ronly/g", NULL};
	static const char *dirs[] = {"closed", "open/dir", "open", "sticky", "sgid", "ronly", "newdir", NULL};
	for (int i = 0; files[i]; i++)
		unlink(at(files[i]));
	for (int i = 0; dirs[i]; i++)
		rmdir(at(dirs[i]));
	rmdir(cmd);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("not root: skipped\n");
		return 0;
	}
	snprintf(dir, sizeof dir, "/tmp/fsperm.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	chmod(dir, 0755);
	mk("secret", 0600, 0, 0);
	mk("pub", 0644, 0, 0);
	mk("grp", 0640, 0, GRP);
	mk("grpdeny", 0604, 0, GRP);
	mkd("closed", 0700, 0, 0);
	mk("closed/f", 0644, 0, 0);
	mkd("open", 0777, 0, 0);
	mkd("sticky", 01777, 0, 0);
	mk("sticky/rootf", 0666, 0, 0);
	mkd("sgid", 02777, 0, GRP);
	mk("mine", 0644, UID, GID);
	mk("mine600", 0600, UID, GID);
	mkd("ronly", 0555, 0, 0);
	mk("ronly/f", 0666, 0, 0);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", at("rootsock"));
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 4) || chmod(at("rootsock"), 0755)) {
		perror("rootsock");
		return 2;
	}

	run("user", as_user);
	run("fsuid", as_fsuid);
	run("realuser", as_realuser);
	run("nodac", as_nodac);
	expect("root still reads everything afterwards", openr("closed/f", O_RDONLY) == 0);
	close(ls);
	cleanup(dir);
	return failures;
}
