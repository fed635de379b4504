/* procself reads and writes its own memory through /proc/self/mem and reads its own
 * /proc/self/{status,stat,statm,limits}, and then tries every other way into /proc it
 * knows (other spellings, a symbolic link, a directory descriptor, chdir, the thread's
 * entries): each must either be refused or be the program's own, never another
 * process's memory or status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static char marker[64] = "the guest's own marker, in its data";
static const char rodata[32] = "read-only data";
static char comm[32];

static int slurp(int dirfd, const char *path, char *buf, size_t n)
{
	int fd = openat(dirfd, path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t got = read(fd, buf, n - 1);
	close(fd);
	if (got < 0)
		return -1;
	buf[got] = 0;
	return 0;
}

/* field returns the value of "Key:\t..." in a status text, or "". */
static const char *field(const char *text, const char *key, char *out, size_t n)
{
	const char *p = strstr(text, key);
	out[0] = 0;
	if (!p)
		return out;
	p += strlen(key);
	while (*p == '\t' || *p == ' ')
		p++;
	size_t i = 0;
	while (p[i] && p[i] != '\n' && i + 1 < n) {
		out[i] = p[i];
		i++;
	}
	out[i] = 0;
	return out;
}

/* own_mem says whether fd, opened on some spelling of a mem file, is this process's
 * memory: reading the marker's address gives the marker. */
static int own_mem(int fd)
{
	char buf[sizeof marker];
	return pread(fd, buf, sizeof buf, (off_t)(uintptr_t)marker) == sizeof buf &&
	       memcmp(buf, marker, sizeof buf) == 0;
}

/* route checks one way to a mem file: refused, or this process's own memory. */
static void mem_route(const char *what, int dirfd, const char *path)
{
	char name[128];
	int fd = openat(dirfd, path, O_RDWR);
	snprintf(name, sizeof name, "route %s: refused or own memory", what);
	expect(name, fd < 0 || own_mem(fd));
	if (fd >= 0)
		close(fd);
}

/* status_route checks one way to a status file: refused, or this process's status. */
static void status_route(const char *what, int dirfd, const char *path)
{
	char name[128], text[4096], v[64];
	snprintf(name, sizeof name, "route %s: refused or own status", what);
	if (slurp(dirfd, path, text, sizeof text) != 0) {
		expect(name, 1);
		return;
	}
	expect(name, strcmp(field(text, "Name:", v, sizeof v), comm) == 0 &&
			     atoi(field(text, "Pid:", v, sizeof v)) == getpid());
}

