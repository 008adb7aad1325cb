#include "services/ddb_value.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/str.h"

struct s3i_ddb_value {
	s3i_ddb_type type;
	union {
		char *str;            /* S, N */
		int b;                /* BOOL */
		s3i_ddb_item *m;
		s3i_ddb_list *l;
		struct {
			char **v;
			size_t n;
		} ss;
	} u;
};

typedef struct entry {
	char *name;
	uint32_t hash;
	s3i_ddb_value v;
} entry;

/* Maps stay a plain array while small; past INDEX_MIN names an open-addressing index (entry
 * position + 1, 0 = free) keeps lookups O(1). */
#define INDEX_MIN 8

struct s3i_ddb_item {
	const s3i_allocator *a;
	int depth;              /* 0 for a root; a nested map is one deeper than its container */
	entry *e;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;          /* a power of two, or 0 */
};

struct s3i_ddb_list {
	const s3i_allocator *a;
	int depth;
	s3i_ddb_value *v;
	size_t n, cap;
};

#define NUMBER_MAX_LEN 128

/* ------------------------------------------------------------------ helpers */

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

int s3i_ddb_number_is_valid(const char *t)
{
	if (!t)
		return 0;
	size_t len = strlen(t);
	if (len == 0 || len > NUMBER_MAX_LEN)
		return 0;
	const char *p = t;
	if (*p == '+' || *p == '-')
		p++;
	size_t whole = 0, frac = 0;
	while (*p >= '0' && *p <= '9') {
		p++;
		whole++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			frac++;
		}
	}
	if (whole + frac == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* A plain integer ([+-]digits) that fits in int64_t. */
static int parse_i64(const char *t, int64_t *out)
{
	if (!t)
		return S3I_EINVALID;
	const char *p = t;
	int neg = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return S3I_EINVALID;
	uint64_t v = 0;
	const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return S3I_EINVALID;
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return S3I_EINVALID;
		v = v * 10 + d;
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return S3I_OK;
}

static void value_free(const s3i_allocator *a, s3i_ddb_value *v);
static void list_free(s3i_ddb_list *l);

static void item_clear(s3i_ddb_item *it)
{
	for (size_t i = 0; i < it->n; i++) {
		s3i_free(it->a, it->e[i].name);
		value_free(it->a, &it->e[i].v);
	}
	s3i_free(it->a, it->e);
	s3i_free(it->a, it->slots);
}

static void item_destroy(s3i_ddb_item *it)
{
	if (!it)
		return;
	item_clear(it);
	s3i_free(it->a, it);
}

static void list_free(s3i_ddb_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		value_free(l->a, &l->v[i]);
	s3i_free(l->a, l->v);
	s3i_free(l->a, l);
}

static void value_free(const s3i_allocator *a, s3i_ddb_value *v)
{
	switch (v->type) {
	case S3I_DDB_S:
	case S3I_DDB_N:
		s3i_free(a, v->u.str);
		break;
	case S3I_DDB_M:
		item_destroy(v->u.m);
		break;
	case S3I_DDB_L:
		list_free(v->u.l);
		break;
	case S3I_DDB_SS:
		for (size_t i = 0; i < v->u.ss.n; i++)
			s3i_free(a, v->u.ss.v[i]);
		s3i_free(a, v->u.ss.v);
		break;
	default:
		break;
	}
	v->type = S3I_DDB_NONE;
}

static s3i_ddb_item *item_alloc(const s3i_allocator *a, int depth)
{
	s3i_ddb_item *it = s3i_calloc(a, 1, sizeof(*it));
	if (it) {
		it->a = a;
		it->depth = depth;
	}
	return it;
}

static s3i_ddb_list *list_alloc(const s3i_allocator *a, int depth)
{
	s3i_ddb_list *l = s3i_calloc(a, 1, sizeof(*l));
	if (l) {
		l->a = a;
		l->depth = depth;
	}
	return l;
}

/* ------------------------------------------------------------------ map index */

static long find(const s3i_ddb_item *it, const char *name, uint32_t h)
{
	if (it->slots) {
		size_t mask = it->nslots - 1;
		for (size_t i = h & mask;; i = (i + 1) & mask) {
			uint32_t s = it->slots[i];
			if (!s)
				return -1;
			const entry *e = &it->e[s - 1];
			if (e->hash == h && !strcmp(e->name, name))
				return (long)(s - 1);
		}
	}
	for (size_t i = 0; i < it->n; i++)
		if (it->e[i].hash == h && !strcmp(it->e[i].name, name))
			return (long)i;
	return -1;
}

static void index_put(s3i_ddb_item *it, size_t pos)
{
	size_t mask = it->nslots - 1;
	size_t i = it->e[pos].hash & mask;
	while (it->slots[i])
		i = (i + 1) & mask;
	it->slots[i] = (uint32_t)(pos + 1);
}

static void index_rebuild(s3i_ddb_item *it)
{
	if (!it->slots)
		return;
	memset(it->slots, 0, it->nslots * sizeof(*it->slots));
	for (size_t i = 0; i < it->n; i++)
		index_put(it, i);
}

/* Room for one more entry: the array and, past INDEX_MIN, the index (load at most 1/2). */
static int reserve_one(s3i_ddb_item *it)
{
	if (it->n >= UINT32_MAX - 1)
		return S3I_ENOMEM;
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 4;
		entry *e = s3i_realloc(it->a, it->e, cap * sizeof(*e));
		if (!e)
			return S3I_ENOMEM;
		it->e = e;
		it->cap = cap;
	}
	size_t want = it->n + 1;
	if (want > INDEX_MIN && want * 2 > it->nslots) {
		size_t ns = it->nslots ? it->nslots : 16;
		while (want * 2 > ns)
			ns *= 2;
		uint32_t *slots = s3i_calloc(it->a, ns, sizeof(*slots));
		if (!slots)
			return S3I_ENOMEM;
		s3i_free(it->a, it->slots);
		it->slots = slots;
		it->nslots = ns;
		index_rebuild(it);
	}
	return S3I_OK;
}

