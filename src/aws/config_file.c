/*
 * The shared config and credentials files, parsed as botocore does (see config_file.h for
 * the rules and where we are more lenient than configparser).
 */
#include "aws/config_file.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"

#define CF_MAX_FILE_SIZE ((size_t)16 << 20)

enum { KIND_PROFILE = 1, KIND_SSO_SESSION, KIND_SERVICES, KIND_DEFAULTS, KIND_OTHER };

typedef struct cf_entry {
	char *key;
	char *value;
	char *parent;              /* sub-section key for nested values, NULL at the top level */
} cf_entry;

typedef struct cf_section {
	int file;                  /* S3I_PROFILES_CONFIG or S3I_PROFILES_CREDENTIALS */
	int kind;
	char *name;
	cf_entry *entries;
	size_t count, cap;
} cf_section;

struct s3i_profile_set {
	const s3i_allocator *alloc;
	cf_section *secs;
	size_t count, cap;
	int have_file[3];
	char *path[3];
};

/* ---------------------------------------------------------------- storage */

static void entry_free(const s3i_allocator *a, cf_entry *e)
{
	s3i_free_secret(a, e->value);
	s3i_free(a, e->key);
	s3i_free(a, e->parent);
}

void s3i_profiles_free(s3i_profile_set *p)
{
	if (!p)
		return;
	const s3i_allocator *a = p->alloc;
	for (size_t i = 0; i < p->count; i++) {
		cf_section *s = &p->secs[i];
		for (size_t j = 0; j < s->count; j++)
			entry_free(a, &s->entries[j]);
		s3i_free(a, s->entries);
		s3i_free(a, s->name);
	}
	s3i_free(a, p->secs);
	s3i_free(a, p->path[1]);
	s3i_free(a, p->path[2]);
	s3i_free(a, p);
}

