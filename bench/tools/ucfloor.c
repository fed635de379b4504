/* ucfloor [OPTIONS] PROGRAM [ARGS...]: runs a static, non-PIE x86-64 Linux program on
   libunicorn with as little around it as possible, to measure what Unicorn alone costs on
   the same code that vemu runs: the floor vemu cannot go below.

   The program's segments, a stack and each mmap are plain uc_mem_map regions (all
   readable, writable and executable); a SYSCALL hook answers the few calls a static glibc
   program or busybox makes for computing and file I/O (brk, mmap, open, read, write,
   fstat, dup, exit and those of start-up), and fails the others with ENOSYS. Nothing else is hooked.
   Options:
     --tlb=cpu|virtual  Unicorn's TLB mode (default cpu); virtual adds an identity TLB
                        fill hook that grants every page, as vemu's mode needs
     --grow=N           with --tlb=virtual: empty the TLB every N fills, which lets
                        QEMU's dynamic TLB grow (0: never, the default)
     --model=N          Unicorn's x86 CPU model number (default: Unicorn's own)
     --vdso=FILE        map FILE (an image `vemu vdso dump` wrote) with its 4 vvar pages
                        below it and give it to the program in AT_SYSINFO_EHDR: libc's
                        clocks then run the same vDSO code as under vemu. The vvar page
                        says "TSC clock" with a fixed scale and is never updated, so the
                        times read are not the host's; time such runs from outside.
   Build: gcc -O2 -o ucfloor ucfloor.c -l:libunicorn.a -lm -lpthread */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#define PAGE 4096ULL
#define UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define DOWN(x) ((x) & ~(PAGE - 1))

static uc_engine *uc;
static uint64_t brk_start, brk_end; /* brk_end: mapped up to here (page-aligned) */
static uint64_t brk_cur;
static uint64_t mmap_next = 0x100000000000ULL;
static uint64_t fills, grow;
static uint64_t vdso_base; /* AT_SYSINFO_EHDR, 0 without --vdso */
static int status;

static void die(const char *what, uc_err err)
{
	fprintf(stderr, "ucfloor: %s: %s\n", what, uc_strerror(err));
	exit(2);
}

static void map(uint64_t addr, uint64_t len)
{
	uc_err err = uc_mem_map(uc, addr, len, UC_PROT_ALL);
	if (err)
		die("map", err);
}

static bool on_fill(uc_engine *u, uint64_t addr, uc_mem_type type, uc_tlb_entry *e, void *user)
{
	(void)user;
	e->paddr = addr & ~(PAGE - 1);
	e->perms = UC_PROT_ALL;
	if (grow && ++fills >= grow && type != UC_MEM_FETCH) {
		fills = 0;
		uc_ctl_flush_tlb(u);
	}
	return true;
}

static uint64_t guest_string(uint64_t addr, char *buf, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (uc_mem_read(uc, addr + i, &buf[i], 1))
			return -EFAULT;
		if (buf[i] == 0)
			return 0;
	}
	return -ENAMETOOLONG;
}

/* io copies between a host descriptor and guest memory through a bounce buffer. */
static int64_t io(int write_, int fd, uint64_t addr, uint64_t len)
{
	static char buf[1 << 16];
	int64_t done = 0;
	while (len > 0) {
		size_t n = len < sizeof buf ? len : sizeof buf;
		ssize_t r;
		if (write_) {
			if (uc_mem_read(uc, addr, buf, n))
				return done ? done : -EFAULT;
			r = write(fd, buf, n);
		} else {
			r = read(fd, buf, n);
			if (r > 0 && uc_mem_write(uc, addr, buf, r))
				return done ? done : -EFAULT;
		}
		if (r < 0)
			return done ? done : -errno;
		done += r;
		if ((size_t)r < n)
			break;
		addr += r;
		len -= r;
	}
	return done;
}

