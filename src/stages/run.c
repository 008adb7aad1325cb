/* A run: its record in the state table, its input, status read-back, crash points. */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <openssl/rand.h>

#include "stages/run_internal.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "stages/names.h"
#include "stages/stage_athena.h"

struct s3i_run {
	s3i_deployment *d;
	const s3i_allocator *alloc;
	char run_id[16];
	s3i_run_input *input;
	pthread_mutex_t lock;          /* guards the status strings below */
	char phase[32];
	char error[1024];
	char error_stage[32];
	char smoke_database[72];       /* a smoke test's recorded random names; "" otherwise */
	char smoke_table[72];
};

#define SMOKE_SUFFIX_CHARS 10

/* n random characters of [a-z0-9] and a NUL; a byte of 252 or more is drawn again, so every
 * character is equally likely. */
static int random_suffix(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i = 0;
	while (i < n) {
		unsigned char b[32];
		if (RAND_bytes(b, (int)sizeof(b)) != 1)
			return S3I_ERROR;
		for (size_t j = 0; j < sizeof(b) && i < n; j++)
			if (b[j] < 252)
				out[i++] = alphabet[b[j] % 36];
	}
	out[n] = '\0';
	return S3I_OK;
}

/*
 * A smoke test's database and table names (DESIGN §3: random, so the test changes nothing
 * lasting): chosen once, when the run is first recorded, and kept on its run item; every
 * later handle (resume, open) reads the same names back. A run recorded without them (a
 * crash right after s3i_state_run_create) gets them now; two handles racing here agree,
 * because the first names written stay.
 */
static int smoke_names(s3i_run *run)
{
	s3i_state *st = s3i_deployment_state(run->d);
	s3i_state_run rec;
	int rc = s3i_state_run_get(st, run->run_id, &rec, NULL);
	if (!rc && !rec.smoke_database[0]) {
		s3i_state_run_dispose(&rec);
		char suffix[SMOKE_SUFFIX_CHARS + 1], db[72], tb[72];
		if (random_suffix(suffix, SMOKE_SUFFIX_CHARS))
			return s3i_err(NULL, S3I_ERROR, run->run_id,
				"run %s: no random bytes for the smoke test's names (OpenSSL RAND_bytes)",
				run->run_id);
		snprintf(db, sizeof(db), "s3i_smoke_%s", suffix);
		snprintf(tb, sizeof(tb), "smoke_%s", suffix);
		if ((rc = s3i_state_run_set_smoke_names(st, run->run_id, db, tb, NULL)))
			return rc;
		rc = s3i_state_run_get(st, run->run_id, &rec, NULL);
	}
	if (rc)
		return rc;
	if (!rec.smoke_database[0] || !rec.smoke_table[0])
		rc = s3i_err(NULL, S3I_EPARSE, run->run_id,
			"run %s: the state table holds no names for its smoke test", run->run_id);
	snprintf(run->smoke_database, sizeof(run->smoke_database), "%s", rec.smoke_database);
	snprintf(run->smoke_table, sizeof(run->smoke_table), "%s", rec.smoke_table);
	s3i_state_run_dispose(&rec);
	return rc;
}

static int run_new(s3i_run **out, s3i_deployment *d, const char *run_id, s3i_run_input *input)
{
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_run *run = s3i_calloc(a, 1, sizeof(*run));
	if (!run) {
		s3i_run_input_free(input);
		return s3i_err(NULL, S3I_ENOMEM, run_id, "run %s: out of memory", run_id);
	}
	run->d = d;
	run->alloc = a;
	snprintf(run->run_id, sizeof(run->run_id), "%s", run_id);
	run->input = input;
	pthread_mutex_init(&run->lock, NULL);
	if (s3i_run_input_is_smoke_test(input)) {
		int rc = smoke_names(run);
		if (rc) {
			s3i_run_free(run);
			return rc;
		}
	}
	*out = run;
	return S3I_OK;
}

/* Parse the canonical input the state table holds. */
static int parse_stored(s3i_deployment *d, const s3i_state_run *rec, s3i_run_input **out)
{
	if (!rec->input_json)
		return s3i_err(NULL, S3I_EPARSE, rec->run_id, "run %s: the state table holds no input",
			rec->run_id);
	int rc = s3i_run_input_parse(out, rec->input_json, strlen(rec->input_json),
		s3i_deployment_alloc(d), NULL);
	if (rc)
		s3i_err_prefix(s3i_errinfo_thread(), "run %s: its stored input is unreadable: ",
			rec->run_id);
	return rc;
}

