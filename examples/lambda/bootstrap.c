/* The Lambda bootstrap: the runtime loop over the handler table (handlers.c). */
#include "runtime.h"

extern const s3i_lambda_handler s3i_lambda_handlers[];

int main(void)
{
	return s3i_lambda_run(s3i_lambda_handlers);
}