/* Take ownership of *v under name: replace an existing value, or append. On failure *v is
 * freed and the item is unchanged. */
static int item_put(s3i_ddb_item *it, const char *name, s3i_ddb_value *v)
{
	uint32_t h = hash_name(name);
	long at = find(it, name, h);
	if (at >= 0) {
		value_free(it->a, &it->e[at].v);
		it->e[at].v = *v;
		return S3I_OK;
	}
	char *copy = s3i_strdup(it->a, name);
	if (!copy || reserve_one(it)) {
		s3i_free(it->a, copy);
		value_free(it->a, v);
		return S3I_ENOMEM;
	}
	entry *e = &it->e[it->n];
	e->name = copy;
	e->hash = h;
	e->v = *v;
	it->n++;
	if (it->slots)
		index_put(it, it->n - 1);
	return S3I_OK;
}

static int list_put(s3i_ddb_list *l, s3i_ddb_value *v)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		s3i_ddb_value *nv = s3i_realloc(l->a, l->v, cap * sizeof(*nv));
		if (!nv) {
			value_free(l->a, v);
			return S3I_ENOMEM;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *v;
	return S3I_OK;
}

/* ------------------------------------------------------------------ values */

static int strcmp_ptr(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Whether strings hold a duplicate; S3I_ENOMEM when the check could not run. */
static int has_duplicates(const s3i_allocator *a, const char *const *v, size_t n, int *dup)
{
	*dup = 0;
	if (n <= 16) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (!strcmp(v[i], v[j]))
					*dup = 1;
		return S3I_OK;
	}
	const char **sorted = s3i_malloc(a, n * sizeof(*sorted));
	if (!sorted)
		return S3I_ENOMEM;
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), strcmp_ptr);
	for (size_t i = 1; i < n && !*dup; i++)
		if (!strcmp(sorted[i - 1], sorted[i]))
			*dup = 1;
	s3i_free(a, sorted);
	return S3I_OK;
}

static int make_str(const s3i_allocator *a, s3i_ddb_type type, const char *s, s3i_ddb_value *out)
{
	out->type = type;
	out->u.str = s3i_strdup(a, s);
	return out->u.str ? S3I_OK : S3I_ENOMEM;
}

static int make_ss(const s3i_allocator *a, const char *const *values, size_t n, s3i_ddb_value *out)
{
	char **v = s3i_calloc(a, n, sizeof(*v));
	if (!v)
		return S3I_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i] = s3i_strdup(a, values[i]))) {
			for (size_t j = 0; j < i; j++)
				s3i_free(a, v[j]);
			s3i_free(a, v);
			return S3I_ENOMEM;
		}
	}
	out->type = S3I_DDB_SS;
	out->u.ss.v = v;
	out->u.ss.n = n;
	return S3I_OK;
}

/* Check a string-set argument; `what` names the attribute for the message. */
static int check_ss(const s3i_allocator *a, const char *what, const char *const *values, size_t n)
{
	if (!values || n == 0)
		return s3i_err(NULL, S3I_EINVALID, what, "%s: a string set needs at least one string", what);
	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			return s3i_err(NULL, S3I_EINVALID, what, "%s: string set entry %zu is NULL", what, i);
		if (!s3i_utf8_valid(values[i], strlen(values[i])))
			return s3i_err(NULL, S3I_EINVALID, what, "%s: string set entry %zu is not valid "
				"UTF-8", what, i);
	}
	int dup;
	if (has_duplicates(a, values, n, &dup))
		return s3i_err(NULL, S3I_ENOMEM, what, "%s: out of memory", what);
	if (dup)
		return s3i_err(NULL, S3I_EINVALID, what, "%s: a string set holds a string twice", what);
	return S3I_OK;
}

/* ------------------------------------------------------------------ builders */

int s3i_ddb_item_new(s3i_ddb_item **out, const s3i_allocator *a)
{
	if (!out)
		return s3i_err(NULL, S3I_EINVALID, "out", "s3i_ddb_item_new: out is NULL");
	s3i_ddb_item *it = item_alloc(a ? a : s3i_allocator_default(), 0);
	if (!it)
		return s3i_err(NULL, S3I_ENOMEM, NULL, "out of memory creating a DynamoDB item");
	*out = it;
	return S3I_OK;
}

void s3i_ddb_item_free(s3i_ddb_item *it)
{
	item_destroy(it);
}

/* A printable label for an attribute name in messages. */
static const char *label(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "attribute '%.200s'", name ? name : "(null)");
	return buf;
}

static int check_name(const s3i_ddb_item *it, const char *name)
{
	if (!it)
		return s3i_err(NULL, S3I_EINVALID, "item", "DynamoDB item is NULL");
	if (!name || !*name)
		return s3i_err(NULL, S3I_EINVALID, "attribute", "attribute name is empty");
	if (!s3i_utf8_valid(name, strlen(name)))
		return s3i_err(NULL, S3I_EINVALID, "attribute", "attribute name is not valid UTF-8");
	return S3I_OK;
}