int s3i_run_start(s3i_run **out, s3i_deployment *d, const s3i_run_input *input)
{
	if (!out || !d || !input)
		return s3i_err(NULL, S3I_EINVALID, NULL, "run start: out, deployment and input are required");
	*out = NULL;
	const char *run_id = s3i_run_input_get_run_id(input);
	if (s3i_run_input_get_engine(input) != S3I_ENGINE_ATHENA)
		return s3i_err(NULL, S3I_EINVALID, "engine",
			"run %s: engine \"%s\" is not implemented in this version; use \"athena\"", run_id,
			s3i_engine_name(s3i_run_input_get_engine(input)));
	s3i_buf json = S3I_BUF_INIT;
	s3i_buf_init(&json, s3i_deployment_alloc(d));
	int rc = s3i_run_input_to_json(input, &json);
	if (rc) {
		s3i_buf_dispose(&json);
		return s3i_err(NULL, rc, run_id, "run %s: cannot write its input", run_id);
	}
	s3i_state *st = s3i_deployment_state(d);
	int64_t now = s3i_deployment_now_ms(d);
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	rc = s3i_state_run_create(st, run_id, s3i_buf_cstr(&json), s3i_deployment_host_account(d),
		s3i_deployment_host_region(d), now, &err);
	s3i_run_input *copy = NULL;
	if (rc == S3I_EEXISTS) {
		s3i_state_run rec;
		if ((rc = s3i_state_run_get(st, run_id, &rec, NULL))) {
			s3i_buf_dispose(&json);
			return rc;
		}
		if (rec.finished) {
			rc = s3i_err(NULL, S3I_EEXISTS, run_id,
				"run %s of deployment %s has finished (%s); a run id is used once: choose a new one",
				run_id, s3i_deployment_name(d), s3i_run_phase_name(rec.phase));
		} else if (!rec.input_json || strcmp(rec.input_json, s3i_buf_cstr(&json))) {
			rc = s3i_err(NULL, S3I_ECONFLICT, run_id,
				"run %s of deployment %s is unfinished (%s) with another input; resume it with "
				"the same input or choose a new run id", run_id, s3i_deployment_name(d),
				s3i_run_phase_name(rec.phase));
		} else {
			rc = parse_stored(d, &rec, &copy);
		}
		s3i_state_run_dispose(&rec);
	} else if (!rc) {
		rc = s3i_run_input_parse(&copy, json.ptr, json.size, s3i_deployment_alloc(d), NULL);
	}
	s3i_buf_dispose(&json);
	if (rc)
		return rc;
	return run_new(out, d, run_id, copy);
}

int s3i_run_open(s3i_run **out, s3i_deployment *d, const char *run_id)
{
	if (!out || !d || !run_id)
		return s3i_err(NULL, S3I_EINVALID, NULL, "run open: out, deployment and run id are required");
	*out = NULL;
	int rc = s3i_names_check_run_id(run_id, NULL);
	if (rc)
		return rc;
	s3i_state_run rec;
	if ((rc = s3i_state_run_get(s3i_deployment_state(d), run_id, &rec, NULL)))
		return rc;
	s3i_run_input *in = NULL;
	rc = parse_stored(d, &rec, &in);
	s3i_state_run_dispose(&rec);
	if (rc)
		return rc;
	return run_new(out, d, run_id, in);
}

void s3i_run_free(s3i_run *run)
{
	if (!run)
		return;
	s3i_run_input_free(run->input);
	pthread_mutex_destroy(&run->lock);
	s3i_free(run->alloc, run);
}

const char *s3i_run_id(const s3i_run *run) { return run ? run->run_id : NULL; }
const s3i_run_input *s3i_run_get_input(const s3i_run *run) { return run ? run->input : NULL; }

const char *s3i_run_get_database(const s3i_run *run)
{
	if (!run)
		return NULL;
	return run->smoke_database[0] ? run->smoke_database : s3i_run_input_get_database(run->input);
}

const char *s3i_run_get_table(const s3i_run *run)
{
	if (!run)
		return NULL;
	return run->smoke_table[0] ? run->smoke_table : s3i_run_input_get_table(run->input);
}
s3i_deployment *s3i_run_deployment(const s3i_run *run) { return run->d; }
s3i_state *s3i_run_state(const s3i_run *run) { return s3i_deployment_state(run->d); }

