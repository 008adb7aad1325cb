/*
 * s3i_demo: a tour of libs3insights' S3 calls against a local moto_server.
 *
 *   s3i_demo                          start moto_server on a free 127.0.0.1 port, run, stop it
 *   s3i_demo --endpoint URL           use an endpoint that is already running instead
 *
 * Through the public API only (<s3insights/s3insights.h>) it creates a bucket, uploads a few
 * objects (keys with spaces, '+', '=' and UTF-8, an empty one, a binary one and a file of a
 * few MiB streamed from disk), lists them, downloads every one and compares it byte for byte,
 * then deletes the objects and the bucket. It prints what it did as a table and one summary
 * line. Exit status 0 only when every step succeeded; on a failure it prints the library's
 * error detail (s3i_error_last()). The moto_server it started is stopped (SIGTERM, then wait)
 * on every way out, Ctrl-C included.
 *
 * Options:
 *   --endpoint URL         use this endpoint; no moto_server is started
 *   --moto-launcher PATH   tests/moto_launcher.py (default: from the source tree it was built in)
 *   --python PATH          interpreter for the launcher (default: $S3I_PYTHON, the build's, python3)
 *   --bucket NAME          bucket to create (default: s3i-demo-<pid>-<time>)
 *   --file-mib N           size of the streamed file in MiB (default 5)
 *   --region REGION        region for the context and the bucket (default us-east-1)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <s3insights/s3insights.h>

#define READY_TIMEOUT_MS 60000
#define STOP_GRACE_MS 10000
#define START_TRIES 5

/* ------------------------------------------------------------------ small helpers */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Report a failed library call with everything s3i_error_last() knows. Returns rc. */
static int report(const char *what, int rc)
{
	const s3i_error *e = s3i_error_last();
	fprintf(stderr, "s3i_demo: %s failed: %s (status %d)\n", what, s3i_strerror(rc), rc);
	if (e->message[0])
		fprintf(stderr, "  message:    %s\n", e->message);
	if (e->aws_code[0])
		fprintf(stderr, "  aws code:   %s\n", e->aws_code);
	if (e->http_status)
		fprintf(stderr, "  HTTP:       %d\n", (int)e->http_status);
	if (e->request_id[0])
		fprintf(stderr, "  request id: %s\n", e->request_id);
	if (e->resource[0])
		fprintf(stderr, "  resource:   %s\n", e->resource);
	return rc;
}

static void on_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	static const char *const names[] = { "NONE", "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };
	fprintf(stderr, "[libs3insights %s] %s\n",
		level >= 0 && level <= S3I_LOG_TRACE ? names[level] : "?", line);
}