static int str_eq_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static cf_section *find_section(const s3i_profile_set *p, int file, int kind, const char *name)
{
	for (size_t i = 0; i < p->count; i++) {
		cf_section *s = &p->secs[i];
		if (s->file == file && s->kind == kind && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

/* The section (file, kind, name), created when absent: duplicate sections merge. */
static cf_section *get_section(s3i_profile_set *p, int file, int kind, const char *name, size_t nlen)
{
	for (size_t i = 0; i < p->count; i++) {
		cf_section *s = &p->secs[i];
		if (s->file == file && s->kind == kind && strlen(s->name) == nlen &&
			!memcmp(s->name, name, nlen))
			return s;
	}
	if (p->count == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		cf_section *n = s3i_realloc(p->alloc, p->secs, ncap * sizeof(*n));
		if (!n)
			return NULL;
		p->secs = n;
		p->cap = ncap;
	}
	cf_section *s = &p->secs[p->count];
	memset(s, 0, sizeof(*s));
	if (!(s->name = s3i_strndup(p->alloc, name, nlen)))
		return NULL;
	s->file = file;
	s->kind = kind;
	p->count++;
	return s;
}

static cf_entry *find_entry(const cf_section *s, const char *parent, const char *key)
{
	for (size_t i = 0; i < s->count; i++)
		if (!strcmp(s->entries[i].key, key) && str_eq_opt(s->entries[i].parent, parent))
			return &s->entries[i];
	return NULL;
}

/* Set (parent, key) = value in s; a later value replaces an earlier one. */
static int section_set(const s3i_allocator *a, cf_section *s, const char *parent, const char *key,
	size_t klen, const char *value, size_t vlen)
{
	char *k = s3i_strndup(a, key, klen);
	char *v = s3i_strndup(a, value, vlen);
	char *par = parent ? s3i_strdup(a, parent) : NULL;
	if (!k || !v || (parent && !par))
		goto oom;
	cf_entry *e = find_entry(s, parent, k);
	if (e) {
		s3i_free_secret(a, e->value);
		e->value = v;
		s3i_free(a, k);
		s3i_free(a, par);
		return S3I_OK;
	}
	if (s->count == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		cf_entry *n = s3i_realloc(a, s->entries, ncap * sizeof(*n));
		if (!n)
			goto oom;
		s->entries = n;
		s->cap = ncap;
	}
	s->entries[s->count].key = k;
	s->entries[s->count].value = v;
	s->entries[s->count].parent = par;
	s->count++;
	return S3I_OK;
oom:
	s3i_free(a, k);
	s3i_free_secret(a, v);
	s3i_free(a, par);
	return S3I_ENOMEM;
}

/* Drop the nested values under `parent` (a key redefined replaces its whole sub-section). */
static void section_drop_sub(const s3i_allocator *a, cf_section *s, const char *parent)
{
	size_t w = 0;
	for (size_t i = 0; i < s->count; i++) {
		if (s->entries[i].parent && !strcmp(s->entries[i].parent, parent))
			entry_free(a, &s->entries[i]);
		else
			s->entries[w++] = s->entries[i];
	}
	s->count = w;
}

/* ---------------------------------------------------------------- section headers */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

/* Split `s` the way Python's shlex.split does in POSIX mode (quotes and backslashes, no
 * comments) and return the second word when there are exactly two words. */
static int shlex_second(const s3i_allocator *a, const char *s, size_t len, s3i_buf *word2)
{
	s3i_buf w;
	s3i_buf_init(&w, a);
	int words = 0, in_word = 0, rc = S3I_OK;
	size_t i = 0;
	while (i <= len && rc == S3I_OK) {
		char c = i < len ? s[i] : '\0';
		if (i == len || isspace((unsigned char)c)) {
			if (in_word) {
				if (++words == 2)
					rc = s3i_buf_put(word2, s3i_buf_cstr(&w), w.size);
				s3i_buf_clear(&w);
				in_word = 0;
			}
			i++;
			continue;
		}
		in_word = 1;
		if (c == '\'' || c == '"') {
			size_t j = i + 1;
			for (; j < len && s[j] != c; j++) {
				if (c == '"' && s[j] == '\\' && j + 1 < len && (s[j + 1] == '"' || s[j + 1] == '\\'))
					j++;
				if ((rc = s3i_buf_putc(&w, s[j])))
					break;
			}
			if (j >= len)
				rc = rc ? rc : S3I_EPARSE;   /* no closing quotation */
			i = j + 1;
		} else if (c == '\\') {
			if (i + 1 >= len)
				rc = S3I_EPARSE;             /* no escaped character */
			else
				rc = s3i_buf_putc(&w, s[i + 1]);
			i += 2;
		} else {
			rc = s3i_buf_putc(&w, c);
			i++;
		}
	}
	s3i_buf_dispose(&w);
	if (rc == S3I_OK && words != 2)
		rc = S3I_EPARSE;
	return rc;
}

/* Classify a config-file header. Sets *kind (0: not a usable section) and the name. */
static int classify_config(const s3i_allocator *a, const char *h, size_t len, int *kind, s3i_buf *name)
{
	static const struct { const char *prefix; int kind; } typed[] = {
		{ "profile", KIND_PROFILE }, { "sso-session", KIND_SSO_SESSION },
		{ "services", KIND_SERVICES } };
	*kind = 0;
	if (len == 7 && !memcmp(h, "default", 7)) {
		*kind = KIND_PROFILE;
		return s3i_buf_put(name, h, len);
	}
	if (len == 7 && !memcmp(h, "DEFAULT", 7)) {
		*kind = KIND_DEFAULTS;
		return s3i_buf_put(name, h, len);
	}
	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		size_t pl = strlen(typed[i].prefix);
		if (len > pl && !memcmp(h, typed[i].prefix, pl) && isspace((unsigned char)h[pl])) {
			int rc = shlex_second(a, h, len, name);
			if (rc == S3I_ENOMEM)
				return rc;
			if (rc == S3I_OK && name->size > 0)
				*kind = typed[i].kind;
			return S3I_OK;
		}
	}
	*kind = KIND_OTHER;
	return s3i_buf_put(name, h, len);
}

/* ---------------------------------------------------------------- the parser */

typedef struct cf_parser {
	s3i_profile_set *set;
	int file;
	cf_section *sec;           /* NULL: keys are dropped (no or a malformed header) */
	int have_opt;              /* an option is being collected */
	s3i_buf key;
	s3i_buf value;             /* continuation lines joined with '\n' */
	size_t indent_level;
} cf_parser;

/* Store one "key = value" line of a nested sub-section; lines without '=' are skipped. */
static int store_nested_line(cf_parser *ps, const char *parent, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	if (!eq)
		return S3I_OK;
	size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
	const char *k = s3i_str_trim(line, &klen);
	const char *v = s3i_str_trim(eq + 1, &vlen);
	if (!klen)
		return S3I_OK;
	return section_set(ps->set->alloc, ps->sec, parent, k, klen, v, vlen);
}

/* Finish the option being collected: a plain value, or a sub-section when the value is empty
 * on the key's line and continued below (botocore's _parse_nested). */
static int finish_option(cf_parser *ps)
{
	if (!ps->have_opt)
		return S3I_OK;
	ps->have_opt = 0;
	const s3i_allocator *a = ps->set->alloc;
	const char *key = s3i_buf_cstr(&ps->key);
	size_t vlen = ps->value.size;
	const char *v = s3i_buf_cstr(&ps->value);
	while (vlen && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	section_drop_sub(a, ps->sec, key);
	if (vlen == 0 || v[0] != '\n')
		return section_set(a, ps->sec, NULL, key, ps->key.size, v, vlen);
	int rc = section_set(a, ps->sec, NULL, key, ps->key.size, "", 0);
	const char *p = v + 1, *end = v + vlen;
	while (rc == S3I_OK && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - p);
		const char *t = s3i_str_trim(p, &ll);
		if (ll)
			rc = store_nested_line(ps, key, t, ll);
		p = le + 1;
	}
	return rc;
}

/* Cut an inline comment: '#' or ';' preceded by whitespace. */
static size_t cut_inline_comment(const char *s, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if ((s[i] == '#' || s[i] == ';') && is_blank(s[i - 1]))
			return i;
	return len;
}

static int parse_header(cf_parser *ps, const char *t, size_t len)
{
	/* comments may follow the closing bracket: "[profile x] # note" */
	const char *close = memchr(t, ']', len);
	if (close) {
		for (const char *c = close; c < t + len; c++)
			if (*c == '#' || *c == ';') {
				len = (size_t)(c - t);
				break;
			}
	}
	size_t hl = 0;
	for (size_t i = len; i > 1; i--)
		if (t[i - 1] == ']') {
			hl = i - 2;
			break;
		}
	const char *h = s3i_str_trim(t + 1, &hl);
	ps->sec = NULL;
	if (!close || hl == 0)
		return S3I_OK;    /* malformed: drop what follows until the next good header */
	const s3i_allocator *a = ps->set->alloc;
	int kind = KIND_PROFILE, rc = S3I_OK;
	s3i_buf name;
	s3i_buf_init(&name, a);
	if (ps->file == S3I_PROFILES_CONFIG)
		rc = classify_config(a, h, hl, &kind, &name);
	else
		rc = s3i_buf_put(&name, h, hl);
	if (ps->file != S3I_PROFILES_CONFIG && hl == 7 && !memcmp(h, "DEFAULT", 7))
		kind = KIND_DEFAULTS;
	if (rc == S3I_OK && kind) {
		ps->sec = get_section(ps->set, ps->file, kind, s3i_buf_cstr(&name), name.size);
		if (!ps->sec)
			rc = S3I_ENOMEM;
	}
	s3i_buf_dispose(&name);
	return rc;
}

static int parse_option(cf_parser *ps, const char *t, size_t len)
{
	size_t d = 0;
	while (d < len && t[d] != '=' && t[d] != ':')
		d++;
	size_t klen = d;
	while (klen && isspace((unsigned char)t[klen - 1]))
		klen--;
	if (d == len || klen == 0 || !ps->sec)
		return S3I_OK;    /* malformed, or outside any usable section */
	size_t vlen = len - d - 1;
	const char *v = s3i_str_trim(t + d + 1, &vlen);
	s3i_buf_clear(&ps->key);
	s3i_buf_clear(&ps->value);
	int rc = s3i_buf_put(&ps->key, t, klen);
	if (rc == S3I_OK) {
		for (size_t i = 0; i < klen; i++)
			ps->key.ptr[i] = (char)tolower((unsigned char)ps->key.ptr[i]);
		rc = s3i_buf_put(&ps->value, v, vlen);
	}
	ps->have_opt = rc == S3I_OK;
	return rc;
}

static int parse_line(cf_parser *ps, const char *line, size_t len)
{
	size_t indent = 0;
	while (indent < len && isspace((unsigned char)line[indent]))
		indent++;
	if (indent == len)   /* blank: kept inside a value (configparser's empty_lines_in_values) */
		return ps->have_opt ? s3i_buf_putc(&ps->value, '\n') : S3I_OK;
	if (line[indent] == '#' || line[indent] == ';')
		return S3I_OK;
	size_t tl = len - indent;
	const char *t = s3i_str_trim(line + indent, &tl);
	if (ps->have_opt && indent > ps->indent_level) {
		tl = cut_inline_comment(t, tl);
		t = s3i_str_trim(t, &tl);
		int rc = s3i_buf_putc(&ps->value, '\n');
		return rc ? rc : s3i_buf_put(&ps->value, t, tl);
	}
	ps->indent_level = indent;
	int rc = finish_option(ps);
	if (rc)
		return rc;
	if (t[0] == '[')
		return parse_header(ps, t, tl);
	tl = cut_inline_comment(t, tl);
	t = s3i_str_trim(t, &tl);
	return parse_option(ps, t, tl);
}

static int parse_into(s3i_profile_set *set, int file, const char *text, size_t len)
{
	cf_parser ps;
	memset(&ps, 0, sizeof(ps));
	ps.set = set;
	ps.file = file;
	s3i_buf_init(&ps.key, set->alloc);
	s3i_buf_init(&ps.value, set->alloc);
	set->have_file[file] = 1;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
		text += 3;
		len -= 3;
	}
	int rc = S3I_OK;
	size_t i = 0;
	while (rc == S3I_OK && i < len) {
		size_t j = i;
		while (j < len && text[j] != '\n' && text[j] != '\r')
			j++;
		rc = parse_line(&ps, text + i, j - i);
		if (j < len && text[j] == '\r' && j + 1 < len && text[j + 1] == '\n')
			j++;
		i = j + 1;
	}
	if (rc == S3I_OK)
		rc = finish_option(&ps);
	s3i_buf_dispose(&ps.key);
	if (ps.value.ptr)
		s3i_free_secret(set->alloc, s3i_buf_detach(&ps.value));
	return rc;
}

static int set_new(s3i_profile_set **out, const s3i_allocator *a, s3i_errinfo *err)
{
	s3i_profile_set *p = s3i_calloc(a, 1, sizeof(*p));
	if (!p)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory reading the AWS config files");
	p->alloc = a ? a : s3i_allocator_default();
	*out = p;
	return S3I_OK;
}

int s3i_profiles_add_text(s3i_profile_set *p, int which, const char *text, size_t len,
	s3i_errinfo *err)
{
	if (!p || (which != S3I_PROFILES_CONFIG && which != S3I_PROFILES_CREDENTIALS) ||
		p->have_file[which])
		return s3i_err(err, S3I_EINVALID, NULL, "s3i_profiles_add_text: bad set or file");
	if (!text)
		return S3I_OK;
	int rc = parse_into(p, which, text, len);
	if (rc)
		return s3i_err(err, rc, NULL, "out of memory parsing the AWS %s file",
			which == S3I_PROFILES_CONFIG ? "config" : "credentials");
	return S3I_OK;
}

int s3i_profiles_parse(s3i_profile_set **out, const s3i_allocator *a, const char *text,
	size_t len, int is_config, s3i_errinfo *err)
{
	s3i_profile_set *p = NULL;
	int rc = set_new(&p, a, err);
	if (rc)
		return rc;
	rc = s3i_profiles_add_text(p, is_config ? S3I_PROFILES_CONFIG : S3I_PROFILES_CREDENTIALS,
		text, len, err);
	if (rc) {
		s3i_profiles_free(p);
		return rc;
	}
	*out = p;
	return S3I_OK;
}

/* ---------------------------------------------------------------- paths and files */

static int home_of(const char *user, size_t ulen, s3i_buf *out)
{
	if (ulen == 0) {
		const char *h = getenv("HOME");
		if (h)
			return s3i_buf_puts(out, h);
	}
	char name[256], pwbuf[4096];
	if (ulen >= sizeof(name))
		return S3I_ENOTFOUND;
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	struct passwd pw, *res = NULL;
	int e = ulen ? getpwnam_r(name, &pw, pwbuf, sizeof(pwbuf), &res)
		: getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res);
	if (e || !res || !res->pw_dir)
		return S3I_ENOTFOUND;
	return s3i_buf_puts(out, res->pw_dir);
}

