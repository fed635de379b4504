/* splice moves data with splice(2) and tee(2): from a file at an offset into a pipe, from
 * a pipe into a file, from a socket into a pipe, tee between pipes, and the errors.
 * Usage: splice DIR   (a directory to work in) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) != 0) {
		fprintf(stderr, "usage: splice DIR\n");
		return 2;
	}
	int f = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(f, "0123456789abcdef", 16);
	int p[2], q[2];
	pipe(p);
	pipe(q);
	loff_t off = 4;
	expect("file at offset 4 into a pipe: 8 bytes", splice(f, &off, p[1], NULL, 8, 0) == 8);
	expect("  the offset moved on", off == 12);
	expect("  the file position did not", lseek(f, 0, SEEK_CUR) == 16);
	expect("tee to another pipe", tee(p[0], q[1], 8, 0) == 8);
	char buf[32] = {0};
	read(q[0], buf, sizeof buf - 1);
	printf("  the copy: %s\n", buf);
	int g = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	expect("pipe into a file", splice(p[0], NULL, g, NULL, 64, 0) == 8);
	memset(buf, 0, sizeof buf);
	pread(g, buf, sizeof buf - 1, 0);
	printf("  the file: %s\n", buf);
	int s[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	write(s[0], "from a socket", 13);
	expect("socket into a pipe", splice(s[1], NULL, p[1], NULL, 64, SPLICE_F_NONBLOCK) == 13);
	memset(buf, 0, sizeof buf);
	read(p[0], buf, sizeof buf - 1);
	printf("  the pipe: %s\n", buf);
	expect_err("an empty pipe, without waiting", splice(p[0], NULL, g, NULL, 8, SPLICE_F_NONBLOCK), EAGAIN);
	expect_err("no pipe on either side", splice(f, NULL, g, NULL, 8, 0), EINVAL);
	expect_err("a closed descriptor", splice(99, NULL, p[1], NULL, 8, 0), EBADF);
	expect_err("an offset for a pipe", splice(p[0], &off, g, NULL, 8, 0), ESPIPE);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		write(p[1], "late", 4);
		_exit(0);
	}
	expect("waits for data from another process", splice(p[0], NULL, g, NULL, 64, 0) == 4);
	waitpid(pid, NULL, 0);
	return failures != 0;
}
