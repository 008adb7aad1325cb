/**
 * @file
 * The umbrella header: `#include <s3insights/s3insights.h>` gives every stable public
 * header. `sys/` holds the less stable tier (stable within a minor release only).
 * @since 0.1
 */

/**
 * @mainpage libs3insights API reference
 *
 * A C11 library that takes a snapshot of every S3 object across many AWS accounts and
 * regions, gathers the reports into one partitioned table, runs the analysis queries, mails
 * a summary and removes everything transient it created.
 *
 * - version.h: version macros, s3i_version_num(), s3i_features()
 * - errors.h: status codes and the error detail (docs/error-handling.md)
 * - ctx.h: the shared, thread-safe context (docs/threading.md)
 * - s3.h: S3 object operations on a context
 * - run_input.h: parsing and validating a run input (docs/run-input.md)
 * - deployment.h and run.h: a deployment, its runs and their status (docs/stages.md)
 * - stage_*.h: one handle per workflow stage
 *
 * Every function that can fail returns S3I_OK (0) or a negative s3i_status. The guides are in
 * the repository's docs/ directory: getting-started.md, local-development.md,
 * error-handling.md, threading.md, api-stability.md.
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
#include "stage_provision.h"
#include "stage_configure.h"
#include "stage_ingest.h"
#include "stage_partition.h"
#include "stage_table.h"
#include "stage_query.h"
#include "stage_notify.h"
#include "stage_teardown.h"
#include "harvest.h"

#endif
