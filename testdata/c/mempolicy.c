/* mempolicy.c: the memory-policy calls on a machine with one NUMA node: the checks of
 * modes, flags and node masks, policies reported back, pages found on node 0. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define MPOL_F_STATIC_NODES (1 << 15)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_NODE 1
#define MPOL_F_ADDR 2
#define MPOL_F_MEMS_ALLOWED 4
#define MPOL_MF_STRICT 1
#define MPOL_MF_MOVE 2

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

static long set(int mode, unsigned long mask, unsigned long maxnode)
{
	return syscall(SYS_set_mempolicy, mode, mask == ~0ul ? NULL : &mask, maxnode);
}

static void get(const char *what, unsigned long addr, int flags)
{
	int mode = -1;
	unsigned long mask[2] = {~0ul, ~0ul};
	long r = syscall(SYS_get_mempolicy, &mode, mask, 128, addr, flags);
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: mode %#x mask %#lx %#lx\n", what, mode, mask[0], mask[1]);
}

int main(void)
{
	get("default", 0, 0);
	show("bind node 0", set(MPOL_BIND, 1, 64));
	get("after bind", 0, 0);
	show("bind node 0 maxnode 1 (no bits)", set(MPOL_BIND, 1, 1));
	show("bind node 3", set(MPOL_BIND, 8, 64));
	show("bind nodes 0 and 3", set(MPOL_BIND, 9, 64));
	get("after bind 0,3", 0, 0);
	show("bind static nodes 0,5", set(MPOL_BIND | MPOL_F_STATIC_NODES, 0x21, 64));
	get("after static", 0, 0);
	show("interleave relative node 2", set(MPOL_INTERLEAVE | MPOL_F_RELATIVE_NODES, 4, 64));
	get("after relative", 0, 0);
	get("interleave next node", 0, MPOL_F_NODE);
	show("static and relative", set(MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, 1, 64));
	show("balancing with interleave", set(MPOL_INTERLEAVE | MPOL_F_NUMA_BALANCING, 1, 64));
	show("balancing with bind", set(MPOL_BIND | MPOL_F_NUMA_BALANCING, 1, 64));
	get("after balancing", 0, 0);
	show("mode 7", set(7, 1, 64));
	show("default with a node", set(MPOL_DEFAULT, 1, 64));
	show("preferred, no nodes", set(MPOL_PREFERRED, ~0ul, 0));
	get("after preferred none", 0, 0);
	show("preferred static, no nodes", set(MPOL_PREFERRED | MPOL_F_STATIC_NODES, ~0ul, 0));
	show("local with a node", set(MPOL_LOCAL, 1, 64));
	show("preferred many", set(MPOL_PREFERRED_MANY, 1, 64));
	show("bind, empty mask", set(MPOL_BIND, 0, 64));
	show("mask at a bad address", syscall(SYS_set_mempolicy, MPOL_BIND, (void *)8, 64));
	show("maxnode past a page of bits", set(MPOL_BIND, 1, 4096 * 8 + 2));
	show("default", set(MPOL_DEFAULT, ~0ul, 0));
	get("after default", 0, 0);
	get("F_NODE without interleave", 0, MPOL_F_NODE);
	get("mems allowed", 0, MPOL_F_MEMS_ALLOWED);
	get("mems allowed with F_NODE", 0, MPOL_F_MEMS_ALLOWED | MPOL_F_NODE);
	get("unknown flag", 0, 8);
	get("addr without F_ADDR", 4096, 0);
	show("get maxnode 0", syscall(SYS_get_mempolicy, NULL, (unsigned long[1]){0}, 0, 0, 0));

	char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(m, 1, 4 * 4096);
	unsigned long one = 1;
	show("mbind interleave", syscall(SYS_mbind, m + 4096, 8192, MPOL_INTERLEAVE, &one, 64, 0));
	get("page 0", (unsigned long)m, MPOL_F_ADDR);
	get("page 1", (unsigned long)m + 4096, MPOL_F_ADDR);
	get("page 2", (unsigned long)m + 8192, MPOL_F_ADDR);
	get("page 3", (unsigned long)m + 12288, MPOL_F_ADDR);
	get("node of page 1", (unsigned long)m + 4096, MPOL_F_ADDR | MPOL_F_NODE);
	show("mbind bind page 2", syscall(SYS_mbind, m + 8192, 4096, MPOL_BIND, &one, 64, MPOL_MF_STRICT | MPOL_MF_MOVE));
	get("page 1 again", (unsigned long)m + 4096, MPOL_F_ADDR);
	get("page 2 again", (unsigned long)m + 8192, MPOL_F_ADDR);
	show("home node 0 on bind", syscall(450, m + 8192, 4096, 0, 0));
	show("home node 0 on interleave", syscall(450, m + 4096, 4096, 0, 0));
	show("home node 1", syscall(450, m, 4096, 1, 0));
	show("home node flags", syscall(450, m, 4096, 0, 1));
	show("home node unaligned", syscall(450, m + 1, 4096, 0, 0));
	show("home node no policy", syscall(450, m, 4096, 0, 0));
	show("mbind default", syscall(SYS_mbind, m, 4 * 4096, MPOL_DEFAULT, NULL, 0, 0));
	get("page 1 after default", (unsigned long)m + 4096, MPOL_F_ADDR);
	show("mbind unaligned", syscall(SYS_mbind, m + 1, 4096, MPOL_BIND, &one, 64, 0));
	show("mbind bad flags", syscall(SYS_mbind, m, 4096, MPOL_BIND, &one, 64, 8));
	show("mbind length 0", syscall(SYS_mbind, m, 0, MPOL_BIND, &one, 64, 0));
	show("mbind over a hole", syscall(SYS_mbind, m, 5 * 4096 + 0x100000, MPOL_BIND, &one, 64, 0));
	munmap(m + 3 * 4096, 4096);
	show("mbind past the end", syscall(SYS_mbind, m, 4 * 4096, MPOL_BIND, &one, 64, 0));
	get("unmapped page", (unsigned long)m + 3 * 4096, MPOL_F_ADDR);

	void *pages[3] = {m, m + 4096, m + 3 * 4096};
	int status[3] = {-1, -1, -1}, nodes[3] = {0, 0, 0};
	show("move_pages query", syscall(SYS_move_pages, 0, 3, pages, NULL, status, 0));
	printf("status: %d %d %d\n", status[0], status[1], status[2]);
	show("move_pages to node 0", syscall(SYS_move_pages, 0, 2, pages, nodes, status, MPOL_MF_MOVE));
	printf("status: %d %d\n", status[0], status[1]);
	nodes[1] = 1;
	show("move_pages to node 1", syscall(SYS_move_pages, 0, 2, pages, nodes, status, MPOL_MF_MOVE));
	show("move_pages bad flags", syscall(SYS_move_pages, 0, 2, pages, NULL, status, 1));
	/* Counts far beyond the arrays' memory: EFAULT where the arrays end, at no cost. */
	show("move_pages, 2^40 entries at an unmapped address",
	     syscall(SYS_move_pages, 0, 1UL << 40, (void *)0x80000000UL, NULL, status, 0));
	void **many = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static int many_status[1024];
	munmap((char *)many + 4096, 4096);
	for (int i = 0; i < 512; i++)
		many[i] = m;
	show("move_pages, 2^40 entries, one page of them mapped",
	     syscall(SYS_move_pages, 0, 1UL << 40, many, NULL, many_status, 0));
	show("move_pages, 0x1000005d entries, nodes unmapped",
	     syscall(SYS_move_pages, 0, 0x1000005dUL, many, (void *)0x80000000UL, many_status, MPOL_MF_MOVE));
	munmap(many, 4096);
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	show("move_pages of a child", syscall(SYS_move_pages, c, 2, pages, NULL, status, 0));
	printf("status: %d %d\n", status[0], status[1]);
	unsigned long from = 1, to = 1, to3 = 8;
	show("migrate_pages 0 to 0", syscall(SYS_migrate_pages, 0, 64, &from, &to));
	show("migrate_pages of a child", syscall(SYS_migrate_pages, c, 64, &from, &to));
	show("migrate_pages to node 3", syscall(SYS_migrate_pages, 0, 64, &from, &to3));
	show("migrate_pages no such pid", syscall(SYS_migrate_pages, 999999, 64, &from, &to));
	kill(c, 9);
	waitpid(c, NULL, 0);
	return 0;
}