int main(int argc, char **argv)
{
	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	snprintf(comm, sizeof comm, "%.15s", base);

	/* /proc/self/mem */
	int fd = open("/proc/self/mem", O_RDWR);
	expect("open mem", fd >= 0);
	expect("pread the marker", own_mem(fd));
	static char target[16] = "before";
	expect("pwrite a variable", pwrite(fd, "after!", 6, (off_t)(uintptr_t)target) == 6);
	expect("the variable changed", memcmp(target, "after!", 6) == 0);
	expect("pwrite read-only data (forced)", pwrite(fd, "READ", 4, (off_t)(uintptr_t)rodata) == 4);
	const volatile char *ro = rodata;
	expect("read-only data changed", ro[0] == 'R' && ro[1] == 'E' && ro[2] == 'A' && ro[3] == 'D');

	long pg = sysconf(_SC_PAGESIZE);
	char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(two, 'x', 2 * pg);
	munmap(two + pg, pg);
	char *buf = malloc(2 * pg);
	errno = 0;
	expect_err("pread unmapped", pread(fd, buf, 16, (off_t)(uintptr_t)(two + pg)), EIO);
	expect("pread into unmapped is short", pread(fd, buf, 2 * pg, (off_t)(uintptr_t)two) == pg);
	expect_err("pwrite unmapped", pwrite(fd, "z", 1, (off_t)(uintptr_t)(two + pg)), EIO);
	mprotect(two, pg, PROT_NONE);
	expect("pread a PROT_NONE page (forced)", pread(fd, buf, 16, (off_t)(uintptr_t)two) == 16 && buf[0] == 'x');
	expect("lseek to an address", lseek(fd, (off_t)(uintptr_t)marker, SEEK_SET) == (off_t)(uintptr_t)marker);
	char b2[8];
	expect("read at the position", read(fd, b2, 8) == 8 && memcmp(b2, marker, 8) == 0);
	close(fd);

	/* status, stat, statm, limits */
	char text[8192], v[64];
	expect("read status", slurp(AT_FDCWD, "/proc/self/status", text, sizeof text) == 0);
	expect("status Name", strcmp(field(text, "Name:", v, sizeof v), comm) == 0);
	expect("status Pid", atoi(field(text, "Pid:", v, sizeof v)) == getpid());
	expect("status PPid", atoi(field(text, "PPid:", v, sizeof v)) == getppid());
	expect("status Threads", atoi(field(text, "Threads:", v, sizeof v)) == 1);
	expect("status TracerPid", atoi(field(text, "TracerPid:", v, sizeof v)) == 0);
	expect("read stat", slurp(AT_FDCWD, "/proc/self/stat", text, sizeof text) == 0);
	char scomm[64] = "";
	int spid = 0, sppid = 0;
	char state = 0;
	sscanf(text, "%d (%63[^)]) %c %d", &spid, scomm, &state, &sppid);
	expect("stat pid, comm, ppid", spid == getpid() && strcmp(scomm, comm) == 0 && sppid == getppid());
	expect("read statm", slurp(AT_FDCWD, "/proc/self/statm", text, sizeof text) == 0 && atol(text) > 0);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	expect("read limits", slurp(AT_FDCWD, "/proc/self/limits", text, sizeof text) == 0);
	const char *line = strstr(text, "Max open files");
	expect("limits: open files", line && strtoull(line + 26, NULL, 10) == rl.rlim_cur);

	/* Other ways in. */
	char path[128];
	mem_route("/proc/thread-self/mem", AT_FDCWD, "/proc/thread-self/mem");
	snprintf(path, sizeof path, "/proc/%d/mem", getpid());
	mem_route("/proc/PID/mem", AT_FDCWD, path);
	snprintf(path, sizeof path, "/proc/self/task/%ld/mem", (long)syscall(SYS_gettid));
	mem_route("/proc/self/task/TID/mem", AT_FDCWD, path);
	mem_route("//proc/./self/../self/mem", AT_FDCWD, "//proc/./self/../self/mem");
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY);
	mem_route("dirfd /proc + self/mem", procfd, "self/mem");
	status_route("dirfd /proc + self/status", procfd, "self/status");
	int selffd = open("/proc/self", O_RDONLY | O_DIRECTORY);
	mem_route("dirfd /proc/self + mem", selffd, "mem");
	status_route("dirfd /proc/self + status", selffd, "status");
	/* A descriptor the program does not have, reached through its fd directory: vemu's
	 * own descriptors (guest memory among them) must not answer. */
	int fddir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
	expect("open /proc/self/fd", fddir >= 0);
	close(200);
	expect_err("dirfd /proc/self/fd + a closed descriptor", openat(fddir, "200", O_RDONLY), ENOENT);
	int one = openat(fddir, "1", O_WRONLY);
	expect("dirfd /proc/self/fd + 1 is stdout", one >= 0);
	close(one);
	close(fddir);
	char link[64];
	snprintf(link, sizeof link, "/tmp/procself-link-%d", getpid());
	unlink(link);
	symlink("/proc/self/mem", link);
	mem_route("symlink to /proc/self/mem", AT_FDCWD, link);
	unlink(link);
	symlink("/proc/self/status", link);
	status_route("symlink to /proc/self/status", AT_FDCWD, link);
	unlink(link);
	status_route("/proc/thread-self/status", AT_FDCWD, "/proc/thread-self/status");
	snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
	status_route("/proc/self/task/TID/status", AT_FDCWD, path);
	if (chdir("/proc/self") == 0) {
		mem_route("chdir /proc/self + mem", AT_FDCWD, "mem");
		status_route("chdir /proc/self + status", AT_FDCWD, "status");
		chdir("/");
	} else {
		expect("route chdir /proc/self + mem: refused or own memory", 1);
		expect("route chdir /proc/self + status: refused or own status", 1);
	}
	return failures != 0;
}
