/*
 * The estate the provision and teardown tests run over (test_stage_provision.c,
 * test_stage_teardown.c): deployment "dep1", run r1 over the host account 123456789012 (with
 * an excluded bucket) and 111111111111 (through its cross-account role), supported regions
 * us-east-1, us-west-2 and eu-west-1; buckets in those, one in ap-south-1 (outside them),
 * another run's destination bucket, a legacy "EU" bucket and an unreadable one (both through
 * /_fault, as moto cannot answer so).
 */
#ifndef S3I_TEST_PROVISION_ESTATE_H
#define S3I_TEST_PROVISION_ESTATE_H

#include "stage_fixture.h"

#define S3I_PROVISION_ESTATE_INPUT "{\"run_id\":\"r1\",\"accounts\":[{\"id\":" \
	"\"123456789012\",\"exclude\":[\"excluded-one\"]},{\"id\":\"111111111111\"}]," \
	"\"athena_queries\":[],\"sender_email_address\":\"sender@example.com\"," \
	"\"recipient_email_addresses\":[\"b@example.com\"]," \
	"\"supported_regions\":[\"us-east-1\",\"us-west-2\",\"eu-west-1\"]}"

typedef struct s3i_estate_regions {
	s3i_state_region r[8];
	size_t n;
} s3i_estate_regions;

/* The run's region items (at most 8). */
s3i_estate_regions s3i_estate_regions_of(s3i_stage_fx *f);

/* The run's phase, its error (may be NULL) into error[cap]. */
s3i_run_phase s3i_estate_phase_of(s3i_stage_fx *f, char *error, size_t cap);

/* Every region provisioned, and each one's resources as the template wants them (the stack,
 * the topic policy, the route, the staging bucket's policy). */
void s3i_estate_expect_provisioned(s3i_stage_fx *f);

/* Create the estate's buckets and faults on moto. */
void s3i_provision_estate_seed(s3i_moto *moto);

/* Reset moto, deploy "dep1", seed the estate, start the run from `input`. */
void s3i_provision_estate_open(s3i_stage_fx *f, s3i_moto *moto, const char *input);

#endif