static int is_name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* os.path.expandvars: $NAME and ${NAME}; unknown variables are left as written. */
static int expand_vars(s3i_buf *out, const char *s)
{
	int rc = S3I_OK;
	while (*s && rc == S3I_OK) {
		if (*s != '$') {
			rc = s3i_buf_putc(out, *s++);
			continue;
		}
		const char *n = s + 1, *e;
		size_t skip;
		if (*n == '{') {
			e = strchr(n + 1, '}');
			if (!e) {
				rc = s3i_buf_putc(out, *s++);
				continue;
			}
			n++;
			skip = (size_t)(e - s) + 1;
		} else {
			for (e = n; is_name_char(*e); e++)
				;
			skip = (size_t)(e - s);
		}
		char name[256];
		size_t nl = (size_t)(e - n);
		const char *v = NULL;
		if (nl > 0 && nl < sizeof(name)) {
			memcpy(name, n, nl);
			name[nl] = '\0';
			v = getenv(name);
		}
		if (v) {
			rc = s3i_buf_puts(out, v);
			s += skip;
		} else {
			rc = s3i_buf_putc(out, *s++);
		}
	}
	return rc;
}

char *s3i_expand_path(const s3i_allocator *a, const char *path)
{
	s3i_buf v, out;
	s3i_buf_init(&v, a);
	s3i_buf_init(&out, a);
	int rc = expand_vars(&v, path ? path : "");
	const char *s = s3i_buf_cstr(&v);
	if (rc == S3I_OK && s[0] == '~') {
		const char *slash = strchr(s, '/');
		size_t ulen = slash ? (size_t)(slash - s) - 1 : strlen(s) - 1;
		rc = home_of(s + 1, ulen, &out);
		if (rc == S3I_OK) {
			while (out.size > 1 && out.ptr[out.size - 1] == '/')
				out.ptr[--out.size] = '\0';
			if (slash && out.size == 1 && out.ptr[0] == '/')
				s3i_buf_truncate(&out, 0);
			rc = s3i_buf_puts(&out, slash ? slash : "");
			if (rc == S3I_OK && out.size == 0)
				rc = s3i_buf_putc(&out, '/');
		} else if (rc == S3I_ENOTFOUND) {
			s3i_buf_clear(&out);
			rc = s3i_buf_puts(&out, s);    /* unknown user: unchanged, as Python does */
		}
	} else if (rc == S3I_OK) {
		rc = s3i_buf_puts(&out, s);
	}
	s3i_buf_dispose(&v);
	if (rc) {
		s3i_buf_dispose(&out);
		return NULL;
	}
	return s3i_buf_detach(&out);
}

