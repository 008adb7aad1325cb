/*
 * moto_server for integration tests (see moto.h).
 *
 * The server runs `S3I_PYTHON tests/moto_launcher.py -H 127.0.0.1 -p 0 --port-file F`: the
 * launcher binds a free port itself and writes it to F, so no other process can take the port
 * between choosing and binding it. Readiness is GET /moto-api/config answering 201. The child
 * is started with fork/exec rather than posix_spawn so it can ask the kernel for SIGTERM when
 * the test's thread dies (PR_SET_PDEATHSIG): a crashed or killed test leaves no server behind.
 * A normal exit stops it through atexit.
 */
#include "moto.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef S3I_PYTHON
#define S3I_PYTHON "python3"
#endif
#ifndef S3I_SOURCE_DIR
#error "S3I_SOURCE_DIR must name the source tree (set by tests/CMakeLists.txt)"
#endif
#ifndef S3I_BINARY_DIR
#define S3I_BINARY_DIR "."
#endif

extern char **environ;

#define READY_TIMEOUT_MS 30000
#define STOP_GRACE_MS 10000
#define CALL_TIMEOUT_MS 120000L

struct s3i_moto {
	pid_t pid;
	pid_t owner;          /* the test process; the atexit guard acts only there */
	int port;
	char url[64];
	char log_path[1024];
	char port_path[1024];
};

static s3i_moto g_moto;
static int g_running;
static int g_atexit_registered;
static int g_curl_ready;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ raw HTTP */

typedef struct {
	char *data;
	size_t len, cap;
	int oom;
} sink;

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *user)
{
	sink *s = user;
	size_t n = size * nmemb;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *p = realloc(s->data, cap);
		if (!p) {
			s->oom = 1;
			return 0;
		}
		s->data = p;
		s->cap = cap;
	}
	memcpy(s->data + s->len, ptr, n);
	s->len += n;
	s->data[s->len] = '\0';
	return n;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static int ensure_curl(void)
{
	if (!g_curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "moto: curl_global_init failed\n");
			return -1;
		}
		g_curl_ready = 1;
	}
	return 0;
}

static int call_url(const char *url, const s3i_moto_req *req, long timeout_ms, int quiet,
	char **out_body, int *out_status)
{
	if (out_body)
		*out_body = NULL;
	if (out_status)
		*out_status = 0;
	if (ensure_curl() < 0)
		return -1;
	CURL *h = curl_easy_init();
	if (!h)
		return -1;

	struct curl_slist *hdrs = NULL;
	char line[512];
	sink s = { 0 };
	char sigv4[128], userpwd[512];
	int rc = -1;
	size_t body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
	const char *method = req->method ? req->method : (req->body ? "POST" : "GET");

	/* No "Expect:" or other empty headers: curl 7.88's SigV4 signs them although it does
	 * not send them, and moto then sees a bad signature. */
	if (req->content_type) {
		snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
		hdrs = curl_slist_append(hdrs, line);
	} else if (req->body) {
		/* Not curl's form-urlencoded default, which makes moto's S3 drop the body. */
		hdrs = curl_slist_append(hdrs, req->service ? "Content-Type: application/octet-stream"
			: "Content-Type:");
	}
	if (req->service && !strcmp(req->service, "s3")) {
		/* moto's S3 check (botocore's S3SigV4Auth) signs this header; curl 7.88 does not
		 * send it, so add it with the real hash and let curl sign it as well. */
		char hex[65];
		sha256_hex(req->body ? req->body : "", body_len, hex);
		snprintf(line, sizeof line, "x-amz-content-sha256: %s", hex);
		hdrs = curl_slist_append(hdrs, line);
	}
	for (const char *const *p = req->headers; p && *p; p++)
		hdrs = curl_slist_append(hdrs, *p);
	char *token_hdr = NULL;
	if (req->session_token) {
		size_t n = strlen(req->session_token) + sizeof "X-Amz-Security-Token: ";
		token_hdr = malloc(n);
		if (token_hdr) {
			snprintf(token_hdr, n, "X-Amz-Security-Token: %s", req->session_token);
			hdrs = curl_slist_append(hdrs, token_hdr);
		}
	}

	curl_easy_setopt(h, CURLOPT_URL, url);
	if (getenv("S3I_MOTO_VERBOSE"))                         /* debugging aid */
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || req->body)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (req->body || (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "DELETE"))) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	if (req->service) {
		snprintf(sigv4, sizeof sigv4, "aws:amz:%s:%s", req->region ? req->region : "us-east-1",
			req->service);
		snprintf(userpwd, sizeof userpwd, "%s:%s",
			req->access_key_id ? req->access_key_id : "testing",
			req->secret_access_key ? req->secret_access_key : "testing");
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
		curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
	}

	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK && !s.oom) {
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (out_status)
			*out_status = (int)status;
		if (out_body) {
			*out_body = s.data ? s.data : strdup("");
			s.data = NULL;
		}
		rc = 0;
	} else if (!quiet) {
		fprintf(stderr, "moto: %s %s: %s\n", method, url,
			s.oom ? "out of memory" : curl_easy_strerror(cc));
	}
	free(s.data);
	free(token_hdr);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

