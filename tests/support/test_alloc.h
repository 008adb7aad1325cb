/*
 * The counting allocator every test uses for the library's own allocations. A test that
 * leaves anything allocated fails in its teardown; s3i_test_alloc_fail_after() makes the
 * Nth allocation fail, for out-of-memory loops.
 */
#ifndef S3I_TEST_ALLOC_H
#define S3I_TEST_ALLOC_H

#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "s3insights/alloc.h"

const s3i_allocator *s3i_test_alloc(void);
long s3i_test_alloc_outstanding(void);
long s3i_test_alloc_count(void);              /* allocations since the last reset */
void s3i_test_alloc_fail_after(long n);        /* n successful allocations, then NULL; -1: never */
int s3i_test_alloc_setup(void **state);        /* cmocka setup: resets the counters */
int s3i_test_alloc_teardown(void **state);     /* cmocka teardown: fails on a leak */

#define S3I_TEST(fn) cmocka_unit_test_setup_teardown(fn, s3i_test_alloc_setup, s3i_test_alloc_teardown)

/* Read a whole file (fixtures) with the test allocator; NUL-terminated. NULL when missing. */
char *s3i_test_read_file(const char *path, size_t *len);
/* Path of a fixture: S3I_FIXTURES_DIR "/" rel, in a static buffer. */
const char *s3i_test_fixture(const char *rel);

#endif