static int put_checked(s3i_ddb_item *it, const char *name, s3i_ddb_value *v, int rc)
{
	char lb[256];
	if (rc) {
		value_free(it->a, v);
		return s3i_err(NULL, rc, label(lb, sizeof(lb), name), "%s: out of memory",
			label(lb, sizeof(lb), name));
	}
	if ((rc = item_put(it, name, v)))
		return s3i_err(NULL, rc, label(lb, sizeof(lb), name), "%s: out of memory",
			label(lb, sizeof(lb), name));
	return S3I_OK;
}

int s3i_ddb_item_set_s(s3i_ddb_item *it, const char *name, const char *value)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	char lb[256];
	if (!value || !s3i_utf8_valid(value, strlen(value)))
		return s3i_err(NULL, S3I_EINVALID, label(lb, sizeof(lb), name), "%s: %s",
			label(lb, sizeof(lb), name), value ? "string is not valid UTF-8" : "string is NULL");
	s3i_ddb_value v = { 0 };
	return put_checked(it, name, &v, make_str(it->a, S3I_DDB_S, value, &v));
}

int s3i_ddb_item_set_n_text(s3i_ddb_item *it, const char *name, const char *number)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	char lb[256];
	if (!s3i_ddb_number_is_valid(number))
		return s3i_err(NULL, S3I_EINVALID, label(lb, sizeof(lb), name), "%s: not a number "
			"DynamoDB accepts", label(lb, sizeof(lb), name));
	s3i_ddb_value v = { 0 };
	return put_checked(it, name, &v, make_str(it->a, S3I_DDB_N, number, &v));
}

int s3i_ddb_item_set_n_i64(s3i_ddb_item *it, const char *name, int64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, value);
	return s3i_ddb_item_set_n_text(it, name, num);
}

int s3i_ddb_item_set_bool(s3i_ddb_item *it, const char *name, int value)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	s3i_ddb_value v = { .type = S3I_DDB_BOOL, .u.b = value != 0 };
	return put_checked(it, name, &v, S3I_OK);
}

int s3i_ddb_item_set_null(s3i_ddb_item *it, const char *name)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	s3i_ddb_value v = { .type = S3I_DDB_NULL };
	return put_checked(it, name, &v, S3I_OK);
}

int s3i_ddb_item_set_ss(s3i_ddb_item *it, const char *name, const char *const *values, size_t n)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	char lb[256];
	if ((rc = check_ss(it->a, label(lb, sizeof(lb), name), values, n)))
		return rc;
	s3i_ddb_value v = { 0 };
	return put_checked(it, name, &v, make_ss(it->a, values, n, &v));
}

static int depth_error(const char *what)
{
	return s3i_err(NULL, S3I_EINVALID, what, "%s: nested deeper than %d levels", what,
		S3I_DDB_MAX_DEPTH);
}

int s3i_ddb_item_set_m(s3i_ddb_item *it, const char *name, s3i_ddb_item **out)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	char lb[256];
	if (it->depth + 1 > S3I_DDB_MAX_DEPTH)
		return depth_error(label(lb, sizeof(lb), name));
	s3i_ddb_value v = { .type = S3I_DDB_M, .u.m = item_alloc(it->a, it->depth + 1) };
	if ((rc = put_checked(it, name, &v, v.u.m ? S3I_OK : S3I_ENOMEM)))
		return rc;
	if (out)
		*out = v.u.m;
	return S3I_OK;
}

int s3i_ddb_item_set_l(s3i_ddb_item *it, const char *name, s3i_ddb_list **out)
{
	int rc = check_name(it, name);
	if (rc)
		return rc;
	char lb[256];
	if (it->depth + 1 > S3I_DDB_MAX_DEPTH)
		return depth_error(label(lb, sizeof(lb), name));
	s3i_ddb_value v = { .type = S3I_DDB_L, .u.l = list_alloc(it->a, it->depth + 1) };
	if ((rc = put_checked(it, name, &v, v.u.l ? S3I_OK : S3I_ENOMEM)))
		return rc;
	if (out)
		*out = v.u.l;
	return S3I_OK;
}

void s3i_ddb_item_remove(s3i_ddb_item *it, const char *name)
{
	if (!it || !name)
		return;
	long at = find(it, name, hash_name(name));
	if (at < 0)
		return;
	s3i_free(it->a, it->e[at].name);
	value_free(it->a, &it->e[at].v);
	memmove(&it->e[at], &it->e[at + 1], (it->n - (size_t)at - 1) * sizeof(entry));
	it->n--;
	index_rebuild(it);
}

/* ---- lists ---- */

static int list_check(const s3i_ddb_list *l)
{
	return l ? S3I_OK : s3i_err(NULL, S3I_EINVALID, "list", "DynamoDB list is NULL");
}

static int list_put_checked(s3i_ddb_list *l, s3i_ddb_value *v, int rc)
{
	if (!rc)
		rc = list_put(l, v);
	else
		value_free(l->a, v);
	if (rc)
		return s3i_err(NULL, rc, "list", "list entry %zu: out of memory", l->n);
	return S3I_OK;
}

int s3i_ddb_list_add_s(s3i_ddb_list *l, const char *value)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	if (!value || !s3i_utf8_valid(value, strlen(value)))
		return s3i_err(NULL, S3I_EINVALID, "list", "list entry %zu: %s", l->n,
			value ? "string is not valid UTF-8" : "string is NULL");
	s3i_ddb_value v = { 0 };
	return list_put_checked(l, &v, make_str(l->a, S3I_DDB_S, value, &v));
}

int s3i_ddb_list_add_n_text(s3i_ddb_list *l, const char *number)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	if (!s3i_ddb_number_is_valid(number))
		return s3i_err(NULL, S3I_EINVALID, "list", "list entry %zu: not a number DynamoDB "
			"accepts", l->n);
	s3i_ddb_value v = { 0 };
	return list_put_checked(l, &v, make_str(l->a, S3I_DDB_N, number, &v));
}

