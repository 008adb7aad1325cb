/*
 * arc4random_buf for the static expat linked into the Lambda bootstrap. Debian 12's libexpat
 * takes it from glibc 2.36, but Amazon Linux 2023 (provided.al2023) has glibc 2.34; defining it
 * here binds expat's reference locally, so no GLIBC_2.36 version is needed. getrandom() is in
 * glibc since 2.25.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>

void arc4random_buf(void *buf, size_t n);

void arc4random_buf(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			abort();   /* as glibc's arc4random does: there is no way to report failure */
		}
		p += got;
		n -= (size_t)got;
	}
}