static void on_syscall(uc_engine *u, void *user)
{
	(void)user;
	uint64_t nr, a[6];
	int ids[7] = {UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
		      UC_X86_REG_R10, UC_X86_REG_R8, UC_X86_REG_R9};
	void *ptrs[7] = {&nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]};
	uc_reg_read_batch(u, ids, ptrs, 7);
	int64_t ret = -ENOSYS;
	char path[4096];
	switch (nr) {
	case 0: /* read */
		ret = io(0, (int)a[0], a[1], a[2]);
		break;
	case 1: /* write */
		ret = io(1, (int)a[0], a[1], a[2]);
		break;
	case 3: /* close: the standard descriptors stay open for ucfloor itself */
		ret = a[0] <= 2 || close((int)a[0]) == 0 ? 0 : -EBADF;
		break;
	case 5: /* fstat */
	case 262: { /* newfstatat */
		struct stat sb;
		int r;
		if (nr == 5) {
			r = fstat((int)a[0], &sb);
		} else {
			if ((ret = (int64_t)guest_string(a[1], path, sizeof path)) != 0)
				break;
			r = fstatat((int)a[0] == -100 ? AT_FDCWD : (int)a[0], path, &sb,
				    (int)a[3] & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
		}
		if (r != 0)
			ret = -errno;
		else /* the host's struct stat is the guest's: both x86-64 Linux */
			ret = uc_mem_write(u, nr == 5 ? a[1] : a[2], &sb, sizeof sb) ? -EFAULT : 0;
		break;
	}
	case 8: /* lseek */
		ret = lseek((int)a[0], (off_t)a[1], (int)a[2]);
		if (ret < 0)
			ret = -errno;
		break;
	case 9: /* mmap: anonymous only, never at a fixed address */
		if (!(a[3] & 0x20) || (a[3] & 0x10)) {
			ret = -ENODEV;
			break;
		}
		ret = (int64_t)mmap_next;
		map(mmap_next, UP(a[1]));
		mmap_next += UP(a[1]) + PAGE;
		break;
	case 10: /* mprotect */
	case 11: /* munmap: the pages stay (a floor measurement, not an emulator) */
	case 13: /* rt_sigaction */
	case 14: /* rt_sigprocmask */
	case 273: /* set_robust_list */
		ret = 0;
		break;
	case 12: /* brk */
		if (a[0] > brk_start && a[0] < brk_start + (1ULL << 32)) {
			if (a[0] > brk_end) {
				map(brk_end, UP(a[0]) - brk_end);
				brk_end = UP(a[0]);
			}
			brk_cur = a[0];
		}
		ret = (int64_t)brk_cur;
		break;
	case 32: /* dup */
	case 33: /* dup2 */
	case 292: /* dup3 */
		ret = nr == 32 ? dup((int)a[0]) : dup3((int)a[0], (int)a[1], nr == 292 ? (int)a[2] : 0);
		if (nr == 33 && a[0] == a[1])
			ret = fcntl((int)a[0], F_GETFD) < 0 ? -1 : (int64_t)a[0];
		if (ret < 0)
			ret = -errno;
		break;
	case 16: /* ioctl */
		ret = -ENOTTY;
		break;
	case 39: /* getpid */
	case 186: /* gettid */
	case 218: /* set_tid_address */
		ret = 1000;
		break;
	case 102: case 104: case 107: case 108: /* uid and gid */
		ret = 0;
		break;
	case 60: /* exit */
	case 231: /* exit_group */
		status = (int)a[0];
		uc_emu_stop(u);
		ret = 0;
		break;
	case 158: /* arch_prctl */
		if (a[0] == 0x1002) { /* ARCH_SET_FS */
			uc_reg_write(u, UC_X86_REG_FS_BASE, &a[1]);
			ret = 0;
		} else {
			ret = -EINVAL;
		}
		break;
	case 228: { /* clock_gettime */
		struct timespec ts;
		clock_gettime((clockid_t)a[0], &ts);
		int64_t v[2] = {ts.tv_sec, ts.tv_nsec};
		ret = uc_mem_write(u, a[1], v, sizeof v) ? -EFAULT : 0;
		break;
	}
	case 257: /* openat, read-only */
		if ((a[2] & 3) != 0) {
			ret = -EACCES;
			break;
		}
		ret = (int64_t)guest_string(a[1], path, sizeof path);
		if (ret == 0) {
			ret = openat((int)a[0] == -100 ? AT_FDCWD : -1, path, O_RDONLY | O_CLOEXEC);
			if (ret < 0)
				ret = -errno;
		}
		break;
	case 318: { /* getrandom */
		char b[256];
		size_t n = a[1] < sizeof b ? a[1] : sizeof b;
		if (getrandom(b, n, 0) != (ssize_t)n || uc_mem_write(u, a[0], b, n))
			ret = -EFAULT;
		else
			ret = (int64_t)n;
		break;
	}
	}
	uc_reg_write(u, UC_X86_REG_RAX, &ret);
}