/* Read a whole regular file. Missing or unreadable files give S3I_ENOTFOUND (botocore
 * skips them too). */
static int read_file(const s3i_allocator *a, const char *path, s3i_buf *out, s3i_errinfo *err)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return S3I_ENOTFOUND;
	if ((size_t)st.st_size > CF_MAX_FILE_SIZE)
		return s3i_err(err, S3I_EINVALID, path, "%s is larger than %zu bytes", path,
			CF_MAX_FILE_SIZE);
	FILE *f = fopen(path, "rb");
	if (!f)
		return S3I_ENOTFOUND;
	char chunk[8192];
	size_t n;
	int rc = S3I_OK;
	while (rc == S3I_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->size + n > CF_MAX_FILE_SIZE)
			rc = s3i_err(err, S3I_EINVALID, path, "%s is larger than %zu bytes", path,
				CF_MAX_FILE_SIZE);
		else if (s3i_buf_put(out, chunk, n))
			rc = s3i_err(err, S3I_ENOMEM, path, "out of memory reading %s", path);
	}
	if (rc == S3I_OK && ferror(f))
		rc = S3I_ENOTFOUND;
	fclose(f);
	return rc;
}

static int load_one(s3i_profile_set *p, int which, const char *env, const char *dflt,
	s3i_errinfo *err)
{
	const char *v = getenv(env);
	char *path = s3i_expand_path(p->alloc, v && *v ? v : dflt);
	if (!path)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory reading the AWS config files");
	p->path[which] = path;
	s3i_buf text;
	s3i_buf_init(&text, p->alloc);
	int rc = read_file(p->alloc, path, &text, err);
	if (rc == S3I_OK)
		rc = s3i_profiles_add_text(p, which, s3i_buf_cstr(&text), text.size, err);
	else if (rc == S3I_ENOTFOUND)
		rc = S3I_OK;
	if (text.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&text));
	return rc;
}

