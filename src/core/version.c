#include <curl/curl.h>

#include "s3insights/version.h"

uint32_t s3i_version_num(void) { return S3I_VERSION_NUM; }
const char *s3i_version_string(void) { return S3I_VERSION_STRING; }

uint32_t s3i_features(void)
{
	uint32_t f = S3I_FEATURE_THREADS;
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	if (v && (v->features & CURL_VERSION_SSL))
		f |= S3I_FEATURE_HTTPS;
	return f;
}
