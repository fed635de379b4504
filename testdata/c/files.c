/* files exercises file system calls inside the directory given as argv[1]. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

/* expect_err checks that r < 0 with errno == want. */
static void expect_err(const char *what, long r, int want)
{
	int e = errno;
	if (r >= 0) {
		printf("%s: unexpected success\n", what);
		failures++;
		return;
	}
	printf("%s: %s\n", what, errname(e));
	if (e != want)
		failures++;
}

static void must(const char *what, long r)
{
	if (r < 0) {
		printf("%s: failed: %s\n", what, errname(errno));
		failures++;
	} else {
		printf("%s: OK\n", what);
	}
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("opendir %s: %s\n", path, errname(errno));
		failures++;
		return;
	}
	char *names[64];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < 64)
		names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], cmpstr);
	printf("ls %s:", path);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

/* statx through the raw system call: musl 1.2.3 has no wrapper. */
static void do_statx(const char *path)
{
	unsigned char buf[256];
	memset(buf, 0xa5, sizeof buf);
	long r = syscall(332 /* statx */, AT_FDCWD, path, 0, 0x7ff /* STATX_BASIC_STATS */, buf);
	if (r < 0) {
		printf("statx %s: %s\n", path, errname(errno));
		failures++;
		return;
	}
	uint32_t mask;
	uint16_t mode;
	uint64_t size;
	memcpy(&mask, buf + 0, 4);
	memcpy(&mode, buf + 28, 2);
	memcpy(&size, buf + 40, 8);
	printf("statx %s: size=%llu mode=%o basic=%s\n", path, (unsigned long long)size,
	       mode & 07777, (mask & 0x7ff) == 0x7ff ? "yes" : "no");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: files DIR\n");
		return 2;
	}
	umask(022);
	if (chdir(argv[1]) < 0) {
		perror("chdir");
		return 2;
	}
	char top[4096];
	if (!getcwd(top, sizeof top)) {
		perror("getcwd");
		return 2;
	}

	/* open, write, pwrite, pread, lseek, fstat */
	int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0644);
	must("open a.txt O_CREAT|O_EXCL", fd);
	expect_err("open a.txt O_EXCL again", open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
	printf("write: %ld\n", (long)write(fd, "hello, files\n", 13));
	printf("pwrite: %ld\n", (long)pwrite(fd, "HELLO", 5, 0));
	char buf[128] = {0};
	printf("pread: %ld '%.5s'\n", (long)pread(fd, buf, 5, 7), buf);
	printf("lseek cur: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	printf("lseek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
	printf("lseek set: %ld\n", (long)lseek(fd, 2, SEEK_SET));
	memset(buf, 0, sizeof buf);
	printf("read: %ld '%s'\n", (long)read(fd, buf, sizeof buf - 1), buf);
	printf("read at eof: %ld\n", (long)read(fd, buf, sizeof buf));
	expect_err("lseek negative", lseek(fd, -100, SEEK_SET), EINVAL);
	struct stat st;
	must("fstat", fstat(fd, &st));
	printf("fstat: size=%ld mode=%o reg=%d\n", (long)st.st_size, st.st_mode & 07777, S_ISREG(st.st_mode));

	/* creat, ftruncate, truncate, fsync */
	int fd2 = creat("b.txt", 0600);
	must("creat b.txt", fd2);
	printf("write b: %ld\n", (long)write(fd2, "0123456789", 10));
	must("fsync", fsync(fd2));
	must("fdatasync", fdatasync(fd2));
	must("ftruncate 4", ftruncate(fd2, 4));
	must("fstat b", fstat(fd2, &st));
	printf("b size after ftruncate: %ld\n", (long)st.st_size);
	close(fd2);
	must("truncate 100", truncate("b.txt", 100));
	must("stat b", stat("b.txt", &st));
	printf("b size after truncate: %ld mode=%o\n", (long)st.st_size, st.st_mode & 07777);
	expect_err("truncate missing", truncate("nope.txt", 0), ENOENT);

	/* stat failures */
	expect_err("stat missing", stat("missing", &st), ENOENT);
	expect_err("stat through file", stat("a.txt/x", &st), ENOTDIR);
	expect_err("open missing", open("missing", O_RDONLY), ENOENT);

	/* fstatat, statx */
	must("fstatat", fstatat(AT_FDCWD, "a.txt", &st, 0));
	printf("fstatat size=%ld\n", (long)st.st_size);
	do_statx("a.txt");
	do_statx("b.txt");

	/* mkdir, rmdir, chdir, fchdir, getcwd */
	must("mkdir d", mkdir("d", 0755));
	expect_err("mkdir d again", mkdir("d", 0755), EEXIST);
	expect_err("mkdir under missing", mkdir("nope/d", 0755), ENOENT);
	must("mkdir d/sub", mkdir("d/sub", 0700));
	must("stat d/sub", stat("d/sub", &st));
	printf("d/sub dir=%d mode=%o\n", S_ISDIR(st.st_mode), st.st_mode & 07777);
	expect_err("rmdir nonempty", rmdir("d"), ENOTEMPTY);
	expect_err("rmdir file", rmdir("a.txt"), ENOTDIR);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	must("open . O_DIRECTORY", dfd);
	expect_err("open file O_DIRECTORY", open("a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
	must("chdir d/sub", chdir("d/sub"));
	char cwd[4096];
	if (getcwd(cwd, sizeof cwd)) {
		size_t n = strlen(top);
		expect("getcwd is top/d/sub", strncmp(cwd, top, n) == 0 && strcmp(cwd + n, "/d/sub") == 0);
	} else {
		printf("getcwd: %s\n", errname(errno));
		failures++;
	}
	expect_err("getcwd small buffer", getcwd(cwd, 2) ? 0 : -1, ERANGE);
	must("fchdir back", fchdir(dfd));
	if (getcwd(cwd, sizeof cwd))
		expect("getcwd is top again", strcmp(cwd, top) == 0);
	must("rmdir d/sub", rmdir("d/sub"));

	/* rename, link, symlink, readlink, lstat, unlink */
	must("rename b.txt c.txt", rename("b.txt", "c.txt"));
	expect_err("rename missing", rename("b.txt", "x.txt"), ENOENT);
	must("link a.txt hard.txt", link("a.txt", "hard.txt"));
	expect_err("link to existing", link("a.txt", "c.txt"), EEXIST);
	must("stat a.txt", stat("a.txt", &st));
	printf("a nlink=%ld\n", (long)st.st_nlink);
	must("symlink", symlink("a.txt", "sym"));
	must("symlink dangling", symlink("nowhere", "dangling"));
	char lb[256];
	ssize_t ln = readlink("sym", lb, sizeof lb);
	printf("readlink sym: %ld '%.*s'\n", (long)ln, ln > 0 ? (int)ln : 0, lb);
	ln = readlink("sym", lb, 3);
	printf("readlink short: %ld '%.*s'\n", (long)ln, ln > 0 ? (int)ln : 0, lb);
	expect_err("readlink on file", readlink("a.txt", lb, sizeof lb), EINVAL);
	must("lstat sym", lstat("sym", &st));
	printf("lstat sym: lnk=%d size=%ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
	must("stat sym", stat("sym", &st));
	printf("stat sym: reg=%d size=%ld\n", S_ISREG(st.st_mode), (long)st.st_size);
	expect_err("stat dangling", stat("dangling", &st), ENOENT);
	must("lstat dangling", lstat("dangling", &st));
	must("symlink loop a", symlink("loop2", "loop1"));
	must("symlink loop b", symlink("loop1", "loop2"));
	expect_err("open loop", open("loop1", O_RDONLY), ELOOP);
	must("unlink hard.txt", unlink("hard.txt"));
	expect_err("unlink missing", unlink("hard.txt"), ENOENT);
	expect_err("unlink dir", unlink("d"), EISDIR);

	/* chmod, access, faccessat, utimensat */
	must("chmod 0600", chmod("a.txt", 0600));
	must("stat a.txt", stat("a.txt", &st));
	printf("a mode=%o\n", st.st_mode & 07777);
	must("fchmod 0640", fchmod(fd, 0640));
	must("fstat", fstat(fd, &st));
	printf("a mode=%o\n", st.st_mode & 07777);
	must("access R_OK", access("a.txt", R_OK));
	must("access F_OK", access("a.txt", F_OK));
	expect_err("access missing", access("missing", F_OK), ENOENT);
	must("faccessat", faccessat(AT_FDCWD, "a.txt", W_OK, 0));
	must("chmod 0755", chmod("a.txt", 0755));
	must("access X_OK", access("a.txt", X_OK));
	struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
	must("utimensat", utimensat(AT_FDCWD, "a.txt", ts, 0));
	must("stat a.txt", stat("a.txt", &st));
	printf("atime=%ld mtime=%ld.%09ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec,
	       (long)st.st_mtim.tv_nsec);
	struct timespec omit[2] = {{0, UTIME_OMIT}, {42, 0}};
	must("utimensat omit", utimensat(AT_FDCWD, "a.txt", omit, 0));
	must("stat a.txt", stat("a.txt", &st));
	printf("atime=%ld mtime=%ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);

	/* dup, dup2, dup3, fcntl */
	int d1 = dup(fd);
	must("dup", d1);
	long set = lseek(fd, 3, SEEK_SET);
	printf("dup shares offset: %ld %ld\n", set, (long)lseek(d1, 0, SEEK_CUR));
	must("dup2 to 20", dup2(fd, 20));
	printf("dup2 result fd=%d\n", dup2(fd, 20));
	expect_err("dup2 bad fd", dup2(999, 21), EBADF);
	must("dup3 cloexec", dup3(fd, 21, O_CLOEXEC));
	expect_err("dup3 same fd", dup3(fd, fd, 0), EINVAL);
	printf("fcntl GETFD 21: %d\n", fcntl(21, F_GETFD));
	printf("fcntl GETFD 20: %d\n", fcntl(20, F_GETFD));
	must("fcntl SETFD", fcntl(20, F_SETFD, FD_CLOEXEC));
	printf("fcntl GETFD 20: %d\n", fcntl(20, F_GETFD));
	printf("fcntl GETFL accmode rdwr: %d\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	int dfl = fcntl(fd, F_DUPFD, 30);
	printf("fcntl DUPFD >=30: %d\n", dfl);
	int dfc = fcntl(fd, F_DUPFD_CLOEXEC, 30);
	printf("fcntl DUPFD_CLOEXEC: %d cloexec=%d\n", dfc, fcntl(dfc, F_GETFD));
	must("fcntl SETFL append", fcntl(fd, F_SETFL, O_APPEND));
	printf("append set: %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
	must("close 20", close(20));
	must("close 21", close(21));
	expect_err("close 21 again", close(21), EBADF);
	expect_err("write bad fd", write(77, "x", 1), EBADF);
	expect_err("fstat bad fd", fstat(77, &st), EBADF);
	expect_err("fcntl bad fd", fcntl(77, F_GETFD), EBADF);
	close(dfl);
	close(dfc);
	close(d1);

	/* O_APPEND, then read back */
	printf("append write: %ld\n", (long)write(fd, "tail\n", 5));
	memset(buf, 0, sizeof buf);
	printf("pread all: %ld\n", (long)pread(fd, buf, sizeof buf - 1, 0));
	printf("content: %s", buf);
	close(fd);

	/* read-only and write-only descriptors */
	fd = open("a.txt", O_RDONLY);
	expect_err("write to O_RDONLY", write(fd, "x", 1), EBADF);
	close(fd);
	fd = open("c.txt", O_WRONLY);
	expect_err("read from O_WRONLY", read(fd, buf, 1), EBADF);
	close(fd);
	fd = open("d", O_RDONLY);
	expect_err("read directory", read(fd, buf, 1), EISDIR);
	close(fd);
	expect_err("open dir for writing", open("d", O_WRONLY), EISDIR);

	/* O_TRUNC */
	fd = open("c.txt", O_WRONLY | O_TRUNC);
	must("open O_TRUNC", fd);
	fstat(fd, &st);
	printf("size after O_TRUNC: %ld\n", (long)st.st_size);
	close(fd);

	/* openat relative to a directory descriptor */
	int sub = open("d", O_RDONLY | O_DIRECTORY);
	fd = openat(sub, "in-d.txt", O_CREAT | O_WRONLY, 0644);
	must("openat in d", fd);
	printf("write in-d: %ld\n", (long)write(fd, "xyz", 3));
	close(fd);
	must("fstatat in d", fstatat(sub, "in-d.txt", &st, 0));
	printf("in-d size=%ld\n", (long)st.st_size);
	must("fstatat AT_SYMLINK_NOFOLLOW", fstatat(AT_FDCWD, "sym", &st, AT_SYMLINK_NOFOLLOW));
	printf("nofollow lnk=%d\n", S_ISLNK(st.st_mode));
	must("unlinkat", unlinkat(sub, "in-d.txt", 0));
	close(sub);

	/* pipes */
	int p[2];
	must("pipe", pipe(p));
	printf("pipe write: %ld\n", (long)write(p[1], "through the pipe", 16));
	memset(buf, 0, sizeof buf);
	printf("pipe read: %ld '%s'\n", (long)read(p[0], buf, sizeof buf), buf);
	expect_err("lseek on pipe", lseek(p[0], 0, SEEK_SET), ESPIPE);
	close(p[1]);
	printf("pipe read after close: %ld\n", (long)read(p[0], buf, sizeof buf));
	close(p[0]);
	must("pipe2 cloexec", pipe2(p, O_CLOEXEC));
	printf("pipe2 cloexec=%d\n", fcntl(p[0], F_GETFD));
	close(p[0]);
	close(p[1]);

	/* flock follows open file descriptions; fallocate reserves space. */
	int l1 = open("locked.txt", O_RDWR | O_CREAT, 0644);
	int l2 = open("locked.txt", O_RDWR);
	must("flock exclusive", flock(l1, LOCK_EX | LOCK_NB));
	expect_err("flock held elsewhere", flock(l2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	expect_err("flock bad operation", flock(l1, 0), EINVAL);
	must("flock unlock", flock(l1, LOCK_UN));
	must("flock shared", flock(l2, LOCK_SH));
	must("fallocate 10000", fallocate(l1, 0, 0, 10000));
	fstat(l1, &st);
	printf("size after fallocate: %ld\n", (long)st.st_size);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	must("F_OFD_SETLKW", fcntl(l1, F_OFD_SETLKW, &fl));
	fl.l_type = F_RDLCK;
	expect_err("F_OFD_SETLK held elsewhere", fcntl(l2, F_OFD_SETLK, &fl), EAGAIN);
	close(l1);
	close(l2);
	unlink("locked.txt");

	/* statfs and fstatfs: the host's file system, the same either way. */
	struct statfs sf, sf2;
	must("statfs .", statfs(".", &sf));
	int here = open(".", O_RDONLY | O_DIRECTORY);
	must("fstatfs", fstatfs(here, &sf2));
	close(here);
	expect("statfs and fstatfs agree", sf.f_type == sf2.f_type && sf.f_bsize == sf2.f_bsize && sf.f_blocks == sf2.f_blocks);
	printf("statfs type %#lx namelen %ld\n", (long)sf.f_type, (long)sf.f_namelen);
	expect_err("statfs missing", statfs("missing/dir", &sf), ENOENT);
	expect_err("statfs bad buffer", syscall(SYS_statfs, ".", (struct statfs *)8), EFAULT);

	list_dir(".");
	list_dir("d");
	expect_err("opendir missing", opendir("missing") ? 0 : -1, ENOENT);

	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
