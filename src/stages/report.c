/* The run report of the notify stage: see report.h. */
#include "stages/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/str.h"

#define CELL_MAX_CHARS 200        /* a result cell shown in the mail */
#define REASON_MAX_CHARS 1000
#define NAME_MAX_CHARS 300

/* ------------------------------------------------------------------ values */

/* One line of valid UTF-8, escaped for HTML when `html`. */
static int put_clean(s3i_buf *out, const char *s, size_t max_chars, int html)
{
	if (!s)
		return S3I_OK;
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), chars = 0;
	int rc = S3I_OK;
	for (size_t i = 0; i < len && !rc;) {
		if (max_chars && chars == max_chars)
			return s3i_buf_puts(out, "...");
		size_t n = s3i_utf8_seq(p + i, len - i);
		chars++;
		if (!n) {                                  /* not UTF-8: U+FFFD */
			rc = s3i_buf_puts(out, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		unsigned char c = p[i];
		if (n == 1 && (c < 0x20 || c == 0x7f))
			rc = s3i_buf_putc(out, ' ');
		else if (n == 2 && c == 0xC2 && p[i + 1] < 0xA0)   /* C1 controls */
			rc = s3i_buf_putc(out, ' ');
		else if (html && c == '&')
			rc = s3i_buf_puts(out, "&amp;");
		else if (html && c == '<')
			rc = s3i_buf_puts(out, "&lt;");
		else if (html && c == '>')
			rc = s3i_buf_puts(out, "&gt;");
		else if (html && c == '"')
			rc = s3i_buf_puts(out, "&quot;");
		else if (html && c == '\'')
			rc = s3i_buf_puts(out, "&#39;");
		else if ((n == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)))
			rc = s3i_buf_putc(out, ' ');         /* U+2028/2029 line and paragraph separators */
		else
			rc = s3i_buf_put(out, p + i, n);
		i += n;
	}
	return rc;
}

int s3i_report_put_html(s3i_buf *out, const char *s, size_t max_chars)
{
	return put_clean(out, s, max_chars, 1);
}

int s3i_report_put_text(s3i_buf *out, const char *s, size_t max_chars)
{
	return put_clean(out, s, max_chars, 0);
}

void s3i_report_format_bytes(char *out, size_t cap, int64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (bytes < 1024) {
		snprintf(out, cap, "%" PRId64 " B", bytes);
		return;
	}
	double v = (double)bytes;
	size_t u = 0;
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, cap, "%.1f %s", v, units[u]);
}

void s3i_report_format_count(char *out, size_t cap, int64_t n)
{
	char digits[32];
	int neg = n < 0;
	uint64_t u = neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
	snprintf(digits, sizeof(digits), "%" PRIu64, u);
	size_t len = strlen(digits), o = 0;
	char tmp[48];
	if (neg)
		tmp[o++] = '-';
	for (size_t i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			tmp[o++] = ',';
		tmp[o++] = digits[i];
	}
	tmp[o] = 0;
	snprintf(out, cap, "%s", tmp);
}

int s3i_report_console_link(s3i_buf *out, const char *partition, const char *region,
	const char *execution_id)
{
	const char *host_fmt = "https://%s.console.aws.amazon.com";
	if (partition && !strcmp(partition, "aws-cn"))
		host_fmt = "https://%s.console.amazonaws.cn";
	else if (partition && !strcmp(partition, "aws-us-gov"))
		host_fmt = "https://console.amazonaws-us-gov.com";
	int rc = strstr(host_fmt, "%s") ? s3i_buf_printf(out, host_fmt, region)
	                                : s3i_buf_puts(out, host_fmt);
	if (!rc)
		rc = s3i_buf_puts(out, "/athena/home?region=");
	if (!rc)
		rc = s3i_uri_encode(out, region, strlen(region), 0);
	if (!rc)
		rc = s3i_buf_puts(out, "#/query-editor/history/");
	if (!rc)
		rc = s3i_uri_encode(out, execution_id, strlen(execution_id), 0);
	return rc;
}

