// dlcheck loads an image with the host's dynamic loader and resolves each
// name given on the command line, printing "name versioned plain wrong" as
// offsets from the load base (0 when not found): dlvsym with LINUX_2.6, dlsym,
// and dlvsym with a version the image does not define.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

static unsigned long off(void *p, struct link_map *lm) {
	return p ? (unsigned long)((char *)p - (char *)lm->l_addr) : 0;
}

int main(int argc, char **argv) {
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	struct link_map *lm;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0) {
		printf("dlinfo: %s\n", dlerror());
		return 1;
	}
	for (int i = 2; i < argc; i++)
		printf("%s %lu %lu %lu\n", argv[i], off(dlvsym(h, argv[i], "LINUX_2.6"), lm), off(dlsym(h, argv[i]), lm),
		       off(dlvsym(h, argv[i], "LINUX_2.7"), lm));
	return 0;
}
