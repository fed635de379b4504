/* vmaname: prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) either names an anonymous mapping,
 * and /proc/self/maps then shows the name, or is refused with EINVAL, as by a kernel
 * built without CONFIG_ANON_VMA_NAME. Accepting it and showing no name misleads a
 * program that checks its maps (Go's runtime does). The output is the same whichever
 * the kernel is. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "check.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* shown says whether a line of /proc/self/maps holds what. */
static int shown(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, what))
			found = 1;
	if (f)
		fclose(f);
	return found;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)(m + pg), pg, "vemu test");
	int e = errno;
	expect("named and shown, or EINVAL",
	       (r == 0 && shown("[anon:vemu test]")) || (r < 0 && e == EINVAL));
	r = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)m, 3 * pg, NULL);
	e = errno;
	expect("cleared and not shown, or EINVAL",
	       (r == 0 && !shown("[anon:vemu test]")) || (r < 0 && e == EINVAL));
	return failures != 0;
}
