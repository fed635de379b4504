/* shflag checks the sharing flags of /proc/self/smaps: a MAP_SHARED mapping of a file
 * opened read-only is shown shared in maps ("r--s") but lacks "sh" and "mw" in VmFlags,
 * as Linux's do_mmap() drops VM_SHARED and VM_MAYWRITE for it (so mprotect cannot make
 * it writable); one of a file opened for writing, and shared anonymous memory, have both. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

/* flags copies the VmFlags line and the permissions of the mapping at p. */
static void flags(void *p, char *vm, char *perm)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char l[512];
	int in = 0;
	vm[0] = perm[0] = 0;
	while (f && fgets(l, sizeof l, f)) {
		unsigned long a, b;
		char pm[8];
		if (sscanf(l, "%lx-%lx %7s", &a, &b, pm) == 3 && strchr(l, '-') < strchr(l, ' ')) {
			in = (unsigned long)p >= a && (unsigned long)p < b;
			if (in)
				strcpy(perm, pm);
		} else if (in && strncmp(l, "VmFlags:", 8) == 0) {
			strcpy(vm, l + 8);
		}
	}
	if (f)
		fclose(f);
}

static int has(const char *vm, const char *flag)
{
	char want[8];
	snprintf(want, sizeof want, " %s ", flag);
	return strstr(vm, want) != NULL;
}

int main(void)
{
	char path[] = "/tmp/shflagXXXXXX", vm[256], perm[8];
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 4096))
		return 2;
	int ro = open(path, O_RDONLY);
	unlink(path);

	char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	flags(p, vm, perm);
	expect("read-only file: maps says r--s", strcmp(perm, "r--s") == 0);
	expect("read-only file: no sh", !has(vm, "sh"));
	expect("read-only file: no mw", !has(vm, "mw"));
	expect("read-only file: ms", has(vm, "ms"));
	expect_err("read-only file: mprotect to write", mprotect(p, 4096, PROT_READ | PROT_WRITE), EACCES);

	char *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	flags(q, vm, perm);
	expect("file open for writing: sh and mw", has(vm, "sh") && has(vm, "mw"));

	char *s = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	flags(s, vm, perm);
	expect("shared anonymous: sh and mw", has(vm, "sh") && has(vm, "mw"));

	char *r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, ro, 0);
	flags(r, vm, perm);
	expect("private: neither sh nor ms", !has(vm, "sh") && !has(vm, "ms") && strcmp(perm, "r--p") == 0);
	return failures != 0;
}