int s3i_profiles_load(s3i_profile_set **out, const s3i_allocator *a, s3i_errinfo *err)
{
	s3i_profile_set *p = NULL;
	int rc = set_new(&p, a, err);
	if (rc == S3I_OK)
		rc = load_one(p, S3I_PROFILES_CONFIG, "AWS_CONFIG_FILE", "~/.aws/config", err);
	if (rc == S3I_OK)
		rc = load_one(p, S3I_PROFILES_CREDENTIALS, "AWS_SHARED_CREDENTIALS_FILE",
			"~/.aws/credentials", err);
	if (rc) {
		s3i_profiles_free(p);
		return rc;
	}
	*out = p;
	return S3I_OK;
}

const char *s3i_profiles_path(const s3i_profile_set *p, int which)
{
	if (!p || (which != S3I_PROFILES_CONFIG && which != S3I_PROFILES_CREDENTIALS))
		return NULL;
	return p->path[which];
}

/* ---------------------------------------------------------------- lookups */

const char *s3i_profile_name(const char *explicit_profile)
{
	if (explicit_profile && *explicit_profile)
		return explicit_profile;
	const char *v = getenv("AWS_PROFILE");
	if (v && *v)
		return v;
	v = getenv("AWS_DEFAULT_PROFILE");
	if (v && *v)
		return v;
	return "default";
}

