/* errnames.h maps errno values to their symbolic names, identically in glibc and musl. */
#ifndef ERRNAMES_H
#define ERRNAMES_H
#include <errno.h>
#include <stdio.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case ECHILD: return "ECHILD";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case E2BIG: return "E2BIG";
	case ENODATA: return "ENODATA";
	case ENOMSG: return "ENOMSG";
	case EIDRM: return "EIDRM";
	case EOVERFLOW: return "EOVERFLOW";
	case EXDEV: return "EXDEV";
	case ENOTDIR: return "ENOTDIR";
	case ENOTBLK: return "ENOTBLK";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ELOOP: return "ELOOP";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOTSOCK: return "ENOTSOCK";
	case EINPROGRESS: return "EINPROGRESS";
	default: {
		static char buf[32];
		snprintf(buf, sizeof buf, "errno%d", e);
		return buf;
	}
	}
}

/* check prints "name: OK" when r >= 0, else "name: ENAME" from errno. */
#define CHECK(name, expr) do { \
	errno = 0; \
	long _r = (long)(expr); \
	printf("%s: %s\n", (name), _r < 0 ? errname(errno) : "OK"); \
} while (0)

#endif
