/*
 * The shared AWS config and credentials files (~/.aws/config, ~/.aws/credentials), parsed
 * the way botocore does (configparser.RawConfigParser + botocore.configloader):
 *  - sections: "[profile NAME]" in config (NAME shell-quoted as botocore's shlex split allows:
 *    [profile "my name"]), "[default]" either way, "[NAME]" in credentials; "[sso-session NAME]"
 *    and "[services NAME]" kept by name; "[DEFAULT]" supplies values to every section of its
 *    file (configparser's default section); other config sections are kept but are no profile.
 *    "[profile default]" and "[default]" are the same profile (merged in file order).
 *  - "key = value" or "key: value" (first '=' or ':'); key names are case-insensitive (stored
 *    lower-cased, as configparser does), values trimmed, sub-section keys kept as written.
 *  - comments: lines whose first non-blank character is '#' or ';'; after a value, '#' or ';'
 *    start a comment only when preceded by whitespace ("key = a#b" keeps "a#b").
 *  - lines indented deeper than their key line continue its value; a key with an empty value
 *    followed by such lines is a nested sub-section (s3 =\n  addressing_style = path).
 *  - CRLF, CR and LF line ends; a UTF-8 byte order mark is skipped.
 *  - lenient where configparser raises: duplicate sections merge, duplicate keys keep the last,
 *    lines before any section, malformed lines and lines after a malformed section header
 *    (whose keys could otherwise land in the previous profile) are skipped.
 * A set is immutable once built and may be read from any number of threads.
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

/* The profile name in effect: explicit, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
 * Empty strings count as unset. */
const char *s3i_profile_name(const char *explicit_profile);

/* Lookups above take "services NAME" or "sso-session NAME" as the profile to address those
 * config-file sections (as endpoint.c does for services). */

/* Which file: lookups restricted to one of them (the credential chain tells the shared
 * credentials file and the config file apart). */
enum {
	S3I_PROFILES_CONFIG = 1,
	S3I_PROFILES_CREDENTIALS = 2
};

/* Like s3i_profiles_get / s3i_profiles_has, but in one file only. */
const char *s3i_profiles_get_in(const s3i_profile_set *p, int which, const char *profile,
	const char *key);
int s3i_profiles_has_in(const s3i_profile_set *p, int which, const char *profile);

/* The path a file was loaded from (after ~ and $VAR expansion); NULL for parsed text. */
const char *s3i_profiles_path(const s3i_profile_set *p, int which);

/* Merge a parsed text into a set as one of its files (tests and callers with their own files).
 * `which` is S3I_PROFILES_CONFIG or S3I_PROFILES_CREDENTIALS; the file must not be in the set
 * yet (each set holds at most one of each). */
int s3i_profiles_add_text(s3i_profile_set *p, int which, const char *text, size_t len,
	s3i_errinfo *err);

/* Expand $VAR / ${VAR} (unknown ones kept) and a leading ~ or ~user, as botocore does for
 * file paths. Returns a copy (free with a) or NULL when out of memory. */
char *s3i_expand_path(const s3i_allocator *a, const char *path);

#endif