/* ------------------------------------------------------------------ totals */

typedef struct group {
	const char *account;
	const char *region;
	int64_t buckets;
	int64_t objects;
	int64_t bytes;
	int64_t not_counted;         /* buckets whose objects and bytes are unknown */
} group;

static int group_cmp(const void *a, const void *b)
{
	const group *x = a, *y = b;
	int c = strcmp(x->account, y->account);
	return c ? c : strcmp(x->region, y->region);
}

static const char *nz(const char *s) { return s ? s : ""; }

/* "s" unless n is 1: "1 bucket", "2 buckets", "0 buckets" */
static const char *plural(int64_t n) { return n == 1 ? "" : "s"; }

/* Totals per account and region, sorted; *n groups in a block the caller frees. */
static group *make_groups(const s3i_allocator *a, const s3i_report *r, size_t *n)
{
	*n = 0;
	group *g = s3i_calloc(a, r->nbuckets ? r->nbuckets : 1, sizeof(*g));
	if (!g)
		return NULL;
	for (size_t i = 0; i < r->nbuckets; i++) {
		const s3i_report_bucket *b = &r->buckets[i];
		size_t j = 0;
		while (j < *n && (strcmp(g[j].account, nz(b->account)) || strcmp(g[j].region, nz(b->region))))
			j++;
		if (j == *n) {
			g[j].account = nz(b->account);
			g[j].region = nz(b->region);
			(*n)++;
		}
		g[j].buckets++;
		if (b->objects < 0 || b->bytes < 0) {
			g[j].not_counted++;
		} else {
			g[j].objects += b->objects;
			g[j].bytes += b->bytes;
		}
	}
	qsort(g, *n, sizeof(*g), group_cmp);
	return g;
}

/* ------------------------------------------------------------------ the bodies */

typedef struct writer {
	s3i_buf *text;
	s3i_buf *html;
	int rc;
} writer;

