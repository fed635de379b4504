/* tcflow: the terminal requests whose argument is a value (tcflush, tcflow, tcdrain,
 * tcsendbreak) on a pseudo-terminal, what they do to its queues and output, and their
 * refusals: a bad value, a file, a pipe, a socket, a closed descriptor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
		perror("posix_openpt");
		return 1;
	}
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_NONBLOCK);
	struct termios tio;
	tcgetattr(s, &tio);
	cfmakeraw(&tio);
	expect("raw peer", tcsetattr(s, TCSANOW, &tio) == 0);

	char buf[16];
	expect("master writes input", write(m, "abc", 3) == 3);
	usleep(10000);
	expect("tcflush TCIFLUSH", tcflush(s, TCIFLUSH) == 0);
	errno = 0;
	expect_err("input gone", read(s, buf, sizeof buf), EAGAIN);
	expect("tcflush TCIOFLUSH", tcflush(s, TCIOFLUSH) == 0);
	expect("tcflush TCOFLUSH", tcflush(s, TCOFLUSH) == 0);

	expect("tcflow TCOOFF", tcflow(s, TCOOFF) == 0);
	errno = 0;
	expect_err("stopped output: write waits", write(s, "x", 1), EAGAIN);
	expect("tcflow TCOON", tcflow(s, TCOON) == 0);
	expect("restarted output: write", write(s, "y", 1) == 1);
	usleep(10000);
	expect("master reads it", read(m, buf, sizeof buf) == 1 && buf[0] == 'y');

	tio.c_cc[VSTOP] = 0x13;
	tio.c_cc[VSTART] = 0x11;
	tcsetattr(s, TCSANOW, &tio);
	expect("tcflow TCIOFF", tcflow(s, TCIOFF) == 0);
	usleep(10000);
	expect("master reads STOP", read(m, buf, sizeof buf) == 1 && buf[0] == 0x13);
	expect("tcflow TCION", tcflow(s, TCION) == 0);
	usleep(10000);
	expect("master reads START", read(m, buf, sizeof buf) == 1 && buf[0] == 0x11);

	expect("tcdrain", tcdrain(s) == 0);
	expect("tcdrain on the master", tcdrain(m) == 0);
	expect("tcsendbreak 0", tcsendbreak(s, 0) == 0);
	expect("TCSBRKP 0", ioctl(s, TCSBRKP, 0) == 0);

	errno = 0;
	expect_err("tcflush bad queue", tcflush(s, -1), EINVAL);
	errno = 0;
	expect_err("tcflush queue 3", ioctl(s, TCFLSH, 3), EINVAL);
	errno = 0;
	expect_err("tcflow bad action", tcflow(s, -1), EINVAL);
	errno = 0;
	expect_err("tcflow action 4", ioctl(s, TCXONC, 4), EINVAL);

	char tmpl[] = "/tmp/tcflowXXXXXX";
	int f = mkstemp(tmpl);
	unlink(tmpl);
	errno = 0;
	expect_err("tcflush on a file", tcflush(f, TCIFLUSH), ENOTTY);
	errno = 0;
	expect_err("tcflow on a file, bad action", tcflow(f, -1), ENOTTY);
	errno = 0;
	expect_err("tcdrain on a file", tcdrain(f), ENOTTY);
	errno = 0;
	expect_err("TCSBRK 0 on a file", ioctl(f, TCSBRK, 0), ENOTTY);
	int p[2];
	pipe(p);
	errno = 0;
	expect_err("tcflush on a pipe", tcflush(p[0], TCIFLUSH), ENOTTY);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	errno = 0;
	expect_err("tcflow on a socket", tcflow(sv[0], TCOON), ENOTTY);
	int e = eventfd(0, 0);
	errno = 0;
	expect_err("tcdrain on an eventfd", tcdrain(e), ENOTTY);
	close(e);
	errno = 0;
	expect_err("tcflush on a closed descriptor", tcflush(e, TCIFLUSH), EBADF);
	errno = 0;
	expect_err("TCSBRKP on a closed descriptor", ioctl(e, TCSBRKP, 0), EBADF);
	return failures != 0;
}
