/*
 * The run input (DESIGN §3) and the Cleanup input: see include/s3insights/run_input.h and
 * docs/run-input.md.
 *
 * Validation walks the whole document and records every problem instead of stopping at the
 * first, so a user fixes an input in one go. A member given twice counts with its last value,
 * as in Python's json module (what S3Insights parses with).
 */
#include "s3insights/run_input.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/json.h"
#include "stages/manifest.h"
#include "stages/names.h"

#define MS_PER_HOUR INT64_C(3600000)
#define MAX_TIMEOUT_HOURS 8760.0      /* a year: anything longer is a typo */
#define MAX_EMAIL 254                 /* RFC 5321 path limit */
#define MAX_REGION 31                 /* fits the state store's char[32] */

static int64_t round_ms(double x);

/* The regions S3Insights defaults to, in its order. */
static const char *const default_regions[] = {
	"ap-south-1", "eu-west-3", "eu-west-2", "eu-west-1", "ap-northeast-2", "ap-northeast-1",
	"sa-east-1", "ca-central-1", "ap-southeast-1", "ap-southeast-2", "eu-central-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
};
#define N_DEFAULT_REGIONS (sizeof(default_regions) / sizeof(default_regions[0]))

typedef struct account {
	char *id;
	char **exclude;
	size_t n_exclude;
	char *role_name;          /* NULL: the deployment's role */
	char *external_id;        /* NULL: the top-level one */
} account;

typedef struct query_def {
	char *name;
	char *text;
} query_def;

struct s3i_run_input {
	const s3i_allocator *a;
	char *run_id;
	account *accounts;
	size_t n_accounts;
	query_def *queries;
	size_t n_queries;
	char *sender;
	char **recipients;
	size_t n_recipients;
	char *database;
	char *table;
	char **regions;
	size_t n_regions;
	int smoke_test;
	char *external_id;
	s3i_snapshot snapshot;
	s3i_inventory_format format;
	s3i_object_versions versions;
	int64_t timeout_ms;
	s3i_engine engine;
};

struct s3i_cleanup_input {
	const s3i_allocator *a;
	char *run_id;             /* NULL: every unfinished run */
};

typedef struct problem {
	char *field;
	char *message;
} problem;

struct s3i_input_problems {
	const s3i_allocator *a;
	problem *v;
	size_t n;
	size_t cap;
};

/* ------------------------------------------------------------------ problems */

typedef struct vctx {
	s3i_input_problems *p;
	int oom;                  /* a problem could not be recorded: the parse fails ENOMEM */
	const s3i_allocator *a;
} vctx;

static void add_problem(vctx *v, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static void add_problem(vctx *v, const char *field, const char *fmt, ...)
{
	s3i_input_problems *p = v->p;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		problem *nv = s3i_realloc(v->a, p->v, cap * sizeof(*nv));
		if (!nv) {
			v->oom = 1;
			return;
		}
		p->v = nv;
		p->cap = cap;
	}
	s3i_buf line;
	s3i_buf_init(&line, v->a);
	va_list ap;
	va_start(ap, fmt);
	int rc = s3i_buf_printf(&line, "%s: ", field);
	if (!rc)
		rc = s3i_buf_vprintf(&line, fmt, ap);
	va_end(ap);
	char *f = rc ? NULL : s3i_strdup(v->a, field);
	if (!f) {
		s3i_buf_dispose(&line);
		v->oom = 1;
		return;
	}
	p->v[p->n].field = f;
	p->v[p->n].message = s3i_buf_detach(&line);
	p->n++;
}

size_t s3i_input_problems_count(const s3i_input_problems *p)
{
	return p ? p->n : 0;
}

const char *s3i_input_problems_get_field(const s3i_input_problems *p, size_t i)
{
	return p && i < p->n ? p->v[i].field : NULL;
}

const char *s3i_input_problems_get_message(const s3i_input_problems *p, size_t i)
{
	return p && i < p->n ? p->v[i].message : NULL;
}

void s3i_input_problems_free(s3i_input_problems *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		s3i_free(p->a, p->v[i].field);
		s3i_free(p->a, p->v[i].message);
	}
	s3i_free(p->a, p->v);
	s3i_free(p->a, p);
}

/* ------------------------------------------------------------------ JSON helpers */

/* The last member named `key` (Python's json keeps the last of duplicates). */
static s3i_json member(s3i_json obj, const char *key)
{
	s3i_json found = NULL;
	size_t n = s3i_json_is_obj(obj) ? s3i_json_len(obj) : 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s3i_json_key_at(obj, i), key))
			found = s3i_json_val_at(obj, i);
	return found;
}

/* What a value is, for messages: a quoted string (cut, control characters as '?'), or its
 * kind. Outside text never breaks the one-line message. */