int s3i_ddb_list_add_n_i64(s3i_ddb_list *l, int64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, value);
	return s3i_ddb_list_add_n_text(l, num);
}

int s3i_ddb_list_add_bool(s3i_ddb_list *l, int value)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	s3i_ddb_value v = { .type = S3I_DDB_BOOL, .u.b = value != 0 };
	return list_put_checked(l, &v, S3I_OK);
}

int s3i_ddb_list_add_null(s3i_ddb_list *l)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	s3i_ddb_value v = { .type = S3I_DDB_NULL };
	return list_put_checked(l, &v, S3I_OK);
}

int s3i_ddb_list_add_ss(s3i_ddb_list *l, const char *const *values, size_t n)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "list entry %zu", l->n);
	if ((rc = check_ss(l->a, what, values, n)))
		return rc;
	s3i_ddb_value v = { 0 };
	return list_put_checked(l, &v, make_ss(l->a, values, n, &v));
}

int s3i_ddb_list_add_m(s3i_ddb_list *l, s3i_ddb_item **out)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "list entry %zu", l->n);
	if (l->depth + 1 > S3I_DDB_MAX_DEPTH)
		return depth_error(what);
	s3i_ddb_value v = { .type = S3I_DDB_M, .u.m = item_alloc(l->a, l->depth + 1) };
	if ((rc = list_put_checked(l, &v, v.u.m ? S3I_OK : S3I_ENOMEM)))
		return rc;
	if (out)
		*out = v.u.m;
	return S3I_OK;
}

int s3i_ddb_list_add_l(s3i_ddb_list *l, s3i_ddb_list **out)
{
	int rc = list_check(l);
	if (rc)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "list entry %zu", l->n);
	if (l->depth + 1 > S3I_DDB_MAX_DEPTH)
		return depth_error(what);
	s3i_ddb_value v = { .type = S3I_DDB_L, .u.l = list_alloc(l->a, l->depth + 1) };
	if ((rc = list_put_checked(l, &v, v.u.l ? S3I_OK : S3I_ENOMEM)))
		return rc;
	if (out)
		*out = v.u.l;
	return S3I_OK;
}

size_t s3i_ddb_list_count(const s3i_ddb_list *l) { return l ? l->n : 0; }

const s3i_ddb_value *s3i_ddb_list_at(const s3i_ddb_list *l, size_t i)
{
	return l && i < l->n ? &l->v[i] : NULL;
}

/* ------------------------------------------------------------------ getters */

size_t s3i_ddb_item_count(const s3i_ddb_item *it) { return it ? it->n : 0; }

const char *s3i_ddb_item_name_at(const s3i_ddb_item *it, size_t i)
{
	return it && i < it->n ? it->e[i].name : NULL;
}

const s3i_ddb_value *s3i_ddb_item_value_at(const s3i_ddb_item *it, size_t i)
{
	return it && i < it->n ? &it->e[i].v : NULL;
}

const s3i_ddb_value *s3i_ddb_item_get(const s3i_ddb_item *it, const char *name)
{
	if (!it || !name)
		return NULL;
	long at = find(it, name, hash_name(name));
	return at >= 0 ? &it->e[at].v : NULL;
}

int s3i_ddb_item_has(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_item_get(it, name) != NULL;
}

s3i_ddb_type s3i_ddb_item_type(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_value_type(s3i_ddb_item_get(it, name));
}

const char *s3i_ddb_item_get_s(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_value_s(s3i_ddb_item_get(it, name));
}

const char *s3i_ddb_item_get_n(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_value_n(s3i_ddb_item_get(it, name));
}

int s3i_ddb_item_get_i64(const s3i_ddb_item *it, const char *name, int64_t *out)
{
	const s3i_ddb_value *v = s3i_ddb_item_get(it, name);
	return v ? s3i_ddb_value_i64(v, out) : S3I_ENOTFOUND;
}

int s3i_ddb_item_get_bool(const s3i_ddb_item *it, const char *name, int *out)
{
	const s3i_ddb_value *v = s3i_ddb_item_get(it, name);
	return v ? s3i_ddb_value_bool(v, out) : S3I_ENOTFOUND;
}

size_t s3i_ddb_item_get_ss_count(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_value_ss_count(s3i_ddb_item_get(it, name));
}

const char *s3i_ddb_item_get_ss_at(const s3i_ddb_item *it, const char *name, size_t i)
{
	return s3i_ddb_value_ss_at(s3i_ddb_item_get(it, name), i);
}

const s3i_ddb_item *s3i_ddb_item_get_m(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_value_m(s3i_ddb_item_get(it, name));
}

const s3i_ddb_list *s3i_ddb_item_get_l(const s3i_ddb_item *it, const char *name)
{
	return s3i_ddb_value_l(s3i_ddb_item_get(it, name));
}

s3i_ddb_type s3i_ddb_value_type(const s3i_ddb_value *v) { return v ? v->type : S3I_DDB_NONE; }

const char *s3i_ddb_value_s(const s3i_ddb_value *v)
{
	return v && v->type == S3I_DDB_S ? v->u.str : NULL;
}

const char *s3i_ddb_value_n(const s3i_ddb_value *v)
{
	return v && v->type == S3I_DDB_N ? v->u.str : NULL;
}

int s3i_ddb_value_i64(const s3i_ddb_value *v, int64_t *out)
{
	if (!v || v->type != S3I_DDB_N || !out)
		return S3I_EINVALID;
	return parse_i64(v->u.str, out);
}