int s3i_moto_call(s3i_moto *m, const s3i_moto_req *req, char **out_body, int *out_status)
{
	if (out_body)
		*out_body = NULL;
	if (out_status)
		*out_status = 0;
	if (!m || !req || !req->path || req->path[0] != '/') {
		fprintf(stderr, "moto: s3i_moto_call needs a server and a path starting with '/'\n");
		return -1;
	}
	char url[8192];
	if ((size_t)snprintf(url, sizeof url, "%s%s", m->url, req->path) >= sizeof url) {
		fprintf(stderr, "moto: path too long\n");
		return -1;
	}
	return call_url(url, req, CALL_TIMEOUT_MS, 0, out_body, out_status);
}

int s3i_moto_http(s3i_moto *m, const char *method, const char *path, const char *content_type,
	const char *body, char **out_body, int *out_status)
{
	s3i_moto_req req = { .method = method, .path = path, .content_type = content_type,
		.body = body };
	return s3i_moto_call(m, &req, out_body, out_status);
}

/* A moto-api style call that must answer `want`; prints what came instead. */
static int expect(s3i_moto *m, const s3i_moto_req *req, int want, char **out_body)
{
	char *body = NULL;
	int status = 0;
	if (out_body)
		*out_body = NULL;
	if (s3i_moto_call(m, req, &body, &status) < 0)
		return -1;
	if (status != want) {
		fprintf(stderr, "moto: %s %s answered %d (expected %d): %.500s\n",
			req->method ? req->method : "GET", req->path, status, want, body ? body : "");
		free(body);
		return -1;
	}
	if (out_body)
		*out_body = body;
	else
		free(body);
	return 0;
}

/* ------------------------------------------------------------------ process */

static const char *exe_name(void)
{
	static char name[256];
	char path[1024];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return "test";
	path[n] = '\0';
	const char *b = strrchr(path, '/');
	snprintf(name, sizeof name, "%.200s", b ? b + 1 : path);
	return name;
}

static void temp_dir(char *out, size_t len)
{
	snprintf(out, len, "%s/Testing", S3I_BINARY_DIR);
	mkdir(out, 0755);
	snprintf(out, len, "%s/Testing/Temporary", S3I_BINARY_DIR);
	if (mkdir(out, 0755) != 0 && errno != EEXIST) {
		const char *t = getenv("TMPDIR");
		snprintf(out, len, "%s", t && *t ? t : "/tmp");
	}
}

void s3i_moto_print_log_tail(const s3i_moto *m, int lines)
{
	if (!m || !m->log_path[0])
		return;
	FILE *f = fopen(m->log_path, "rb");
	if (!f) {
		fprintf(stderr, "moto: no server log at %s\n", m->log_path);
		return;
	}
	char buf[16384];
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
	fseek(f, from, SEEK_SET);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *start = buf;
	int seen = 0;
	for (size_t i = n; i > 0; i--) {
		if (buf[i - 1] == '\n' && i != n && ++seen >= lines) {
			start = buf + i;
			break;
		}
	}
	fprintf(stderr, "moto: last lines of %s:\n%s%s", m->log_path, start,
		n && buf[n - 1] != '\n' ? "\n" : "");
}