static void t_printf(writer *w, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
static void t_printf(writer *w, const char *fmt, ...)
{
	if (w->rc)
		return;
	va_list ap;
	va_start(ap, fmt);
	w->rc = s3i_buf_vprintf(w->text, fmt, ap);
	va_end(ap);
}

/* Raw markup into the HTML body (never outside text). */
static void h_raw(writer *w, const char *markup)
{
	if (!w->rc)
		w->rc = s3i_buf_puts(w->html, markup);
}

static void t_val(writer *w, const char *s, size_t max)
{
	if (!w->rc)
		w->rc = put_clean(w->text, s, max, 0);
}

static void h_val(writer *w, const char *s, size_t max)
{
	if (!w->rc)
		w->rc = put_clean(w->html, s, max, 1);
}

/* A value into both bodies. */
static void both(writer *w, const char *s, size_t max)
{
	t_val(w, s, max);
	h_val(w, s, max);
}

static void h_cell(writer *w, const char *s, size_t max, int right)
{
	h_raw(w, right ? "<td style=\"text-align:right\">" : "<td>");
	h_val(w, s, max);
	h_raw(w, "</td>");
}

/* Objects and bytes of a bucket or a group as shown: with buckets not counted the numbers
 * are unknown, never a total that leaves them out. */
static void format_counts(char *objects, char *bytes, size_t cap, int64_t no, int64_t by,
	int64_t not_counted)
{
	if (not_counted > 0 || no < 0 || by < 0) {
		snprintf(objects, cap, "not counted");
		snprintf(bytes, cap, "not counted");
		return;
	}
	s3i_report_format_count(objects, cap, no);
	s3i_report_format_bytes(bytes, cap, by);
}

static void write_totals(writer *w, const s3i_report *r, const group *g, size_t ng)
{
	int64_t objects = 0, bytes = 0, not_counted = 0;
	for (size_t i = 0; i < ng; i++) {
		objects += g[i].objects;
		bytes += g[i].bytes;
		not_counted += g[i].not_counted;
	}
	char c1[32], c2[32], c3[32];
	t_printf(w, "\nTotals per account and region\n");
	h_raw(w, "<h2>Totals per account and region</h2>\n<table border=\"1\" cellpadding=\"4\" "
		"cellspacing=\"0\">\n<tr><th>Account</th><th>Region</th><th>Buckets</th><th>Objects</th>"
		"<th>Bytes</th></tr>\n");
	for (size_t i = 0; i <= ng; i++) {
		const char *acct = i < ng ? g[i].account : "all";
		const char *reg = i < ng ? g[i].region : "all";
		int64_t nb = i < ng ? g[i].buckets : (int64_t)r->nbuckets;
		int64_t no = i < ng ? g[i].objects : objects;
		int64_t by = i < ng ? g[i].bytes : bytes;
		int64_t nc = i < ng ? g[i].not_counted : not_counted;
		s3i_report_format_count(c1, sizeof(c1), nb);
		format_counts(c2, c3, sizeof(c2), no, by, nc);
		t_printf(w, "  ");
		t_val(w, acct, NAME_MAX_CHARS);
		t_printf(w, "  ");
		t_val(w, reg, NAME_MAX_CHARS);
		if (nc > 0)
			t_printf(w, ": %s bucket%s, objects and bytes not counted (%" PRId64 " bucket%s)\n",
				c1, plural(nb), nc, plural(nc));
		else
			t_printf(w, ": %s bucket%s, %s object%s, %s (%" PRId64 " bytes)\n", c1, plural(nb),
				c2, plural(no), c3, by);
		h_raw(w, i < ng ? "<tr>" : "<tr style=\"font-weight:bold\">");
		h_cell(w, acct, NAME_MAX_CHARS, 0);
		h_cell(w, reg, NAME_MAX_CHARS, 0);
		h_cell(w, c1, 0, 1);
		h_cell(w, c2, 0, 1);
		h_raw(w, "<td style=\"text-align:right\">");
		h_val(w, c3, 0);
		if (!w->rc && nc <= 0)
			w->rc = s3i_buf_printf(w->html, " (%" PRId64 " bytes)", by);
		h_raw(w, "</td></tr>\n");
	}
	h_raw(w, "</table>\n");
}

static void write_buckets(writer *w, const s3i_report *r)
{
	size_t shown = r->nbuckets;
	if (r->max_buckets_listed && shown > r->max_buckets_listed)
		shown = r->max_buckets_listed;
	t_printf(w, "\nBuckets (%zu)\n", r->nbuckets);
	if (!w->rc)
		w->rc = s3i_buf_printf(w->html, "<h2>Buckets (%zu)</h2>\n", r->nbuckets);
	h_raw(w, "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr><th>Account</th>"
		"<th>Region</th><th>Bucket</th><th>Status</th><th>Objects</th><th>Bytes</th>"
		"<th>Reason</th></tr>\n");
	char c1[32], c2[32];
	for (size_t i = 0; i < shown; i++) {
		const s3i_report_bucket *b = &r->buckets[i];
		format_counts(c1, c2, sizeof(c1), b->objects, b->bytes, 0);
		t_printf(w, "  ");
		t_val(w, b->account, NAME_MAX_CHARS);
		t_printf(w, "  ");
		t_val(w, b->region, NAME_MAX_CHARS);
		t_printf(w, "  ");
		t_val(w, b->bucket, NAME_MAX_CHARS);
		t_printf(w, ": ");
		t_val(w, b->status, NAME_MAX_CHARS);
		if (b->objects < 0 || b->bytes < 0)
			t_printf(w, ", objects and bytes not counted");
		else
			t_printf(w, ", %s object%s, %s", c1, plural(b->objects), c2);
		if (b->reason && *b->reason) {
			t_printf(w, " - ");
			t_val(w, b->reason, REASON_MAX_CHARS);
		}
		t_printf(w, "\n");
		h_raw(w, "<tr>");
		h_cell(w, b->account, NAME_MAX_CHARS, 0);
		h_cell(w, b->region, NAME_MAX_CHARS, 0);
		h_cell(w, b->bucket, NAME_MAX_CHARS, 0);
		h_cell(w, b->status, NAME_MAX_CHARS, 0);
		h_cell(w, c1, 0, 1);
		h_cell(w, c2, 0, 1);
		h_cell(w, b->reason, REASON_MAX_CHARS, 0);
		h_raw(w, "</tr>\n");
	}
	h_raw(w, "</table>\n");
	if (shown < r->nbuckets) {
		t_printf(w, "  ... and %zu more buckets (counted in the totals above)\n",
			r->nbuckets - shown);
		if (!w->rc)
			w->rc = s3i_buf_printf(w->html, "<p>... and %zu more buckets (counted in the "
				"totals above)</p>\n", r->nbuckets - shown);
	}
}

static void write_rows(writer *w, const s3i_report_query *q)
{
	if (q->rows_error && *q->rows_error) {
		t_printf(w, "    rows could not be read: ");
		t_val(w, q->rows_error, REASON_MAX_CHARS);
		t_printf(w, "\n");
		h_raw(w, "<p>Rows could not be read: ");
		h_val(w, q->rows_error, REASON_MAX_CHARS);
		h_raw(w, "</p>\n");
		return;
	}
	if (!q->ncolumns || !q->columns)
		return;
	if (q->nrows)
		t_printf(w, "    first %zu row%s:\n", q->nrows, plural((int64_t)q->nrows));
	else
		t_printf(w, "    no rows\n");
	h_raw(w, "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr>");
	t_printf(w, "      ");
	for (size_t c = 0; c < q->ncolumns; c++) {
		if (c)
			t_printf(w, " | ");
		t_val(w, q->columns[c], CELL_MAX_CHARS);
		h_raw(w, "<th>");
		h_val(w, q->columns[c], CELL_MAX_CHARS);
		h_raw(w, "</th>");
	}
	t_printf(w, "\n");
	h_raw(w, "</tr>\n");
	for (size_t i = 0; i < q->nrows; i++) {
		t_printf(w, "      ");
		h_raw(w, "<tr>");
		for (size_t c = 0; c < q->ncolumns; c++) {
			const char *v = q->cells[i * q->ncolumns + c];
			if (c)
				t_printf(w, " | ");
			if (v) {
				t_val(w, v, CELL_MAX_CHARS);
				h_cell(w, v, CELL_MAX_CHARS, 0);
			} else {
				t_printf(w, "NULL");
				h_raw(w, "<td><i>NULL</i></td>");
			}
		}
		t_printf(w, "\n");
		h_raw(w, "</tr>\n");
	}
	h_raw(w, "</table>\n");
}

static void write_queries(writer *w, const s3i_report *r)
{
	t_printf(w, "\nQueries (%zu)\n", r->nqueries);
	if (!w->rc)
		w->rc = s3i_buf_printf(w->html, "<h2>Queries (%zu)</h2>\n", r->nqueries);
	s3i_buf link;
	s3i_buf_init(&link, w->text->alloc);
	for (size_t i = 0; i < r->nqueries && !w->rc; i++) {
		const s3i_report_query *q = &r->queries[i];
		const char *state = q->state && *q->state ? q->state : "NOT RUN";
		t_printf(w, "\n  ");
		t_val(w, q->name, NAME_MAX_CHARS);
		t_printf(w, ": ");
		t_val(w, state, NAME_MAX_CHARS);
		h_raw(w, "<h3>");
		h_val(w, q->name, NAME_MAX_CHARS);
		h_raw(w, "</h3>\n<p>State: <b>");
		h_val(w, state, NAME_MAX_CHARS);
		h_raw(w, "</b>");
		char c1[32], c2[32];
		if (q->rows >= 0) {
			s3i_report_format_count(c1, sizeof(c1), q->rows);
			t_printf(w, ", %s row%s", c1, plural(q->rows));
			h_raw(w, "; rows: ");
			h_val(w, c1, 0);
		}
		if (q->scanned_bytes >= 0) {
			s3i_report_format_bytes(c2, sizeof(c2), q->scanned_bytes);
			t_printf(w, ", %s scanned", c2);
			h_raw(w, "; data scanned: ");
			h_val(w, c2, 0);
		}
		t_printf(w, "\n");
		h_raw(w, "</p>\n");
		if (q->reason && *q->reason) {
			t_printf(w, "    reason: ");
			t_val(w, q->reason, REASON_MAX_CHARS);
			t_printf(w, "\n");
			h_raw(w, "<p>Reason: ");
			h_val(w, q->reason, REASON_MAX_CHARS);
			h_raw(w, "</p>\n");
		}
		if (q->execution_id && *q->execution_id && r->region) {
			s3i_buf_clear(&link);
			if (!w->rc)
				w->rc = s3i_report_console_link(&link, r->partition, r->region, q->execution_id);
			t_printf(w, "    console: ");
			t_val(w, s3i_buf_cstr(&link), 0);
			t_printf(w, "\n");
			h_raw(w, "<p><a href=\"");
			h_val(w, s3i_buf_cstr(&link), 0);
			h_raw(w, "\">Open in the Athena console</a>");
			h_raw(w, " (execution ");
			h_val(w, q->execution_id, NAME_MAX_CHARS);
			h_raw(w, ")</p>\n");
		}
		if (q->output_location && *q->output_location) {
			t_printf(w, "    results: ");
			t_val(w, q->output_location, REASON_MAX_CHARS);
			t_printf(w, "\n");
			h_raw(w, "<p>Results: ");
			h_val(w, q->output_location, REASON_MAX_CHARS);
			h_raw(w, "</p>\n");
		}
		write_rows(w, q);
	}
	s3i_buf_dispose(&link);
}

int s3i_report_build(const s3i_report *r, s3i_buf *subject, s3i_buf *text, s3i_buf *html,
	s3i_errinfo *err)
{
	if (!r || !subject || !text || !html || (r->nbuckets && !r->buckets)
	    || (r->nqueries && !r->queries))
		return s3i_err(err, S3I_EINVALID, "report", "building the run report: missing argument");
	writer w = { text, html, S3I_OK };
	const char *run = nz(r->run_id), *dep = nz(r->deployment);

	/* subject */
	int64_t objects = 0, bytes = 0, not_counted = 0;
	for (size_t i = 0; i < r->nbuckets; i++) {
		if (r->buckets[i].objects < 0 || r->buckets[i].bytes < 0) {
			not_counted++;
			continue;
		}
		objects += r->buckets[i].objects;
		bytes += r->buckets[i].bytes;
	}
	char c1[32], c2[32];
	s3i_report_format_count(c1, sizeof(c1), objects);
	s3i_report_format_bytes(c2, sizeof(c2), bytes);
	w.rc = s3i_buf_puts(subject, "S3Insights run ");
	if (!w.rc)
		w.rc = put_clean(subject, run, NAME_MAX_CHARS, 0);
	if (!w.rc)
		w.rc = s3i_buf_puts(subject, " (");
	if (!w.rc)
		w.rc = put_clean(subject, dep, NAME_MAX_CHARS, 0);
	if (!w.rc && r->failed) {
		w.rc = s3i_buf_puts(subject, ") FAILED in stage ");
		if (!w.rc)
			w.rc = put_clean(subject, nz(r->error_stage), NAME_MAX_CHARS, 0);
	} else if (!w.rc && not_counted) {
		w.rc = s3i_buf_printf(subject, "): %zu bucket%s, objects not counted", r->nbuckets,
			plural((int64_t)r->nbuckets));
	} else if (!w.rc) {
		w.rc = s3i_buf_printf(subject, "): %zu bucket%s, %s object%s, %s", r->nbuckets,
			plural((int64_t)r->nbuckets), c1, plural(objects), c2);
	}

	/* heading */
	h_raw(&w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	if (!w.rc)
		w.rc = put_clean(html, s3i_buf_cstr(subject), 0, 1);
	h_raw(&w, "</title></head>\n<body style=\"font-family:sans-serif\">\n<h1>S3Insights run ");
	t_printf(&w, "S3Insights run ");
	both(&w, run, NAME_MAX_CHARS);
	t_printf(&w, " of deployment ");
	h_raw(&w, " of deployment ");
	both(&w, dep, NAME_MAX_CHARS);
	t_printf(&w, "\n");
	h_raw(&w, "</h1>\n");
	if (r->failed) {
		t_printf(&w, "\nThe run FAILED in stage ");
		t_val(&w, nz(r->error_stage), NAME_MAX_CHARS);
		t_printf(&w, ":\n  ");
		t_val(&w, nz(r->error), REASON_MAX_CHARS * 2);
		t_printf(&w, "\n\nWhat the run had recorded until then follows. Run the Cleanup "
			"workflow (s3insights cleanup) to remove its transient resources.\n");
		h_raw(&w, "<p style=\"color:#b00020\"><b>The run FAILED in stage ");
		h_val(&w, nz(r->error_stage), NAME_MAX_CHARS);
		h_raw(&w, ":</b> ");
		h_val(&w, nz(r->error), REASON_MAX_CHARS * 2);
		h_raw(&w, "</p>\n<p>What the run had recorded until then follows. Run the Cleanup "
			"workflow (s3insights cleanup) to remove its transient resources.</p>\n");
	}
	t_printf(&w, "\n");
	h_raw(&w, "<p>");
	if (r->database && r->table) {
		t_printf(&w, "Athena table: ");
		h_raw(&w, "Athena table: <code>");
		both(&w, r->database, NAME_MAX_CHARS);
		t_printf(&w, ".");
		h_raw(&w, ".");
		both(&w, r->table, NAME_MAX_CHARS);
		t_printf(&w, "\n");
		h_raw(&w, "</code><br>\n");
	}
	if (r->data_location) {
		t_printf(&w, "Inventory data: ");
		h_raw(&w, "Inventory data: ");
		both(&w, r->data_location, REASON_MAX_CHARS);
		t_printf(&w, "\n");
		h_raw(&w, "<br>\n");
	}
	if (r->results_location) {
		t_printf(&w, "Query results: ");
		h_raw(&w, "Query results: ");
		both(&w, r->results_location, REASON_MAX_CHARS);
		t_printf(&w, "\n");
	}
	h_raw(&w, "</p>\n");
	if (not_counted || (r->count_note && *r->count_note)) {
		t_printf(&w, "\nNot counted: %" PRId64 " bucket%s of ORC/Parquet data", not_counted,
			plural(not_counted));
		h_raw(&w, "<p style=\"color:#b00020\"><b>Not counted:</b> ");
		if (!w.rc)
			w.rc = s3i_buf_printf(html, "%" PRId64 " bucket%s of ORC/Parquet data", not_counted,
				plural(not_counted));
		if (r->count_note && *r->count_note) {
			t_printf(&w, ": ");
			h_raw(&w, ": ");
			both(&w, r->count_note, REASON_MAX_CHARS * 2);
		}
		t_printf(&w, ". Their objects and bytes are unknown, not 0; the Athena table holds "
			"their rows.\n");
		h_raw(&w, ". Their objects and bytes are unknown, not 0; the Athena table holds "
			"their rows.</p>\n");
	}

	size_t ng = 0;
	group *g = make_groups(text->alloc, r, &ng);
	if (!g && !w.rc)
		w.rc = S3I_ENOMEM;
	if (g)
		write_totals(&w, r, g, ng);
	s3i_free(text->alloc, g);
	write_buckets(&w, r);
	write_queries(&w, r);
	t_printf(&w, "\n-- \nSent by libs3insights.\n");
	h_raw(&w, "<hr><p style=\"color:#666\">Sent by libs3insights.</p>\n</body></html>\n");
	if (w.rc)
		return s3i_err(err, w.rc, "report", "building the run report of run %s: out of memory",
			run);
	return S3I_OK;
}
