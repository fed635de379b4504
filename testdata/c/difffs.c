/* difffs issues random file and descriptor system calls from a seed and prints one line per
 * call with what Linux answers deterministically: the call, its arguments by name, the
 * result or -ERRNO, and the output that does not depend on the host (bytes read, mode, size
 * and link count, directory names sorted, flags, offsets; never inode numbers, times or
 * pids). Run natively and under vemu, the two outputs must be equal.
 *
 *   difffs DIR SEED N
 *
 * works in DIR (which it fills with files, directories, links and FIFOs); it must run as
 * an unprivileged user, with DIR's parent not writable by it. Arguments come from pools of
 * interesting values: live, closed and absurd descriptors, valid and invalid flag bits,
 * bad pointers (NULL, 1, a kernel address, a PROT_NONE page, a buffer that ends at one),
 * lengths and offsets from 0 to huge and negative, paths too long, through loops and
 * files. Calls that would block for good are made non-blocking (pipes, FIFOs, eventfds,
 * inotify, locks), and sizes stay small enough that a copy of a whole file is quick. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errnames.h"

#define OUTFD 900 /* the output; no random descriptor argument is ever 900 */
#define BUFSZ 65536
#define KADDR 0xffff880000000000UL

static uint64_t seed;
static uint64_t next(void) { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }
static unsigned rnd(unsigned n) { return (unsigned)(next() % n); }
#define PICK(a) (a)[rnd(sizeof(a) / sizeof((a)[0]))]

static char *buf;     /* BUFSZ bytes, PROT_NONE pages on both sides */
static char *guard;   /* the PROT_NONE page after buf */
static char *scratch; /* a second valid area for structs and iovecs */
static char base[PATH_MAX];
static size_t baselen;
static uid_t me;
static gid_t mygid;
static long opno;

/* ---- output ---- */
static char ob[1 << 17];
static size_t on;
static void P(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(ob + on, sizeof ob - on - 2, fmt, ap);
	va_end(ap);
	if (n > 0)
		on += (size_t)n < sizeof ob - on - 2 ? (size_t)n : sizeof ob - on - 3;
}
static void endline(void)
{
	ob[on++] = '\n';
	syscall(SYS_write, OUTFD, ob, on);
	on = 0;
}
static void R(long r)
{
	if (r < 0)
		P(" = -%s", errname((int)-r));
	else
		P(" = %ld", r);
}
static long S6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r == -1 ? -errno : r;
}
#define S(nr, a, b, c, d, e, f) S6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* ---- descriptors ---- */
enum kind { K_FILE, K_DIR, K_PATH, K_PIPE, K_EVENTFD, K_MEMFD, K_INOTIFY, K_OTHER };
#define MAXFD 48
static struct { int fd; int kind; } fds[MAXFD];
static int nfds;
static int closed[8];
static int nclosed;

static int kindof(int fd)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i].fd == fd)
			return fds[i].kind;
	return -1;
}
static void forget(int fd)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i].fd == fd) {
			fds[i] = fds[--nfds];
			closed[nclosed++ % 8] = fd;
			return;
		}
}
/* mayblock is whether reads or writes of this kind can wait: such descriptors are kept
 * non-blocking, silently, so that no call of the run waits for good. */
