/* check.h: how the guests report what they check, one line each, and count failures
 * for their exit status. */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <stdio.h>

#include "errnames.h"

static int failures;

/* expect prints "what: yes" or "what: NO". */
__attribute__((unused)) static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

/* expect_err checks that r < 0 with errno == want, and prints the errno's name. */
__attribute__((unused)) static void expect_err(const char *what, long r, int want)
{
	int e = errno;
	printf("%s: %s\n", what, r < 0 ? errname(e) : "success");
	if (r >= 0 || e != want)
		failures++;
}

#endif
