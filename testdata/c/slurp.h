/* slurp.h: reading a whole /proc file into the guest's buffer. A guest that includes it
 * defines SLURP_SIZE first, or takes 64 KiB. */
#ifndef SLURP_H
#define SLURP_H

#include <fcntl.h>
#include <unistd.h>

#ifndef SLURP_SIZE
#define SLURP_SIZE 65536
#endif

static char buf[SLURP_SIZE];

/* slurp reads path whole into buf, NUL-terminated, and returns its length; -1 if it
 * cannot be opened. */
__attribute__((unused)) static int slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int n = 0, r;
	while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

#endif
