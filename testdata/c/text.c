/* text reads stdin and prints wc-style counts, the sorted lines with counts, and the longest line. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	if (ferror(stdin)) {
		perror("read");
		return 1;
	}

	long lines = 0, words = 0;
	int inword = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n')
			lines++;
		if (isspace(c)) {
			inword = 0;
		} else if (!inword) {
			inword = 1;
			words++;
		}
	}
	printf("%ld %ld %zu\n", lines, words, len);

	/* split into lines (a final line without newline counts too) */
	size_t nl = 0, lcap = 1024;
	char **ls = malloc(lcap * sizeof *ls);
	char *p = buf, *end = buf + len;
	while (p < end) {
		char *e = memchr(p, '\n', end - p);
		if (!e)
			e = end;
		if (nl == lcap) {
			lcap *= 2;
			ls = realloc(ls, lcap * sizeof *ls);
		}
		ls[nl] = malloc(e - p + 1);
		memcpy(ls[nl], p, e - p);
		ls[nl][e - p] = 0;
		nl++;
		p = e + 1;
	}
	qsort(ls, nl, sizeof *ls, cmpstr);
	size_t longest = 0;
	for (size_t i = 0; i < nl;) {
		size_t j = i;
		while (j < nl && strcmp(ls[j], ls[i]) == 0)
			j++;
		printf("%7zu %s\n", j - i, ls[i]);
		i = j;
	}
	for (size_t i = 0; i < nl; i++)
		if (strlen(ls[i]) > strlen(ls[longest]))
			longest = i;
	if (nl)
		printf("longest: %s\n", ls[longest]);
	for (size_t i = 0; i < nl; i++)
		free(ls[i]);
	free(ls);
	free(buf);
	return 0;
}
