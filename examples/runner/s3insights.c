/*
 * s3insights — the standalone runner (DESIGN §9): the Harvester and Cleanup workflows and
 * each stage from the command line, over the public API only.
 *
 *   s3insights [--deployment D] [--json] [--quiet] COMMAND [ARGS]
 *
 * Progress goes to stderr, results to stdout; exit status 0 only on success, 1 on failure,
 * 2 on a usage error or an invalid input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <s3insights/s3insights.h>
#include <s3insights/harvest.h>
#include <s3insights/stage_provision.h>
#include <s3insights/stage_configure.h>
#include <s3insights/stage_ingest.h>
#include <s3insights/stage_partition.h>
#include <s3insights/stage_table.h>
#include <s3insights/stage_query.h>
#include <s3insights/stage_notify.h>
#include <s3insights/stage_teardown.h>

#define EXIT_USAGE 2

typedef struct globals {
	const char *deployment;
	const char *region;
	const char *endpoint_url;
	int json;
	int quiet;
	int verbose;
} globals;

static globals g;

/* ---------------------------------------------------------------- output helpers */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void human_bytes(char *out, size_t cap, int64_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%" PRId64 " B", n);
	else
		snprintf(out, cap, "%.1f %s", v, units[u]);
}

/* A count for the status output: -1 is "not counted" (ORC/Parquet rows not counted yet:
 * run.h), never shown as a number. */
static void count_text(char *out, size_t cap, int64_t n)
{
	if (n < 0)
		snprintf(out, cap, "not counted");
	else
		snprintf(out, cap, "%" PRId64, n);
}

/* A count as a JSON value: null when not counted. */
static void json_count(FILE *f, int64_t n)
{
	if (n < 0)
		fputs("null", f);
	else
		fprintf(f, "%" PRId64, n);
}

/* The library's error detail, one line to stderr, with the thing at fault. */
static int fail(const char *what, int rc)
{
	const s3i_error *e = s3i_error_last();
	fprintf(stderr, "s3insights: %s: %s", what,
		e && e->message && *e->message ? e->message : s3i_strerror(rc));
	if (e && e->aws_code && *e->aws_code && !strstr(e->message, e->aws_code))
		fprintf(stderr, " (%s)", e->aws_code);
	fprintf(stderr, " [%s]\n", s3i_strerror(rc));
	return rc == S3I_EINVALID || rc == S3I_EPARSE ? EXIT_USAGE : 1;
}

static void log_to_stderr(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	static const char *const names[] = { "error", "warn", "info", "debug", "trace" };
	const char *n = (unsigned)level < 5 ? names[level] : "log";
	fprintf(stderr, "s3insights [%s] %s\n", n, line);
}

/* ---------------------------------------------------------------- help */

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
} command;

static const command *find_command(const char *name);

static void print_global_help(FILE *f);

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

static int usage_of(const char *name, FILE *f)
{
	const command *c = find_command(name);
	if (c)
		fprintf(f, "usage: s3insights [global options] %s %s\n\n%s\n", c->name, c->usage, c->help);
	return f == stdout ? 0 : EXIT_USAGE;
}

/* ---------------------------------------------------------------- setup */

static s3i_ctx *ctx;
static s3i_deployment *dep;

static int open_deployment(void)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.region = g.region;
	o.endpoint_url = g.endpoint_url;
	o.log_fn = log_to_stderr;
	o.log_level = g.verbose ? S3I_LOG_INFO : S3I_LOG_WARN;
	int rc = s3i_ctx_new(&ctx, &o);
	if (rc)
		return fail("creating the AWS context", rc);
	s3i_deployment_options d = S3I_DEPLOYMENT_OPTIONS_INIT;
	d.name = g.deployment;
	if ((rc = s3i_deployment_open(&dep, ctx, &d)))
		return fail("opening the deployment", rc);
	return 0;
}