static const char *describe(s3i_json v, char *buf, size_t cap)
{
	if (s3i_json_is_str(v)) {
		const char *s = s3i_json_str(v);
		size_t n = strlen(s), keep = n > 48 ? 45 : n, o = 0;
		buf[o++] = '"';
		for (size_t i = 0; i < keep && o + 6 < cap; i++) {
			unsigned char c = (unsigned char)s[i];
			buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		if (keep < n) {
			memcpy(buf + o, "...", 3);
			o += 3;
		}
		buf[o++] = '"';
		buf[o] = '\0';
		return buf;
	}
	if (s3i_json_is_num(v))
		snprintf(buf, cap, "the number %.40s", s3i_json_num_text(v));
	else if (s3i_json_is_obj(v))
		snprintf(buf, cap, "an object");
	else if (s3i_json_is_arr(v))
		snprintf(buf, cap, "an array");
	else if (s3i_json_is_bool(v))
		snprintf(buf, cap, "%s", s3i_json_bool(v, 0) ? "true" : "false");
	else
		snprintf(buf, cap, "null");
	return buf;
}

/* A string member: *out points into the tree or stays NULL. Records a problem when the
 * member is present but not a string, or missing while required. */
static int get_string(vctx *v, s3i_json obj, const char *key, const char *field, int required,
	const char **out)
{
	s3i_json m = member(obj, key);
	*out = NULL;
	if (!m) {
		if (required)
			add_problem(v, field, "is required");
		return 0;
	}
	if (!s3i_json_is_str(m)) {
		char d[96];
		add_problem(v, field, "must be a string, not %s", describe(m, d, sizeof(d)));
		return 0;
	}
	if (!s3i_utf8_valid(s3i_json_str(m), strlen(s3i_json_str(m)))) {
		add_problem(v, field, "is not valid UTF-8");
		return 0;
	}
	*out = s3i_json_str(m);
	return 1;
}

/* An array member; NULL (and a problem when present or required) otherwise. */
static s3i_json get_array(vctx *v, s3i_json obj, const char *key, int required)
{
	s3i_json m = member(obj, key);
	if (!m) {
		if (required)
			add_problem(v, key, "is required");
		return NULL;
	}
	if (!s3i_json_is_arr(m)) {
		char d[96];
		add_problem(v, key, "must be an array, not %s", describe(m, d, sizeof(d)));
		return NULL;
	}
	return m;
}

/* ------------------------------------------------------------------ value rules */

static int is_lower_ident(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

/* An addr-spec as SES takes it: local@domain in printable 7-bit ASCII, no white space, no
 * display name. Returns NULL or what is wrong. */
static const char *email_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > MAX_EMAIL)
		return "is longer than 254 characters";
	const char *at = strrchr(s, '@');
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x80)
			return "is not 7-bit ASCII (SES needs the domain in punycode and an ASCII local part)";
		if (c <= ' ' || c == 0x7f)
			return "contains white space or a control character";
		if (strchr("<>()[],;:\\\"", c) && p < at)
			return "is not a plain address (write only local@domain, no display name)";
	}
	if (!at || at == s)
		return "is not an email address (local@domain)";
	const char *d = at + 1;
	size_t dn = strlen(d);
	if (dn == 0 || at - s > 64)
		return "is not an email address (local@domain)";
	if (!strchr(d, '.') || d[0] == '.' || d[0] == '-' || d[dn - 1] == '.' || d[dn - 1] == '-' ||
		strstr(d, ".."))
		return "has no valid domain";
	for (const char *p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '.' || *p == '-'))
			return "has no valid domain";
	return NULL;
}

/* aa-word(-word)*-N, as AWS region names are ("us-gov-west-1", "ap-southeast-2"). */
static int is_region(const char *s)
{
	size_t n = strlen(s);
	if (n < 4 || n > MAX_REGION)
		return 0;
	if (!(s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' && s[2] == '-'))
		return 0;
	const char *last = strrchr(s, '-');
	if (last == s + 2 || !last[1])
		return 0;
	for (const char *p = last + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	for (const char *p = s + 3; p < last; p++) {
		if (*p == '-') {
			if (p[-1] == '-')
				return 0;
		} else if (*p < 'a' || *p > 'z') {
			return 0;
		}
	}
	return last[-1] != '-';
}

/* IAM role name, optionally with a path: segments of [\w+=,.@-], the name 1-64 long. */
static int is_role_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 512 + 64)
		return 0;
	const char *name = strrchr(s, '/');
	name = name ? name + 1 : s;
	size_t nn = strlen(name);
	if (nn < 1 || nn > 64 || s[0] == '/')
		return 0;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (c == '/') {
			if (p[1] == '/')
				return 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr("_+=,.@-", c)))
			return 0;
	}
	return 1;
}

/* STS ExternalId: 2-1224 characters of [\w+=,.@:/-]. */
static int is_external_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 1224)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr("_+=,.@:/-", c)))
			return 0;
	}
	return 1;
}

