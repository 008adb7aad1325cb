/* What every service operation needs: the client, and optionally other credentials (an
 * assumed role in another account) and another region than the client's. */
#ifndef S3I_SERVICES_SVC_H
#define S3I_SERVICES_SVC_H

#include "aws/client.h"

typedef struct s3i_svc {
	s3i_client *client;
	s3i_credprov *creds;   /* NULL: the client's */
	const char *region;    /* NULL: the client's */
} s3i_svc;

#endif