static void push(uint64_t *sp, const void *p, size_t n)
{
	*sp -= n;
	if (uc_mem_write(uc, *sp, p, n))
		die("stack", UC_ERR_WRITE_UNMAPPED);
}

/* map_vdso maps the vDSO image in file with its vvar pages below it. The first vvar page
   holds what `vemu vdso` lists: seq (offset 0) stays 0, clock_mode (4) is 1 for the TSC,
   cycle_last (8) is the counter now, mult (0x10) 1 and shift (0x14) 1, so that a call
   takes the same path as under vemu and its loop that carries nanoseconds into seconds
   runs at most a few times over a run of a few seconds. */
static void map_vdso(const char *file)
{
	const uint64_t vvar_pages = 4, base = 0x7fff80000000ULL;
	FILE *f = fopen(file, "rb");
	if (!f) {
		perror(file);
		exit(2);
	}
	static unsigned char image[1 << 16];
	size_t n = fread(image, 1, sizeof image, f);
	fclose(f);
	if (n < sizeof(Elf64_Ehdr) || memcmp(image, ELFMAG, SELFMAG) != 0) {
		fprintf(stderr, "ucfloor: %s is not an ELF image\n", file);
		exit(2);
	}
	map(base - vvar_pages * PAGE, vvar_pages * PAGE + UP(n));
	uc_err err = uc_mem_write(uc, base, image, n);
	if (err)
		die("vdso", err);
	unsigned char vvar[0x18] = {0};
	uint32_t mode = 1, mult = 1, shift = 1;
	uint64_t now = __builtin_ia32_rdtsc();
	memcpy(vvar + 4, &mode, 4);
	memcpy(vvar + 8, &now, 8);
	memcpy(vvar + 0x10, &mult, 4);
	memcpy(vvar + 0x14, &shift, 4);
	if ((err = uc_mem_write(uc, base - vvar_pages * PAGE, vvar, sizeof vvar)))
		die("vvar", err);
	vdso_base = base;
}