/* Columns a UTF-8 string takes in a terminal: East Asian wide characters and emoji take two. */
static int display_width(const char *s)
{
	int w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		int n;
		if (*p < 0x80) { cp = *p; n = 1; }
		else if ((*p & 0xE0) == 0xC0) { cp = *p & 0x1F; n = 2; }
		else if ((*p & 0xF0) == 0xE0) { cp = *p & 0x0F; n = 3; }
		else { cp = *p & 0x07; n = 4; }
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80) { n = i; break; }
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		p += n;
		int wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
			(cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
			(cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
			(cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
			(cp >= 0x1F680 && cp <= 0x1F6FF) || (cp >= 0x1F900 && cp <= 0x1FAFF) ||
			(cp >= 0x20000 && cp <= 0x3FFFD);
		w += wide ? 2 : 1;
	}
	return w;
}

static void print_padded(const char *s, int width)
{
	int w = display_width(s);
	fputs(s, stdout);
	for (; w < width; w++)
		fputc(' ', stdout);
}

/* Deterministic pseudo-random bytes (xorshift64*), so a failure is reproducible. */
static void fill_random(uint64_t *state, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		*state ^= *state >> 12;
		*state ^= *state << 25;
		*state ^= *state >> 27;
		buf[i] = (unsigned char)((*state * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

/* ------------------------------------------------------------------ moto_server */

/* Written from the signal handler too, so plain storage the handler may read at any time. */
static volatile sig_atomic_t g_moto_pid;
static char g_tmp_paths[3][512];   /* removed on every way out (the log only on success) */
static char g_log_path[512];

static void stop_moto_now(void)   /* async-signal-safe */
{
	pid_t pid = (pid_t)g_moto_pid;
	if (pid <= 0)
		return;
	g_moto_pid = 0;
	kill(pid, SIGTERM);
	for (int waited = 0;; waited += 20) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (waited >= STOP_GRACE_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void remove_temp_files(void)   /* async-signal-safe */
{
	for (int i = 0; i < 3; i++)
		if (g_tmp_paths[i][0])
			unlink(g_tmp_paths[i]);
}

static void on_signal(int sig)
{
	stop_moto_now();
	remove_temp_files();
	if (g_log_path[0])
		unlink(g_log_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void cleanup_at_exit(void)
{
	stop_moto_now();
	remove_temp_files();
}

/* A port nobody listens on right now (the launcher may still lose a race for it: retried). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	socklen_t len = sizeof a;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
		getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* GET /moto-api/config with a raw socket: any HTTP 2xx answer means the server is up. */
static int probe(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	int ok = 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
		char req[160], resp[64];
		int n = snprintf(req, sizeof req, "GET /moto-api/config HTTP/1.0\r\n"
			"Host: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", port);
		size_t got = 0;
		if (write(fd, req, (size_t)n) == n) {
			ssize_t r;
			while (got < sizeof resp - 1 && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
				got += (size_t)r;
		}
		resp[got] = '\0';
		ok = !strncmp(resp, "HTTP/1.", 7) && strlen(resp) >= 12 && resp[9] == '2';
	}
	close(fd);
	return ok;
}

static void print_log_tail(const char *path, long max_bytes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	char buf[4096];
	if (max_bytes > (long)sizeof buf - 1)
		max_bytes = (long)sizeof buf - 1;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > max_bytes ? size - max_bytes : 0, SEEK_SET);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	fprintf(stderr, "---- end of %s ----\n%s%s----\n", path, buf,
		n && buf[n - 1] != '\n' ? "\n" : "");
}

static int log_mentions(const char *path, const char *what)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

/* Fork the launcher with stdout+stderr into the log. The child dies with us (Linux). */
static pid_t spawn_launcher(const char *python, const char *launcher, int port, int logfd)
{
	char port_s[16];
	snprintf(port_s, sizeof port_s, "%d", port);
	char *argv[] = { (char *)python, (char *)launcher, "-H", "127.0.0.1", "-p", port_s, NULL };
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
#endif
		(void)parent;
		int nullfd = open("/dev/null", O_RDONLY);
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execvp(python, argv);
		static const char msg[] = "s3i_demo: cannot execute the Python interpreter\n";
		ssize_t ignored = write(2, msg, sizeof msg - 1);
		(void)ignored;
		_exit(127);
	}
	return pid;
}

/* Start the launcher and wait until it answers. Fills url. 0 or -1 (reason on stderr). */
static int start_moto(const char *python, const char *launcher, char *url, size_t url_len)
{
	if (access(launcher, R_OK) != 0) {
		fprintf(stderr, "s3i_demo: moto launcher '%s' not readable: %s "
			"(pass --moto-launcher PATH or --endpoint URL)\n", launcher, strerror(errno));
		return -1;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(g_log_path, sizeof g_log_path, "%s/s3i-demo-moto-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int logfd = mkstemp(g_log_path);
	if (logfd < 0) {
		fprintf(stderr, "s3i_demo: cannot create a log file in %s: %s\n",
			tmp && *tmp ? tmp : "/tmp", strerror(errno));
		g_log_path[0] = '\0';
		return -1;
	}
	for (int attempt = 1; attempt <= START_TRIES; attempt++) {
		int port = free_port();
		if (port <= 0) {
			fprintf(stderr, "s3i_demo: cannot find a free port on 127.0.0.1: %s\n", strerror(errno));
			break;
		}
		if (ftruncate(logfd, 0) != 0 || lseek(logfd, 0, SEEK_SET) < 0)
			fprintf(stderr, "s3i_demo: cannot reset %s: %s\n", g_log_path, strerror(errno));
		printf("starting moto_server: %s %s -H 127.0.0.1 -p %d (log: %s)\n", python, launcher,
			port, g_log_path);
		pid_t pid = spawn_launcher(python, launcher, port, logfd);
		if (pid < 0) {
			fprintf(stderr, "s3i_demo: fork failed: %s\n", strerror(errno));
			break;
		}
		g_moto_pid = pid;
		int64_t started = now_ms(), until = started + READY_TIMEOUT_MS;
		int exited = 0, status = 0;
		while (now_ms() < until) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				g_moto_pid = 0;
				exited = 1;
				break;
			}
			if (probe(port)) {
				close(logfd);
				snprintf(url, url_len, "http://127.0.0.1:%d", port);
				printf("moto_server ready at %s after %.1f s (pid %d)\n", url,
					(double)(now_ms() - started) / 1000.0, (int)pid);
				return 0;
			}
			nap_ms(50);
		}
		if (!exited) {
			fprintf(stderr, "s3i_demo: moto_server did not answer within %d s\n",
				READY_TIMEOUT_MS / 1000);
			stop_moto_now();
			break;
		}
		/* "Port N is in use" (exit status 1): someone took the port meanwhile; try another. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && attempt < START_TRIES &&
			log_mentions(g_log_path, "in use")) {
			fprintf(stderr, "s3i_demo: port %d was taken; trying another\n", port);
			continue;
		}
		fprintf(stderr, "s3i_demo: moto_server exited during start-up (%s %d)\n",
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		break;
	}
	close(logfd);
	print_log_tail(g_log_path, 3000);
	fprintf(stderr, "s3i_demo: the whole log is kept at %s\n", g_log_path);
	return -1;
}

/* ------------------------------------------------------------------ the tour */

typedef struct object {
	const char *key;
	const char *label;           /* what the key shows off */
	const unsigned char *data;   /* in-memory objects */
	size_t len;
	const char *path;            /* objects uploaded from a file (data then NULL) */
	int64_t file_len;
	int listed;                  /* times seen in the listing */
	char etag[80];
} object;

typedef struct listing {
	object *objs;
	size_t nobjs;
	size_t seen, unexpected, out_of_order;
	char last_key[1024];
	size_t order[32];            /* indexes into objs, in the order the listing gave them */
	size_t norder;
} listing;

static int on_object(void *payload, const s3i_s3_object_info *info)
{
	listing *l = payload;
	l->seen++;
	if (l->seen > 1 && strcmp(l->last_key, info->key) >= 0)
		l->out_of_order++;
	snprintf(l->last_key, sizeof l->last_key, "%s", info->key);
	for (size_t i = 0; i < l->nobjs; i++) {
		object *o = &l->objs[i];
		if (strcmp(o->key, info->key))
			continue;
		o->listed++;
		snprintf(o->etag, sizeof o->etag, "%s", info->etag);
		if (l->norder < sizeof l->order / sizeof l->order[0])
			l->order[l->norder++] = i;
		int64_t want = o->path ? o->file_len : (int64_t)o->len;
		if (info->size != want) {
			fprintf(stderr, "s3i_demo: listing says '%s' has %lld bytes, uploaded %lld\n",
				info->key, (long long)info->size, (long long)want);
			l->unexpected++;
		}
		return 0;
	}
	fprintf(stderr, "s3i_demo: unexpected key in the listing: '%s'\n", info->key);
	l->unexpected++;
	return 0;
}

static int count_object(void *payload, const s3i_s3_object_info *info)
{
	(void)info;
	(*(size_t *)payload)++;
	return 0;
}

/* Write `len` pseudo-random bytes to a new temp file; its path goes to g_tmp_paths[slot]. */
static int make_file(int slot, const char *tag, int64_t len)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(g_tmp_paths[slot], sizeof g_tmp_paths[slot], "%s/s3i-demo-%s-XXXXXX",
		tmp && *tmp ? tmp : "/tmp", tag);
	int fd = mkstemp(g_tmp_paths[slot]);
	if (fd < 0) {
		fprintf(stderr, "s3i_demo: cannot create a temp file: %s\n", strerror(errno));
		g_tmp_paths[slot][0] = '\0';
		return -1;
	}
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		return -1;
	}
	static unsigned char chunk[65536];
	uint64_t state = 0x5DEECE66Dull;
	int rc = 0;
	for (int64_t done = 0; done < len && !rc;) {
		size_t n = len - done < (int64_t)sizeof chunk ? (size_t)(len - done) : sizeof chunk;
		fill_random(&state, chunk, n);
		if (fwrite(chunk, 1, n, f) != n)
			rc = -1;
		done += (int64_t)n;
	}
	if (fclose(f) != 0)
		rc = -1;
	if (rc)
		fprintf(stderr, "s3i_demo: cannot write %s: %s\n", g_tmp_paths[slot], strerror(errno));
	return rc;
}

/* 0 when both files hold the same bytes; reports the first difference. */
static int same_files(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int rc = -1;
	if (!fa || !fb) {
		fprintf(stderr, "s3i_demo: cannot open %s: %s\n", !fa ? a : b, strerror(errno));
		goto out;
	}
	static unsigned char ba[65536], bb[65536];
	for (int64_t off = 0;;) {
		size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
		size_t n = na < nb ? na : nb;
		if (memcmp(ba, bb, n) || na != nb) {
			size_t i = 0;
			while (i < n && ba[i] == bb[i])
				i++;
			fprintf(stderr, "s3i_demo: %s and %s differ at byte %lld\n", a, b,
				(long long)(off + (int64_t)i));
			goto out;
		}
		if (na == 0) {
			rc = 0;
			goto out;
		}
		off += (int64_t)na;
	}
out:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return rc;
}

static const char *human(int64_t n, char *buf, size_t cap)
{
	if (n >= 1024 * 1024)
		snprintf(buf, cap, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 1024)
		snprintf(buf, cap, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, cap, "%lld B", (long long)n);
	return buf;
}

typedef struct options {
	const char *endpoint;
	const char *launcher;
	const char *python;
	const char *bucket;
	const char *region;
	int file_mib;
} options;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: s3i_demo [--endpoint URL] [--moto-launcher PATH] [--python PATH]\n"
		"                [--bucket NAME] [--region REGION] [--file-mib N]\n"
		"Starts moto_server on 127.0.0.1 (unless --endpoint is given), then creates a bucket,\n"
		"uploads, lists, downloads, verifies and deletes a few objects through libs3insights.\n");
}

/* --name VALUE or --name=VALUE. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		*out = argv[++*i];
		return 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		} else if (opt_value(argc, argv, &i, "--endpoint", &o->endpoint) ||
			opt_value(argc, argv, &i, "--moto-launcher", &o->launcher) ||
			opt_value(argc, argv, &i, "--python", &o->python) ||
			opt_value(argc, argv, &i, "--bucket", &o->bucket) ||
			opt_value(argc, argv, &i, "--region", &o->region)) {
			continue;
		} else if (opt_value(argc, argv, &i, "--file-mib", &v)) {
			char *end;
			long mib = strtol(v, &end, 10);
			if (*end || mib < 0 || mib > 4096) {
				fprintf(stderr, "s3i_demo: --file-mib wants 0..4096, not '%s'\n", v);
				return -1;
			}
			o->file_mib = (int)mib;
		} else {
			fprintf(stderr, "s3i_demo: unknown or incomplete argument '%s'\n", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

typedef struct tour {
	s3i_ctx *ctx;
	const char *bucket;
	object *objs;
	size_t nobjs;
	int bucket_made;
	int64_t up, down;
} tour;

static int run_tour(tour *t)
{
	int rc;
	char hb[32];
	printf("\n1. create bucket %s in %s\n", t->bucket, s3i_ctx_region(t->ctx));
	if ((rc = s3i_s3_create_bucket(t->ctx, t->bucket, NULL)) < 0)
		return report("CreateBucket", rc);
	t->bucket_made = 1;

	printf("2. upload %zu objects\n", t->nobjs);
	for (size_t i = 0; i < t->nobjs; i++) {
		object *o = &t->objs[i];
		if (o->path) {
			rc = s3i_s3_put_object_file(t->ctx, t->bucket, o->key, o->path);
			t->up += o->file_len;
		} else {
			rc = s3i_s3_put_object(t->ctx, t->bucket, o->key, o->data, o->len);
			t->up += (int64_t)o->len;
		}
		if (rc < 0)
			return report(o->path ? "PutObject (file)" : "PutObject", rc);
		printf("   PUT  %-10s  ", human(o->path ? o->file_len : (int64_t)o->len, hb, sizeof hb));
		print_padded(o->key, 0);
		printf("  (%s)\n", o->label);
	}

	printf("3. list the bucket\n");
	listing l = { .objs = t->objs, .nobjs = t->nobjs };
	if ((rc = s3i_s3_list_objects(t->ctx, t->bucket, NULL, on_object, &l)) < 0)
		return report("ListObjectsV2", rc);
	int kw = 3;
	for (size_t i = 0; i < t->nobjs; i++)
		if (display_width(t->objs[i].key) > kw)
			kw = display_width(t->objs[i].key);
	printf("\n   ");
	print_padded("key", kw);
	printf("  %12s  %s\n   ", "size", "etag");
	for (int i = 0; i < kw + 2 + 12 + 2 + 32; i++)
		fputc('-', stdout);
	fputc('\n', stdout);
	for (size_t i = 0; i < l.norder; i++) {   /* as listed: S3 key order */
		object *o = &t->objs[l.order[i]];
		printf("   ");
		print_padded(o->key, kw);
		printf("  %12lld  %s\n", (long long)(o->path ? o->file_len : (int64_t)o->len), o->etag);
	}
	printf("\n");
	size_t missing = 0;
	for (size_t i = 0; i < t->nobjs; i++)
		missing += t->objs[i].listed != 1;
	if (missing || l.unexpected || l.out_of_order || l.seen != t->nobjs) {
		fprintf(stderr, "s3i_demo: listing check failed: %zu objects listed, %zu expected, "
			"%zu missing or repeated, %zu unexpected, %zu out of order\n", l.seen, t->nobjs,
			missing, l.unexpected, l.out_of_order);
		return S3I_ERROR;
	}
	printf("   listing: %zu objects, each once, in key order\n", l.seen);

	printf("4. download and compare byte for byte\n");
	for (size_t i = 0; i < t->nobjs; i++) {
		object *o = &t->objs[i];
		if (o->path) {
			if ((rc = s3i_s3_get_object_file(t->ctx, t->bucket, o->key, g_tmp_paths[2])) < 0)
				return report("GetObject (file)", rc);
			if (same_files(o->path, g_tmp_paths[2]))
				return S3I_ECHECKSUM;
			t->down += o->file_len;
			printf("   GET  %-10s  ", human(o->file_len, hb, sizeof hb));
		} else {
			s3i_buf got = S3I_BUF_INIT;
			if ((rc = s3i_s3_get_object(t->ctx, t->bucket, o->key, &got)) < 0)
				return report("GetObject", rc);
			int same = got.size == o->len && (o->len == 0 || !memcmp(got.ptr, o->data, o->len));
			if (!same)
				fprintf(stderr, "s3i_demo: '%s' came back as %zu bytes that differ from the "
					"%zu uploaded\n", o->key, got.size, o->len);
			t->down += (int64_t)got.size;
			s3i_buf_dispose(&got);
			if (!same)
				return S3I_ECHECKSUM;
			printf("   GET  %-10s  ", human((int64_t)o->len, hb, sizeof hb));
		}
		print_padded(o->key, 0);
		printf("  identical\n");
	}

	printf("5. delete the objects and the bucket\n");
	for (size_t i = 0; i < t->nobjs; i++) {
		if ((rc = s3i_s3_delete_object(t->ctx, t->bucket, t->objs[i].key)) < 0)
			return report("DeleteObject", rc);
		printf("   DEL  ");
		print_padded(t->objs[i].key, 0);
		printf("\n");
	}
	size_t left = 0;
	if ((rc = s3i_s3_list_objects(t->ctx, t->bucket, NULL, count_object, &left)) < 0)
		return report("ListObjectsV2", rc);
	if (left) {
		fprintf(stderr, "s3i_demo: %zu objects still listed after deleting them all\n", left);
		return S3I_ERROR;
	}
	if ((rc = s3i_s3_delete_bucket(t->ctx, t->bucket)) < 0)
		return report("DeleteBucket", rc);
	t->bucket_made = 0;
	printf("   bucket %s deleted\n", t->bucket);
	return S3I_OK;
}

/* After a failure against an endpoint that outlives us, leave nothing behind. */
static void best_effort_cleanup(tour *t)
{
	if (!t->bucket_made)
		return;
	for (size_t i = 0; i < t->nobjs; i++)
		s3i_s3_delete_object(t->ctx, t->bucket, t->objs[i].key);
	if (s3i_s3_delete_bucket(t->ctx, t->bucket) == S3I_OK)
		fprintf(stderr, "s3i_demo: removed bucket %s after the failure\n", t->bucket);
}

int main(int argc, char **argv)
{
	options opt = { .region = "us-east-1", .file_mib = 5 };
	if (parse_args(argc, argv, &opt) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	int64_t t0 = now_ms();

#ifdef S3I_SOURCE_DIR
	if (!opt.launcher)
		opt.launcher = S3I_SOURCE_DIR "/tests/moto_launcher.py";
#endif
	if (!opt.python)
		opt.python = getenv("S3I_PYTHON") && *getenv("S3I_PYTHON") ? getenv("S3I_PYTHON") : NULL;
#ifdef S3I_PYTHON
	if (!opt.python)
		opt.python = S3I_PYTHON;
#endif
	if (!opt.python)
		opt.python = "python3";

	atexit(cleanup_at_exit);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("libs3insights %s demo\n", s3i_version_string());
	char url[128];
	if (opt.endpoint) {
		snprintf(url, sizeof url, "%s", opt.endpoint);
		printf("using the running endpoint %s\n", url);
	} else if (!opt.launcher) {
		fprintf(stderr, "s3i_demo: built without S3I_SOURCE_DIR: pass --moto-launcher PATH "
			"or --endpoint URL\n");
		return 1;
	} else if (start_moto(opt.python, opt.launcher, url, sizeof url) < 0) {
		return 1;
	}

	/* The objects: keys that need care on the wire, an empty and a binary body, a file. */
	static unsigned char binary[65536];
	uint64_t seed = 42;
	fill_random(&seed, binary, sizeof binary);
	binary[0] = 0;   /* embedded NULs must survive */
	binary[sizeof binary / 2] = 0;
	static const char hello[] = "Hello from libs3insights!\n";
	static const char readme[] = "# Read me\n\nKeys may hold spaces.\n";
	static const char math[] = "1+1=2 (and '+' is not a space here)\n";
	static const char utf8[] = "Caf\xc3\xa9, \xe4\xb8\xad\xe6\x96\x87, \xf0\x9f\x9a\x80: UTF-8 keys and bodies.\n";
	object objs[] = {
		{ "hello.txt", "plain key", (const unsigned char *)hello, sizeof hello - 1, NULL, 0, 0, "" },
		{ "docs/read me.md", "space", (const unsigned char *)readme, sizeof readme - 1, NULL, 0, 0, "" },
		{ "math/1+1=2.txt", "'+' and '='", (const unsigned char *)math, sizeof math - 1, NULL, 0, 0, "" },
		{ "i18n/caf\xc3\xa9-\xe4\xb8\xad\xe6\x96\x87-\xf0\x9f\x9a\x80.txt", "UTF-8",
			(const unsigned char *)utf8, sizeof utf8 - 1, NULL, 0, 0, "" },
		{ "data/empty.bin", "empty body", (const unsigned char *)"", 0, NULL, 0, 0, "" },
		{ "data/binary-64KiB.bin", "binary with NULs", binary, sizeof binary, NULL, 0, 0, "" },
		{ "big/random.bin", "streamed from a file", NULL, 0, NULL, 0, 0, "" },
	};
	size_t nobjs = sizeof objs / sizeof objs[0];
	object *big = &objs[nobjs - 1];
	big->file_len = (int64_t)opt.file_mib * 1024 * 1024 + 123;   /* not a multiple of any buffer */
	if (make_file(0, "upload", big->file_len) < 0)
		return 1;
	big->path = g_tmp_paths[0];
	/* the download target: created now so its name is ours; the library replaces it */
	if (make_file(2, "download", 0) < 0)
		return 1;

	s3i_ctx_options co = S3I_CTX_OPTIONS_INIT;
	co.region = opt.region;
	co.endpoint_url = url;
	co.access_key_id = "testing";        /* moto accepts any key unless told otherwise */
	co.secret_access_key = "testing";
	co.log_fn = on_log;
	co.log_level = S3I_LOG_WARN;
	co.connect_timeout_ms = 5000;
	s3i_ctx *ctx = NULL;
	int rc = s3i_ctx_new(&ctx, &co);
	if (rc < 0) {
		report("creating the context (s3i_ctx_new)", rc);
		return 1;
	}

	char bucket[64];
	if (opt.bucket)
		snprintf(bucket, sizeof bucket, "%s", opt.bucket);
	else
		snprintf(bucket, sizeof bucket, "s3i-demo-%ld-%ld", (long)getpid(), (long)time(NULL));
	tour t = { .ctx = ctx, .bucket = bucket, .objs = objs, .nobjs = nobjs };
	rc = run_tour(&t);
	if (rc < 0 && opt.endpoint)
		best_effort_cleanup(&t);
	s3i_ctx_release(ctx);

	char up[32], down[32];
	double secs = (double)(now_ms() - t0) / 1000.0;
	if (rc < 0) {
		printf("\nFAILED: %s (status %d) after %.1f s\n", s3i_strerror(rc), rc, secs);
		if (g_moto_pid > 0 && g_log_path[0])
			fprintf(stderr, "s3i_demo: moto_server's log is kept at %s\n", g_log_path);
		return 1;
	}
	stop_moto_now();
	if (g_log_path[0])
		unlink(g_log_path);
	printf("\nOK: %zu objects in bucket %s: %s uploaded, listed, %s downloaded and verified "
		"byte for byte, all deleted, in %.1f s\n", nobjs, bucket, human(t.up, up, sizeof up),
		human(t.down, down, sizeof down), secs);
	return 0;
}
