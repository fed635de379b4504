/* listns checks listns(2) (Linux 6.19) against its documented behaviour: the ids it lists
 * are those NS_GET_ID gives for the namespaces of /proc/self/ns, in ascending order,
 * filtered by type and by owning user namespace, paged by the last id seen, after the
 * checks of flags, count, buffer and request in the kernel's order. A kernel without the
 * call says so and stops. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define SYS_listns_ 470
#define NS_GET_NSTYPE_ 0xb703
#define NS_GET_ID_ 0x8008b70dul
#define CURRENT_USER (~(uint64_t)0)
#define NEWUSER 0x10000000
#define NEWNET 0x40000000
#define NEWUTS 0x04000000

struct req {
	uint32_t size, spare;
	uint64_t ns_id;
	uint32_t ns_type, spare2;
	uint64_t user_ns_id;
	uint64_t tail; /* past the first published size */
};

struct ns {
	uint64_t id;
	uint32_t type;
};

static struct ns mine[16];
static int nmine;

static long listns_(void *r, uint64_t *ids, size_t n, unsigned flags)
{
	return syscall(SYS_listns_, r, ids, n, flags);
}

static void collect(void)
{
	const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		char p[64];
		snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
		int fd = open(p, O_RDONLY);
		uint64_t id;
		if (fd < 0 || ioctl(fd, NS_GET_ID_, &id) != 0) {
			printf("NS_GET_ID of %s: %s\n", names[i], errname(errno));
			failures++;
			continue;
		}
		int type = ioctl(fd, NS_GET_NSTYPE_);
		close(fd);
		int j = nmine;
		while (j > 0 && mine[j - 1].id > id)
			j--;
		if (j > 0 && mine[j - 1].id == id)
			continue;
		memmove(&mine[j + 1], &mine[j], (nmine - j) * sizeof *mine);
		mine[j] = (struct ns){id, (uint32_t)type};
		nmine++;
	}
}

/* same checks that ids[0..n) are the ids of mine (in order) whose type is in types
 * (all for 0), skipping those of skip_type, from after last. */
static int same(const uint64_t *ids, long n, uint32_t types, uint32_t skip_type, uint64_t last)
{
	long k = 0;
	for (int i = 0; i < nmine; i++) {
		if (mine[i].id <= last || (types && !(mine[i].type & types)) || mine[i].type == skip_type)
			continue;
		if (k >= n || ids[k] != mine[i].id)
			return 0;
		k++;
	}
	return k == n;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct req r = {.size = 32};
	uint64_t ids[64];
	if (listns_(&r, ids, 64, 0) < 0 && errno == ENOSYS) {
		printf("listns: ENOSYS, this kernel lacks it\n");
		return 0;
	}
	collect();
	printf("namespaces: %d, types", nmine);
	for (int i = 0; i < nmine; i++)
		printf(" %#x", mine[i].type);
	printf("\n");
	uint64_t user = 0;
	for (int i = 0; i < nmine; i++)
		if (mine[i].type == NEWUSER)
			user = mine[i].id;

	long n = listns_(&r, ids, 64, 0);
	printf("listed: %ld\n", n);
	expect("all of them, in order", n == nmine && same(ids, n, 0, 0, 0));
	expect("a count of 0", listns_(&r, ids, 0, 0) == 0);
	n = listns_(&r, ids, 2, 0);
	expect("the first two", n == 2 && ids[0] == mine[0].id && ids[1] == mine[1].id);

	r.ns_type = NEWNET;
	n = listns_(&r, ids, 64, 0);
	expect("the network namespace", n == 1 && same(ids, n, NEWNET, 0, 0));
	r.ns_type = NEWNET | NEWUTS;
	n = listns_(&r, ids, 64, 0);
	expect("network and UTS", n == 2 && same(ids, n, NEWNET | NEWUTS, 0, 0));
	r.ns_type = 0;

	/* One at a time, from the last id seen. */
	uint64_t last = 0;
	int walked = 0;
	for (;;) {
		r.ns_id = last;
		n = listns_(&r, ids, 1, 0);
		if (n != 1)
			break;
		if (walked < nmine && ids[0] != mine[walked].id)
			break;
		last = ids[0];
		walked++;
	}
	expect("one page at a time", walked == nmine);
	expect_err("past the last one", n, ENOENT);
	r.ns_id = mine[0].id;
	n = listns_(&r, ids, 64, 0);
	expect("after the first", n == nmine - 1 && same(ids, n, 0, 0, mine[0].id));
	r.ns_id = 0;

	/* Those the caller's user namespace owns: all but the user namespace itself. */
	r.user_ns_id = CURRENT_USER;
	n = listns_(&r, ids, 64, 0);
	expect("owned by the caller's user namespace", n == nmine - 1 && same(ids, n, 0, NEWUSER, 0));
	r.user_ns_id = user;
	n = listns_(&r, ids, 64, 0);
	expect("owned by it, named by id", n == nmine - 1 && same(ids, n, 0, NEWUSER, 0));
	r.ns_type = NEWNET;
	n = listns_(&r, ids, 64, 0);
	expect("its network namespace", n == 1 && same(ids, n, NEWNET, 0, 0));
	r.ns_type = 0;
	r.ns_id = ~(uint64_t)0 - 1;
	expect_err("owned, past the last one", listns_(&r, ids, 64, 0), ENOENT);
	r.ns_id = 0;
	r.user_ns_id = mine[0].type == NEWUSER ? mine[1].id : mine[0].id;
	expect_err("a user_ns_id that is no user namespace", listns_(&r, ids, 64, 0), EINVAL);
	r.user_ns_id = 0;

	/* The checks, in the kernel's order. */
	expect_err("flags", listns_(&r, ids, 64, 1), EINVAL);
	expect_err("a count over a million", listns_(NULL, NULL, 1000001, 1), EINVAL);
	expect_err("a count over a million, no flags", listns_(NULL, NULL, 1000001, 0), EOVERFLOW);
	expect_err("a buffer past user space", listns_(&r, (uint64_t *)0x7ffffffff000 - 1, 2, 0), EFAULT);
	expect_err("no request", listns_(NULL, ids, 64, 0), EFAULT);
	r.size = 8;
	expect_err("a short request", listns_(&r, ids, 64, 0), EINVAL);
	r.size = 8192;
	expect_err("a request past a page", listns_(&r, ids, 64, 0), E2BIG);
	r.size = 40;
	r.tail = 1;
	expect_err("a longer request with a non-zero tail", listns_(&r, ids, 64, 0), E2BIG);
	r.tail = 0;
	expect("a longer request with a zero tail", listns_(&r, ids, 64, 0) == nmine);
	r.size = 32;
	r.spare = 1;
	expect_err("spare", listns_(&r, ids, 64, 0), EINVAL);
	r.spare = 0;
	r.spare2 = 7;
	expect("spare2 is not checked", listns_(&r, ids, 64, 0) == nmine);
	r.spare2 = 0;
	r.ns_type = 1;
	expect_err("an unknown type", listns_(&r, ids, 64, 0), EOPNOTSUPP);
	r.ns_type = 0;
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(m + pg, pg);
	expect_err("a buffer that runs into an unmapped page", listns_(&r, (uint64_t *)(m + pg) - 1, 64, 0), EFAULT);
	expect("a buffer that holds what is listed", listns_(&r, (uint64_t *)(m + pg) - nmine, nmine, 0) == nmine);
	struct req *edge = (struct req *)(m + pg - 16);
	edge->size = 32;
	expect_err("a request that runs into an unmapped page", listns_(edge, ids, 64, 0), EFAULT);
	return failures ? 1 : 0;
}
