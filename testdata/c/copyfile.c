/* copyfile.c: copies SRC to DST atomically: the data goes to DST.tmp, which is synced and
 * renamed over DST; on any failure it says why, removes DST.tmp and exits 1. With
 * --short-write-bug it has a planted mistake: it takes a short write as complete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int bug;

static int fail(const char *what, const char *tmp, int fd)
{
	fprintf(stderr, "copyfile: %s: %s\n", what, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	return 1;
}

/* write_all writes the whole buffer, going on after short writes and EINTR. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (bug)
			return 0; /* the planted mistake: a short write is taken as complete */
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int a = 1;
	if (argc > 1 && strcmp(argv[1], "--short-write-bug") == 0) {
		bug = 1;
		a++;
	}
	if (argc - a != 2) {
		fprintf(stderr, "usage: copyfile [--short-write-bug] SRC DST\n");
		return 2;
	}
	const char *src = argv[a], *dst = argv[a + 1];
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", dst) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return fail(dst, NULL, -1);
	}
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fail(src, NULL, -1);
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return fail(tmp, NULL, -1);
	}
	char buf[1024];
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(in);
			return fail(src, tmp, out);
		}
		if (r == 0)
			break;
		if (write_all(out, buf, (size_t)r) < 0) {
			close(in);
			return fail(tmp, tmp, out);
		}
	}
	close(in);
	if (fsync(out) < 0)
		return fail(tmp, tmp, out);
	if (close(out) < 0)
		return fail(tmp, tmp, -1);
	if (rename(tmp, dst) < 0)
		return fail(dst, tmp, -1);
	return 0;
}
