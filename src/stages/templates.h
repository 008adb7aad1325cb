/* CloudFormation templates compiled into the library (cmake/EmbedFile.cmake), so a stage
 * deploys exactly the template of its own version. NUL-terminated. */
#ifndef S3I_STAGES_TEMPLATES_H
#define S3I_STAGES_TEMPLATES_H

#include <stddef.h>

extern const char s3i_template_inventory_destination[];
extern const size_t s3i_template_inventory_destination_len;

#endif
