/*
 * libs3insights: umbrella header. Includes every stable public header.
 */
#ifndef S3INSIGHTS_H
#define S3INSIGHTS_H

#include "common.h"
#include "version.h"
#include "alloc.h"
#include "errors.h"
#include "ctx.h"
#include "s3.h"
#include "run_input.h"
#include "deployment.h"
#include "run.h"

#endif
