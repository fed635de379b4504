/* secretmem checks memfd_secret(2): its flags, the file it gives (no read or write, one
 * ftruncate, shared mappings only, never executable, locked), a thousand mappings of it,
 * a child that shares it across fork, and RLIMIT_MEMLOCK once capabilities are dropped. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

#define NMAPS 1000

static long pg;

static int secret(unsigned flags) { return syscall(SYS_memfd_secret, flags); }

static long map_err(void *p) { return p == MAP_FAILED ? -1 : 0; }

/* locked is the VmLck of /proc/self/status, in kB. */
static long locked(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* maps_line prints the permissions and name of the mapping at p in /proc/self/maps. */
static void maps_line(const char *what, void *p)
{
	char line[512], want[32];
	snprintf(want, sizeof want, "%lx-", (unsigned long)p);
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, want, strlen(want)) == 0) {
			char perms[8], name[256] = "";
			sscanf(line, "%*s %7s %*s %*s %*s %255[^\n]", perms, name);
			printf("%s: %s %s\n", what, perms, name);
		}
	}
	if (f)
		fclose(f);
}

/* touch_dies reports the signal that ends a child reading p, or 0. */
static int touch_dies(volatile char *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		(void)*p;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void limited(int fd)
{
	struct {
		unsigned version;
		int pid;
	} h = {0x20080522, 0};
	struct {
		unsigned eff, prm, inh;
	} d[2] = {{0, 0, 0}, {0, 0, 0}};
	if (syscall(SYS_capset, &h, d) != 0)
		printf("capset: %s\n", errname(errno));
	struct rlimit rl = {8 * pg, 8 * pg};
	expect("setrlimit RLIMIT_MEMLOCK to 8 pages", setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	long before = locked();
	expect_err("a mapping past the limit", map_err(mmap(NULL, 16 * pg, PROT_READ, MAP_SHARED, fd, 0)), EAGAIN);
	expect_err("a huge mapping", map_err(mmap(NULL, (size_t)1 << 46, PROT_READ, MAP_SHARED, fd, 0)), EAGAIN);
	long room = 8 - before * 1024 / pg;
	char *m = mmap(NULL, room * pg, PROT_READ, MAP_SHARED, fd, 0);
	expect("a mapping up to the limit", m != MAP_FAILED);
	expect_err("one page more", map_err(mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0)), EAGAIN);
	expect("an anonymous mapping still", map_err(mmap(NULL, pg, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == 0);
	munmap(m, pg);
	expect("one page again after munmap", map_err(mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0)) == 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = sysconf(_SC_PAGESIZE);
	expect_err("flags 1", secret(1), EINVAL);
	expect_err("O_NONBLOCK", secret(O_NONBLOCK), EINVAL);
	expect_err("MFD_ALLOW_SEALING", secret(2), EINVAL);
	int fd = secret(O_CLOEXEC);
	if (fd < 0) {
		printf("memfd_secret: %s\n", errname(errno));
		return 1;
	}
	int plain = secret(0);
	expect("O_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC && fcntl(plain, F_GETFD) == 0);
	expect("O_RDWR", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	struct stat st;
	fstat(fd, &st);
	printf("mode %o size %ld nlink %ld\n", st.st_mode, (long)st.st_size, (long)st.st_nlink);
	struct statfs sf;
	fstatfs(fd, &sf);
	expect("on the secretmem file system", sf.f_type == 0x5345434d);
	char link[64], buf[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("fd link: %s\n", buf);

	expect_err("read", read(fd, buf, 1), EINVAL);
	expect_err("write", write(fd, "x", 1), EINVAL);
	expect_err("pread", pread(fd, buf, 1, 0), ESPIPE);
	expect_err("lseek", lseek(fd, 0, SEEK_END), ESPIPE);
	expect_err("fallocate", fallocate(fd, 0, 0, pg), EOPNOTSUPP);
	expect_err("MAP_PRIVATE", map_err(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 0)), EINVAL);
	expect_err("PROT_EXEC", map_err(mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0)), EPERM);
	expect_err("PROT_EXEC and MAP_PRIVATE", map_err(mmap(NULL, pg, PROT_EXEC, MAP_PRIVATE, fd, 0)), EPERM);
	expect_err("an offset past what off_t holds", map_err(mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, -pg)), EOVERFLOW);

	char *empty = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect("a mapping before ftruncate", empty != MAP_FAILED);
	expect("touching it is SIGBUS", touch_dies(empty) == SIGBUS);
	expect("ftruncate to 4 pages", ftruncate(fd, 4 * pg) == 0);
	expect_err("ftruncate again", ftruncate(fd, 8 * pg), EINVAL);
	expect_err("ftruncate to the same size", ftruncate(fd, 4 * pg), EINVAL);
	fstat(fd, &st);
	printf("size after ftruncate %ld\n", (long)st.st_size);
	expect("the early mapping now reads zero", touch_dies(empty) == 0 && empty[0] == 0);

	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect("mmap shared", m != MAP_FAILED);
	strcpy(m, "secret");
	strcpy(m + pg, "second page");
	expect("the early mapping sees it", strcmp(empty, "secret") == 0);
	char *view = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
	expect("a view at an offset", strcmp(view, "second page") == 0);
	char *far = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, (off_t)1 << 40);
	expect("a mapping far past the end", far != MAP_FAILED);
	expect("touching it is SIGBUS", touch_dies(far) == SIGBUS);
	maps_line("maps", m);
	printf("VmLck %ld\n", locked());

	expect_err("read after mmap", read(fd, buf, 1), EINVAL);
	expect_err("mlock", mlock(m, pg), ENOMEM);
	expect("munlock", munlock(m, pg) == 0);
	expect_err("MADV_DONTNEED", madvise(m, pg, MADV_DONTNEED), EINVAL);
	expect_err("MADV_COLD", madvise(m, pg, MADV_COLD), EINVAL);
	expect("still there", strcmp(m, "secret") == 0);
	expect_err("mprotect PROT_EXEC", mprotect(m, pg, PROT_READ | PROT_EXEC), EACCES);
	expect("mprotect read-only", mprotect(view, pg, PROT_READ) == 0);
	expect_err("msync MS_SYNC", msync(m, pg, MS_SYNC), EINVAL);
	expect("msync MS_ASYNC", msync(m, pg, MS_ASYNC) == 0);
	expect("write(2) from secret memory", write(1, m, 0) == 0);
	int p[2];
	pipe(p);
	expect("a pipe carries it", write(p[1], m, 7) == 7 && read(p[0], buf, 7) == 7 && strcmp(buf, "secret") == 0);
	struct iovec vi = {m, 7};
	expect_err("vmsplice from it", vmsplice(p[1], &vi, 1, 0), EFAULT);
	expect("vmsplice into it", write(p[1], "spliced", 8) == 8 && (vi.iov_base = m + 3 * pg, vi.iov_len = 8) &&
					   vmsplice(p[0], &vi, 1, 0) == 8 && strcmp(m + 3 * pg, "spliced") == 0);
	char *plainbuf = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec li = {plainbuf, 7}, ri = {m, 7};
	expect_err("process_vm_readv of it", process_vm_readv(getpid(), &li, 1, &ri, 1, 0), EFAULT);
	expect_err("process_vm_writev into it", process_vm_writev(getpid(), &li, 1, &ri, 1, 0), EFAULT);
	li.iov_base = m + 3 * pg, ri.iov_base = plainbuf;
	expect("process_vm_readv into it", process_vm_readv(getpid(), &li, 1, &ri, 1, 0) == 7);

	pid_t pid = fork();
	if (pid == 0) {
		/* Locks are not inherited: the child's mappings are no longer locked. */
		int ok = strcmp(m, "secret") == 0 && locked() == 0 && madvise(view, pg, MADV_DONTNEED) == 0 &&
			 strcmp(view, "second page") == 0 && mlock(m, pg) < 0 && errno == ENOMEM &&
			 mprotect(m, pg, PROT_EXEC) < 0 && errno == EACCES;
		strcpy(m + 2 * pg, "from the child");
		_exit(ok ? 0 : 1);
	}
	int ws;
	waitpid(pid, &ws, 0);
	expect("the child saw the parent's", WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	expect("the parent sees the child's", strcmp(m + 2 * pg, "from the child") == 0);
	printf("VmLck after fork %ld\n", locked());

	long base = locked();
	static char *maps[NMAPS];
	int made = 0;
	for (int i = 0; i < NMAPS; i++) {
		maps[i] = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (i % 4) * pg);
		if (maps[i] == MAP_FAILED)
			break;
		made++;
	}
	printf("%d mappings of it\n", made);
	maps[NMAPS - 1][100] = 'z';
	expect("every mapping shows the file", strcmp(maps[0], "secret") == 0 && strcmp(maps[5], "second page") == 0 &&
						       m[3 * pg + 100] == 'z');
	printf("VmLck with them %ld\n", locked() - base);
	for (int i = 0; i < made; i++)
		munmap(maps[i], pg);
	printf("VmLck after munmap %ld\n", locked() - base);

	pid = fork();
	if (pid == 0) {
		limited(fd);
		_exit(failures ? 1 : 0);
	}
	waitpid(pid, &ws, 0);
	expect("limits checked", WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	close(fd);
	expect("the mapping outlives the descriptor", strcmp(m, "secret") == 0);
	return failures ? 1 : 0;
}
