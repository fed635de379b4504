/* mapfile MODE DIR: private file mappings.
   cow:   writes to a private mapping stay private, survive a fork only in the writer,
          and MADV_DONTNEED reads the file again; a mapping past the end of the file
          reads zero in its last page.
   poke:  a write through /proc/self/mem to a read-only private mapping shows in it and
          in a child forked after.
   trunc: maps a file privately and truncates it, then reads what is left of it and
          the pages past the new end (Linux sends SIGBUS there; vemu must not crash). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* must stops the program when a call fails, saying which. */
static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(1);
	}
}

static int make_file(const char *dir, const char *name, size_t size)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	must(fd >= 0, "open");
	char *buf = malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = 'a' + i / 4096 % 26;
	must(write(fd, buf, size) == (ssize_t)size, "write");
	free(buf);
	return fd;
}

static void cow(const char *dir)
{
	size_t size = 3 * 4096 + 100;
	int fd = make_file(dir, "cow.bin", size);
	char *m = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	must(m != MAP_FAILED, "mmap");
	printf("pages: %c %c %c %c\n", m[0], m[4096], m[8192], m[12288]);
	printf("past the end in the last page: %d\n", m[12288 + 200]);
	m[0] = 'X';
	char b;
	must(pread(fd, &b, 1, 0) == 1, "pread");
	printf("file after a private write: %c, mapping: %c\n", b, m[0]);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		m[4096] = 'Y';
		printf("child sees %c %c\n", m[0], m[4096]);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("parent sees %c %c\n", m[0], m[4096]);
	must(madvise(m, 4096, MADV_DONTNEED) == 0, "madvise");
	printf("after MADV_DONTNEED: %c\n", m[0]);
	char *r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
	must(r != MAP_FAILED, "mmap at an offset");
	printf("at offset 4096: %c\n", r[0]);
	must(mprotect(r, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect");
	r[1] = 'Z';
	printf("after mprotect and a write: %c%c\n", r[0], r[1]);
	munmap(r, 4096);
	munmap(m, 5 * 4096);
	close(fd);
}

static void poke(const char *dir)
{
	int fd = make_file(dir, "poke.bin", 2 * 4096);
	char *m = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	must(m != MAP_FAILED, "mmap");
	int mem = open("/proc/self/mem", O_RDWR);
	must(mem >= 0, "open /proc/self/mem");
	must(pwrite(mem, "PQ", 2, (off_t)(unsigned long)(m + 4096)) == 2, "pwrite /proc/self/mem");
	printf("after the poke: %c%c\n", m[4096], m[4097]);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		printf("the child sees: %c%c\n", m[4096], m[4097]);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	char b[2];
	must(pread(fd, b, 2, 4096) == 2, "pread");
	printf("the file keeps: %c%c\n", b[0], b[1]);
}

static void trunc_(const char *dir)
{
	int fd = make_file(dir, "trunc.bin", 4 * 4096);
	char *m = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	must(m != MAP_FAILED, "mmap");
	printf("before: %c %c\n", m[0], m[3 * 4096]);
	must(ftruncate(fd, 4096) == 0, "ftruncate");
	printf("kept: %c\n", m[0]);
	fflush(stdout);
	volatile char c = m[3 * 4096];
	printf("past the new end: %d\n", c);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mapfile cow|poke|trunc DIR\n");
		return 2;
	}
	if (!strcmp(argv[1], "cow"))
		cow(argv[2]);
	else if (!strcmp(argv[1], "poke"))
		poke(argv[2]);
	else if (!strcmp(argv[1], "trunc"))
		trunc_(argv[2]);
	else
		return 2;
	return 0;
}