/* The server's environment: ours minus what would change moto's behaviour, plus extra_env. */
static char **child_env(const char *const *extra_env)
{
	static const char *const drop[] = { "MOTO_PORT=", "INITIAL_NO_AUTH_ACTION_COUNT=",
		"MOTO_CALL_RESET_API=", NULL };
	size_t n = 0, extra = 0;
	while (environ && environ[n])
		n++;
	while (extra_env && extra_env[extra])
		extra++;
	char **env = calloc(n + extra + 1, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int skip = 0;
		for (const char *const *d = drop; *d; d++)
			skip |= !strncmp(environ[i], *d, strlen(*d));
		if (!skip)
			env[k++] = environ[i];
	}
	for (size_t i = 0; i < extra; i++)
		env[k++] = (char *)extra_env[i];
	env[k] = NULL;
	return env;
}

/* execve needs a path: look a bare name up in PATH (before fork, where malloc is allowed). */
static const char *find_program(const char *name, char *buf, size_t len)
{
	if (strchr(name, '/'))
		return name;
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		snprintf(buf, len, "%.*s/%s", (int)n, n ? path : ".", name);
		if (access(buf, X_OK) == 0)
			return buf;
		path = end ? end + 1 : NULL;
	}
	return name;
}

static pid_t spawn_server(s3i_moto *m, const char *const *extra_env)
{
	char found[1024];
	const char *python = getenv("S3I_PYTHON");   /* a run-time override of the build's choice */
	if (!python || !*python)
		python = S3I_PYTHON;
	python = find_program(python, found, sizeof found);
	static char launcher[] = S3I_SOURCE_DIR "/tests/moto_launcher.py";
	char *argv[] = { (char *)python, launcher, "-H", "127.0.0.1", "-p", "0",
		"--port-file", m->port_path, NULL };

	char **env = child_env(extra_env);
	if (!env)
		return -1;
	int logfd = open(m->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "moto: cannot write %s: %s\n", m->log_path, strerror(errno));
		free(env);
		return -1;
	}
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	long maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	pid_t parent = getpid();

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls from here to execve. */
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
#endif
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		for (long fd = 3; fd < maxfd; fd++)
			close((int)fd);
		execve(python, argv, env);
		static const char msg[] = "moto: cannot execute the Python interpreter\n";
		ssize_t ignored = write(2, msg, sizeof msg - 1);
		(void)ignored;
		_exit(127);
	}
	int err = errno;
	close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	free(env);
	if (pid < 0)
		fprintf(stderr, "moto: fork failed: %s\n", strerror(err));
	(void)parent;
	return pid;
}

/* Waits up to `ms` for the child to exit; 1 when it did (reaped), 0 when still running. */
static int wait_exit(pid_t pid, int ms, int *status)
{
	int64_t until = now_ms() + ms;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		if (now_ms() >= until)
			return 0;
		sleep_ms(10);
	}
}

static void kill_server(s3i_moto *m)
{
	if (m->pid <= 0)
		return;
	int status;
	kill(m->pid, SIGTERM);
	if (!wait_exit(m->pid, STOP_GRACE_MS, &status)) {
		fprintf(stderr, "moto: server %d ignored SIGTERM for %d s; killing it\n", (int)m->pid,
			STOP_GRACE_MS / 1000);
		kill(m->pid, SIGKILL);
		wait_exit(m->pid, STOP_GRACE_MS, &status);
	}
	m->pid = 0;
	unlink(m->port_path);
}

static void atexit_guard(void)
{
	if (g_running && g_moto.owner == getpid())
		s3i_moto_stop(&g_moto);
}

static int read_port(const char *path)
{
	FILE *f = fopen(path, "r");
	int port = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%d", &port) != 1)
		port = 0;
	fclose(f);
	return port > 0 && port < 65536 ? port : 0;
}