static int ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* An enumerated string member, matched case-insensitively. Returns the index or -1. */
static int get_enum(vctx *v, s3i_json obj, const char *key, const char *const *names, int n,
	int dflt)
{
	const char *s;
	if (!get_string(v, obj, key, key, 0, &s))
		return member(obj, key) ? -1 : dflt;
	for (int i = 0; i < n; i++)
		if (ieq(s, names[i]))
			return i;
	char d[96], list[128] = "";
	for (int i = 0; i < n; i++) {
		strncat(list, i ? (i == n - 1 ? " or \"" : ", \"") : "\"", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
		strncat(list, "\"", sizeof(list) - strlen(list) - 1);
	}
	add_problem(v, key, "%s is not %s", describe(member(obj, key), d, sizeof(d)), list);
	return -1;
}

static const char *const snapshot_names[] = { "inventory", "list" };
static const char *const format_names[] = { "CSV", "ORC", "Parquet" };
static const char *const versions_names[] = { "All", "Current" };
static const char *const engine_names[] = { "athena", "local" };

const char *s3i_snapshot_name(s3i_snapshot s)
{
	return (unsigned)s < 2 ? snapshot_names[s] : "";
}

const char *s3i_inventory_format_name(s3i_inventory_format f)
{
	return (unsigned)f < 3 ? format_names[f] : "";
}

const char *s3i_object_versions_name(s3i_object_versions v)
{
	return (unsigned)v < 2 ? versions_names[v] : "";
}

const char *s3i_engine_name(s3i_engine e)
{
	return (unsigned)e < 2 ? engine_names[e] : "";
}

/* ------------------------------------------------------------------ building */

static void free_strv(const s3i_allocator *a, char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		s3i_free(a, v[i]);
	s3i_free(a, v);
}

void s3i_run_input_free(s3i_run_input *in)
{
	if (!in)
		return;
	const s3i_allocator *a = in->a;
	for (size_t i = 0; in->accounts && i < in->n_accounts; i++) {
		s3i_free(a, in->accounts[i].id);
		free_strv(a, in->accounts[i].exclude, in->accounts[i].n_exclude);
		s3i_free(a, in->accounts[i].role_name);
		s3i_free(a, in->accounts[i].external_id);
	}
	s3i_free(a, in->accounts);
	for (size_t i = 0; in->queries && i < in->n_queries; i++) {
		s3i_free(a, in->queries[i].name);
		s3i_free(a, in->queries[i].text);
	}
	s3i_free(a, in->queries);
	s3i_free(a, in->run_id);
	s3i_free(a, in->sender);
	free_strv(a, in->recipients, in->n_recipients);
	s3i_free(a, in->database);
	s3i_free(a, in->table);
	free_strv(a, in->regions, in->n_regions);
	s3i_free(a, in->external_id);
	s3i_free(a, in);
}

/* Copy s into *slot; records out-of-memory on the context. */
static void dup_into(vctx *v, char **slot, const char *s)
{
	if (!s)
		return;
	*slot = s3i_strdup(v->a, s);
	if (!*slot)
		v->oom = 1;
}

static char **alloc_strv(vctx *v, size_t n)
{
	char **p = s3i_calloc(v->a, n ? n : 1, sizeof(char *));
	if (!p)
		v->oom = 1;
	return p;
}

static void check_run_id(vctx *v, s3i_json root, const char **out)
{
	const char *r;
	*out = NULL;
	if (!get_string(v, root, "run_id", "run_id", 1, &r))
		return;
	if (s3i_names_check_run_id(r, NULL) == S3I_OK) {
		*out = r;
		return;
	}
	char d[96];
	add_problem(v, "run_id", "%s must be 1-8 characters of a-z and 0-9%s",
		describe(member(root, "run_id"), d, sizeof(d)),
		has_upper(r) ? " (no uppercase: it ends up in bucket names)" : "");
}

/* An account id: a string of 12 digits, or a number written with 12 digits (S3Insights
 * formats it into ARNs either way). */
static const char *account_id(vctx *v, s3i_json acct, const char *field, char buf[13])
{
	s3i_json m = member(acct, "id");
	char d[96];
	if (!m) {
		add_problem(v, field, "is required");
		return NULL;
	}
	const char *s = s3i_json_is_str(m) ? s3i_json_str(m) : s3i_json_num_text(m);
	if (!s || (!s3i_json_is_str(m) && !s3i_json_is_num(m))) {
		add_problem(v, field, "must be a string of 12 digits, not %s", describe(m, d, sizeof(d)));
		return NULL;
	}
	if (s3i_names_check_account(s, NULL) != S3I_OK) {
		add_problem(v, field, "%s is not a 12-digit account id", describe(m, d, sizeof(d)));
		return NULL;
	}
	memcpy(buf, s, 13);
	return buf;
}

static void parse_exclude(vctx *v, s3i_json acct, size_t ai, account *out)
{
	char field[64];
	snprintf(field, sizeof(field), "accounts[%zu].exclude", ai);
	s3i_json m = member(acct, "exclude");
	if (!m)
		return;
	if (!s3i_json_is_arr(m)) {
		char d[96];
		add_problem(v, field, "must be an array of bucket names, not %s",
			describe(m, d, sizeof(d)));
		return;
	}
	size_t n = s3i_json_len(m);
	char **ex = alloc_strv(v, n);
	if (!ex)
		return;
	size_t k = 0;
	for (size_t j = 0; j < n; j++) {
		s3i_json e = s3i_json_at(m, j);
		if (!s3i_json_is_str(e) || !s3i_utf8_valid(s3i_json_str(e), strlen(s3i_json_str(e)))) {
			char d[96], f[96];
			snprintf(f, sizeof(f), "%s[%zu]", field, j);
			if (s3i_json_is_str(e))
				add_problem(v, f, "is not valid UTF-8");
			else
				add_problem(v, f, "must be a bucket name (a string), not %s",
					describe(e, d, sizeof(d)));
			continue;
		}
		dup_into(v, &ex[k], s3i_json_str(e));
		if (ex[k])
			k++;
	}
	out->exclude = ex;
	out->n_exclude = k;
}

/* Fold a repeated account into the first entry: excludes united; a role name or external
 * id given for both must agree. */
static void merge_account(vctx *v, account *first, size_t fi, account *dup, size_t di)
{
	char field[64];
	if (dup->role_name && first->role_name && strcmp(dup->role_name, first->role_name)) {
		snprintf(field, sizeof(field), "accounts[%zu].role_name", di);
		add_problem(v, field, "account %s is listed again (accounts[%zu]) with another role_name",
			first->id, fi);
	} else if (dup->role_name && !first->role_name) {
		first->role_name = dup->role_name;
		dup->role_name = NULL;
	}
	if (dup->external_id && first->external_id && strcmp(dup->external_id, first->external_id)) {
		snprintf(field, sizeof(field), "accounts[%zu].external_id", di);
		add_problem(v, field,
			"account %s is listed again (accounts[%zu]) with another external_id", first->id, fi);
	} else if (dup->external_id && !first->external_id) {
		first->external_id = dup->external_id;
		dup->external_id = NULL;
	}
	if (!dup->n_exclude)
		return;
	char **ex = s3i_realloc(v->a, first->exclude,
		(first->n_exclude + dup->n_exclude) * sizeof(char *));
	if (!ex) {
		v->oom = 1;
		return;
	}
	first->exclude = ex;
	for (size_t j = 0; j < dup->n_exclude; j++) {
		int seen = 0;
		for (size_t k = 0; k < first->n_exclude && !seen; k++)
			seen = !strcmp(first->exclude[k], dup->exclude[j]);
		if (seen) {
			s3i_free(v->a, dup->exclude[j]);
		} else {
			first->exclude[first->n_exclude++] = dup->exclude[j];
		}
		dup->exclude[j] = NULL;
	}
	dup->n_exclude = 0;
}

static void free_account(const s3i_allocator *a, account *ac)
{
	s3i_free(a, ac->id);
	free_strv(a, ac->exclude, ac->n_exclude);
	s3i_free(a, ac->role_name);
	s3i_free(a, ac->external_id);
	memset(ac, 0, sizeof(*ac));
}

static void parse_accounts(vctx *v, s3i_json root, s3i_run_input *in)
{
	s3i_json arr = get_array(v, root, "accounts", 1);
	if (!arr)
		return;
	size_t n = s3i_json_len(arr);
	in->accounts = s3i_calloc(v->a, n ? n : 1, sizeof(account));
	if (!in->accounts) {
		v->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		s3i_json acct = s3i_json_at(arr, i);
		char field[64], d[96], buf[13];
		snprintf(field, sizeof(field), "accounts[%zu]", i);
		if (!s3i_json_is_obj(acct)) {
			add_problem(v, field, "must be an object like {\"id\": \"123456789012\"}, not %s",
				describe(acct, d, sizeof(d)));
			continue;
		}
		account ac = { 0 };
		snprintf(field, sizeof(field), "accounts[%zu].id", i);
		const char *id = account_id(v, acct, field, buf);
		parse_exclude(v, acct, i, &ac);
		const char *role, *ext;
		snprintf(field, sizeof(field), "accounts[%zu].role_name", i);
		if (get_string(v, acct, "role_name", field, 0, &role) && !is_role_name(role)) {
			add_problem(v, field, "%s is not an IAM role name (1-64 characters of a-z A-Z 0-9 "
				"and _+=,.@-, optionally after a path)", describe(member(acct, "role_name"), d,
				sizeof(d)));
			role = NULL;
		}
		snprintf(field, sizeof(field), "accounts[%zu].external_id", i);
		if (get_string(v, acct, "external_id", field, 0, &ext) && !is_external_id(ext)) {
			add_problem(v, field, "is not a valid external id (2-1224 characters of a-z A-Z 0-9 "
				"and _+=,.@:/-)");
			ext = NULL;
		}
		dup_into(v, &ac.id, id);
		dup_into(v, &ac.role_name, role);
		dup_into(v, &ac.external_id, ext);
		if (!ac.id) {
			free_account(v->a, &ac);
			continue;
		}
		size_t first = 0;
		while (first < in->n_accounts && strcmp(in->accounts[first].id, ac.id))
			first++;
		if (first < in->n_accounts) {
			merge_account(v, &in->accounts[first], first, &ac, i);
			free_account(v->a, &ac);
		} else {
			in->accounts[in->n_accounts++] = ac;
		}
	}
}

static void parse_queries(vctx *v, s3i_json root, s3i_run_input *in)
{
	s3i_json arr = get_array(v, root, "athena_queries", 1);
	if (!arr)
		return;
	size_t n = s3i_json_len(arr);
	in->queries = s3i_calloc(v->a, n ? n : 1, sizeof(query_def));
	if (!in->queries) {
		v->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		s3i_json q = s3i_json_at(arr, i);
		char field[64], d[96];
		snprintf(field, sizeof(field), "athena_queries[%zu]", i);
		if (!s3i_json_is_obj(q)) {
			add_problem(v, field, "must be an object like {\"name\": \"...\", \"query\": \"...\"}, "
				"not %s", describe(q, d, sizeof(d)));
			continue;
		}
		const char *name, *text;
		snprintf(field, sizeof(field), "athena_queries[%zu].name", i);
		if (get_string(v, q, "name", field, 1, &name) && !*name) {
			add_problem(v, field, "is empty");
			name = NULL;
		}
		snprintf(field, sizeof(field), "athena_queries[%zu].query", i);
		if (get_string(v, q, "query", field, 1, &text) && !*text) {
			add_problem(v, field, "is empty");
			text = NULL;
		}
		if (!name || !text)
			continue;
		query_def *out = &in->queries[in->n_queries];
		dup_into(v, &out->name, name);
		dup_into(v, &out->text, text);
		in->n_queries++;
	}
}

static void parse_recipients(vctx *v, s3i_json root, s3i_run_input *in)
{
	s3i_json arr = get_array(v, root, "recipient_email_addresses", 1);
	if (!arr)
		return;
	size_t n = s3i_json_len(arr);
	if (n == 0) {
		add_problem(v, "recipient_email_addresses", "is empty: name at least one recipient");
		return;
	}
	in->recipients = alloc_strv(v, n);
	if (!in->recipients)
		return;
	for (size_t i = 0; i < n; i++) {
		s3i_json e = s3i_json_at(arr, i);
		char field[64], d[96];
		snprintf(field, sizeof(field), "recipient_email_addresses[%zu]", i);
		if (!s3i_json_is_str(e)) {
			add_problem(v, field, "must be an email address (a string), not %s",
				describe(e, d, sizeof(d)));
			continue;
		}
		const char *why = email_problem(s3i_json_str(e));
		if (why) {
			add_problem(v, field, "%s %s", describe(e, d, sizeof(d)), why);
			continue;
		}
		dup_into(v, &in->recipients[in->n_recipients], s3i_json_str(e));
		if (in->recipients[in->n_recipients])
			in->n_recipients++;
	}
}

static void parse_regions(vctx *v, s3i_json root, s3i_run_input *in)
{
	s3i_json arr = get_array(v, root, "supported_regions", 0);
	if (!arr) {
		if (member(root, "supported_regions"))
			return;
		in->regions = alloc_strv(v, N_DEFAULT_REGIONS);
		for (size_t i = 0; in->regions && i < N_DEFAULT_REGIONS; i++) {
			dup_into(v, &in->regions[i], default_regions[i]);
			if (in->regions[i])
				in->n_regions++;
		}
		return;
	}
	size_t n = s3i_json_len(arr);
	in->regions = alloc_strv(v, n);
	if (!in->regions)
		return;
	for (size_t i = 0; i < n; i++) {
		s3i_json e = s3i_json_at(arr, i);
		char field[64], d[96];
		snprintf(field, sizeof(field), "supported_regions[%zu]", i);
		if (!s3i_json_is_str(e) || !is_region(s3i_json_str(e))) {
			add_problem(v, field, "%s is not an AWS region name like \"us-east-1\"",
				describe(e, d, sizeof(d)));
			continue;
		}
		int seen = 0;
		for (size_t k = 0; k < in->n_regions && !seen; k++)
			seen = !strcmp(in->regions[k], s3i_json_str(e));
		if (seen)
			continue;     /* listed twice: once is enough */
		dup_into(v, &in->regions[in->n_regions], s3i_json_str(e));
		if (in->regions[in->n_regions])
			in->n_regions++;
	}
}

/* database / table: [a-z0-9_]{1,64}. Athena folds identifiers to lowercase, so uppercase
 * letters (which S3Insights passes on and Athena accepts) are folded here too. */
static void parse_ident(vctx *v, s3i_json root, const char *key, const char *dflt, char **slot)
{
	const char *s;
	if (!get_string(v, root, key, key, 0, &s)) {
		if (!member(root, key))
			dup_into(v, slot, dflt);
		return;
	}
	char low[65];
	size_t n = strlen(s);
	int ok = n >= 1 && n <= 64;
	for (size_t i = 0; ok && i <= n; i++)
		low[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
	if (!ok || !is_lower_ident(low)) {
		char d[96];
		add_problem(v, key, "%s is not a safe SQL identifier: use 1-64 characters of a-z, 0-9 "
			"and _", describe(member(root, key), d, sizeof(d)));
		return;
	}
	dup_into(v, slot, low);
}

static void parse_timeout(vctx *v, s3i_json root, s3i_run_input *in)
{
	s3i_json m = member(root, "inventory_timeout_hours");
	in->timeout_ms = S3I_RUN_INPUT_DEFAULT_TIMEOUT_HOURS * MS_PER_HOUR;
	if (!m)
		return;
	char d[96];
	double h = s3i_json_is_num(m) ? s3i_json_double(m, NAN) : NAN;
	if (isnan(h) || h <= 0 || h > MAX_TIMEOUT_HOURS || round_ms(h * (double)MS_PER_HOUR) < 1) {
		add_problem(v, "inventory_timeout_hours", "%s is not a number of hours above 0 and at "
			"most 8760", describe(m, d, sizeof(d)));
		return;
	}
	in->timeout_ms = round_ms(h * (double)MS_PER_HOUR);
}

static void parse_options(vctx *v, s3i_json root, s3i_run_input *in)
{
	s3i_json m = member(root, "is_smoke_test");
	char d[96];
	if (m && !s3i_json_is_bool(m))
		add_problem(v, "is_smoke_test", "must be true or false, not %s", describe(m, d, sizeof(d)));
	in->smoke_test = m ? s3i_json_bool(m, 0) : 0;

	const char *ext;
	if (get_string(v, root, "external_id", "external_id", 0, &ext)) {
		if (is_external_id(ext))
			dup_into(v, &in->external_id, ext);
		else
			add_problem(v, "external_id", "is not a valid external id (2-1224 characters of "
				"a-z A-Z 0-9 and _+=,.@:/-)");
	}

	int snap = get_enum(v, root, "snapshot", snapshot_names, 2, S3I_SNAPSHOT_INVENTORY);
	int fmt = get_enum(v, root, "inventory_format", format_names, 3, S3I_INVENTORY_FORMAT_CSV);
	int ver = get_enum(v, root, "object_versions", versions_names, 2, S3I_OBJECT_VERSIONS_ALL);
	int eng = get_enum(v, root, "engine", engine_names, 2, S3I_ENGINE_ATHENA);
	/* A smoke test is always a list snapshot, and a list snapshot is always written as CSV:
	 * a smoke test copied from a real input (as S3Insights' guide says to make one) works. */
	if (in->smoke_test && snap >= 0)
		snap = S3I_SNAPSHOT_LIST;
	if (snap == S3I_SNAPSHOT_LIST && fmt >= 0)
		fmt = S3I_INVENTORY_FORMAT_CSV;
	in->snapshot = snap < 0 ? S3I_SNAPSHOT_INVENTORY : (s3i_snapshot)snap;
	in->format = fmt < 0 ? S3I_INVENTORY_FORMAT_CSV : (s3i_inventory_format)fmt;
	in->versions = ver < 0 ? S3I_OBJECT_VERSIONS_ALL : (s3i_object_versions)ver;
	in->engine = eng < 0 ? S3I_ENGINE_ATHENA : (s3i_engine)eng;
	parse_timeout(v, root, in);
}

/* Record the outcome of a failed parse: the problems joined into the thread's error. */
static int fail(vctx *v, int code, s3i_input_problems **problems, const char *what)
{
	if (v->oom)
		code = S3I_ENOMEM;
	if (code == S3I_ENOMEM) {
		s3i_err(NULL, S3I_ENOMEM, what, "%s: out of memory", what);
	} else {
		char joined[900];
		size_t o = 0, shown = 0;
		joined[0] = '\0';
		for (; shown < v->p->n; shown++) {
			const char *m = v->p->v[shown].message;
			size_t need = strlen(m) + (shown ? 2 : 0);
			if (o + need + 24 >= sizeof(joined))
				break;
			o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", shown ? "; " : "", m);
		}
		if (shown < v->p->n)
			snprintf(joined + o, sizeof(joined) - o, "%s(and %zu more)", shown ? "; " : "",
				v->p->n - shown);
		s3i_err(NULL, code, v->p->n ? v->p->v[0].field : what, "%s is invalid: %s", what, joined);
	}
	if (problems && code != S3I_ENOMEM) {
		*problems = v->p;
	} else {
		s3i_input_problems_free(v->p);
		if (problems)
			*problems = NULL;
	}
	return code;
}

/* Parse the text; on failure record it as the one problem of field "$". */
static int parse_doc(vctx *v, const char *json, size_t len, const char *what, s3i_json *root)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = json ? s3i_json_parse(root, json, len, what, &e) : S3I_EINVALID;
	if (rc == S3I_ENOMEM) {
		v->oom = 1;
		return rc;
	}
	if (rc) {
		add_problem(v, "$", "%s", json ? e.message : "no document given");
		return S3I_EPARSE;
	}
	if (!s3i_json_is_obj(*root)) {
		char d[96];
		add_problem(v, "$", "the %s must be a JSON object, not %s", what,
			describe(*root, d, sizeof(d)));
		s3i_json_free(*root);
		*root = NULL;
		return S3I_EINVALID;
	}
	return S3I_OK;
}

static int start(vctx *v, const s3i_allocator *alloc)
{
	v->a = alloc ? alloc : s3i_allocator_default();
	v->oom = 0;
	v->p = s3i_calloc(v->a, 1, sizeof(*v->p));
	if (!v->p)
		return s3i_err(NULL, S3I_ENOMEM, "run input", "run input: out of memory");
	v->p->a = v->a;
	return S3I_OK;
}

int s3i_run_input_parse(s3i_run_input **out, const char *json, size_t len,
	const s3i_allocator *alloc, s3i_input_problems **problems)
{
	static const char what[] = "run input";
	if (problems)
		*problems = NULL;
	if (!out)
		return s3i_err(NULL, S3I_EINVALID, what, "s3i_run_input_parse: out is NULL");
	vctx v;
	int rc = start(&v, alloc);
	if (rc)
		return rc;
	s3i_json root = NULL;
	rc = parse_doc(&v, json, len, what, &root);
	if (rc)
		return fail(&v, rc, problems, what);

	s3i_run_input *in = s3i_calloc(v.a, 1, sizeof(*in));
	if (!in) {
		s3i_json_free(root);
		v.oom = 1;
		return fail(&v, S3I_ENOMEM, problems, what);
	}
	in->a = v.a;
	const char *run_id, *sender;
	check_run_id(&v, root, &run_id);
	dup_into(&v, &in->run_id, run_id);
	parse_accounts(&v, root, in);
	parse_queries(&v, root, in);
	if (get_string(&v, root, "sender_email_address", "sender_email_address", 1, &sender)) {
		const char *why = email_problem(sender);
		char d[96];
		if (why)
			add_problem(&v, "sender_email_address", "%s %s",
				describe(member(root, "sender_email_address"), d, sizeof(d)), why);
		else
			dup_into(&v, &in->sender, sender);
	}
	parse_recipients(&v, root, in);
	parse_ident(&v, root, "athena_database_name", S3I_RUN_INPUT_DEFAULT_DATABASE, &in->database);
	char dflt_table[32] = "";
	if (run_id)
		snprintf(dflt_table, sizeof(dflt_table), "%sinventorytable", run_id);
	parse_ident(&v, root, "athena_table_name", run_id ? dflt_table : NULL, &in->table);
	parse_regions(&v, root, in);
	parse_options(&v, root, in);
	s3i_json_free(root);

	if (v.oom || v.p->n) {
		s3i_run_input_free(in);
		return fail(&v, S3I_EINVALID, problems, what);
	}
	s3i_input_problems_free(v.p);
	*out = in;
	return S3I_OK;
}

/* ------------------------------------------------------------------ canonical JSON */

/* Round a non-negative number of milliseconds (no libm: the library does not link it). */
static int64_t round_ms(double x)
{
	return x <= 0 ? 0 : (int64_t)(x + 0.5);
}

/* The shortest text of hours that reads back as the same milliseconds. */
static void write_hours(s3i_json_writer *w, int64_t ms)
{
	if (ms % MS_PER_HOUR == 0) {
		s3i_jw_i64(w, ms / MS_PER_HOUR);
		return;
	}
	double h = (double)ms / (double)MS_PER_HOUR;
	char txt[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(txt, sizeof(txt), "%.*g", prec, h);
		if (round_ms(strtod(txt, NULL) * (double)MS_PER_HOUR) == ms)
			break;
	}
	s3i_jw_raw(w, txt);
}

static void write_strv(s3i_json_writer *w, const char *key, char **v, size_t n)
{
	s3i_jw_key(w, key);
	s3i_jw_arr_open(w);
	for (size_t i = 0; i < n; i++)
		s3i_jw_str(w, v[i]);
	s3i_jw_arr_close(w);
}

int s3i_run_input_to_json(const s3i_run_input *in, s3i_buf *out)
{
	if (!in || !out)
		return S3I_EINVALID;
	if (!out->alloc)
		out->alloc = in->a;
	size_t mark = out->size;
	s3i_json_writer w;
	s3i_jw_init(&w, out);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "run_id");
	s3i_jw_str(&w, in->run_id);
	s3i_jw_key(&w, "accounts");
	s3i_jw_arr_open(&w);
	for (size_t i = 0; i < in->n_accounts; i++) {
		const account *ac = &in->accounts[i];
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "id");
		s3i_jw_str(&w, ac->id);
		write_strv(&w, "exclude", ac->exclude, ac->n_exclude);
		if (ac->role_name) {
			s3i_jw_key(&w, "role_name");
			s3i_jw_str(&w, ac->role_name);
		}
		if (ac->external_id) {
			s3i_jw_key(&w, "external_id");
			s3i_jw_str(&w, ac->external_id);
		}
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_key(&w, "athena_queries");
	s3i_jw_arr_open(&w);
	for (size_t i = 0; i < in->n_queries; i++) {
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "name");
		s3i_jw_str(&w, in->queries[i].name);
		s3i_jw_key(&w, "query");
		s3i_jw_str(&w, in->queries[i].text);
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_key(&w, "sender_email_address");
	s3i_jw_str(&w, in->sender);
	write_strv(&w, "recipient_email_addresses", in->recipients, in->n_recipients);
	s3i_jw_key(&w, "athena_database_name");
	s3i_jw_str(&w, in->database);
	s3i_jw_key(&w, "athena_table_name");
	s3i_jw_str(&w, in->table);
	write_strv(&w, "supported_regions", in->regions, in->n_regions);
	s3i_jw_key(&w, "is_smoke_test");
	s3i_jw_bool(&w, in->smoke_test);
	if (in->external_id) {
		s3i_jw_key(&w, "external_id");
		s3i_jw_str(&w, in->external_id);
	}
	s3i_jw_key(&w, "snapshot");
	s3i_jw_str(&w, s3i_snapshot_name(in->snapshot));
	s3i_jw_key(&w, "inventory_format");
	s3i_jw_str(&w, s3i_inventory_format_name(in->format));
	s3i_jw_key(&w, "object_versions");
	s3i_jw_str(&w, s3i_object_versions_name(in->versions));
	s3i_jw_key(&w, "inventory_timeout_hours");
	write_hours(&w, in->timeout_ms);
	s3i_jw_key(&w, "engine");
	s3i_jw_str(&w, s3i_engine_name(in->engine));
	s3i_jw_obj_close(&w);
	int rc = s3i_jw_finish(&w);
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

int s3i_run_input_equal(const s3i_run_input *a, const s3i_run_input *b)
{
	if (!a || !b)
		return 0;
	s3i_buf x = S3I_BUF_INIT, y = S3I_BUF_INIT;
	int eq = !s3i_run_input_to_json(a, &x) && !s3i_run_input_to_json(b, &y) &&
		x.size == y.size && !memcmp(x.ptr, y.ptr, x.size);
	s3i_buf_dispose(&x);
	s3i_buf_dispose(&y);
	return eq;
}

/* ------------------------------------------------------------------ getters */

const char *s3i_run_input_get_run_id(const s3i_run_input *in)
{
	return in ? in->run_id : NULL;
}

size_t s3i_run_input_get_account_count(const s3i_run_input *in)
{
	return in ? in->n_accounts : 0;
}

static const account *acct_at(const s3i_run_input *in, size_t i)
{
	return in && i < in->n_accounts ? &in->accounts[i] : NULL;
}

const char *s3i_run_input_get_account_id(const s3i_run_input *in, size_t i)
{
	const account *ac = acct_at(in, i);
	return ac ? ac->id : NULL;
}

size_t s3i_run_input_get_exclude_count(const s3i_run_input *in, size_t i)
{
	const account *ac = acct_at(in, i);
	return ac ? ac->n_exclude : 0;
}

const char *s3i_run_input_get_exclude(const s3i_run_input *in, size_t i, size_t j)
{
	const account *ac = acct_at(in, i);
	return ac && j < ac->n_exclude ? ac->exclude[j] : NULL;
}

int s3i_run_input_is_excluded(const s3i_run_input *in, size_t i, const char *bucket)
{
	const account *ac = acct_at(in, i);
	for (size_t j = 0; ac && bucket && j < ac->n_exclude; j++)
		if (!strcmp(ac->exclude[j], bucket))
			return 1;
	return 0;
}

const char *s3i_run_input_get_role_name(const s3i_run_input *in, size_t i)
{
	const account *ac = acct_at(in, i);
	return ac ? ac->role_name : NULL;
}

const char *s3i_run_input_get_account_external_id(const s3i_run_input *in, size_t i)
{
	const account *ac = acct_at(in, i);
	if (!ac)
		return NULL;
	return ac->external_id ? ac->external_id : in->external_id;
}

int64_t s3i_run_input_find_account(const s3i_run_input *in, const char *id)
{
	for (size_t i = 0; in && id && i < in->n_accounts; i++)
		if (!strcmp(in->accounts[i].id, id))
			return (int64_t)i;
	return -1;
}

size_t s3i_run_input_get_query_count(const s3i_run_input *in)
{
	return in ? in->n_queries : 0;
}

const char *s3i_run_input_get_query_name(const s3i_run_input *in, size_t i)
{
	return in && i < in->n_queries ? in->queries[i].name : NULL;
}

const char *s3i_run_input_get_query_text(const s3i_run_input *in, size_t i)
{
	return in && i < in->n_queries ? in->queries[i].text : NULL;
}

int s3i_query_substitute(s3i_buf *out, const char *query, const char *database,
	const char *table)
{
	static const char tbl[] = "{ATHENA_TABLE}", db[] = "{ATHENA_DATABASE}";
	if (!out || !query || !database || !table)
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = S3I_OK;
	const char *p = query;
	while (!rc && *p) {
		const char *t = strstr(p, tbl), *d = strstr(p, db);
		const char *hit = t && (!d || t < d) ? t : d;
		if (!hit) {
			rc = s3i_buf_puts(out, p);
			break;
		}
		rc = s3i_buf_put(out, p, (size_t)(hit - p));
		if (!rc)
			rc = s3i_buf_puts(out, hit == t ? table : database);
		p = hit + (hit == t ? sizeof(tbl) : sizeof(db)) - 1;
	}
	if (!rc && !out->ptr)
		rc = s3i_buf_puts(out, "");
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

int s3i_run_input_render_query(const s3i_run_input *in, size_t i, s3i_buf *out)
{
	if (!in || i >= in->n_queries || !out)
		return S3I_EINVALID;
	if (!out->alloc)
		out->alloc = in->a;
	return s3i_query_substitute(out, in->queries[i].text, in->database, in->table);
}

const char *s3i_run_input_get_sender(const s3i_run_input *in)
{
	return in ? in->sender : NULL;
}

size_t s3i_run_input_get_recipient_count(const s3i_run_input *in)
{
	return in ? in->n_recipients : 0;
}

const char *s3i_run_input_get_recipient(const s3i_run_input *in, size_t i)
{
	return in && i < in->n_recipients ? in->recipients[i] : NULL;
}

const char *s3i_run_input_get_database(const s3i_run_input *in)
{
	return in ? in->database : NULL;
}

const char *s3i_run_input_get_table(const s3i_run_input *in)
{
	return in ? in->table : NULL;
}

size_t s3i_run_input_get_region_count(const s3i_run_input *in)
{
	return in ? in->n_regions : 0;
}

const char *s3i_run_input_get_region(const s3i_run_input *in, size_t i)
{
	return in && i < in->n_regions ? in->regions[i] : NULL;
}

int s3i_run_input_is_region_supported(const s3i_run_input *in, const char *region)
{
	for (size_t i = 0; in && region && i < in->n_regions; i++)
		if (!strcmp(in->regions[i], region))
			return 1;
	return 0;
}

int s3i_run_input_is_smoke_test(const s3i_run_input *in)
{
	return in ? in->smoke_test : 0;
}

const char *s3i_run_input_get_external_id(const s3i_run_input *in)
{
	return in ? in->external_id : NULL;
}

s3i_snapshot s3i_run_input_get_snapshot(const s3i_run_input *in)
{
	return in ? in->snapshot : S3I_SNAPSHOT_INVENTORY;
}

s3i_inventory_format s3i_run_input_get_inventory_format(const s3i_run_input *in)
{
	return in ? in->format : S3I_INVENTORY_FORMAT_CSV;
}

s3i_object_versions s3i_run_input_get_object_versions(const s3i_run_input *in)
{
	return in ? in->versions : S3I_OBJECT_VERSIONS_ALL;
}

int64_t s3i_run_input_get_inventory_timeout_ms(const s3i_run_input *in)
{
	return in ? in->timeout_ms : 0;
}

s3i_engine s3i_run_input_get_engine(const s3i_run_input *in)
{
	return in ? in->engine : S3I_ENGINE_ATHENA;
}

/* ------------------------------------------------------------------ Cleanup input */

int s3i_cleanup_input_parse(s3i_cleanup_input **out, const char *json, size_t len,
	const s3i_allocator *alloc, s3i_input_problems **problems)
{
	static const char what[] = "cleanup input";
	if (problems)
		*problems = NULL;
	if (!out)
		return s3i_err(NULL, S3I_EINVALID, what, "s3i_cleanup_input_parse: out is NULL");
	vctx v;
	int rc = start(&v, alloc);
	if (rc)
		return rc;
	s3i_json root = NULL;
	rc = parse_doc(&v, json, len, what, &root);
	if (rc)
		return fail(&v, rc, problems, what);

	s3i_json manual = member(root, "manual_cleanup");
	char d[96];
	if (manual && !s3i_json_is_bool(manual))
		add_problem(&v, "manual_cleanup", "must be true or false, not %s",
			describe(manual, d, sizeof(d)));
	const char *run_id = NULL;
	if (member(root, "run_id"))
		check_run_id(&v, root, &run_id);
	else if (!manual || !s3i_json_bool(manual, 0))
		add_problem(&v, "$", "say what to clean up: \"manual_cleanup\": true (every unfinished "
			"run) or a \"run_id\"");

	s3i_cleanup_input *c = NULL;
	if (!v.p->n) {
		c = s3i_calloc(v.a, 1, sizeof(*c));
		if (c) {
			c->a = v.a;
			dup_into(&v, &c->run_id, run_id);
		} else {
			v.oom = 1;
		}
	}
	s3i_json_free(root);
	if (v.oom || v.p->n) {
		s3i_cleanup_input_free(c);
		return fail(&v, S3I_EINVALID, problems, what);
	}
	s3i_input_problems_free(v.p);
	*out = c;
	return S3I_OK;
}

const char *s3i_cleanup_input_get_run_id(const s3i_cleanup_input *c)
{
	return c ? c->run_id : NULL;
}

void s3i_cleanup_input_free(s3i_cleanup_input *c)
{
	if (!c)
		return;
	s3i_free(c->a, c->run_id);
	s3i_free(c->a, c);
}
