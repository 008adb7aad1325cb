/*
 * Fuzz the shared config/credentials parser. The first byte picks the file kind; the rest is
 * the text. Every lookup shape runs against the result so the lookups are fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	s3i_profile_set *p = NULL;
	if (s3i_profiles_parse(&p, NULL, text, len, mode & 1, NULL) != 0)
		return 0;
	if (mode & 2) {
		/* the same text as the other file too, so merged lookups see both */
		s3i_profiles_add_text(p, (mode & 1) ? S3I_PROFILES_CREDENTIALS : S3I_PROFILES_CONFIG,
			text, len, NULL);
	}
	static const char *const profiles[] = { "default", "dev", "a", "profile a", "DEFAULT",
		"services local", "sso-session corp", "services", "", "x y" };
	static const char *const keys[] = { "region", "aws_access_key_id", "s3", "services",
		"role_arn", "endpoint_url", "a", "" };
	volatile size_t sink = 0;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		sink += (size_t)s3i_profiles_has(p, profiles[i]);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *v = s3i_profiles_get(p, profiles[i], keys[k]);
			if (v)
				sink += strlen(v);
			v = s3i_profiles_get_sub(p, profiles[i], keys[k], keys[(k + 1) % 8]);
			if (v)
				sink += strlen(v);
			v = s3i_profiles_get_in(p, S3I_PROFILES_CONFIG, profiles[i], keys[k]);
			if (v)
				sink += strlen(v);
		}
	}
	(void)sink;
	s3i_profiles_free(p);
	return 0;
}