/* Port file, then GET /moto-api/config → 201, while watching the child. */
static int wait_ready(s3i_moto *m)
{
	int64_t until = now_ms() + READY_TIMEOUT_MS;
	s3i_moto_req probe = { .path = "/moto-api/config" };
	while (now_ms() < until) {
		int status;
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			fprintf(stderr, "moto: the server exited during start-up (%s %d)\n",
				WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			m->pid = 0;
			return -1;
		}
		if (!m->port && (m->port = read_port(m->port_path)) > 0) {
			snprintf(m->url, sizeof m->url, "http://127.0.0.1:%d", m->port);
			unlink(m->port_path);
		}
		if (m->port) {
			char url[128];
			int code = 0;
			snprintf(url, sizeof url, "%s/moto-api/config", m->url);
			if (call_url(url, &probe, 2000, 1, NULL, &code) == 0 && code == 201)
				return 0;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "moto: the server was not ready within %d s\n", READY_TIMEOUT_MS / 1000);
	return -1;
}

/* The first call of each service imports its backend (100 ms - 1.5 s); pay it here. */
static int warm_up(s3i_moto *m)
{
	static const char *const ddb_hdrs[] = { "X-Amz-Target: DynamoDB_20120810.ListTables", NULL };
	s3i_moto_req s3 = { .path = "/", .service = "s3" };
	s3i_moto_req ddb = { .method = "POST", .path = "/", .service = "dynamodb",
		.content_type = "application/x-amz-json-1.0", .headers = ddb_hdrs, .body = "{}" };
	s3i_moto_req sts = { .method = "POST", .path = "/", .service = "sts",
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.body = "Action=GetCallerIdentity&Version=2011-06-15" };
	if (expect(m, &s3, 200, NULL) < 0 || expect(m, &ddb, 200, NULL) < 0 ||
	    expect(m, &sts, 200, NULL) < 0)
		return -1;
	return 0;
}

static int set_env(const s3i_moto *m)
{
	if (setenv("AWS_ENDPOINT_URL", m->url, 1) || setenv("AWS_ACCESS_KEY_ID", "testing", 1) ||
	    setenv("AWS_SECRET_ACCESS_KEY", "testing", 1) || setenv("AWS_REGION", "us-east-1", 1) ||
	    unsetenv("AWS_SESSION_TOKEN") || unsetenv("AWS_PROFILE"))
		return -1;
	return 0;
}

int s3i_moto_start(s3i_moto **out, const char *const *extra_env)
{
	if (!out)
		return -1;
	*out = NULL;
	if (g_running) {
		if (set_env(&g_moto) < 0)
			return -1;
		*out = &g_moto;
		return 0;
	}
	if (ensure_curl() < 0)
		return -1;

	s3i_moto *m = &g_moto;
	memset(m, 0, sizeof *m);
	char dir[700];
	temp_dir(dir, sizeof dir);
	const char *exe = exe_name();
	snprintf(m->log_path, sizeof m->log_path, "%.700s/moto-%.200s.log", dir, exe);
	snprintf(m->port_path, sizeof m->port_path, "%.700s/moto-%.200s-%d.port", dir,
		exe, (int)getpid());
	unlink(m->port_path);
	m->owner = getpid();

	m->pid = spawn_server(m, extra_env);
	if (m->pid <= 0) {
		m->pid = 0;
		return -1;
	}
	g_running = 1;
	if (!g_atexit_registered && atexit(atexit_guard) == 0)
		g_atexit_registered = 1;

	if (wait_ready(m) < 0 || warm_up(m) < 0 || set_env(m) < 0) {
		fprintf(stderr, "moto: could not start %s tests/moto_launcher.py (log: %s)\n",
			S3I_PYTHON, m->log_path);
		s3i_moto_print_log_tail(m, 40);
		kill_server(m);
		g_running = 0;
		return -1;
	}
	*out = m;
	return 0;
}

void s3i_moto_stop(s3i_moto *m)
{
	if (!m || m != &g_moto || !g_running)
		return;
	kill_server(m);
	g_running = 0;
}

const char *s3i_moto_url(const s3i_moto *m)
{
	return m ? m->url : "";
}

int s3i_moto_port(const s3i_moto *m)
{
	return m ? m->port : 0;
}

int s3i_moto_pid(const s3i_moto *m)
{
	return m ? (int)m->pid : 0;
}

const char *s3i_moto_log_path(const s3i_moto *m)
{
	return m ? m->log_path : "";
}

/* ------------------------------------------------------------------ moto-api */

static int set_auth_count(s3i_moto *m, const char *count)
{
	/* The body must not be form-encoded (moto would see no data and answer 500). */
	s3i_moto_req req = { .method = "POST", .path = "/moto-api/reset-auth",
		.content_type = "text/plain", .body = count };
	return expect(m, &req, 200, NULL);
}

int s3i_moto_reset(s3i_moto *m)
{
	s3i_moto_req reset = { .method = "POST", .path = "/moto-api/reset" };
	/* Faults first so they cannot hit the calls below. moto's reset leaves the auth counter
	 * alone; INITIAL_NO_AUTH_ACTION_COUNT = inf (its default) switches checking off. */
	if (!m || s3i_moto_clear_faults(m) < 0 || set_auth_count(m, "inf") < 0 ||
	    expect(m, &reset, 200, NULL) < 0)
		return -1;
	return 0;
}

static int xml_text(const char *xml, const char *tag, char *out, size_t len)
{
	char otag[64], ctag[64];
	snprintf(otag, sizeof otag, "<%s>", tag);
	snprintf(ctag, sizeof ctag, "</%s>", tag);
	const char *a = xml ? strstr(xml, otag) : NULL;
	const char *b = a ? strstr(a, ctag) : NULL;
	if (!a || !b)
		return -1;
	a += strlen(otag);
	if ((size_t)(b - a) >= len)
		return -1;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	return 0;
}

static int iam_call(s3i_moto *m, const char *form, char **out_body)
{
	s3i_moto_req req = { .method = "POST", .path = "/", .service = "iam",
		.content_type = "application/x-www-form-urlencoded; charset=utf-8", .body = form };
	return expect(m, &req, 200, out_body);
}

int s3i_moto_enable_auth(s3i_moto *m, char *access_key_id, char *secret_access_key)
{
	static const char policy[] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
		"\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";
	if (!m || !access_key_id || !secret_access_key)
		return -1;
	access_key_id[0] = secret_access_key[0] = '\0';

	/* Three more actions go unchecked: exactly the three IAM calls below. */
	if (set_auth_count(m, "3") < 0)
		return -1;
	char form[1024], *body = NULL;
	CURL *h = curl_easy_init();
	char *doc = h ? curl_easy_escape(h, policy, 0) : NULL;
	int rc = -1;
	if (!doc)
		goto out;
	snprintf(form, sizeof form, "Action=PutUserPolicy&Version=2010-05-08&UserName=ci"
		"&PolicyName=allow-all&PolicyDocument=%s", doc);
	if (iam_call(m, "Action=CreateUser&Version=2010-05-08&UserName=ci", NULL) < 0 ||
	    iam_call(m, form, NULL) < 0 ||
	    iam_call(m, "Action=CreateAccessKey&Version=2010-05-08&UserName=ci", &body) < 0)
		goto out;
	if (xml_text(body, "AccessKeyId", access_key_id, 64) < 0 ||
	    xml_text(body, "SecretAccessKey", secret_access_key, 128) < 0) {
		fprintf(stderr, "moto: unexpected CreateAccessKey answer: %.500s\n", body);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		set_auth_count(m, "inf");
	free(body);
	curl_free(doc);
	curl_easy_cleanup(h);
	return rc;
}

int s3i_moto_add_fault(s3i_moto *m, const char *rule_json)
{
	s3i_moto_req req = { .method = "POST", .path = "/_fault",
		.content_type = "application/json", .body = rule_json };
	if (!m || !rule_json)
		return -1;
	return expect(m, &req, 200, NULL);
}

int s3i_moto_clear_faults(s3i_moto *m)
{
	s3i_moto_req req = { .method = "DELETE", .path = "/_fault" };
	if (!m)
		return -1;
	return expect(m, &req, 200, NULL);
}