int s3i_ddb_value_bool(const s3i_ddb_value *v, int *out)
{
	if (!v || v->type != S3I_DDB_BOOL || !out)
		return S3I_EINVALID;
	*out = v->u.b;
	return S3I_OK;
}

size_t s3i_ddb_value_ss_count(const s3i_ddb_value *v)
{
	return v && v->type == S3I_DDB_SS ? v->u.ss.n : 0;
}

const char *s3i_ddb_value_ss_at(const s3i_ddb_value *v, size_t i)
{
	return v && v->type == S3I_DDB_SS && i < v->u.ss.n ? v->u.ss.v[i] : NULL;
}

const s3i_ddb_item *s3i_ddb_value_m(const s3i_ddb_value *v)
{
	return v && v->type == S3I_DDB_M ? v->u.m : NULL;
}

const s3i_ddb_list *s3i_ddb_value_l(const s3i_ddb_value *v)
{
	return v && v->type == S3I_DDB_L ? v->u.l : NULL;
}

/* ------------------------------------------------------------------ equality and copies */

static int ss_contains(const s3i_ddb_value *v, const char *s)
{
	for (size_t i = 0; i < v->u.ss.n; i++)
		if (!strcmp(v->u.ss.v[i], s))
			return 1;
	return 0;
}

int s3i_ddb_value_equal(const s3i_ddb_value *a, const s3i_ddb_value *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case S3I_DDB_S:
	case S3I_DDB_N:
		return !strcmp(a->u.str, b->u.str);
	case S3I_DDB_BOOL:
		return a->u.b == b->u.b;
	case S3I_DDB_M:
		return s3i_ddb_item_equal(a->u.m, b->u.m);
	case S3I_DDB_L:
		if (a->u.l->n != b->u.l->n)
			return 0;
		for (size_t i = 0; i < a->u.l->n; i++)
			if (!s3i_ddb_value_equal(&a->u.l->v[i], &b->u.l->v[i]))
				return 0;
		return 1;
	case S3I_DDB_SS: {
		if (a->u.ss.n != b->u.ss.n)
			return 0;
		size_t i = 0;
		while (i < a->u.ss.n && !strcmp(a->u.ss.v[i], b->u.ss.v[i]))
			i++;
		/* sets hold no duplicates, so containment one way with equal sizes is equality */
		for (; i < a->u.ss.n; i++)
			if (!ss_contains(b, a->u.ss.v[i]))
				return 0;
		return 1;
	}
	default:
		return 1;
	}
}

int s3i_ddb_item_equal(const s3i_ddb_item *a, const s3i_ddb_item *b)
{
	if (!a || !b)
		return a == b;
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!s3i_ddb_value_equal(&a->e[i].v, s3i_ddb_item_get(b, a->e[i].name)))
			return 0;
	return 1;
}

static int copy_value(const s3i_allocator *a, const s3i_ddb_value *src, int depth, s3i_ddb_value *out);

static int copy_map(const s3i_allocator *a, const s3i_ddb_item *src, s3i_ddb_item *dst)
{
	for (size_t i = 0; i < src->n; i++) {
		s3i_ddb_value v = { 0 };
		int rc = copy_value(a, &src->e[i].v, dst->depth, &v);
		if (rc || (rc = item_put(dst, src->e[i].name, &v)))
			return rc;
	}
	return S3I_OK;
}

/* A copy of src as the value of a container at depth `depth`; on failure nothing is held. */
static int copy_value(const s3i_allocator *a, const s3i_ddb_value *src, int depth, s3i_ddb_value *out)
{
	int rc = S3I_OK;
	memset(out, 0, sizeof(*out));   /* on failure *out holds nothing to free */
	out->type = src->type;
	switch (src->type) {
	case S3I_DDB_S:
	case S3I_DDB_N:
		return make_str(a, src->type, src->u.str, out);
	case S3I_DDB_SS:
		return make_ss(a, (const char *const *)src->u.ss.v, src->u.ss.n, out);
	case S3I_DDB_M:
		if (!(out->u.m = item_alloc(a, depth + 1)))
			return S3I_ENOMEM;
		if ((rc = copy_map(a, src->u.m, out->u.m)))
			value_free(a, out);
		return rc;
	case S3I_DDB_L:
		if (!(out->u.l = list_alloc(a, depth + 1)))
			return S3I_ENOMEM;
		for (size_t i = 0; i < src->u.l->n && !rc; i++) {
			s3i_ddb_value v = { 0 };
			if (!(rc = copy_value(a, &src->u.l->v[i], depth + 1, &v)))
				rc = list_put(out->u.l, &v);
		}
		if (rc)
			value_free(a, out);
		return rc;
	case S3I_DDB_BOOL:
		out->u.b = src->u.b;
		return S3I_OK;
	default:
		return S3I_OK;
	}
}

int s3i_ddb_item_copy(s3i_ddb_item **out, const s3i_ddb_item *src, const s3i_allocator *a)
{
	if (!out || !src)
		return s3i_err(NULL, S3I_EINVALID, "item", "s3i_ddb_item_copy: %s is NULL",
			out ? "src" : "out");
	if (!a)
		a = src->a;
	s3i_ddb_item *it = item_alloc(a, 0);
	if (!it)
		return s3i_err(NULL, S3I_ENOMEM, "item", "out of memory copying a DynamoDB item");
	if (copy_map(a, src, it)) {
		item_destroy(it);
		return s3i_err(NULL, S3I_ENOMEM, "item", "out of memory copying a DynamoDB item");
	}
	*out = it;
	return S3I_OK;
}

/* ------------------------------------------------------------------ DynamoDB JSON out */