/* What a lookup name addresses: a profile, or "services X" / "sso-session X" sections. */
static int lookup_kind(const char **name)
{
	static const struct { const char *prefix; int kind; } typed[] = {
		{ "services", KIND_SERVICES }, { "sso-session", KIND_SSO_SESSION } };
	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		size_t pl = strlen(typed[i].prefix);
		if (!strncmp(*name, typed[i].prefix, pl) && is_blank((*name)[pl])) {
			const char *n = *name + pl;
			while (is_blank(*n))
				n++;
			*name = n;
			return typed[i].kind;
		}
	}
	return KIND_PROFILE;
}

/* The section that answers for `name` in one file, or NULL. */
static const cf_section *file_section(const s3i_profile_set *p, int file, const char *name)
{
	int kind = lookup_kind(&name);
	if (kind != KIND_PROFILE && file != S3I_PROFILES_CONFIG)
		return NULL;
	return find_section(p, file, kind, name);
}

/* Entry (parent, key) in a section, else in its file's [DEFAULT]. */
static const cf_entry *section_lookup(const s3i_profile_set *p, const cf_section *s,
	const char *parent, const char *key)
{
	const cf_entry *e = find_entry(s, parent, key);
	if (e)
		return e;
	const cf_section *d = find_section(p, s->file, KIND_DEFAULTS, "DEFAULT");
	return d ? find_entry(d, parent, key) : NULL;
}

/* Keys are stored lower-cased; look them up the same way. */
static const char *lower_key(const char *key, char *buf, size_t cap)
{
	size_t n = strlen(key);
	if (n >= cap)
		return key;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)key[i]);
	return buf;
}

const char *s3i_profiles_get_in(const s3i_profile_set *p, int which, const char *profile,
	const char *key)
{
	if (!p || !key)
		return NULL;
	const cf_section *s = file_section(p, which, s3i_profile_name(profile));
	if (!s)
		return NULL;
	char kb[128];
	const cf_entry *e = section_lookup(p, s, NULL, lower_key(key, kb, sizeof(kb)));
	return e ? e->value : NULL;
}

int s3i_profiles_has_in(const s3i_profile_set *p, int which, const char *profile)
{
	return p && file_section(p, which, s3i_profile_name(profile)) != NULL;
}

/* botocore merges the credentials file's profile over the config file's. */
const char *s3i_profiles_get(const s3i_profile_set *p, const char *profile, const char *key)
{
	const char *v = s3i_profiles_get_in(p, S3I_PROFILES_CREDENTIALS, profile, key);
	return v ? v : s3i_profiles_get_in(p, S3I_PROFILES_CONFIG, profile, key);
}

const char *s3i_profiles_get_sub(const s3i_profile_set *p, const char *profile,
	const char *section, const char *key)
{
	if (!p || !section || !key)
		return NULL;
	const char *name = s3i_profile_name(profile);
	char sb[128];
	const char *sec = lower_key(section, sb, sizeof(sb));
	static const int order[] = { S3I_PROFILES_CREDENTIALS, S3I_PROFILES_CONFIG };
	for (size_t i = 0; i < 2; i++) {
		const cf_section *s = file_section(p, order[i], name);
		if (!s)
			continue;
		/* the file whose profile defines the sub-section answers for all of it */
		if (section_lookup(p, s, NULL, sec)) {
			const cf_entry *e = section_lookup(p, s, sec, key);
			return e ? e->value : NULL;
		}
	}
	return NULL;
}

int s3i_profiles_has(const s3i_profile_set *p, const char *profile)
{
	return s3i_profiles_has_in(p, S3I_PROFILES_CREDENTIALS, profile) ||
		s3i_profiles_has_in(p, S3I_PROFILES_CONFIG, profile);
}
