/* fileops exercises file calls that copy or describe: sendfile and copy_file_range,
 * mkfifo and mknod, posix_fadvise, close_range, memfd_create, utimes, and inotify.
 *
 * Usage: fileops DIR (a scratch directory) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <utime.h>
#include <sys/personality.h>
#include <unistd.h>
#include "check.h"

static void put(const char *name, const char *text)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, text, strlen(text));
	close(fd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: fileops DIR\n");
		return 2;
	}
	char buf[128];

	/* sendfile: from a file's offset into a file, then into a pipe. */
	put("src.txt", "0123456789abcdef");
	int in = open("src.txt", O_RDONLY), out = open("dst.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	off_t off = 4;
	expect("sendfile 6 bytes at offset 4", sendfile(out, in, &off, 6) == 6 && off == 10);
	expect("  the file offset is untouched", lseek(in, 0, SEEK_CUR) == 0);
	expect("sendfile without offset moves it", sendfile(out, in, NULL, 3) == 3 && lseek(in, 0, SEEK_CUR) == 3);
	close(out);
	int fd = open("dst.txt", O_RDONLY);
	memset(buf, 0, sizeof buf);
	read(fd, buf, sizeof buf);
	close(fd);
	expect("  dst holds 456789012", !strcmp(buf, "456789012"));
	int p[2];
	pipe(p);
	expect("sendfile into a pipe", sendfile(p[1], in, NULL, 100) == 13);
	memset(buf, 0, sizeof buf);
	expect("  the pipe has the rest", read(p[0], buf, sizeof buf) == 13 && !strcmp(buf, "3456789abcdef"));
	expect_err("sendfile from a bad fd", sendfile(p[1], 999, NULL, 1), EBADF);

	/* copy_file_range between offsets. */
	out = open("copy.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	loff_t ioff = 10, ooff = 2;
	expect("copy_file_range 4 bytes", syscall(SYS_copy_file_range, in, &ioff, out, &ooff, 4, 0) == 4 && ioff == 14 && ooff == 6);
	memset(buf, 0, sizeof buf);
	pread(out, buf, sizeof buf, 2);
	expect("  copied abcd at 2", !strcmp(buf, "abcd"));
	close(out);
	close(in);

	/* mkfifo (mknodat) and a FIFO that opens without a reader. */
	expect("mkfifo", mkfifo("fifo", 0644) == 0);
	struct stat st;
	expect("  it is a FIFO", stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode));
	expect_err("  opening it to write, non-blocking, with no reader", open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
	expect_err("mkfifo again", mkfifo("fifo", 0644), EEXIST);
	expect("mknod of a regular file", mknod("plain", S_IFREG | 0600, 0) == 0 && stat("plain", &st) == 0 && S_ISREG(st.st_mode));

	/* posix_fadvise: fine on a file, ESPIPE on a pipe. */
	fd = open("src.txt", O_RDONLY);
	expect("posix_fadvise SEQUENTIAL", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
	expect("posix_fadvise on a pipe: ESPIPE", posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE);
	close(fd);

	/* close_range: mark, then close. */
	int a = dup2(p[0], 20), b = dup2(p[0], 22);
	expect("close_range CLOEXEC", syscall(SYS_close_range, 20, 22, 4 /* CLOSE_RANGE_CLOEXEC */) == 0 &&
					     fcntl(a, F_GETFD) == FD_CLOEXEC && fcntl(b, F_GETFD) == FD_CLOEXEC);
	expect("close_range closes", syscall(SYS_close_range, 20, 22, 0) == 0 && fcntl(a, F_GETFD) < 0 && fcntl(b, F_GETFD) < 0);
	expect_err("close_range first > last", syscall(SYS_close_range, 5, 4, 0), EINVAL);
	close(p[0]);
	close(p[1]);

	/* memfd_create: write, map, and its name. */
	int m = memfd_create("scratch", MFD_CLOEXEC);
	expect("memfd_create", m >= 0 && fcntl(m, F_GETFD) == FD_CLOEXEC);
	write(m, "in memory", 9);
	char *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, m, 0);
	expect("  mapped", map != MAP_FAILED && !memcmp(map, "in memory", 9));
	char link[64], lpath[64];
	snprintf(lpath, sizeof lpath, "/proc/self/fd/%d", m);
	ssize_t ln = readlink(lpath, link, sizeof link - 1);
	link[ln > 0 ? ln : 0] = 0;
	expect("  /proc/self/fd names it", !strcmp(link, "/memfd:scratch (deleted)"));
	munmap(map, 4096);
	close(m);

	/* utimes. */
	struct timeval tv[2] = {{1000000000, 500000}, {1200000000, 250000}};
	expect("utimes", utimes("src.txt", tv) == 0 && stat("src.txt", &st) == 0 && st.st_atime == 1000000000 &&
				 st.st_mtime == 1200000000 && st.st_mtim.tv_nsec == 250000000);
	tv[0].tv_usec = 1000000;
	expect_err("utimes with usec out of range", utimes("src.txt", tv), EINVAL);

	/* Old and rare calls: getdents, utime, syncfs, sync_file_range, readahead, personality. */
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	char dents[4096], dents64[4096];
	long n32 = syscall(SYS_getdents, dir, dents, sizeof dents);
	lseek(dir, 0, SEEK_SET);
	long n64 = syscall(SYS_getdents64, dir, dents64, sizeof dents64);
	int c32 = 0, c64 = 0;
	for (long o = 0; o < n32; o += *(unsigned short *)(dents + o + 16))
		c32++;
	for (long o = 0; o < n64; o += *(unsigned short *)(dents64 + o + 16))
		c64++;
	expect("getdents lists as many entries as getdents64", n32 > 0 && c32 == c64);
	expect("syncfs", syscall(SYS_syncfs, dir) == 0);
	close(dir);
	struct utimbuf ub = {1100000000, 1300000000};
	expect("utime", utime("src.txt", &ub) == 0 && stat("src.txt", &st) == 0 && st.st_mtime == 1300000000);
	fd = open("src.txt", O_RDWR);
	expect("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0);
	expect("readahead", readahead(fd, 0, 4096) == 0);
	close(fd);
	expect("personality query: PER_LINUX", personality(0xffffffff) == 0);

	/* inotify: a file created in a watched directory. */
	int in_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	int wd = inotify_add_watch(in_fd, ".", IN_CREATE);
	expect("inotify_add_watch", in_fd >= 0 && wd >= 0);
	char ev[512];
	expect_err("  nothing yet", read(in_fd, ev, sizeof ev), EAGAIN);
	put("new.txt", "x");
	ssize_t n = read(in_fd, ev, sizeof ev);
	struct inotify_event *e = (struct inotify_event *)ev;
	expect("  IN_CREATE new.txt", n > 0 && (e->mask & IN_CREATE) && e->wd == wd && !strcmp(e->name, "new.txt"));
	expect("inotify_rm_watch", inotify_rm_watch(in_fd, wd) == 0);
	expect_err("inotify_rm_watch again", inotify_rm_watch(in_fd, wd), EINVAL);
	close(in_fd);
	return failures != 0;
}