static int mayblock(int kind) { return kind == K_PIPE || kind == K_EVENTFD || kind == K_INOTIFY; }
static void track(int fd, int kind)
{
	if (fd < 0 || fd == OUTFD)
		return;
	forget(fd);
	if (nfds == MAXFD) {
		/* Too many: close the oldest, quietly. */
		syscall(SYS_close, fds[0].fd);
		forget(fds[0].fd);
	}
	fds[nfds].fd = fd;
	fds[nfds].kind = kind;
	nfds++;
	if (mayblock(kind)) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

static int waits(long fd);
/* nowait makes fd non-blocking, quietly, when its file's calls can wait. */
static void nowait(long fd)
{
	if (!waits(fd))
		return;
	int fl = fcntl((int)fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl((int)fd, F_SETFL, fl | O_NONBLOCK);
}
/* fdarg picks a descriptor argument and prints it; one whose calls can wait is made
 * non-blocking first. */
static long fdarg(void)
{
	unsigned k = rnd(100);
	long fd;
	if (k < 75 && nfds > 0)
		fd = fds[rnd(nfds)].fd;
	else if (k < 84 && nclosed > 0)
		fd = closed[rnd(nclosed < 8 ? nclosed : 8)];
	else if (k < 87)
		fd = -1;
	else if (k < 90)
		fd = 1 << 20;
	else if (k < 92)
		fd = INT_MAX;
	else if (k < 95 && nfds > 0) {
		/* The high half is not part of a descriptor: Linux takes an int. */
		fd = 0x100000000L | fds[rnd(nfds)].fd;
		P("0x%lx", fd);
		nowait(fd);
		return fd;
	} else if (k < 97)
		fd = AT_FDCWD;
	else
		fd = rnd(12);
	if (fd == AT_FDCWD)
		P("AT_FDCWD");
	else
		P("%ld", fd);
	nowait(fd);
	return fd;
}
/* dirfdarg picks the directory argument of an *at call. */
static long dirfdarg(void)
{
	unsigned k = rnd(10);
	if (k < 5) {
		P("AT_FDCWD");
		return AT_FDCWD;
	}
	if (k < 8) {
		for (int tries = 0; tries < 4 && nfds > 0; tries++) {
			int i = rnd(nfds);
			if (fds[i].kind == K_DIR || fds[i].kind == K_PATH) {
				P("%d", fds[i].fd);
				return fds[i].fd;
			}
		}
	}
	return fdarg();
}

/* ---- paths ---- */
static char longpath[PATH_MAX + 2];
static char longname[NAME_MAX + 2];
static char name255[NAME_MAX + 1];
static const char *paths[] = {
	"f0", "f1", "f2", "d0", "d1", "d0/f0", "d0/d1", "d0/d1/f0", "l0", "l1", "ld", "loop",
	"dangling", "fifo", "f0/x", "d0/", "f0/", "l0/", "", ".", "..", "d0/..", "d0/../f1",
	"loop/x", "ld/f0", "/", "LONGPATH", "LONGNAME", "NAME255", "NULL", "BAD", "KERN",
	"PROTNONE", "UNTERMINATED",
};
static long patharg(void)
{
	const char *p = PICK(paths);
	P("\"%s\"", p);
	if (!strcmp(p, "LONGPATH"))
		return (long)longpath;
	if (!strcmp(p, "LONGNAME"))
		return (long)longname;
	if (!strcmp(p, "NAME255"))
		return (long)name255;
	if (!strcmp(p, "NULL"))
		return 0;
	if (!strcmp(p, "BAD"))
		return 1;
	if (!strcmp(p, "KERN"))
		return (long)KADDR;
	if (!strcmp(p, "PROTNONE"))
		return (long)guard;
	if (!strcmp(p, "UNTERMINATED")) {
		memcpy(guard - 2, "f0", 2);
		return (long)(guard - 2);
	}
	static unsigned slot; /* in turn, for the calls with two paths */
	char *at = scratch + 8192 + (slot++ % 4) * 256;
	strcpy(at, p);
	return (long)at;
}

/* ---- numbers ---- */
static long lenpick(void)
{
	static const long v[] = {0, 1, 7, 16, 100, 512, 4096, 4097, 65536, 65537, 1L << 20, -1, LONG_MAX, 0x7ffff000};
	return PICK(v);
}
static long lenarg(void)
{
	long n = lenpick();
	P("%ld", n);
	return n;
}
static long offarg(void)
{
	static const long v[] = {0, 0, 1, 5, 100, 4096, 8192, 65536, 1L << 20, -1, -4096, 1L << 62, LONG_MAX};
	long n = PICK(v);
	P("%ld", n);
	return n;
}
/* ptrarg returns a buffer argument of n bytes: valid, or one of the bad kinds. */
static long ptrarg(long n)
{
	unsigned k = rnd(100);
	if (k < 70) {
		P("BUF");
		return (long)buf;
	}
	if (k < 78) {
		/* Ends exactly at the PROT_NONE page, or crosses into it. */
		long at = (n >= 0 && n <= BUFSZ) ? n : 16;
		P("EDGE");
		return (long)(guard - at);
	}
	if (k < 84) {
		P("CROSS");
		return (long)(guard - 8);
	}
	if (k < 89) {
		P("NULL");
		return 0;
	}
	if (k < 92) {
		P("1");
		return 1;
	}
	if (k < 96) {
		P("KERN");
		return (long)KADDR;
	}
	P("PROTNONE");
	return (long)guard;
}
static unsigned long flagsarg(const unsigned long *valid, int nvalid, unsigned long bad)
{
	unsigned long f = 0;
	int n = rnd(4);
	for (int i = 0; i < n; i++)
		f |= valid[rnd(nvalid)];
	if (rnd(8) == 0)
		f |= bad;
	P("0x%lx", f);
	return f;
}
#define FLAGS(v, bad) flagsarg(v, sizeof(v) / sizeof((v)[0]), bad)

/* xstatx is struct xstatx's start, as Linux lays it out (musl's headers may lack it). */
struct xstatx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad;
	uint64_t stx_ino, stx_size, rest[26];
};

static uint64_t hash(const unsigned char *p, long n)
{
	uint64_t h = 1469598103934665603ULL;
	for (long i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}
/* scrub fills buf with its starting bytes again. The calls whose output differs between
 * two runs (inode numbers, times, directory positions, a handle, the work directory's
 * name, inotify's cookies) are followed by it, quietly: later calls that take bytes from
 * buf (a write, a struct flock, a file handle) must find the same ones in both. */
static int scrubnext;
static void scrub(void)
{
	for (int i = 0; i < BUFSZ; i++)
		buf[i] = (char)(i * 7 + i / 251);
	scrubnext = 0;
}
/* showdata prints what a read returned into p. */
static void showdata(const char *p, long r, int kind)
{
	if (r <= 0 || kind == K_INOTIFY) /* inotify's rename cookies are global counters */
		return;
	P(" data=%016llx", (unsigned long long)hash((const unsigned char *)p, r));
	if (r <= 8) {
		P(" [");
		for (long i = 0; i < r; i++)
			P("%02x", (unsigned char)p[i]);
		P("]");
	}
}
static void showstat(const struct stat *st)
{
	P(" mode=0%o nlink=%lu size=%lld uid=%s", st->st_mode, (unsigned long)st->st_nlink,
	  S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) || S_ISDIR(st->st_mode) ? (long long)st->st_size : 0LL,
	  st->st_uid == me ? "me" : "other");
}

/* newfd reports a descriptor a call returned. */
static void newfd(long r, int kind)
{
	if (r < 0)
		return;
	struct stat st;
	if (kind == K_FILE && fstat((int)r, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			kind = K_DIR;
		else if (S_ISFIFO(st.st_mode))
			kind = K_PIPE;
	}
	track((int)r, kind);
}
static int kindarg(long fd)
{
	int k = kindof((int)fd);
	return k < 0 ? K_OTHER : k;
}
/* waits is whether fd's file is one whose reads or writes can wait (a pipe, an eventfd,
 * inotify), whatever kind the run took it for: a descriptor it got another way (a dup
 * of an unknown one) shares the file's flags. */
static int waits(long fd)
{
	struct stat st;
	return fstat((int)fd, &st) == 0 && (S_ISFIFO(st.st_mode) || (st.st_mode & S_IFMT) == 0);
}
/* shared is whether fd's file is one that other programs may lock at the same time: "/",
 * or the one inode of every eventfd and inotify descriptor (an anonymous inode, of no
 * file type). The run leaves their locks alone. */
static int shared(long fd)
{
	struct stat st, root;
	if (fstat((int)fd, &st) != 0)
		return 0;
	return (st.st_mode & S_IFMT) == 0 ||
	       (stat("/", &root) == 0 && st.st_dev == root.st_dev && st.st_ino == root.st_ino);
}
/* isfifo is whether the path names a FIFO, so that opening it must not wait for a peer. */
static int isfifo(long d, long p)
{
	struct stat st;
	return S(SYS_newfstatat, d, p, &st, 0, 0, 0) == 0 && S_ISFIFO(st.st_mode);
}

static const unsigned long oflags[] = {
	O_WRONLY, O_RDWR, O_ACCMODE, O_CREAT, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK,
	O_DIRECTORY, O_NOFOLLOW, O_PATH, O_PATH, O_TMPFILE, O_CLOEXEC, O_DSYNC, O_SYNC,
	O_NOATIME, O_DIRECT, O_NOCTTY, O_LARGEFILE, FASYNC,
};
static const long modes[] = {0, 0644, 0600, 0755, 0444, 0200, 07777, 010644, 0x10000};

static void openflags(long d, long p, long *fl)
{
	if (!(*fl & O_NONBLOCK) && !(*fl & O_PATH) && isfifo(d, p)) {
		*fl |= O_NONBLOCK;
		P("+NONBLOCK");
	}
}
static void op_openat(void)
{
	P("openat(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	P(", ");
	long fl = FLAGS(oflags, 0x4000000);
	openflags(d, p, &fl);
	long mode = PICK(modes);
	P(", 0%lo)", mode);
	long r = S(SYS_openat, d, p, fl, mode, 0, 0);
	R(r);
	newfd(r, (fl & O_PATH) ? K_PATH : K_FILE);
	struct stat st;
	if (r >= 0 && fstat((int)r, &st) == 0)
		showstat(&st);
}
static void op_open(void)
{
	P("open(");
	long p = patharg();
	P(", ");
	long fl = FLAGS(oflags, 0x4000000);
	openflags(AT_FDCWD, p, &fl);
	long mode = PICK(modes);
	P(", 0%lo)", mode);
	long r = S(SYS_open, p, fl, mode, 0, 0, 0);
	R(r);
	newfd(r, (fl & O_PATH) ? K_PATH : K_FILE);
}
static void op_creat(void)
{
	P("creat(");
	long p = patharg();
	long mode = PICK(modes);
	P(", 0%lo)", mode);
	if (isfifo(AT_FDCWD, p)) {
		P(" skipped: a FIFO"); /* it would wait for a reader */
		return;
	}
	long r = S(SYS_creat, p, mode, 0, 0, 0, 0);
	R(r);
	newfd(r, K_FILE);
}
static void op_openat2(void)
{
	static const unsigned long res[] = {1, 2, 4, 8, 0x10, 0x20};
	static const long sizes[] = {24, 24, 24, 0, 16, 32, 4097};
	P("openat2(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	P(", {");
	uint64_t *how = (uint64_t *)(scratch + 4096);
	memset(how, 0, 64);
	how[0] = FLAGS(oflags, rnd(2) ? 0x4000000 : 1UL << 40);
	long fl = (long)how[0];
	openflags(d, p, &fl);
	how[0] = fl;
	how[1] = PICK(modes);
	P(", 0%lo, ", (long)how[1]);
	how[2] = FLAGS(res, 0x40);
	long size = PICK(sizes);
	if (size == 32 && rnd(2))
		how[3] = 1;
	P("}%s, %ld)", how[3] ? "+junk" : "", size);
	long r = S(SYS_openat2, d, p, how, size, 0, 0);
	R(r);
	newfd(r, (fl & O_PATH) ? K_PATH : K_FILE);
}
static void op_close(void)
{
	P("close(");
	long fd = fdarg();
	P(")");
	if ((int)fd == OUTFD)
		fd = -1;
	long r = S(SYS_close, fd, 0, 0, 0, 0, 0);
	R(r);
	if (r == 0)
		forget((int)fd);
}
static long fdnum(void)
{
	static const long v[] = {0, 1, 2, 3, 5, 10, 31, 64, 899, 901, 1023, 1024, 1 << 20, -1, INT_MAX, UINT_MAX};
	if (rnd(2) && nfds > 0) {
		long fd = fds[rnd(nfds)].fd;
		P("%ld", fd);
		return fd;
	}
	long fd = PICK(v);
	P("%ld", fd);
	return fd;
}
static void op_close_range(void)
{
	P("close_range(");
	long first = fdnum();
	P(", ");
	long last = fdnum();
	static const unsigned long fl[] = {2, 4, 4};
	P(", ");
	long flags = FLAGS(fl, 1);
	if (!(flags & 4) && (unsigned)first <= OUTFD && (unsigned)last >= OUTFD) {
		last = OUTFD - 1; /* keep the output open */
		P("->last=%d", OUTFD - 1);
	}
	P(")");
	long r = S(SYS_close_range, first, last, flags, 0, 0, 0);
	R(r);
	if (r == 0 && !(flags & 4))
		for (int i = nfds - 1; i >= 0; i--)
			if ((unsigned)fds[i].fd >= (unsigned)first && (unsigned)fds[i].fd <= (unsigned)last)
				forget(fds[i].fd);
}
static void op_dup(void)
{
	int which = rnd(3);
	P("%s(", which == 0 ? "dup" : which == 1 ? "dup2" : "dup3");
	long old = fdarg(), nw = 0, fl = 0;
	if (which) {
		P(", ");
		nw = fdnum();
	}
	if (which == 2) {
		static const unsigned long v[] = {O_CLOEXEC};
		P(", ");
		fl = FLAGS(v, O_NONBLOCK);
	}
	P(")");
	if ((int)nw == OUTFD)
		nw = -1;
	long r = which == 0 ? S(SYS_dup, old, 0, 0, 0, 0, 0) : which == 1 ? S(SYS_dup2, old, nw, 0, 0, 0, 0) : S(SYS_dup3, old, nw, fl, 0, 0, 0);
	R(r);
	newfd(r, kindarg(old));
}

/* ---- reads and writes ---- */
static struct iovec *iov;
static long niov;
static long iovarg(void)
{
	static const long counts[] = {0, 1, 1, 2, 3, 3, 8, 1024, 1025, -1};
	static const long lens[] = {0, 1, 16, 100, 512, 4096, 65536, LONG_MAX};
	long cnt = PICK(counts);
	iov = (struct iovec *)(scratch + 16384);
	unsigned k = rnd(20);
	long at = (long)iov;
	P("[");
	for (long i = 0; i < cnt && i < 1024; i++) {
		long l = i < 8 ? PICK(lens) : 1;
		char *b = buf + (i % 8) * 4096;
		if (i < 8) {
			unsigned bk = rnd(20);
			if (bk == 0)
				b = NULL;
			else if (bk == 1)
				b = guard - 8;
			else if (bk == 2)
				b = (char *)KADDR;
			P("%s%s:%ld", i ? "," : "", b == NULL ? "NULL" : b == guard - 8 ? "CROSS" : b == (char *)KADDR ? "KERN" : "BUF", l);
		}
		iov[i].iov_base = b;
		iov[i].iov_len = l;
	}
	if (cnt > 8)
		P(",...");
	P("]");
	niov = cnt;
	if (k == 0) {
		P("@NULL");
		at = 0;
	} else if (k == 1) {
		P("@PROTNONE");
		at = (long)guard;
	}
	P(", %ld", cnt);
	return at;
}
/* showiov prints what a vector read returned. */
static void showiov(long at, long r, int kind)
{
	if (r <= 0 || at == 0 || kind == K_INOTIFY)
		return;
	uint64_t h = 1469598103934665603ULL;
	long left = r;
	for (long i = 0; i < niov && left > 0; i++) {
		long l = (long)iov[i].iov_len < left ? (long)iov[i].iov_len : left;
		const unsigned char *p = iov[i].iov_base;
		for (long j = 0; j < l; j++)
			h = (h ^ p[j]) * 1099511628211ULL;
		left -= l;
	}
	P(" data=%016llx", (unsigned long long)h);
}
static const unsigned long rwf[] = {1, 2, 4, 8, 0x10, 0x20, 0x40};

static void op_rw(void)
{
	static const char *names[] = {"read", "write", "pread64", "pwrite64", "readv", "writev",
				      "preadv", "pwritev", "preadv2", "pwritev2"};
	static const long nrs[] = {SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev,
				   SYS_preadv, SYS_pwritev, SYS_preadv2, SYS_pwritev2};
	int w = rnd(10);
	int in = !(w & 1);
	P("%s(", names[w]);
	long fd = fdarg();
	if ((int)fd == OUTFD)
		fd = -1;
	int kind = kindarg(fd);
	if (in && kind == K_INOTIFY)
		scrubnext = 1;
	P(", ");
	long r, p = 0, n = 0;
	if (w < 4) {
		n = lenpick();
		p = ptrarg(n); /* EDGE ends at the guard page n bytes on */
		P(", %ld", n);
		if (w < 2) {
			P(")");
			r = S(nrs[w], fd, p, n, 0, 0, 0);
		} else {
			P(", ");
			long off = offarg();
			P(")");
			r = S(nrs[w], fd, p, n, off, 0, 0);
		}
		R(r);
		if (in && p >= (long)buf && p < (long)guard)
			showdata((const char *)p, r < (long)guard - p ? r : (long)guard - p, kind);
	} else {
		long at = iovarg();
		if (w < 6) {
			P(")");
			r = S(nrs[w], fd, at, niov, 0, 0, 0);
		} else {
			P(", ");
			long off = offarg();
			long hi = rnd(4) == 0 ? 0x12345 : 0; /* ignored on x86-64 */
			if (hi)
				P("+hi");
			long fl = 0;
			if (w >= 8) {
				P(", ");
				fl = FLAGS(rwf, 0x100);
			}
			P(")");
			r = S(nrs[w], fd, at, niov, off, hi, fl);
		}
		R(r);
		if (in)
			showiov(at, r, kind);
	}
}
static void op_lseek(void)
{
	static const long wh[] = {SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, 5, -1};
	P("lseek(");
	long fd = fdarg();
	P(", ");
	long off = offarg();
	long w = PICK(wh);
	P(", %ld)", w);
	struct stat st;
	if (fstat((int)fd, &st) == 0 && S_ISDIR(st.st_mode) && off != 0 && w >= SEEK_SET && w <= SEEK_HOLE) {
		/* A directory's position is the file system's cookie (ext4's is a hash of
		 * a name), not the same in two directories: only its start and its end are
		 * the same places. */
		P(" skipped: a directory's position");
		return;
	}
	long r = S(SYS_lseek, fd, off, w, 0, 0, 0);
	if (r > 0 && fstat((int)fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		P(" = DIRPOS");
		return;
	}
	R(r);
}
static long sizearg(void)
{
	static const long v[] = {0, 1, 100, 4096, 5000, 1L << 20, -1, 1L << 62, LONG_MAX};
	long n = PICK(v);
	P("%ld", n);
	return n;
}
static void op_truncate(void)
{
	if (rnd(2)) {
		P("ftruncate(");
		long fd = fdarg();
		P(", ");
		long n = sizearg();
		P(")");
		R(S(SYS_ftruncate, fd, n, 0, 0, 0, 0));
	} else {
		P("truncate(");
		long p = patharg();
		P(", ");
		long n = sizearg();
		P(")");
		R(S(SYS_truncate, p, n, 0, 0, 0, 0));
	}
}
static void op_fallocate(void)
{
	static const long modes[] = {0, 1, 2, 3, 3, 8, 0x10, 0x11, 0x20, 0x40, 0x80, 0x100};
	static const long offs[] = {0, 0, 4096, 100, 1L << 20, -1, 1L << 62};
	static const long lens[] = {0, 1, 4096, 8192, 100, 1L << 20, -1, 1L << 62};
	P("fallocate(");
	long fd = fdarg();
	long m = PICK(modes), o = PICK(offs), l = PICK(lens);
	P(", 0x%lx, %ld, %ld)", m, o, l);
	R(S(SYS_fallocate, fd, m, o, l, 0, 0));
}
static void op_sync(void)
{
	int w = rnd(3);
	if (w < 2) {
		P("%s(", w ? "fdatasync" : "fsync");
		long fd = fdarg();
		P(")");
		R(S(w ? SYS_fdatasync : SYS_fsync, fd, 0, 0, 0, 0, 0));
		return;
	}
	P("sync_file_range(");
	long fd = fdarg();
	P(", ");
	long off = offarg();
	P(", ");
	long n = offarg();
	static const unsigned long v[] = {1, 2, 4};
	P(", ");
	long fl = FLAGS(v, 8);
	P(")");
	R(S(SYS_sync_file_range, fd, off, n, fl, 0, 0));
}

/* ---- fcntl and locks ---- */
static long flockarg(void)
{
	static const short types[] = {F_RDLCK, F_WRLCK, F_UNLCK, 7};
	static const short whences[] = {SEEK_SET, SEEK_CUR, SEEK_END, 5};
	static const long starts[] = {0, 10, 100, -1, -200, 1L << 62};
	static const long lens[] = {0, 10, 50, -5, 1L << 62, LONG_MAX};
	struct flock *l = (struct flock *)(scratch + 4096);
	memset(l, 0, sizeof *l);
	l->l_type = PICK(types);
	l->l_whence = PICK(whences);
	l->l_start = PICK(starts);
	l->l_len = PICK(lens);
	P("{%d,%d,%ld,%ld}", l->l_type, l->l_whence, (long)l->l_start, (long)l->l_len);
	return (long)l;
}
static void op_fcntl(void)
{
	/* F_OFD_SETLKW could wait for good for a lock of another of the run's descriptions;
	 * F_SETLEASE would make the run's own opens of the file wait for its break; F_NOTIFY's
	 * signals are blocked but pile up: they are left out (F_SETLEASE with F_UNLCK stays). */
	static const long cmds[] = {
		F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_SETFL, F_SETFL,
		F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_GETOWN, F_SETOWN,
		F_GETOWN_EX, F_SETOWN_EX, F_GETSIG, F_SETSIG, 17 /* F_GETOWNER_UIDS */,
		F_GETLEASE, F_SETLEASE, F_GETPIPE_SZ, F_SETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS,
		1035 /* F_GET_RW_HINT */, 1036, 1037, 1038, 1027 /* F_DUPFD_QUERY */,
		1028 /* F_CREATED_QUERY */, 1029 /* F_CANCELLK */, 12, 13, 14, 9999, -1, 1039,
	};
	long cmd = PICK(cmds);
	P("fcntl(");
	long fd = fdarg();
	if ((int)fd == OUTFD)
		fd = -1;
	int kind = kindarg(fd);
	P(", %ld, ", cmd);
	long arg = 0;
	switch (cmd) {
	case F_DUPFD: case F_DUPFD_CLOEXEC:
		arg = fdnum();
		if (arg == OUTFD)
			arg = 0;
		break;
	case F_SETFD: {
		static const long v[] = {0, 1, 3, -1};
		arg = PICK(v);
		P("%ld", arg);
		break;
	}
	case F_SETFL: {
		arg = FLAGS(oflags, 0x4000000);
		if ((mayblock(kind) || waits(fd)) && !(arg & O_NONBLOCK)) {
			arg |= O_NONBLOCK;
			P("+NONBLOCK");
		}
		break;
	}
	case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK:
		if (rnd(8) == 0)
			arg = ptrarg(32);
		else
			arg = flockarg();
		break;
	case F_SETOWN: {
		arg = rnd(2) ? 0 : getpid();
		P("%s", arg ? "self" : "0");
		break;
	}
	case F_GETOWN_EX: case 17:
		arg = ptrarg(8);
		break;
	case F_SETOWN_EX: {
		int *o = (int *)(scratch + 4096);
		o[0] = rnd(4);
		o[1] = rnd(2) ? 0 : getpid();
		P("{%d,%s}", o[0], o[1] ? "self" : "0");
		arg = (long)o;
		break;
	}
	case F_SETSIG: {
		static const long v[] = {0, SIGIO, SIGUSR1, 64, 65, -1};
		arg = PICK(v);
		P("%ld", arg);
		break;
	}
	case F_SETLEASE: {
		static const long v[] = {F_UNLCK, 7, -1};
		arg = PICK(v);
		P("%ld", arg);
		break;
	}
	case F_SETPIPE_SZ: {
		static const long v[] = {0, 1, 4096, 65536, 1L << 20, 1L << 21, -1, 1L << 32};
		arg = PICK(v);
		P("%ld", arg);
		break;
	}
	case F_ADD_SEALS: {
		static const unsigned long v[] = {1, 2, 4, 8, 0x10, 0x20};
		arg = FLAGS(v, 0x40);
		break;
	}
	case 1035: case 1036: case 1037: case 1038: {
		uint64_t *h = (uint64_t *)(scratch + 4096);
		*h = rnd(7);
		if (rnd(6) == 0) {
			arg = ptrarg(8);
		} else {
			P("&%lu", (unsigned long)*h);
			arg = (long)h;
		}
		break;
	}
	case 1027:
		arg = fdarg();
		break;
	default:
		arg = rnd(3);
		P("%ld", arg);
	}
	P(")");
	if ((cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_GETLK || cmd == F_OFD_SETLK) &&
	    shared(fd)) {
		P(" skipped: shared");
		return;
	}
	long r = S(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
	if (r >= 0 && (cmd == F_GETOWN || cmd == F_SETOWN) && r == getpid())
		P(" = self");
	else
		R(r);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		newfd(r, kind);
	if (r >= 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK) && arg == (long)(scratch + 4096)) {
		struct flock *l = (struct flock *)arg;
		P(" {%d,%d,%ld,%ld}", l->l_type, l->l_whence, (long)l->l_start, (long)l->l_len);
	}
	if (r >= 0 && cmd == F_GETOWN_EX && arg == (long)buf)
		P(" {%d,%s}", ((int *)buf)[0], ((int *)buf)[1] == getpid() ? "self" : ((int *)buf)[1] ? "other" : "0");
	if (r >= 0 && cmd == 17 && arg == (long)buf)
		P(" {%s,%s}", ((unsigned *)buf)[0] == me ? "me" : "other", ((unsigned *)buf)[1] == me ? "me" : "other");
	if (r >= 0 && (cmd == 1035 || cmd == 1037) && arg == (long)(scratch + 4096))
		P(" hint=%lu", (unsigned long)*(uint64_t *)arg);
}
static void op_flock(void)
{
	static const long ops[] = {LOCK_SH, LOCK_EX, LOCK_UN, LOCK_SH | LOCK_EX, 0, 32, 16};
	P("flock(");
	long fd = fdarg();
	long op = PICK(ops);
	if (op != LOCK_UN && rnd(8))
		op |= LOCK_NB;
	if ((op & (LOCK_SH | LOCK_EX)) && !(op & LOCK_NB))
		op |= LOCK_NB; /* the run's other descriptions would make it wait for good */
	P(", %ld)", op);
	if (shared(fd)) {
		P(" skipped: shared");
		return;
	}
	R(S(SYS_flock, fd, op, 0, 0, 0, 0));
}

/* ---- metadata ---- */
static const unsigned long atflags[] = {AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW, 0x800 /* NO_AUTOMOUNT */};
static void op_stat(void)
{
	int w = rnd(4);
	struct stat *st = (struct stat *)(scratch + 4096);
	long r, p = (long)st;
	if (w == 0) {
		P("fstat(");
		long fd = fdarg();
		P(", ");
		if (rnd(8) == 0)
			p = ptrarg(sizeof *st);
		else
			P("ST");
		P(")");
		r = S(SYS_fstat, fd, p, 0, 0, 0, 0);
	} else if (w == 1) {
		P("newfstatat(");
		long d = dirfdarg();
		P(", ");
		long path = patharg();
		P(", ");
		if (rnd(8) == 0)
			p = ptrarg(sizeof *st);
		else
			P("ST");
		P(", ");
		long fl = FLAGS(atflags, 0x200);
		P(")");
		r = S(SYS_newfstatat, d, path, p, fl, 0, 0);
	} else if (w == 2) {
		int l = rnd(2);
		P("%s(", l ? "lstat" : "stat");
		long path = patharg();
		P(")");
		r = S(l ? SYS_lstat : SYS_stat, path, p, 0, 0, 0, 0);
	} else {
		static const unsigned long sflags[] = {AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, 0x2000 /* FORCE_SYNC */, 0x4000 /* DONT_SYNC */, 0x800};
		static const unsigned long masks[] = {0x1, 0x2, 0x4, 0x7ff, 0x800 /* BTIME */, 0x1000 /* MNT_ID */, 0x2000, 0x4000, 0xfff, 0x80000000};
		struct xstatx *sx = (struct xstatx *)(scratch + 4096);
		memset(sx, 0xee, sizeof *sx);
		P("statx(");
		long d = dirfdarg();
		P(", ");
		long path = patharg();
		P(", ");
		long fl = FLAGS(sflags, 0x80000000);
		P(", ");
		long mask = FLAGS(masks, 0);
		P(", ");
		if (rnd(8) == 0)
			p = ptrarg(sizeof *sx);
		else
			P("SX");
		P(")");
		r = S(SYS_statx, d, path, fl, mask, p, 0);
		R(r);
		if (r == 0 && p == (long)sx)
			P(" mask=0x%x mode=0%o nlink=%u size=%llu uid=%s attr=0x%llx", sx->stx_mask & ~0x1000u,
			  sx->stx_mode, sx->stx_nlink, (unsigned long long)sx->stx_size,
			  sx->stx_uid == me ? "me" : "other", (unsigned long long)sx->stx_attributes);
		return;
	}
	R(r);
	if (r == 0 && p == (long)st)
		showstat(st);
}
static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void op_getdents(void)
{
	static const long sizes[] = {0, 1, 20, 24, 64, 4096, 65536, -1};
	P("getdents64(");
	long fd = fdarg();
	P(", ");
	long n = PICK(sizes);
	long p = ptrarg(n);
	P(", %ld)", n);
	long r = S(SYS_getdents64, fd, p, n, 0, 0, 0);
	R(r);
	if (r <= 0 || p != (long)buf)
		return;
	static char *names[4096];
	int k = 0;
	for (long o = 0; o < r && k < 4096;) {
		unsigned short reclen = *(unsigned short *)(buf + o + 16);
		unsigned char type = *(unsigned char *)(buf + o + 18);
		char *name = buf + o + 19;
		name[-1] = "0123456789abcdef"[type & 15]; /* the type, before the name */
		names[k++] = name - 1;
		o += reclen;
	}
	qsort(names, k, sizeof names[0], cmpstr);
	P(" [");
	for (int i = 0; i < k; i++)
		P("%s%c:%.40s", i ? " " : "", names[i][0], names[i] + 1);
	P("]");
}

/* ---- names ---- */
static void op_mkdir(void)
{
	P("mkdirat(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	long mode = PICK(modes);
	P(", 0%lo)", mode);
	R(S(SYS_mkdirat, d, p, mode, 0, 0, 0));
}
static void op_unlink(void)
{
	static const unsigned long v[] = {AT_REMOVEDIR};
	P("unlinkat(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	P(", ");
	long fl = FLAGS(v, 0x100);
	P(")");
	R(S(SYS_unlinkat, d, p, fl, 0, 0, 0));
}
static void op_rename(void)
{
	static const unsigned long v[] = {1, 2, 4};
	int w = rnd(3);
	if (w == 0) {
		P("rename(");
		long a = patharg();
		P(", ");
		long b = patharg();
		P(")");
		R(S(SYS_rename, a, b, 0, 0, 0, 0));
		return;
	}
	P("renameat2(");
	long d1 = dirfdarg();
	P(", ");
	long a = patharg();
	P(", ");
	long d2 = dirfdarg();
	P(", ");
	long b = patharg();
	P(", ");
	long fl = FLAGS(v, 8);
	P(")");
	R(S(SYS_renameat2, d1, a, d2, b, fl, 0));
}
static void op_link(void)
{
	static const unsigned long v[] = {AT_SYMLINK_FOLLOW, AT_EMPTY_PATH};
	P("linkat(");
	long d1 = dirfdarg();
	P(", ");
	long a = patharg();
	P(", ");
	long d2 = dirfdarg();
	P(", ");
	long b = patharg();
	P(", ");
	long fl = FLAGS(v, 0x1);
	P(")");
	R(S(SYS_linkat, d1, a, d2, b, fl, 0));
}
static void op_symlink(void)
{
	static const char *targets[] = {"f0", "d0", "nonexistent", "loop", "d0/f0", "/", "", "f0/", "l0"};
	P("symlinkat(");
	long t;
	if (rnd(8) == 0) {
		t = patharg();
	} else {
		const char *s = PICK(targets);
		P("\"%s\"", s);
		strcpy(scratch + 12288, s);
		t = (long)(scratch + 12288);
	}
	P(", ");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	P(")");
	R(S(SYS_symlinkat, t, d, p, 0, 0, 0));
}
static void op_readlink(void)
{
	static const long sizes[] = {0, 1, 2, 5, 100, 4096, -1};
	P("readlinkat(");
	long d = dirfdarg();
	P(", ");
	long path = patharg();
	P(", ");
	long n = PICK(sizes);
	long p = ptrarg(n);
	P(", %ld)", n);
	long r = S(SYS_readlinkat, d, path, p, n, 0, 0);
	R(r);
	if (r > 0 && p == (long)buf)
		P(" \"%.*s\"", (int)(r < 100 ? r : 100), buf);
}
static long uidarg(void)
{
	long v[] = {-1, me, me, 0, 12345};
	long u = PICK(v);
	P("%s", u == (long)me ? "me" : u == -1 ? "-1" : u == 0 ? "0" : "12345");
	return u;
}
static long gidarg(void)
{
	long v[] = {-1, mygid, mygid, 0, 12345};
	long g = PICK(v);
	P("%s", g == (long)mygid ? "mygid" : g == -1 ? "-1" : g == 0 ? "0" : "12345");
	return g;
}
static void op_chmod(void)
{
	static const long cm[] = {0644, 0600, 0755, 0, 07777, 04755, 02755, 01777, 0100644};
	int w = rnd(4);
	long mode = PICK(cm);
	if (w == 0) {
		P("fchmod(");
		long fd = fdarg();
		P(", 0%lo)", mode);
		R(S(SYS_fchmod, fd, mode, 0, 0, 0, 0));
	} else if (w == 1) {
		P("fchmodat(");
		long d = dirfdarg();
		P(", ");
		long p = patharg();
		P(", 0%lo)", mode);
		R(S(SYS_fchmodat, d, p, mode, 0, 0, 0));
	} else {
		P("fchmodat2(");
		long d = dirfdarg();
		P(", ");
		long p = patharg();
		P(", 0%lo, ", mode);
		long fl = FLAGS(atflags, 0x200);
		P(")");
		R(S(452, d, p, mode, fl, 0, 0));
	}
}
static void op_chown(void)
{
	if (rnd(3) == 0) {
		P("fchown(");
		long fd = fdarg();
		P(", ");
		long u = uidarg();
		P(", ");
		long g = gidarg();
		P(")");
		R(S(SYS_fchown, fd, u, g, 0, 0, 0));
		return;
	}
	P("fchownat(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	P(", ");
	long u = uidarg();
	P(", ");
	long g = gidarg();
	P(", ");
	long fl = FLAGS(atflags, 0x200);
	P(")");
	R(S(SYS_fchownat, d, p, u, g, fl, 0));
}
static void op_access(void)
{
	static const long am[] = {F_OK, R_OK, W_OK, X_OK, R_OK | W_OK | X_OK, 8, -1};
	static const unsigned long af[] = {AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH};
	int two = rnd(2);
	P("%s(", two ? "faccessat2" : "faccessat");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	long m = PICK(am);
	P(", %ld", m);
	long fl = 0;
	if (two) {
		P(", ");
		fl = FLAGS(af, 0x8000);
	}
	P(")");
	R(two ? S(439, d, p, m, fl, 0, 0) : S(SYS_faccessat, d, p, m, 0, 0, 0));
}
static void op_utimensat(void)
{
	static const long nsecs[] = {0, 5, UTIME_NOW, UTIME_OMIT, 1000000000, -1};
	static const unsigned long v[] = {AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH};
	P("utimensat(");
	long d = dirfdarg();
	P(", ");
	long p = rnd(4) ? patharg() : (P("NULL"), 0);
	P(", ");
	struct timespec *ts = (struct timespec *)(scratch + 4096);
	long t = (long)ts;
	unsigned k = rnd(8);
	if (k == 0) {
		P("NULL");
		t = 0;
	} else if (k == 1) {
		t = ptrarg(32);
	} else {
		for (int i = 0; i < 2; i++) {
			ts[i].tv_sec = rnd(4) ? 1000000 : -1;
			ts[i].tv_nsec = PICK(nsecs);
		}
		P("{%ld.%ld,%ld.%ld}", (long)ts[0].tv_sec, ts[0].tv_nsec, (long)ts[1].tv_sec, ts[1].tv_nsec);
	}
	P(", ");
	long fl = FLAGS(v, 0x8000);
	P(")");
	R(S(SYS_utimensat, d, p, t, fl, 0, 0));
}
static void op_mknod(void)
{
	static const long mm[] = {S_IFIFO | 0644, S_IFIFO | 0600, S_IFREG | 0644, 0644, S_IFCHR | 0644, S_IFBLK | 0600, S_IFSOCK | 0644, S_IFDIR | 0755, 0170644, S_IFLNK | 0777};
	P("mknodat(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	long m = PICK(mm);
	long dev = rnd(4) == 0 ? 0x0103 : 0;
	P(", 0%lo, 0x%lx)", m, dev);
	R(S(SYS_mknodat, d, p, m, dev, 0, 0));
}

/* ---- pipes and the other descriptors ---- */
static void op_pipe2(void)
{
	static const unsigned long v[] = {O_CLOEXEC, O_NONBLOCK, O_DIRECT};
	P("pipe2(");
	long p = rnd(6) ? (P("FDS"), (long)(scratch + 4096)) : ptrarg(8);
	P(", ");
	long fl = FLAGS(v, rnd(2) ? O_EXCL /* O_NOTIFICATION_PIPE */ : 0x40000);
	P(")");
	long r = S(SYS_pipe2, p, fl, 0, 0, 0, 0);
	R(r);
	if (r == 0 && p == (long)(scratch + 4096)) {
		int *f = (int *)p;
		P(" [%d,%d]", f[0], f[1]);
		track(f[0], K_PIPE);
		track(f[1], K_PIPE);
	}
}
static void op_eventfd(void)
{
	static const unsigned long v[] = {1 /* SEMAPHORE */, O_CLOEXEC, O_NONBLOCK};
	static const long init[] = {0, 1, 5, -1};
	long iv = PICK(init);
	P("eventfd2(%ld, ", iv);
	long fl = FLAGS(v, 2);
	P(")");
	long r = S(SYS_eventfd2, iv, fl, 0, 0, 0, 0);
	R(r);
	newfd(r, K_EVENTFD);
}
static void op_memfd(void)
{
	static const unsigned long v[] = {1 /* CLOEXEC */, 2 /* ALLOW_SEALING */, 2, 8 /* NOEXEC_SEAL */, 0x10 /* EXEC */};
	static char longn[300];
	memset(longn, 'm', 299);
	P("memfd_create(");
	long name;
	unsigned k = rnd(10);
	if (k == 0) {
		P("LONG");
		name = (long)longn;
	} else if (k == 1) {
		name = ptrarg(8);
	} else if (k == 2) {
		P("\"%s\"", "");
		name = (long)"";
	} else {
		P("\"m\"");
		name = (long)"m";
	}
	P(", ");
	long fl = FLAGS(v, 0x100);
	P(")");
	long r = S(SYS_memfd_create, name, fl, 0, 0, 0, 0);
	R(r);
	newfd(r, K_MEMFD);
}
static void op_inotify(void)
{
	if (rnd(2)) {
		static const unsigned long v[] = {O_NONBLOCK, O_CLOEXEC};
		P("inotify_init1(");
		long fl = FLAGS(v, 1);
		P(")");
		long r = S(SYS_inotify_init1, fl, 0, 0, 0, 0, 0);
		R(r);
		newfd(r, K_INOTIFY);
		return;
	}
	static const unsigned long m[] = {1, 2, 0x100, 0x200, 0xfff, 0x1000000 /* ONLYDIR */, 0x20000000 /* MASK_ADD */, 0x80000000 /* ONESHOT */, 0x10000000 /* MASK_CREATE */, 0x2000000 /* DONT_FOLLOW */};
	P("inotify_add_watch(");
	long fd = fdarg();
	P(", ");
	long p = patharg();
	P(", ");
	long mask = FLAGS(m, 0x40000);
	P(")");
	R(S(SYS_inotify_add_watch, fd, p, mask, 0, 0, 0));
}
/* bigsource is whether a copy from fd could run long: a big file and a huge length. */
static long clamp(long fd, long n)
{
	struct stat st;
	if ((unsigned long)n > (1UL << 22) && fstat((int)fd, &st) == 0 && st.st_size > (1L << 22))
		return 1L << 22;
	return n;
}
static int inscratch(long p) { return p >= (long)scratch && p < (long)scratch + BUFSZ; }
static long offptr(void)
{
	static const long v[] = {0, 10, 4096, -1, 1L << 62};
	unsigned k = rnd(8);
	if (k < 4) {
		P("NULL");
		return 0;
	}
	if (k == 4)
		return ptrarg(8);
	static unsigned slot;
	long *o = (long *)(scratch + 4096 + 64 + (slot++ % 2) * 8);
	*o = PICK(v);
	P("&%ld", *o);
	return (long)o;
}
static void op_copy(void)
{
	int w = rnd(4);
	static const unsigned long sf[] = {1, 2, 4, 8};
	if (w == 0) {
		P("copy_file_range(");
		long in = fdarg();
		P(", ");
		long oi = offptr();
		P(", ");
		long out = fdarg();
		P(", ");
		long oo = offptr();
		P(", ");
		long n = clamp(in, lenarg());
		long fl = rnd(8) == 0 ? 1 : 0;
		P(", %ld)", fl);
		long r = S(SYS_copy_file_range, in, oi, out, oo, n, fl);
		R(r);
		if (r >= 0 && inscratch(oi))
			P(" in@%ld", *(long *)oi);
		if (r >= 0 && inscratch(oo))
			P(" out@%ld", *(long *)oo);
	} else if (w == 1) {
		P("sendfile(");
		long out = fdarg();
		P(", ");
		long in = fdarg();
		P(", ");
		long o = offptr();
		P(", ");
		long n = clamp(in, lenarg());
		P(")");
		long r = S(SYS_sendfile, out, in, o, n, 0, 0);
		R(r);
		if (r >= 0 && inscratch(o))
			P(" @%ld", *(long *)o);
	} else if (w == 2) {
		P("splice(");
		long in = fdarg();
		P(", ");
		long oi = offptr();
		P(", ");
		long out = fdarg();
		P(", ");
		long oo = offptr();
		P(", ");
		long n = clamp(in, lenarg());
		P(", ");
		long fl = FLAGS(sf, 0x10);
		P(")");
		R(S(SYS_splice, in, oi, out, oo, n, fl));
	} else {
		P("tee(");
		long in = fdarg();
		P(", ");
		long out = fdarg();
		P(", ");
		long n = lenarg();
		P(", ");
		long fl = FLAGS(sf, 0x10);
		P(")");
		R(S(SYS_tee, in, out, n, fl, 0, 0));
	}
}
static void op_handle(void)
{
	static const unsigned long v[] = {AT_EMPTY_PATH, AT_SYMLINK_FOLLOW, 0x200 /* HANDLE_FID */, 0x001 /* HANDLE_MNT_ID_UNIQUE */};
	static const unsigned sizes[] = {0, 4, 8, 128, 129, 0xffffffff};
	P("name_to_handle_at(");
	long d = dirfdarg();
	P(", ");
	long p = patharg();
	unsigned *h = (unsigned *)(scratch + 4096);
	h[0] = PICK(sizes);
	h[1] = 0xeeee;
	long hp = (long)h;
	if (rnd(8) == 0) {
		P(", ");
		hp = ptrarg(8);
	} else {
		P(", {%u}", h[0]);
	}
	long mnt = (long)(scratch + 4096 + 512);
	if (rnd(6) == 0) {
		P(", ");
		mnt = ptrarg(8);
	}
	P(", ");
	long fl = FLAGS(v, 0x10000);
	P(")");
	long r = S(SYS_name_to_handle_at, d, p, hp, mnt, fl, 0);
	R(r);
	if ((r == 0 || r == -EOVERFLOW) && hp == (long)h)
		P(" bytes=%u type=%d", h[0], (int)h[1]);
}

/* ---- the working directory ---- */
/* backhome returns to the base when a change of directory left it: the run must not
 * create files outside its directory. */
static void backhome(void)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd) || strncmp(cwd, base, baselen) || (cwd[baselen] && cwd[baselen] != '/')) {
		if (chdir(base))
			_exit(3);
		P(" (back)");
	}
}
static void op_cwd(void)
{
	unsigned w = rnd(4);
	if (w == 0) {
		long sizes[] = {0, 1, baselen, baselen + 1, baselen + 2, baselen + 4, 4096, -1};
		long n = PICK(sizes);
		P("getcwd(");
		long p = ptrarg(n);
		P(", BASE%+ld)", n - (long)baselen);
		long r = S(SYS_getcwd, p, n, 0, 0, 0, 0);
		if (r > 0) {
			P(" = BASE%+ld", r - (long)baselen);
			if (p == (long)buf && !strncmp(buf, base, baselen))
				P(" \"BASE%s\"", buf + baselen);
		} else
			R(r);
	} else if (w == 1) {
		P("chdir(");
		long p = patharg();
		P(")");
		long r = S(SYS_chdir, p, 0, 0, 0, 0, 0);
		R(r);
		if (r == 0)
			backhome();
	} else if (w == 2) {
		P("fchdir(");
		long fd = fdarg();
		P(")");
		long r = S(SYS_fchdir, fd, 0, 0, 0, 0, 0);
		R(r);
		if (r == 0)
			backhome();
	} else {
		static const long m[] = {0, 022, 077, 0777, 07777, 0x10022};
		long mask = PICK(m);
		P("umask(0%lo)", mask);
		long r = S(SYS_umask, mask, 0, 0, 0, 0, 0);
		P(" = 0%lo", r);
	}
}

/* tree prints the base directory and its subdirectories, one level deep, as lstat sees
 * them: the state every call so far left behind. */
static void listdir(const char *dir, int depth)
{
	static char *names[256];
	static char store[256][NAME_MAX + 1];
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		P(" %s:-%s", dir, errname(errno));
		return;
	}
	int k = 0;
	for (;;) {
		char d[4096];
		long r = syscall(SYS_getdents64, fd, d, sizeof d);
		if (r <= 0)
			break;
		for (long o = 0; o < r; o += *(unsigned short *)(d + o + 16)) {
			const char *n = d + o + 19;
			if (strcmp(n, ".") && strcmp(n, "..") && k < 256) {
				strcpy(store[k], n);
				names[k] = store[k];
				k++;
			}
		}
	}
	close(fd);
	qsort(names, k, sizeof names[0], cmpstr);
	char (*copy)[NAME_MAX + 1] = malloc((size_t)k * sizeof *copy);
	for (int i = 0; i < k; i++)
		strcpy(copy[i], names[i]);
	for (int i = 0; i < k; i++) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, copy[i]);
		if (lstat(path, &st)) {
			P(" %s:-%s", path + baselen + 1, errname(errno));
			continue;
		}
		P(" %.60s:0%o/%lu/%lld", path + baselen + 1, st.st_mode, (unsigned long)st.st_nlink,
		  S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
		if (S_ISDIR(st.st_mode) && depth < 2)
			listdir(path, depth + 1);
	}
	free(copy);
}
static void op_tree(void)
{
	P("tree:");
	listdir(base, 0);
}

/* setup makes the starting files, the same every run. */
static void setup(void)
{
	int fd = open("f0", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello, world\n", 13) != 13)
		_exit(4);
	close(fd);
	fd = open("f1", O_CREAT | O_WRONLY | O_TRUNC, 0600);
	for (int i = 0; i < 100; i++)
		if (write(fd, buf, 100) != 100)
			_exit(4);
	close(fd);
	if (mkdir("d0", 0755) || mkdir("d1", 0700) || mkdir("d0/d1", 0755))
		_exit(4);
	close(open("d0/f0", O_CREAT | O_WRONLY, 0644));
	if (symlink("f0", "l0") || symlink("l1", "l1") || symlink("d0", "ld") || symlink("loop2", "loop") ||
	    symlink("loop", "loop2") || symlink("nonexistent", "dangling") || mkfifo("fifo", 0644))
		_exit(4);
}

typedef void (*op)(void);
static const op ops[] = {
	op_openat, op_openat, op_openat, op_open, op_creat, op_openat2, op_close, op_close,
	op_close_range, op_dup, op_dup, op_rw, op_rw, op_rw, op_rw, op_rw, op_lseek, op_lseek,
	op_truncate, op_fallocate, op_sync, op_fcntl, op_fcntl, op_fcntl, op_flock, op_stat,
	op_stat, op_stat, op_getdents, op_getdents, op_mkdir, op_unlink, op_unlink, op_rename,
	op_rename, op_link, op_symlink, op_readlink, op_chmod, op_chown, op_access, op_utimensat,
	op_mknod, op_pipe2, op_eventfd, op_memfd, op_inotify, op_copy, op_copy, op_handle, op_cwd,
};

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: difffs DIR SEED N\n");
		return 2;
	}
	seed = strtoull(argv[2], 0, 0) * 0x9e3779b97f4a7c15ULL + 1;
	long n = atol(argv[3]);
	if (fcntl(1, F_DUPFD, OUTFD) != OUTFD)
		return 2;
	/* Signals are blocked: a write to a pipe without a reader is EPIPE, not death, and
	 * the signals descriptors can send (SIGIO, F_SETSIG's) wait unseen. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, 0);
	/* The run's descriptors start at 0, none inherited: the same natively and under vemu. */
	syscall(SYS_close_range, 0, OUTFD - 1, 0);
	syscall(SYS_close_range, OUTFD + 1, ~0U, 0);
	char *m = mmap(0, 3 * 4096 + 2 * BUFSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 2;
	buf = m + 4096;
	guard = buf + BUFSZ;
	scratch = guard + 4096;
	mprotect(buf, BUFSZ, PROT_READ | PROT_WRITE);
	mprotect(scratch, BUFSZ, PROT_READ | PROT_WRITE);
	scrub();
	me = getuid();
	mygid = getgid();
	if (chdir(argv[1]) || !getcwd(base, sizeof base))
		return 2;
	baselen = strlen(base);
	memset(longname, 'n', NAME_MAX + 1);
	memset(name255, 'k', NAME_MAX);
	for (int i = 0; i < PATH_MAX + 1; i++)
		longpath[i] = i % 2 ? '/' : 'a';
	umask(022);
	setup();
	for (opno = 1; opno <= n; opno++) {
		P("%ld ", opno);
		op o = PICK(ops);
		o();
		if (o == op_stat || o == op_getdents || o == op_handle || o == op_cwd || o == op_readlink || scrubnext)
			scrub();
		endline();
		if (opno % 500 == 0) {
			op_tree();
			endline();
		}
	}
	op_tree();
	endline();
	return 0;
}