int main(int argc, char **argv)
{
	int tlb_virtual = 0, model = -1, i = 1;
	const char *vdso_file = NULL;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--tlb=virtual") == 0)
			tlb_virtual = 1;
		else if (strcmp(argv[i], "--tlb=cpu") == 0)
			tlb_virtual = 0;
		else if (strncmp(argv[i], "--grow=", 7) == 0)
			grow = strtoull(argv[i] + 7, NULL, 10);
		else if (strncmp(argv[i], "--model=", 8) == 0)
			model = atoi(argv[i] + 8);
		else if (strncmp(argv[i], "--vdso=", 7) == 0)
			vdso_file = argv[i] + 7;
		else
			break;
	}
	if (i >= argc || strncmp(argv[i], "--", 2) == 0) {
		fprintf(stderr, "usage: ucfloor [--tlb=cpu|virtual] [--grow=N] [--model=N] [--vdso=FILE] PROGRAM [ARGS...]\n");
		return 2;
	}
	FILE *f = fopen(argv[i], "rb");
	if (!f) {
		perror(argv[i]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	unsigned char *img = malloc(size);
	if (!img || fread(img, 1, size, f) != (size_t)size) {
		fprintf(stderr, "ucfloor: cannot read %s\n", argv[i]);
		return 2;
	}
	fclose(f);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	if (size < (long)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_type != ET_EXEC || eh->e_machine != EM_X86_64 ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > (uint64_t)size) {
		fprintf(stderr, "ucfloor: %s is not a static, non-PIE x86-64 ELF\n", argv[i]);
		return 2;
	}

	uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
	if (err)
		die("open", err);
	if (model >= 0 && (err = uc_ctl_set_cpu_model(uc, model)))
		die("cpu model", err);
	if (tlb_virtual) {
		uc_hook h;
		if ((err = uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL)))
			die("tlb mode", err);
		if ((err = uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, (void *)on_fill, NULL, 1, 0)))
			die("fill hook", err);
	}
	uc_hook hs;
	if ((err = uc_hook_add(uc, &hs, UC_HOOK_INSN, (void *)on_syscall, NULL, 1, 0, UC_X86_INS_SYSCALL)))
		die("syscall hook", err);

	/* Segments: each PT_LOAD's pages, merged where they touch. */
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
	uint64_t mapped_end = 0, phdr_addr = 0;
	for (int k = 0; k < eh->e_phnum; k++) {
		if (ph[k].p_type != PT_LOAD)
			continue;
		if (ph[k].p_offset + ph[k].p_filesz > (uint64_t)size) {
			fprintf(stderr, "ucfloor: truncated segment\n");
			return 2;
		}
		uint64_t lo = DOWN(ph[k].p_vaddr), hi = UP(ph[k].p_vaddr + ph[k].p_memsz);
		if (lo < mapped_end)
			lo = mapped_end;
		if (hi > lo)
			map(lo, hi - lo);
		if (hi > mapped_end)
			mapped_end = hi;
		if ((err = uc_mem_write(uc, ph[k].p_vaddr, img + ph[k].p_offset, ph[k].p_filesz)))
			die("load", err);
		if (ph[k].p_offset <= eh->e_phoff && eh->e_phoff < ph[k].p_offset + ph[k].p_filesz)
			phdr_addr = ph[k].p_vaddr + (eh->e_phoff - ph[k].p_offset);
	}
	brk_start = brk_end = brk_cur = mapped_end + 64 * PAGE;
	if (vdso_file)
		map_vdso(vdso_file);

	/* The stack: strings, AT_RANDOM bytes, then auxv, envp, argv and argc. */
	const uint64_t stack_top = 0x7ffff0000000ULL, stack_size = 8 << 20;
	map(stack_top - stack_size, stack_size);
	uint64_t sp = stack_top, argp[256];
	int n = argc - i;
	if (n > 255)
		n = 255;
	for (int k = n - 1; k >= 0; k--) {
		push(&sp, argv[i + k], strlen(argv[i + k]) + 1);
		argp[k] = sp;
	}
	unsigned char rnd[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	push(&sp, rnd, sizeof rnd);
	uint64_t rnd_addr = sp;
	sp &= ~15ULL;
	uint64_t auxv[] = {AT_PHDR, phdr_addr, AT_PHENT, sizeof(Elf64_Phdr), AT_PHNUM, eh->e_phnum,
			   AT_PAGESZ, PAGE, AT_ENTRY, eh->e_entry, AT_RANDOM, rnd_addr,
			   AT_UID, 0, AT_EUID, 0, AT_GID, 0, AT_EGID, 0, AT_SECURE, 0,
			   vdso_base ? AT_SYSINFO_EHDR : AT_IGNORE, vdso_base, AT_NULL, 0};
	if ((n + 1 + 1 + 1) % 2) /* keep rsp 16-aligned at entry */
		push(&sp, (uint64_t[]){0}, 8);
	push(&sp, auxv, sizeof auxv);
	push(&sp, (uint64_t[]){0}, 8); /* envp */
	push(&sp, (uint64_t[]){0}, 8); /* argv[n] */
	for (int k = n - 1; k >= 0; k--)
		push(&sp, &argp[k], 8);
	uint64_t argc64 = (uint64_t)n;
	push(&sp, &argc64, 8);
	uc_reg_write(uc, UC_X86_REG_RSP, &sp);

	status = 127;
	if ((err = uc_emu_start(uc, eh->e_entry, 0, 0, 0))) {
		uint64_t rip;
		uc_reg_read(uc, UC_X86_REG_RIP, &rip);
		fprintf(stderr, "ucfloor: %s at rip %#llx\n", uc_strerror(err), (unsigned long long)rip);
		return 2;
	}
	uc_close(uc);
	return status;
}