static void close_all(void)
{
	s3i_deployment_free(dep);
	dep = NULL;
	s3i_ctx_release(ctx);
	ctx = NULL;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "s3insights: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *nb = realloc(buf, cap *= 2);
		if (!nb) {
			free(buf);
			buf = NULL;
		}
		buf = nb;
	}
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (!buf || bad) {
		fprintf(stderr, "s3insights: cannot read %s\n", path);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Parse an input file, listing every problem. Returns 0 or the exit status. */
static int load_input(const char *path, s3i_run_input **out)
{
	size_t len = 0;
	char *text = read_file(path, &len);
	if (!text)
		return EXIT_USAGE;
	s3i_input_problems *problems = NULL;
	int rc = s3i_run_input_parse(out, text, len, NULL, &problems);
	free(text);
	if (!rc)
		return 0;
	size_t n = s3i_input_problems_count(problems);
	if (g.json) {
		printf("{\"input\":");
		json_str(stdout, path);
		printf(",\"valid\":false,\"problems\":[");
		for (size_t i = 0; i < n; i++) {
			printf(i ? ",{\"field\":" : "{\"field\":");
			json_str(stdout, s3i_input_problems_get_field(problems, i));
			printf(",\"message\":");
			json_str(stdout, s3i_input_problems_get_message(problems, i));
			printf("}");
		}
		printf("]}\n");
	}
	fprintf(stderr, "s3insights: %s is not a valid run input (%zu problem%s):\n", path, n,
		n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", s3i_input_problems_get_message(problems, i));
	if (!n)
		fprintf(stderr, "  %s\n", s3i_error_last()->message);
	s3i_input_problems_free(problems);
	return EXIT_USAGE;
}

/* --run R, or the run id of INPUT.json. */
static const char *run_arg(int argc, char **argv, const char **input_path)
{
	const char *run = NULL;
	*input_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--run") && i + 1 < argc)
			run = argv[++i];
		else if (!strncmp(argv[i], "--run=", 6))
			run = argv[i] + 6;
		else if (argv[i][0] != '-' || !strcmp(argv[i], "-"))
			*input_path = argv[i];
	}
	return run;
}

static int open_run(int argc, char **argv, s3i_run **out)
{
	const char *input_path = NULL;
	const char *run_id = run_arg(argc, argv, &input_path);
	s3i_run_input *in = NULL;
	if (!run_id && input_path) {
		int rc = load_input(input_path, &in);
		if (rc)
			return rc;
		run_id = s3i_run_input_get_run_id(in);
	}
	if (!run_id) {
		fprintf(stderr, "s3insights: %s: which run? give --run R (or the run's input file)\n",
			argv[0]);
		s3i_run_input_free(in);
		return EXIT_USAGE;
	}
	int rc = open_deployment();
	if (!rc && (rc = s3i_run_open(out, dep, run_id))) {
		char what[96];
		snprintf(what, sizeof(what), "opening run %s", run_id);
		rc = fail(what, rc);
	}
	s3i_run_input_free(in);
	return rc;
}

/* ---------------------------------------------------------------- status */

typedef struct table_walk {
	int first;
} table_walk;

static int print_bucket(void *user, const s3i_bucket_status *b)
{
	table_walk *w = user;
	char bytes[32], objects[32];
	if (b->bytes < 0)
		snprintf(bytes, sizeof(bytes), "-");
	else
		human_bytes(bytes, sizeof(bytes), b->bytes);
	count_text(objects, sizeof(objects), b->objects);
	if (g.json) {
		printf(w->first ? "" : ",");
		printf("{\"account\":");
		json_str(stdout, b->account);
		printf(",\"region\":");
		json_str(stdout, b->region);
		printf(",\"bucket\":");
		json_str(stdout, b->bucket);
		printf(",\"status\":");
		json_str(stdout, b->status);
		printf(",\"reason\":");
		json_str(stdout, b->reason);
		printf(",\"expected_files\":%" PRId64 ",\"partitioned_files\":%" PRId64
			",\"objects\":", b->expected_files, b->partitioned_files);
		json_count(stdout, b->objects);
		printf(",\"bytes\":");
		json_count(stdout, b->bytes);
		printf("}");
	} else {
		printf("%-12s  %-14s  %-40s  %-14s  %11s  %10s  %s\n", b->account, b->region,
			b->bucket, b->status, objects, bytes, b->reason);
	}
	w->first = 0;
	return 0;
}

static int print_status(s3i_run *run)
{
	s3i_run_status s = { .struct_size = sizeof(s) };
	table_walk w = { 1 };
	if (g.json)
		printf("{\"buckets\":[");
	else
		printf("%-12s  %-14s  %-40s  %-14s  %11s  %10s  %s\n", "ACCOUNT", "REGION", "BUCKET",
			"STATUS", "OBJECTS", "BYTES", "REASON");
	int rc = s3i_run_status_read(run, &s, print_bucket, &w);
	if (rc) {
		if (g.json)
			printf("]}\n");
		return fail("reading the run's status", rc);
	}
	char bytes[32], objects[32];
	if (s.bytes < 0)
		snprintf(bytes, sizeof(bytes), "-");
	else
		human_bytes(bytes, sizeof(bytes), s.bytes);
	count_text(objects, sizeof(objects), s.objects);
	if (g.json) {
		printf("],\"run_id\":");
		json_str(stdout, s.run_id);
		printf(",\"deployment\":");
		json_str(stdout, s3i_deployment_name(dep));
		printf(",\"phase\":");
		json_str(stdout, s.phase);
		printf(",\"finished\":%s,\"error\":", s.finished ? "true" : "false");
		json_str(stdout, s.error);
		printf(",\"error_stage\":");
		json_str(stdout, s.error_stage);
		printf(",\"buckets_total\":%" PRId64 ",\"buckets_pending\":%" PRId64 ",\"objects\":",
			s.buckets_total, s.buckets_pending);
		json_count(stdout, s.objects);
		printf(",\"bytes\":");
		json_count(stdout, s.bytes);
		printf(",\"buckets_not_counted\":%" PRId64 ",\"consolidated_bucket\":",
			s.buckets_not_counted);
		json_str(stdout, s3i_deployment_consolidated_bucket(dep));
		printf("}\n");
	} else {
		printf("\nrun %s (deployment %s): %s%s  buckets %" PRId64 " (%" PRId64
			" pending)  objects %s  bytes %s\n", s.run_id, s3i_deployment_name(dep),
			s.phase, s.finished ? ", finished" : "", s.buckets_total, s.buckets_pending,
			objects, bytes);
		if (s.buckets_not_counted > 0)
			printf("%" PRId64 " bucket%s of ORC/Parquet data not counted (counted with Athena "
				"by the create-table stage)\n", s.buckets_not_counted,
				s.buckets_not_counted == 1 ? "" : "s");
		if (*s.error)
			printf("failed in %s: %s\n", s.error_stage, s.error);
		printf("data: s3://%s/inventory/%s/\n", s3i_deployment_consolidated_bucket(dep), s.run_id);
	}
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	s3i_run *run = NULL;
	int rc = open_run(argc, argv, &run);
	if (!rc)
		rc = print_status(run);
	s3i_run_free(run);
	close_all();
	return rc;
}

/* ---------------------------------------------------------------- progress */

static int progress(void *user, const s3i_harvest_progress *p)
{
	(void)user;
	if (g.quiet || !p->status)
		return 0;
	int tty = isatty(2);
	const s3i_run_status *s = p->status;
	int64_t done = s->buckets_total - s->buckets_pending;
	char bytes[32], objects[32];
	if (s->bytes < 0)
		snprintf(bytes, sizeof(bytes), "-");
	else
		human_bytes(bytes, sizeof(bytes), s->bytes);
	count_text(objects, sizeof(objects), s->objects);
	int64_t el = p->elapsed_ms / 1000;
	char bar[21];
	int filled = s->buckets_total ? (int)(done * 20 / s->buckets_total) : 0;
	for (int i = 0; i < 20; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[20] = 0;
	fprintf(stderr, "%s%-9s [%s] buckets %" PRId64 "/%" PRId64 "  objects %s"
		"  bytes %s  elapsed %02" PRId64 ":%02" PRId64 ":%02" PRId64 "%s",
		tty ? "\r" : "", p->stage, bar, done, s->buckets_total, objects, bytes, el / 3600,
		el / 60 % 60, el % 60, tty ? "  " : "\n");
	fflush(stderr);
	return 0;
}

static void end_progress(void)
{
	if (!g.quiet && isatty(2))
		fputc('\n', stderr);
}

/* ---------------------------------------------------------------- commands */

static int cmd_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc = open_deployment();
	if (!rc && (rc = s3i_deployment_init(dep)))
		rc = fail("creating the host resources", rc);
	if (!rc) {
		if (g.json) {
			printf("{\"deployment\":");
			json_str(stdout, s3i_deployment_name(dep));
			printf(",\"host_account\":");
			json_str(stdout, s3i_deployment_host_account(dep));
			printf(",\"host_region\":");
			json_str(stdout, s3i_deployment_host_region(dep));
			printf(",\"state_table\":");
			json_str(stdout, s3i_deployment_state_table(dep));
			printf(",\"consolidated_bucket\":");
			json_str(stdout, s3i_deployment_consolidated_bucket(dep));
			printf(",\"queue\":");
			json_str(stdout, s3i_deployment_queue_name(dep));
			printf(",\"dead_letter_queue\":");
			json_str(stdout, s3i_deployment_dlq_name(dep));
			printf("}\n");
		} else {
			printf("deployment %s in %s (account %s) is ready:\n", s3i_deployment_name(dep),
				s3i_deployment_host_region(dep), s3i_deployment_host_account(dep));
			printf("  state table          %s\n", s3i_deployment_state_table(dep));
			printf("  consolidated bucket  %s\n", s3i_deployment_consolidated_bucket(dep));
			printf("  queue                %s\n", s3i_deployment_queue_name(dep));
			printf("  dead-letter queue    %s\n", s3i_deployment_dlq_name(dep));
		}
	}
	close_all();
	return rc;
}

static int cmd_validate(int argc, char **argv)
{
	if (argc < 2)
		return usage_of(argv[0], stderr);
	s3i_run_input *in = NULL;
	int rc = load_input(argv[1], &in);
	if (!rc) {
		if (g.json) {
			s3i_buf b = S3I_BUF_INIT;
			if (!s3i_run_input_to_json(in, &b))
				printf("%s\n", b.ptr);
			s3i_buf_dispose(&b);
		} else {
			printf("%s: valid (run %s)\n", argv[1], s3i_run_input_get_run_id(in));
		}
	}
	s3i_run_input_free(in);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	const char *path = NULL;
	int keep = 0, no_report = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--keep-on-failure"))
			keep = 1;
		else if (!strcmp(argv[i], "--no-failure-report"))
			no_report = 1;
		else if (argv[i][0] != '-' || !strcmp(argv[i], "-"))
			path = argv[i];
	}
	if (!path)
		return usage_of(argv[0], stderr);
	s3i_run_input *in = NULL;
	int rc = load_input(path, &in);
	if (rc)
		return rc;
	s3i_run *run = NULL;
	if ((rc = open_deployment()))
		goto out;
	if ((rc = s3i_run_start(&run, dep, in))) {
		rc = fail("starting the run", rc);
		goto out;
	}
	if (!g.quiet)
		fprintf(stderr, "s3insights: run %s of deployment %s\n", s3i_run_id(run),
			s3i_deployment_name(dep));
	s3i_harvest_options o = S3I_HARVEST_OPTIONS_INIT;
	o.progress = progress;
	o.progress_interval_ms = isatty(2) ? 500 : 10000;
	o.no_cleanup_on_failure = keep;
	o.no_failure_report = no_report;
	int hr = s3i_harvest_run(run, &o);
	end_progress();
	if (hr) {
		char what[64];
		snprintf(what, sizeof(what), "run %s", s3i_run_id(run));
		rc = fail(what, hr);
		if (rc == EXIT_USAGE)
			rc = 1;
	}
	int sr = print_status(run);
	if (!rc)
		rc = sr;
out:
	s3i_run_free(run);
	s3i_run_input_free(in);
	close_all();
	return rc;
}