static void write_value(s3i_json_writer *w, const s3i_ddb_value *v);

/* Containers nearer the writer's depth limit than this go through a fresh writer. */
#define SPLICE_MARGIN 4

static void write_spliced(s3i_json_writer *w, const s3i_ddb_value *v)
{
	s3i_buf sub;
	s3i_buf_init(&sub, w->out->alloc);
	s3i_json_writer w2;
	s3i_jw_init(&w2, &sub);
	write_value(&w2, v);
	int rc = s3i_jw_finish(&w2);
	if (rc) {
		if (!w->error)
			w->error = rc;
	} else {
		s3i_jw_raw(w, sub.ptr);
	}
	s3i_buf_dispose(&sub);
}

static void write_map(s3i_json_writer *w, const s3i_ddb_item *it)
{
	s3i_jw_obj_open(w);
	for (size_t i = 0; i < it->n && !w->error; i++) {
		s3i_jw_key(w, it->e[i].name);
		write_value(w, &it->e[i].v);
	}
	s3i_jw_obj_close(w);
}

static void write_value(s3i_json_writer *w, const s3i_ddb_value *v)
{
	if (w->error)
		return;
	if ((v->type == S3I_DDB_M || v->type == S3I_DDB_L) && w->depth > 0 &&
		w->depth >= S3I_JSON_WRITER_MAX_DEPTH - SPLICE_MARGIN) {
		write_spliced(w, v);
		return;
	}
	s3i_jw_obj_open(w);
	switch (v->type) {
	case S3I_DDB_S:
		s3i_jw_key(w, "S");
		s3i_jw_str(w, v->u.str);
		break;
	case S3I_DDB_N:
		s3i_jw_key(w, "N");
		s3i_jw_str(w, v->u.str);
		break;
	case S3I_DDB_BOOL:
		s3i_jw_key(w, "BOOL");
		s3i_jw_bool(w, v->u.b);
		break;
	case S3I_DDB_NULL:
		s3i_jw_key(w, "NULL");
		s3i_jw_bool(w, 1);
		break;
	case S3I_DDB_M:
		s3i_jw_key(w, "M");
		write_map(w, v->u.m);
		break;
	case S3I_DDB_L:
		s3i_jw_key(w, "L");
		s3i_jw_arr_open(w);
		for (size_t i = 0; i < v->u.l->n && !w->error; i++)
			write_value(w, &v->u.l->v[i]);
		s3i_jw_arr_close(w);
		break;
	case S3I_DDB_SS:
		s3i_jw_key(w, "SS");
		s3i_jw_arr_open(w);
		for (size_t i = 0; i < v->u.ss.n; i++)
			s3i_jw_str(w, v->u.ss.v[i]);
		s3i_jw_arr_close(w);
		break;
	default:
		if (!w->error)
			w->error = S3I_EINVALID;
		return;
	}
	s3i_jw_obj_close(w);
}

void s3i_ddb_item_write(s3i_json_writer *w, const s3i_ddb_item *it)
{
	if (!w)
		return;
	if (!it) {
		if (!w->error)
			w->error = S3I_EINVALID;
		return;
	}
	write_map(w, it);
}

int s3i_ddb_item_to_json(const s3i_ddb_item *it, s3i_buf *out)
{
	if (!it || !out)
		return S3I_EINVALID;
	size_t mark = out->size;
	s3i_json_writer w;
	s3i_jw_init(&w, out);
	s3i_ddb_item_write(&w, it);
	int rc = s3i_jw_finish(&w);
	if (rc && out->ptr)
		s3i_buf_truncate(out, mark);
	return rc;
}

/* ------------------------------------------------------------------ DynamoDB JSON in */

typedef struct pctx {
	const s3i_allocator *a;
	const char *what;
	s3i_errinfo *err;
	char path[192];
	size_t len;
	int cut;
} pctx;

/* Append to the attribute path; returns the length to restore. Control characters become '?'
 * so a message stays one line. */
static size_t path_push(pctx *p, const char *fmt, const char *name, size_t index)
{
	size_t mark = p->len;
	char tmp[sizeof(p->path)];
	if (name)
		snprintf(tmp, sizeof(tmp), fmt, name);
	else
		snprintf(tmp, sizeof(tmp), fmt, index);
	size_t n = strlen(tmp);
	if (p->len + n >= sizeof(p->path)) {
		p->cut = 1;
		return mark;
	}
	for (size_t i = 0; i < n; i++)
		p->path[p->len + i] = (unsigned char)tmp[i] < 0x20 ? '?' : tmp[i];
	p->len += n;
	p->path[p->len] = '\0';
	return mark;
}

static void path_pop(pctx *p, size_t mark)
{
	p->len = mark;
	p->path[mark] = '\0';
}

static int perr(pctx *p, int code, const char *fmt, const char *detail)
{
	char msg[400];
	snprintf(msg, sizeof(msg), fmt, detail ? detail : "");
	if (code == S3I_ENOMEM)
		return s3i_err(p->err, code, p->path, "%s: out of memory", p->what);
	return s3i_err(p->err, code, p->path, "%s: attribute '%s%s': %s", p->what, p->path,
		p->cut ? "..." : "", msg);
}

static int parse_map(pctx *p, s3i_json obj, s3i_ddb_item *into);

/* Names of tags for messages: only printable ASCII, cut short. */
static const char *tag_label(char out[24], const char *tag)
{
	size_t i = 0;
	for (; tag[i] && i < 16; i++)
		out[i] = tag[i] >= 0x20 && tag[i] < 0x7f && tag[i] != '\'' ? tag[i] : '?';
	out[i] = '\0';
	if (tag[i])
		strcpy(out + i, "...");
	return out;
}

