/*
 * The shared AWS config and credentials files (~/.aws/config, ~/.aws/credentials), parsed
 * the way botocore does: INI sections, "[profile NAME]" in config ("[default]" either way),
 * "[NAME]" in credentials, `#`/`;` comments, indented continuation lines for nested
 * sub-sections (s3 =\n  addressing_style = path), keys case-sensitive, values trimmed.
 */
#ifndef S3I_AWS_CONFIG_FILE_H
#define S3I_AWS_CONFIG_FILE_H

#include <stddef.h>
#include "s3insights/alloc.h"
#include "core/errinfo.h"

typedef struct s3i_profile_set s3i_profile_set;

/* Parse text. `is_config` selects "[profile x]" naming. Problems in a line never abort the
 * parse (botocore is lenient); a NULL text gives an empty set. */
int s3i_profiles_parse(s3i_profile_set **out, const s3i_allocator *a, const char *text,
	size_t len, int is_config, s3i_errinfo *err);

/* Load both files, honouring AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE and HOME.
 * Missing files are not an error. Credentials-file values win over config-file values for
 * the same profile and key, as botocore merges them. */
int s3i_profiles_load(s3i_profile_set **out, const s3i_allocator *a, s3i_errinfo *err);

void s3i_profiles_free(s3i_profile_set *p);

/* Value of `key` in profile `profile` (NULL: AWS_PROFILE, else "default"); NULL if absent.
 * Valid while the set lives. */
const char *s3i_profiles_get(const s3i_profile_set *p, const char *profile, const char *key);
/* Nested sub-section value, e.g. ("s3", "addressing_style"). */
const char *s3i_profiles_get_sub(const s3i_profile_set *p, const char *profile,
	const char *section, const char *key);
int s3i_profiles_has(const s3i_profile_set *p, const char *profile);

/* The profile name in effect: explicit, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default". */
const char *s3i_profile_name(const char *explicit_profile);

#endif
