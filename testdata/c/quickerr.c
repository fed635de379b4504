/* quickerr makes calls that Linux answers at once with an error, and which must never
 * wait: writing a pipe's read end, reading its write end, accept on a datagram socket,
 * truncate of a FIFO. An alarm ends the program if any of them blocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(10);
	int p[2];
	char c = 'x';
	expect("pipe", pipe(p) == 0);
	expect_err("write to the read end", write(p[0], &c, 1), EBADF);
	expect_err("read from the write end", read(p[1], &c, 1), EBADF);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	expect_err("accept on a datagram socket", accept(u, NULL, NULL), EOPNOTSUPP);
	expect_err("listen on a datagram socket", listen(u, 1), EOPNOTSUPP);
	char fifo[512];
	snprintf(fifo, sizeof fifo, "%s/quickerr.fifo", argc > 1 ? argv[1] : ".");
	unlink(fifo);
	expect("mkfifo", mkfifo(fifo, 0600) == 0);
	expect_err("truncate a FIFO", truncate(fifo, 0), EINVAL);
	expect_err("truncate a directory", truncate(argc > 1 ? argv[1] : ".", 0), EISDIR);
	char reg[512];
	snprintf(reg, sizeof reg, "%s/quickerr.reg", argc > 1 ? argv[1] : ".");
	int w = open(reg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write(w, "0123456789", 10);
	close(w);
	struct stat st;
	expect("truncate a regular file", truncate(reg, 3) == 0 && stat(reg, &st) == 0 && st.st_size == 3);
	unlink(reg);
	int r = open(fifo, O_RDONLY | O_NONBLOCK);
	expect("open a FIFO's read end without a writer, non-blocking", r >= 0);
	close(r);
	expect_err("open its write end without a reader, non-blocking", open(fifo, O_WRONLY | O_NONBLOCK), ENXIO);
	unlink(fifo);
	return failures != 0;
}