/* The unfinished runs' ids, collected before any is cleaned (a cleanup changes the index). */
typedef struct run_ids {
	char **ids;
	size_t n, cap;
	int oom;
} run_ids;

static int collect_run(void *user, const char *run_id, const char *phase, int finished)
{
	run_ids *l = user;
	(void)phase;
	if (finished)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **ids = realloc(l->ids, cap * sizeof *ids);
		if (!ids) {
			l->oom = 1;
			return 1;
		}
		l->ids = ids;
		l->cap = cap;
	}
	if (!(l->ids[l->n] = strdup(run_id))) {
		l->oom = 1;
		return 1;
	}
	l->n++;
	return 0;
}

/* cleanup --all: S3Insights' {"manual_cleanup": true}, every unfinished run of the deployment.
 * Goes on after a run whose cleanup fails; the exit status is the first failure's. */
static int cleanup_all(void)
{
	int rc = open_deployment();
	if (rc) {
		close_all();
		return rc;
	}
	run_ids l = { NULL, 0, 0, 0 };
	int lr = s3i_deployment_list_runs(dep, 1, collect_run, &l);
	if (l.oom)
		lr = S3I_ENOMEM;
	if (lr)
		rc = fail("listing the unfinished runs", lr);
	if (g.json)
		printf("{\"runs\":[");
	for (size_t i = 0; !rc && i < l.n; i++) {
		s3i_run *run = NULL;
		char what[96];
		snprintf(what, sizeof(what), "cleanup of run %s", l.ids[i]);
		int cr = s3i_run_open(&run, dep, l.ids[i]);
		if (!cr) {
			s3i_harvest_options o = S3I_HARVEST_OPTIONS_INIT;
			cr = s3i_cleanup_run(run, &o);
		}
		int frc = cr ? fail(what, cr) : 0;
		if (frc && !rc)
			rc = frc;
		if (g.json) {
			printf("%s{\"run_id\":", i ? "," : "");
			json_str(stdout, l.ids[i]);
			printf(",\"cleaned\":%s}", cr ? "false" : "true");
		} else if (!cr) {
			printf("run %s: every transient resource is removed\n", l.ids[i]);
		}
		s3i_run_free(run);
	}
	if (g.json)
		printf("]}\n");
	else if (!lr && !l.n)
		printf("no unfinished run\n");
	for (size_t i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	close_all();
	return rc;
}

static int cmd_cleanup(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--all"))
			return cleanup_all();
	s3i_run *run = NULL;
	int rc = open_run(argc, argv, &run);
	if (!rc) {
		s3i_harvest_options o = S3I_HARVEST_OPTIONS_INIT;
		int cr = s3i_cleanup_run(run, &o);
		if (cr)
			rc = fail("cleanup", cr);
		else if (!g.json)
			printf("run %s: every transient resource is removed\n", s3i_run_id(run));
		if (g.json)
			print_status(run);
	}
	s3i_run_free(run);
	close_all();
	return rc;
}

/* One stage of a run: the same shape for all seven. */
#define STAGE_COMMAND(fn_name, type, label)                                                 \
	static int fn_name(int argc, char **argv)                                          \
	{                                                                                  \
		s3i_run *run = NULL;                                                       \
		int rc = open_run(argc, argv, &run);                                       \
		if (!rc) {                                                                 \
			s3i_##type *st = NULL;                                             \
			int sr = s3i_##type##_new(&st, run, NULL);                         \
			if (!sr)                                                           \
				sr = s3i_##type##_run(st);                                 \
			if (sr) {                                                          \
				if (st)                                                    \
					fprintf(stderr, "s3insights: %s: %s\n", label,     \
						s3i_##type##_error(st)->message);          \
				rc = fail(label, sr);                                      \
				if (rc == EXIT_USAGE)                                      \
					rc = 1;                                            \
			} else if (!g.json) {                                              \
				printf("run %s: %s finished\n", s3i_run_id(run), label);   \
			}                                                                  \
			s3i_##type##_free(st);                                             \
			if (g.json)                                                        \
				print_status(run);                                         \
		}                                                                          \
		s3i_run_free(run);                                                         \
		close_all();                                                               \
		return rc;                                                                 \
	}

STAGE_COMMAND(cmd_provision, provision, "provision")
STAGE_COMMAND(cmd_configure, configure, "configure")
STAGE_COMMAND(cmd_partition, partition, "partition")
STAGE_COMMAND(cmd_table, table, "table")
STAGE_COMMAND(cmd_query, query, "query")
STAGE_COMMAND(cmd_notify, notify, "notify")
STAGE_COMMAND(cmd_teardown, teardown, "teardown")

static int cmd_ingest(int argc, char **argv)
{
	int once = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--once"))
			once = 1;
	int rc = open_deployment();
	if (rc)
		return rc;
	s3i_ingest *st = NULL;
	int sr = s3i_ingest_new(&st, dep, NULL);
	if (!sr)
		sr = once ? s3i_ingest_step(st, 0, &(int){ 0 }) : s3i_ingest_run(st);
	if (sr) {
		if (st)
			fprintf(stderr, "s3insights: ingest: %s\n", s3i_ingest_error(st)->message);
		rc = fail("ingest", sr);
	} else {
		s3i_ingest_stats s = S3I_INGEST_STATS_INIT;
		s3i_ingest_get_stats(st, &s);
		if (g.json)
			printf("{\"messages_received\":%" PRId64 ",\"messages_deleted\":%" PRId64
				",\"manifests_claimed\":%" PRId64 ",\"files_copied\":%" PRId64
				",\"files_rewritten\":%" PRId64 ",\"buckets_done\":%" PRId64
				",\"buckets_failed\":%" PRId64 "}\n", s.messages_received, s.messages_deleted,
				s.manifests_claimed, s.files_copied, s.files_rewritten, s.buckets_done,
				s.buckets_failed);
		else
			printf("ingest: %" PRId64 " messages, %" PRId64 " manifests, %" PRId64
				" files copied, %" PRId64 " rewritten, %" PRId64 " buckets done, %" PRId64
				" failed\n", s.messages_received, s.manifests_claimed, s.files_copied,
				s.files_rewritten, s.buckets_done, s.buckets_failed);
	}
	s3i_ingest_free(st);
	close_all();
	return rc;
}

typedef struct rows_walk {
	int first;
} rows_walk;

static int print_row(void *user, const s3i_query_row *row)
{
	rows_walk *w = user;
	if (g.json) {
		printf(w->first ? "[" : ",[");
		for (size_t i = 0; i < row->count; i++) {
			if (i)
				putchar(',');
			json_str(stdout, row->values[i]);
		}
		putchar(']');
	} else {
		for (size_t i = 0; i < row->count; i++)
			printf("%s%s", i ? "\t" : "", row->values[i] ? row->values[i] : "");
		putchar('\n');
	}
	w->first = 0;
	return 0;
}

static int cmd_results(int argc, char **argv)
{
	const char *query = NULL;
	int64_t max_rows = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--query") && i + 1 < argc)
			query = argv[++i];
		else if (!strcmp(argv[i], "--max-rows") && i + 1 < argc)
			max_rows = strtoll(argv[++i], NULL, 10);
	}
	if (!query)
		return usage_of(argv[0], stderr);
	s3i_run *run = NULL;
	int rc = open_run(argc, argv, &run);
	if (!rc) {
		rows_walk w = { 1 };
		if (g.json)
			printf("{\"rows\":[");
		int qr = s3i_query_results(run, query, max_rows, print_row, &w);
		if (g.json)
			printf("]}\n");
		if (qr)
			rc = fail("reading query results", qr);
	}
	s3i_run_free(run);
	close_all();
	return rc;
}

static const command commands[] = {
	{ "init", cmd_init, "",
	  "Create, idempotently, the deployment's host resources for standalone use: the state\n"
	  "table, the consolidated bucket (encryption, public-access block, expiry of old runs) and\n"
	  "the queue with its dead-letter queue and policy." },
	{ "validate", cmd_validate, "INPUT.json",
	  "Check a run input and list every problem; touches nothing in AWS. --json prints the\n"
	  "canonical form of a valid input." },
	{ "run", cmd_run, "[--keep-on-failure] [--no-failure-report] INPUT.json",
	  "Run the whole Harvester for the input's run id: provision, configure inventory (or the\n"
	  "list snapshot), wait while ingesting deliveries, create the table, query, notify, tear\n"
	  "down. Running it again with the same input resumes an interrupted run. A progress bar\n"
	  "goes to stderr, the final status table to stdout. A failed run is recorded, reported\n"
	  "by e-mail and cleaned up; --keep-on-failure keeps its transient resources for\n"
	  "inspection (run cleanup afterwards), --no-failure-report sends no e-mail." },
	{ "status", cmd_status, "--run R | INPUT.json",
	  "Print the run's phase and every source bucket's status, reason and counts." },
	{ "cleanup", cmd_cleanup, "--run R | INPUT.json | --all",
	  "The Cleanup workflow: remove every transient resource of the run (inventory\n"
	  "configurations, staging buckets, stacks, topics). An unfinished run is cancelled first.\n"
	  "--all cleans every unfinished run of the deployment (S3Insights' manual_cleanup), going\n"
	  "on after a run whose cleanup fails. Safe to run any number of times." },
	{ "provision", cmd_provision, "--run R", "Run the provision stage of a started run." },
	{ "configure", cmd_configure, "--run R",
	  "Run the configure-inventory stage (or the list snapshot) of a run." },
	{ "ingest", cmd_ingest, "[--once]",
	  "Consume the deployment's queue: verify delivered manifests and partition their files,\n"
	  "for every run. --once: one receive, then stop; otherwise until the queue is empty." },
	{ "partition", cmd_partition, "--run R",
	  "Partition the files of the run's claimed manifests that are not counted yet." },
	{ "table", cmd_table, "--run R", "Create the Athena database, table and partitions." },
	{ "query", cmd_query, "--run R", "Run the input's analysis queries and record their results." },
	{ "results", cmd_results, "--run R --query NAME [--max-rows N]",
	  "Print a finished query's result rows (tab-separated, or JSON with --json)." },
	{ "notify", cmd_notify, "--run R", "Send the summary e-mail (or the failure report)." },
	{ "teardown", cmd_teardown, "--run R",
	  "Remove the run's transient resources and finish the run." },
};

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_global_help(FILE *f)
{
	fprintf(f,
		"usage: s3insights [--deployment D] [--region R] [--endpoint-url URL] [--json]\n"
		"                  [--quiet] [--verbose] COMMAND [ARGS]\n\n"
		"A complete, queryable snapshot of every S3 object across accounts and regions.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *h = commands[i].help, *nl = strchr(h, '\n');
		fprintf(f, "  %-10s %.*s\n", commands[i].name, (int)(nl ? nl - h : (long)strlen(h)), h);
	}
	fprintf(f,
		"\n--deployment defaults to $S3I_DEPLOYMENT. AWS settings (credentials, region,\n"
		"AWS_ENDPOINT_URL) come from the environment as for the AWS CLI.\n"
		"`s3insights COMMAND --help` describes a command. Exit status: 0 success, 1 failure,\n"
		"2 usage error or invalid input.\n");
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_global_help(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("s3insights %s\n", s3i_version_string());
			return 0;
		} else if (!strcmp(a, "--json")) {
			g.json = 1;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			g.quiet = 1;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			g.verbose = 1;
		} else if ((!strcmp(a, "--deployment") || !strcmp(a, "--region") ||
			   !strcmp(a, "--endpoint-url")) && i + 1 < argc) {
			const char **dst = a[2] == 'd' ? &g.deployment : a[2] == 'r' ? &g.region
				: &g.endpoint_url;
			*dst = argv[++i];
		} else {
			fprintf(stderr, "s3insights: unknown option %s\n", a);
			print_global_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		print_global_help(stderr);
		return EXIT_USAGE;
	}
	const command *c = find_command(argv[i]);
	if (!c) {
		fprintf(stderr, "s3insights: unknown command '%s'\n", argv[i]);
		print_global_help(stderr);
		return EXIT_USAGE;
	}
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	if (wants_help(sub_argc, sub_argv))
		return usage_of(c->name, stdout);
	/* command options may also come after the command */
	for (int j = 1; j < sub_argc; j++) {
		if (!strcmp(sub_argv[j], "--json"))
			g.json = 1;
		else if (!strcmp(sub_argv[j], "--quiet"))
			g.quiet = 1;
		else if (!strcmp(sub_argv[j], "--deployment") && j + 1 < sub_argc)
			g.deployment = sub_argv[++j];
	}
	if (s3i_global_init() < 0)
		return fail("initialising the library", S3I_ERROR);
	int rc = c->fn(sub_argc, sub_argv);
	s3i_global_shutdown();
	return rc;
}
