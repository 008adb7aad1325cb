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

/* Create the estate's buckets and faults on moto. */
void s3i_provision_estate_seed(s3i_moto *moto);

/* Reset moto, deploy "dep1", seed the estate, start the run from `input`. */
void s3i_provision_estate_open(s3i_stage_fx *f, s3i_moto *moto, const char *input);

#endif