static int parse_value(pctx *p, s3i_json jv, int depth, s3i_ddb_value *out)
{
	out->type = S3I_DDB_NONE;
	if (!s3i_json_is_obj(jv))
		return perr(p, S3I_EPARSE, "not a DynamoDB attribute value (an object with one type "
			"tag)%s", NULL);
	if (s3i_json_len(jv) != 1)
		return perr(p, S3I_EPARSE, s3i_json_len(jv) ? "an attribute value has more than one "
			"type tag%s" : "an attribute value has no type tag%s", NULL);
	const char *tag = s3i_json_key_at(jv, 0);
	s3i_json v = s3i_json_val_at(jv, 0);
	char tl[24];
	if (!strcmp(tag, "S")) {
		if (!s3i_json_is_str(v))
			return perr(p, S3I_EPARSE, "S value is not a JSON string%s", NULL);
		if (!s3i_utf8_valid(s3i_json_str(v), strlen(s3i_json_str(v))))
			return perr(p, S3I_EPARSE, "S value is not valid UTF-8%s", NULL);
		return make_str(p->a, S3I_DDB_S, s3i_json_str(v), out) ? perr(p, S3I_ENOMEM, "%s", NULL) : 0;
	}
	if (!strcmp(tag, "N")) {
		if (!s3i_json_is_str(v))
			return perr(p, S3I_EPARSE, "N value is not a JSON string%s", NULL);
		if (!s3i_ddb_number_is_valid(s3i_json_str(v)))
			return perr(p, S3I_EPARSE, "N value is not a number%s", NULL);
		return make_str(p->a, S3I_DDB_N, s3i_json_str(v), out) ? perr(p, S3I_ENOMEM, "%s", NULL) : 0;
	}
	if (!strcmp(tag, "BOOL")) {
		if (!s3i_json_is_bool(v))
			return perr(p, S3I_EPARSE, "BOOL value is not true or false%s", NULL);
		out->type = S3I_DDB_BOOL;
		out->u.b = s3i_json_bool(v, 0);
		return S3I_OK;
	}
	if (!strcmp(tag, "NULL")) {
		if (!s3i_json_is_bool(v) || !s3i_json_bool(v, 0))
			return perr(p, S3I_EPARSE, "NULL value is not true%s", NULL);
		out->type = S3I_DDB_NULL;
		return S3I_OK;
	}
	if (!strcmp(tag, "M") || !strcmp(tag, "L")) {
		int is_m = tag[0] == 'M';
		if (is_m ? !s3i_json_is_obj(v) : !s3i_json_is_arr(v))
			return perr(p, S3I_EPARSE, is_m ? "M value is not a JSON object%s"
				: "L value is not a JSON array%s", NULL);
		if (depth + 1 > S3I_DDB_MAX_DEPTH) {
			char lim[16];
			snprintf(lim, sizeof(lim), "%d", S3I_DDB_MAX_DEPTH);
			return perr(p, S3I_EPARSE, "nested deeper than %s levels", lim);
		}
		if (is_m) {
			out->u.m = item_alloc(p->a, depth + 1);
			if (!out->u.m)
				return perr(p, S3I_ENOMEM, "%s", NULL);
			out->type = S3I_DDB_M;
			int rc = parse_map(p, v, out->u.m);
			if (rc)
				value_free(p->a, out);
			return rc;
		}
		out->u.l = list_alloc(p->a, depth + 1);
		if (!out->u.l)
			return perr(p, S3I_ENOMEM, "%s", NULL);
		out->type = S3I_DDB_L;
		size_t n = s3i_json_len(v);
		int rc = S3I_OK;
		for (size_t i = 0; i < n && !rc; i++) {
			size_t mark = path_push(p, "[%zu]", NULL, i);
			s3i_ddb_value ev;
			rc = parse_value(p, s3i_json_at(v, i), depth + 1, &ev);
			if (!rc && list_put(out->u.l, &ev))
				rc = perr(p, S3I_ENOMEM, "%s", NULL);
			path_pop(p, mark);
		}
		if (rc)
			value_free(p->a, out);
		return rc;
	}
	if (!strcmp(tag, "SS")) {
		if (!s3i_json_is_arr(v))
			return perr(p, S3I_EPARSE, "SS value is not a JSON array%s", NULL);
		size_t n = s3i_json_len(v);
		if (n == 0)
			return perr(p, S3I_EPARSE, "SS value is an empty set%s", NULL);
		const char **strs = s3i_malloc(p->a, n * sizeof(*strs));
		if (!strs)
			return perr(p, S3I_ENOMEM, "%s", NULL);
		int rc = S3I_OK;
		for (size_t i = 0; i < n && !rc; i++) {
			strs[i] = s3i_json_str(s3i_json_at(v, i));
			if (!strs[i] || !s3i_utf8_valid(strs[i], strlen(strs[i]))) {
				char idx[24];
				snprintf(idx, sizeof(idx), "%zu", i);
				rc = perr(p, S3I_EPARSE, strs[i] ? "SS entry %s is not valid UTF-8"
					: "SS entry %s is not a JSON string", idx);
			}
		}
		int dup = 0;
		if (!rc && has_duplicates(p->a, strs, n, &dup))
			rc = perr(p, S3I_ENOMEM, "%s", NULL);
		if (!rc && dup)
			rc = perr(p, S3I_EPARSE, "SS value holds a string twice%s", NULL);
		if (!rc && make_ss(p->a, strs, n, out))
			rc = perr(p, S3I_ENOMEM, "%s", NULL);
		s3i_free(p->a, strs);
		return rc;
	}
	if (!strcmp(tag, "B") || !strcmp(tag, "NS") || !strcmp(tag, "BS"))
		return perr(p, S3I_EPARSE, "type %s is not supported by this client", tag);
	return perr(p, S3I_EPARSE, "unknown type tag '%s'", tag_label(tl, tag));
}

