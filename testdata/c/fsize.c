/* fsize writes past RLIMIT_FSIZE: a write is cut at the limit, a write at it raises
 * SIGXFSZ and, with the signal handled or ignored, fails with EFBIG; so does a truncate
 * that would grow the file past it. Results are printed with the limit lifted again, in
 * case stdout is a file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t caught, code;

static void on_xfsz(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	caught++;
	code = si->si_code;
}

static void limit(rlim_t n)
{
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = n;
	setrlimit(RLIMIT_FSIZE, &rl);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char path[512];
	snprintf(path, sizeof path, "%s/fsize.out", argc > 1 ? argv[1] : ".");
	if (argc > 2 && !strcmp(argv[2], "default")) {
		/* SIGXFSZ's default action ends the process. */
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		unlink(path);
		limit(10);
		write(fd, "0123456789abcdef", 16);
		write(fd, "x", 1);
		return 0;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_xfsz;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGXFSZ, &sa, NULL);
	char src[600];
	snprintf(src, sizeof src, "%s.src", path);
	int in = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(in, "abcdefghijklmnopqrst", 20);
	unlink(src);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct rlimit old;
	getrlimit(RLIMIT_FSIZE, &old);

	limit(10);
	long cut = write(fd, "0123456789abcdef", 16);
	long at = write(fd, "x", 1);
	int at_errno = errno, at_caught = caught, at_code = code;
	long pw = pwrite(fd, "yz", 2, 9);
	long pw_past = pwrite(fd, "yz", 2, 100);
	int pw_errno = errno;
	struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
	lseek(fd, 7, SEEK_SET);
	long wv = writev(fd, iov, 2);
	long tr_grow = ftruncate(fd, 11);
	int tr_errno = errno;
	long tr_limit = ftruncate(fd, 10);
	long tr_shrink = ftruncate(fd, 5);
	int app = open(path, O_WRONLY | O_APPEND);
	long ap = write(app, "0123456789", 10);
	signal(SIGXFSZ, SIG_IGN);
	long ign = write(app, "x", 1);
	int ign_errno = errno, total = caught;
	lseek(fd, 8, SEEK_SET);
	off_t from = 0;
	long sf = sendfile(fd, in, &from, 20);
	loff_t inoff = 0, outoff = 5;
	long cfr = copy_file_range(in, &inoff, fd, &outoff, 20, 0);
	long fa = fallocate(fd, 0, 0, 20);
	int fa_errno = errno;
	long fa_keep = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20);
	limit(old.rlim_cur);

	expect("a write is cut at the limit", cut == 10);
	errno = at_errno;
	expect_err("a write at the limit", at, EFBIG);
	expect("SIGXFSZ came with it", at_caught == 1);
	expect("from the kernel as SI_USER", at_code == SI_USER);
	expect("pwrite across the limit is cut", pw == 1);
	errno = pw_errno;
	expect_err("pwrite past the limit", pw_past, EFBIG);
	expect("writev across the limit is cut", wv == 3);
	errno = tr_errno;
	expect_err("ftruncate growing past the limit", tr_grow, EFBIG);
	expect("ftruncate to the limit", tr_limit == 0);
	expect("ftruncate shrinking", tr_shrink == 0);
	expect("an appending write is cut", ap == 5);
	errno = ign_errno;
	expect_err("with SIGXFSZ ignored, EFBIG alone", ign, EFBIG);
	expect("one SIGXFSZ for each refusal while handled", total == 3);
	expect("sendfile across the limit is cut", sf == 2);
	expect("copy_file_range across the limit is cut", cfr == 5);
	errno = fa_errno;
	expect_err("fallocate growing past the limit", fa, EFBIG);
	expect("fallocate keeping the size", fa_keep == 0 || errno == EOPNOTSUPP);
	struct stat st;
	fstat(fd, &st);
	expect("the file ends at the limit", st.st_size == 10);
	unlink(path);
	return failures != 0;
}