int s3i_run_account_svc(s3i_run *run, const char *account, const char *region, s3i_svc *out,
	s3i_credprov **hold, s3i_errinfo *err)
{
	*hold = NULL;
	int64_t i = s3i_run_input_find_account(run->input, account);
	if (i < 0) {
		if (account && !strcmp(account, s3i_deployment_host_account(run->d)))
			return s3i_deployment_account_svc(run->d, account, region, NULL, NULL, out, hold,
				err);
		return s3i_err(err, S3I_EINVALID, account,
			"run %s: account %s is not in the run's input", run->run_id,
			account ? account : "(none)");
	}
	return s3i_deployment_account_svc(run->d, account, region,
		s3i_run_input_get_role_name(run->input, (size_t)i),
		s3i_run_input_get_account_external_id(run->input, (size_t)i), out, hold, err);
}

/* ---- status ---- */

typedef struct status_walk {
	s3i_run *run;
	s3i_run_status *out;
	s3i_bucket_status_fn fn;
	void *user;
	int stopped;
} status_walk;

static int on_bucket(void *user, const s3i_state_bucket *b)
{
	status_walk *w = user;
	w->out->buckets_total++;
	if (!s3i_bucket_state_is_terminal(b->status))
		w->out->buckets_pending++;
	/* ORC/Parquet data not counted yet is unknown, not 0 */
	int not_counted = s3i_stage_bucket_not_counted(w->run, b);
	int64_t objects = not_counted ? -1 : b->objects, bytes = not_counted ? -1 : b->bytes;
	if (not_counted)
		w->out->buckets_not_counted++;
	w->out->objects += b->objects;
	w->out->bytes += b->bytes;
	if (!w->fn)
		return 0;
	s3i_bucket_status s = { sizeof(s), b->account, b->region, b->bucket,
		s3i_bucket_state_name(b->status), b->reason, b->expected_files, b->partitioned_files,
		objects, bytes, b->updated_ms };
	int rc = w->fn(w->user, &s);
	if (rc)
		w->stopped = 1;
	return rc;
}

int s3i_run_status_read(s3i_run *run, s3i_run_status *out, s3i_bucket_status_fn fn, void *user)
{
	if (!run || !out)
		return s3i_err(NULL, S3I_EINVALID, NULL, "run status: run and out are required");
	/* Fields up to `phase` at least, so a caller always gets the run id and phase. */
	size_t min = offsetof(s3i_run_status, phase) + sizeof(out->phase);
	if (out->struct_size < min)
		return s3i_err(NULL, S3I_EINVALID, "struct_size",
			"run %s status: struct_size %u is too small (set it to sizeof(s3i_run_status))",
			run->run_id, (unsigned)out->struct_size);
	size_t size = out->struct_size < sizeof(*out) ? out->struct_size : sizeof(*out);
	s3i_state_run rec;
	int rc = s3i_state_run_get(s3i_run_state(run), run->run_id, &rec, NULL);
	if (rc)
		return rc;
	pthread_mutex_lock(&run->lock);
	snprintf(run->phase, sizeof(run->phase), "%s", s3i_run_phase_name(rec.phase));
	snprintf(run->error, sizeof(run->error), "%s", rec.error);
	snprintf(run->error_stage, sizeof(run->error_stage), "%s", rec.error_stage);
	pthread_mutex_unlock(&run->lock);
	s3i_run_status full;
	memset(&full, 0, sizeof(full));
	full.struct_size = (uint32_t)size;
	full.run_id = run->run_id;
	full.phase = run->phase;
	full.finished = rec.finished;
	full.error = run->error;
	full.error_stage = run->error_stage;
	full.created_ms = rec.created_ms;
	full.updated_ms = rec.updated_ms;
	s3i_state_run_dispose(&rec);
	status_walk w = { run, &full, fn, user, 0 };
	rc = s3i_state_buckets_list(s3i_run_state(run), run->run_id, on_bucket, &w, NULL);
	if (full.buckets_not_counted > 0)
		full.objects = full.bytes = -1;
	memcpy(out, &full, size);
	if (rc && w.stopped)
		return s3i_err(NULL, S3I_EUSER, run->run_id, "run %s: status callback stopped the walk",
			run->run_id);
	return rc;
}

/* ---- crash points ---- */

void s3i_crashpoint(const char *point)
{
	static _Atomic int passes;
	const char *at = getenv("S3I_TEST_CRASH_AT");
	if (!at || !point || strcmp(at, point))
		return;
	const char *skip = getenv("S3I_TEST_CRASH_SKIP");
	int n = skip ? atoi(skip) : 0;
	if (passes++ < n)
		return;
	static const char msg[] = "s3insights: crash point reached, killing the process\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
	kill(getpid(), SIGKILL);
}