static int parse_map(pctx *p, s3i_json obj, s3i_ddb_item *into)
{
	size_t n = s3i_json_len(obj);
	for (size_t i = 0; i < n; i++) {
		const char *name = s3i_json_key_at(obj, i);
		size_t mark = path_push(p, p->len ? ".%s" : "%s", name, 0);
		int rc = S3I_OK;
		if (!*name)
			rc = perr(p, S3I_EPARSE, "attribute name is empty%s", NULL);
		else if (!s3i_utf8_valid(name, strlen(name)))
			rc = perr(p, S3I_EPARSE, "attribute name is not valid UTF-8%s", NULL);
		else if (find(into, name, hash_name(name)) >= 0)
			rc = perr(p, S3I_EPARSE, "attribute appears twice%s", NULL);
		s3i_ddb_value v;
		if (!rc && !(rc = parse_value(p, s3i_json_val_at(obj, i), into->depth, &v)) &&
			item_put(into, name, &v))
			rc = perr(p, S3I_ENOMEM, "%s", NULL);
		path_pop(p, mark);
		if (rc)
			return rc;
	}
	return S3I_OK;
}

int s3i_ddb_item_from_json(s3i_ddb_item **out, const s3i_allocator *a, s3i_json obj,
	const char *what, s3i_errinfo *err)
{
	if (!what)
		what = "DynamoDB item";
	if (!out)
		return s3i_err(err, S3I_EINVALID, NULL, "%s: out is NULL", what);
	if (!s3i_json_is_obj(obj))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: not a JSON object of attribute values", what);
	pctx p = { .a = a ? a : s3i_allocator_default(), .what = what, .err = err };
	s3i_ddb_item *it = item_alloc(p.a, 0);
	if (!it)
		return s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory", what);
	int rc = parse_map(&p, obj, it);
	if (rc) {
		item_destroy(it);
		return rc;
	}
	*out = it;
	return S3I_OK;
}

int s3i_ddb_item_parse(s3i_ddb_item **out, const s3i_allocator *a, const char *json, size_t len,
	const char *what, s3i_errinfo *err)
{
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, json, len, what ? what : "DynamoDB item", err);
	if (rc)
		return rc;
	rc = s3i_ddb_item_from_json(out, a, doc, what, err);
	s3i_json_free(doc);
	return rc;
}

/* ------------------------------------------------------------------ describe */

typedef struct sbuf {
	char *p;
	size_t cap, len;
	int cut;
} sbuf;

/* Append up to max bytes of s (never splitting a UTF-8 sequence; control characters as '?'). */
static void sb_put(sbuf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	int cut = 0;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		cut = 1;
	}
	for (size_t i = 0; i < n && !b->cut; i++) {
		if (b->len + 1 >= b->cap) {
			b->cut = 1;
			break;
		}
		b->p[b->len++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	}
	if (cut && !b->cut)
		sb_put(b, "...", 3);
	b->p[b->len] = '\0';
}

static void describe_value(sbuf *b, const s3i_ddb_value *v)
{
	char tmp[48];
	switch (v->type) {
	case S3I_DDB_S:
		sb_put(b, "\"", 1);
		sb_put(b, v->u.str, 64);
		sb_put(b, "\"", 1);
		break;
	case S3I_DDB_N:
		sb_put(b, v->u.str, 64);
		break;
	case S3I_DDB_BOOL:
		sb_put(b, v->u.b ? "true" : "false", 5);
		break;
	case S3I_DDB_NULL:
		sb_put(b, "null", 4);
		break;
	case S3I_DDB_M:
		sb_put(b, v->u.m->n ? "{...}" : "{}", 5);
		break;
	case S3I_DDB_L:
		sb_put(b, v->u.l->n ? "[...]" : "[]", 5);
		break;
	case S3I_DDB_SS:
		snprintf(tmp, sizeof(tmp), "<set of %zu>", v->u.ss.n);
		sb_put(b, tmp, sizeof(tmp));
		break;
	default:
		break;
	}
}

void s3i_ddb_item_describe_some(const s3i_ddb_item *it, const char *const *names, size_t n,
	char *out, size_t cap)
{
	if (!out || cap == 0)
		return;
	out[0] = '\0';
	if (cap < 8)
		return;
	sbuf b = { out, cap - 3, 0, 0 };   /* room for "..." */
	sb_put(&b, "{", 1);
	size_t shown = 0;
	size_t total = names ? n : (it ? it->n : 0);
	if (!names && n < total)
		total = n;
	for (size_t i = 0; it && i < total && !b.cut; i++) {
		const char *name = names ? names[i] : it->e[i].name;
		const s3i_ddb_value *v = names ? s3i_ddb_item_get(it, name) : &it->e[i].v;
		if (!v)
			continue;
		if (shown++)
			sb_put(&b, ", ", 2);
		sb_put(&b, name, 64);
		sb_put(&b, "=", 1);
		describe_value(&b, v);
	}
	if (b.cut) {
		memcpy(out + b.len, "...", 4);
		return;
	}
	b.cap = cap;
	sb_put(&b, "}", 1);
}

void s3i_ddb_item_describe(const s3i_ddb_item *it, char *out, size_t cap)
{
	s3i_ddb_item_describe_some(it, NULL, (size_t)-1, out, cap);
}
