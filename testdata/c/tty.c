/* tty reports whether stdin and stdout are terminals and what TIOCGWINSZ answers. */
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "errnames.h"

int main(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		errno = 0;
		int t = isatty(fd);
		printf("isatty(%d): %d %s\n", fd, t, t ? "" : errname(errno));
		struct winsize ws;
		errno = 0;
		int r = ioctl(fd, TIOCGWINSZ, &ws);
		printf("TIOCGWINSZ(%d): %s\n", fd, r == 0 ? "OK" : errname(errno));
		struct termios tio;
		errno = 0;
		r = tcgetattr(fd, &tio);
		printf("tcgetattr(%d): %s\n", fd, r == 0 ? "OK" : errname(errno));
	}
	errno = 0;
	int r = ioctl(99, TIOCGWINSZ, NULL);
	printf("TIOCGWINSZ(99): %s\n", r == 0 ? "OK" : errname(errno));
	return 0;
}
