/* jqload.c: HTTP/1.1 load generator, enqueue-to-start latency probe and Redis
 * completion watcher for jobq's benchmarks (bench/run.sh). libc only.
 *
 *   cc -O2 -Wall -Wextra -Werror -o jqload bench/jqload.c
 *   jqload --help
 *
 * Every target must be a loopback address; every loop is bounded in count and time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 10000
#define MAX_REQUESTS 5000000LL /* latencies are kept in memory: 8 bytes each */
#define MAX_SECONDS 3600.0
#define MAX_BODY (64 * 1024 * 1024)
#define MAX_RESPONSE (64 * 1024 * 1024)
#define MAX_SAMPLES 1000000
#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS 30000

static const char usage[] =
	"usage: jqload MODE [options] HOST:PORT\n"
	"\n"
	"A small HTTP/1.1 load generator for jobq benchmarks. HOST must be a loopback\n"
	"address (127.0.0.0/8 or localhost). Every run is bounded by a count and a time.\n"
	"\n"
	"Modes:\n"
	"  throughput   C keep-alive connections, each with one request in flight (no\n"
	"               pipelining), N requests in total; prints requests/s, status counts\n"
	"               and latency percentiles (request written -> response complete).\n"
	"      -c, --conns C         connections (1..10000, default 1)\n"
	"      -n, --requests N      requests in total (1..5000000, default 10000)\n"
	"      -d, --duration S      stop after S seconds even if N are not done (default 60)\n"
	"      -X, --method M        GET, POST, PUT or DELETE (default GET)\n"
	"      -p, --path P          request target (default /)\n"
	"      -b, --body TEXT       request body (sent with Content-Type: application/json)\n"
	"      -B, --body-file F     request body from a file\n"
	"      -w, --warmup W        W requests first, not counted (default 0)\n"
	"      -j, --jobs-per-request K   also print jobs/s = K x requests/s (bulk bodies)\n"
	"\n"
	"  latency      one connection; sends noop jobs POST /jobs {\"type\":\"noop\",\"payload\":\n"
	"               {\"t0_us\": CLOCK_REALTIME us taken just before the send}}, one at a time,\n"
	"               at least --spacing-us apart (sleep, then spin the last 0.2 ms); records\n"
	"               the ids; after the sends, reads each job's result {\"latency_us\":N} from\n"
	"               Redis (HGET <prefix>{<id mod 16384>}:job:<id> result) and prints p50/p90/p99/p99.9/max.\n"
	"      -m, --samples M       jobs measured (1..1000000, default 1000)\n"
	"      --spacing-us U        microseconds between sends (default 1000)\n"
	"      --warm W              noop jobs sent and awaited first (default 10)\n"
	"      --queue Q             queue of the probe jobs (default: the broker's default)\n"
	"      --backlog B           before each probe, POST /jobs/bulk B noop jobs to the same\n"
	"                            queue and send the probe right after; wait for the probe to\n"
	"                            finish before the next (measures the wait behind B jobs)\n"
	"      --redis HOST:PORT     Redis holding the results (required, loopback)\n"
	"      --prefix P            key prefix (default jobq:)\n"
	"      --drain-s S           most seconds to wait for the results (default 30)\n"
	"      -d, --duration S      most seconds for the sending phase (default 120)\n"
	"\n"
	"  watch        polls Redis every --interval-ms: LLEN of the queue and HGET <prefix>stats\n"
	"               completed/failed, until completed >= N; prints the time from --t0-ns to\n"
	"               the first job taken (queue shorter than at the start), to the first\n"
	"               completion, and to the last. HOST:PORT is the Redis server here.\n"
	"      -n, --jobs N          completions to wait for (required)\n"
	"      --t0-ns T             CLOCK_REALTIME ns of time zero, e.g. $(date +%s%N) taken\n"
	"                            just before starting the workers (default: now)\n"
	"      --queue Q             queue watched for the first take (default default)\n"
	"      --prefix P            key prefix (default jobq:)\n"
	"      --interval-ms I       poll interval (1..1000, default 5)\n"
	"      -d, --duration S      give up after S seconds (default 180)\n"
	"\n"
	"Common: --json prints one JSON object instead of text; -h, --help.\n"
	"Exit status: 0 when every request got a 2xx (throughput), every sample was\n"
	"read (latency), or N completions were seen (watch); 1 otherwise; 2 on usage errors.\n";

/* ---------------------------------------------------------------- small helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("jqload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("jqload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see --help)\n", stderr);
	va_end(ap);
	exit(2);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	if (ns <= 0)
		return;
	struct timespec ts = {ns / 1000000000, ns % 1000000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t parse_int(const char *opt, const char *s, int64_t lo, int64_t hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage_error("%s must be an integer from %" PRId64 " to %" PRId64 ", not '%s'", opt,
			    lo, hi, s);
	return v;
}

static double parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		usage_error("%s must be a number from %g to %g, not '%s'", opt, lo, hi, s);
	return v;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	size_t cap = 65536, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap >= MAX_BODY)
				die("'%s' is larger than %d bytes", path, MAX_BODY);
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	if (ferror(f))
		die("cannot read '%s'", path);
	fclose(f);
	*len = n;
	return buf;
}

/* A growable byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char probe[1];
	va_start(ap, fmt);
	int n = vsnprintf(probe, sizeof(probe), fmt, ap); /* the length it needs */
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void buf_consume(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* ---------------------------------------------------------------- addresses */

struct target {
	struct sockaddr_in sa;
	char host[256]; /* as given, for the Host header */
	int port;
};

/* HOST:PORT, resolved to IPv4; refuses anything but 127.0.0.0/8. */
static void parse_target(const char *s, struct target *t)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(t->host))
		usage_error("target '%s' must be HOST:PORT", s);
	memcpy(t->host, s, (size_t)(colon - s));
	t->host[colon - s] = '\0';
	t->port = (int)parse_int("the port", colon + 1, 1, 65535);
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(t->host, NULL, &hints, &res) != 0 || !res)
		usage_error("cannot resolve '%s' to an IPv4 address", t->host);
	memcpy(&t->sa, res->ai_addr, sizeof(t->sa));
	freeaddrinfo(res);
	t->sa.sin_port = htons((uint16_t)t->port);
	if ((ntohl(t->sa.sin_addr.s_addr) >> 24) != 127)
		usage_error("'%s' is not a loopback address: jqload only targets 127.0.0.0/8",
			    t->host);
}

/* A connected, non-blocking TCP socket with TCP_NODELAY, or -1 (errno set). */
static int connect_to(const struct target *t)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&t->sa, sizeof(t->sa)) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		struct pollfd p = {fd, POLLOUT, 0};
		int rc = poll(&p, 1, CONNECT_TIMEOUT_MS);
		if (rc <= 0) {
			errno = rc == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			errno = err;
			goto fail;
		}
	}
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* ---------------------------------------------------------------- HTTP responses */

struct http_resp {
	int status;
	int close;        /* the server will close the connection after it */
	size_t total;     /* bytes of the whole response in the buffer */
	const char *body; /* points into the buffer; not NUL-terminated */
	size_t body_len;  /* for a chunked body: the raw chunked bytes */
};

static int header_is(const char *line, size_t len, const char *name, const char **value,
		     size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	const char *v = line + n + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = v;
	*vlen = (size_t)(end - v);
	return 1;
}

static int contains_token(const char *v, size_t n, const char *tok)
{
	size_t t = strlen(tok);
	for (size_t i = 0; i + t <= n; i++)
		if (strncasecmp(v + i, tok, t) == 0)
			return 1;
	return 0;
}

/* Parses one response at the start of buf: 1 complete (r filled), 0 incomplete, -1 malformed. */
static int http_parse(const char *buf, size_t len, int head_request, struct http_resp *r)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end)
		return len > 65536 ? -1 : 0;
	size_t head = (size_t)(end - buf) + 4;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)buf[9]))
		return -1;
	r->status = atoi(buf + 9); /* three digits, checked above to start with one */
	r->close = buf[7] == '0';  /* HTTP/1.0: close unless keep-alive (not asked for) */
	long long clen = -1;
	int chunked = 0;
	const char *line = (const char *)memchr(buf, '\n', head) + 1;
	while (line < buf + head - 2) {
		const char *nl = memchr(line, '\n', (size_t)(buf + head - line));
		size_t ll = (size_t)(nl - line);
		if (ll && line[ll - 1] == '\r')
			ll--;
		const char *v;
		size_t vl;
		if (header_is(line, ll, "Content-Length", &v, &vl)) {
			char tmp[32];
			if (vl == 0 || vl >= sizeof(tmp))
				return -1;
			memcpy(tmp, v, vl);
			tmp[vl] = '\0';
			char *e;
			clen = strtoll(tmp, &e, 10);
			if (*e || clen < 0 || clen > MAX_RESPONSE)
				return -1;
		} else if (header_is(line, ll, "Transfer-Encoding", &v, &vl)) {
			chunked = contains_token(v, vl, "chunked");
		} else if (header_is(line, ll, "Connection", &v, &vl)) {
			if (contains_token(v, vl, "close"))
				r->close = 1;
			else if (contains_token(v, vl, "keep-alive"))
				r->close = 0;
		}
		line = nl + 1;
	}
	r->body = buf + head;
	if (head_request || r->status == 204 || r->status == 304 || r->status / 100 == 1) {
		r->body_len = 0;
		r->total = head;
		return 1;
	}
	if (chunked) {
		size_t pos = head;
		for (;;) {
			const char *nl = memmem(buf + pos, len - pos, "\r\n", 2);
			if (!nl)
				return 0;
			char *e;
			unsigned long long sz = strtoull(buf + pos, &e, 16);
			if (e == buf + pos || sz > MAX_RESPONSE)
				return -1;
			pos = (size_t)(nl - buf) + 2;
			if (sz == 0) { /* no trailers from the servers we test */
				if (len - pos < 2)
					return 0;
				r->body_len = pos - head;
				r->total = pos + 2;
				return 1;
			}
			if (len - pos < sz + 2)
				return 0;
			pos += sz + 2;
		}
	}
	if (clen < 0) /* close-delimited: not something a keep-alive benchmark can use */
		return -1;
	if (len - head < (size_t)clen)
		return 0;
	r->body_len = (size_t)clen;
	r->total = head + (size_t)clen;
	return 1;
}

static void build_request(struct buf *b, const char *method, const char *path,
			  const struct target *t, const char *body, size_t blen)
{
	b->len = 0;
	buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: jqload\r\n", method, path,
		   t->host, t->port);
	if (body)
		buf_printf(b, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
	buf_add(b, "\r\n", 2);
	if (body)
		buf_add(b, body, blen);
}

/* ---------------------------------------------------------------- statistics */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The peers' definition: sorted[ceil(q * n) - 1]. v must be sorted. */
static int64_t pct(const int64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	double r = q * (double)n;
	size_t k = (size_t)r;
	if ((double)k < r)
		k++;
	return v[k ? k - 1 : 0];
}

struct summary {
	double p50, p90, p99, p999, max, mean; /* ms */
};

static struct summary summarize(int64_t *v, size_t n, double unit_per_ms)
{
	struct summary s = {0};
	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_i64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	s.p50 = (double)pct(v, n, 0.50) / unit_per_ms;
	s.p90 = (double)pct(v, n, 0.90) / unit_per_ms;
	s.p99 = (double)pct(v, n, 0.99) / unit_per_ms;
	s.p999 = (double)pct(v, n, 0.999) / unit_per_ms;
	s.max = (double)v[n - 1] / unit_per_ms;
	s.mean = sum / (double)n / unit_per_ms;
	return s;
}

static void print_summary_json(FILE *f, const char *name, const struct summary *s)
{
	fprintf(f,
		"\"%s\":{\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,"
		"\"mean\":%.4f}",
		name, s->p50, s->p90, s->p99, s->p999, s->max, s->mean);
}

/* ---------------------------------------------------------------- throughput */

struct conn {
	int fd;
	int busy;       /* a request is in flight */
	int counted;    /* this request is measured (not warm-up) */
	size_t out_off; /* bytes of the request written */
	int64_t t_sent;
	struct buf in;
};

struct tp {
	struct target t;
	int ep;
	struct conn *conns;
	int nconns;
	struct buf req;
	int head;
	int64_t issued, done, target_total, warmup;
	int64_t *lat;
	size_t nlat;
	int64_t status[600];
	int64_t errors, reconnects, malformed;
	int64_t t_start;
};

static void tp_close(struct tp *p, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = 0;
	c->in.len = 0;
}

static int tp_open(struct tp *p, struct conn *c)
{
	c->fd = connect_to(&p->t);
	if (c->fd < 0)
		return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
	return 0;
}

/* Writes what it can of the current request; arms EPOLLOUT when the socket is full. */
static int tp_write(struct tp *p, struct conn *c)
{
	while (c->out_off < p->req.len) {
		ssize_t w =
			send(c->fd, p->req.p + c->out_off, p->req.len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
							 .data.ptr = c};
				epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			return -1;
		}
		c->out_off += (size_t)w;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static void tp_start(struct tp *p, struct conn *c)
{
	if (p->issued >= p->target_total)
		return;
	if (c->fd < 0) {
		if (tp_open(p, c) != 0) {
			p->errors++;
			p->issued++;
			p->done++;
			return;
		}
		p->reconnects++;
	}
	p->issued++;
	c->busy = 1;
	c->counted = p->issued > p->warmup;
	c->out_off = 0;
	c->t_sent = mono_ns();
	if (tp_write(p, c) != 0) {
		tp_close(p, c);
		p->errors++;
		p->done++;
	}
}

static void tp_finish(struct tp *p, struct conn *c, int status)
{
	int64_t now = mono_ns();
	p->done++;
	c->busy = 0;
	if (p->done == p->warmup)
		p->t_start = now; /* warm-up over: the clock starts now */
	if (!c->counted)
		return;
	if (status >= 100 && status < 600)
		p->status[status]++;
	p->lat[p->nlat++] = now - c->t_sent;
}

static void tp_readable(struct tp *p, struct conn *c)
{
	for (;;) {
		buf_reserve(&c->in, 65536);
		size_t space = c->in.cap - c->in.len;
		ssize_t r = recv(c->fd, c->in.p + c->in.len, space, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			goto lost;
		}
		if (r == 0)
			goto lost;
		c->in.len += (size_t)r;
		if ((size_t)r < space)
			break; /* short read: nothing more for now */
	}
	if (!c->busy) {
		c->in.len = 0; /* bytes nobody asked for */
		return;
	}
	struct http_resp resp;
	int rc = http_parse(c->in.p, c->in.len, p->head, &resp);
	if (rc == 0) {
		if (c->in.len > MAX_RESPONSE)
			goto bad;
		return;
	}
	if (rc < 0)
		goto bad;
	int close_after = resp.close;
	buf_consume(&c->in, resp.total);
	tp_finish(p, c, resp.status);
	if (close_after)
		tp_close(p, c);
	tp_start(p, c);
	return;
bad:
	p->malformed++;
lost:
	if (c->busy) {
		p->errors++;
		p->done++;
	}
	tp_close(p, c);
	tp_start(p, c);
}

static int run_throughput(int argc, char **argv)
{
	int conns = 1, json = 0;
	int64_t n = 10000, warmup = 0, jobs_per_req = 0;
	double duration = 60;
	const char *method = "GET", *path = "/", *body = NULL, *body_file = NULL, *addr = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(s, l) (strcmp(a, s) == 0 || strcmp(a, l) == 0)
#define NEED()                                                                                     \
	do {                                                                                       \
		if (!v)                                                                            \
			usage_error("%s needs a value", a);                                        \
		i++;                                                                               \
	} while (0)
		if (OPT("-c", "--conns")) {
			NEED();
			conns = (int)parse_int(a, v, 1, MAX_CONNS);
		} else if (OPT("-n", "--requests")) {
			NEED();
			n = parse_int(a, v, 1, MAX_REQUESTS);
		} else if (OPT("-d", "--duration")) {
			NEED();
			duration = parse_double(a, v, 0.001, MAX_SECONDS);
		} else if (OPT("-X", "--method")) {
			NEED();
			method = v;
		} else if (OPT("-p", "--path")) {
			NEED();
			path = v;
		} else if (OPT("-b", "--body")) {
			NEED();
			body = v;
		} else if (OPT("-B", "--body-file")) {
			NEED();
			body_file = v;
		} else if (OPT("-w", "--warmup")) {
			NEED();
			warmup = parse_int(a, v, 0, MAX_REQUESTS);
		} else if (OPT("-j", "--jobs-per-request")) {
			NEED();
			jobs_per_req = parse_int(a, v, 1, 1000000);
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (a[0] == '-') {
			usage_error("unknown option '%s'", a);
		} else if (!addr) {
			addr = a;
		} else {
			usage_error("unexpected argument '%s'", a);
		}
	}
	if (!addr)
		usage_error("throughput needs HOST:PORT");
	if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PUT") &&
	    strcmp(method, "DELETE") && strcmp(method, "HEAD"))
		usage_error("method must be GET, POST, PUT, DELETE or HEAD");
	if (path[0] != '/' || strpbrk(path, " \r\n"))
		usage_error("path must start with '/' and hold no spaces or line breaks");
	if (body && body_file)
		usage_error("give --body or --body-file, not both");

	struct tp p;
	memset(&p, 0, sizeof(p));
	parse_target(addr, &p.t);
	size_t blen = 0;
	char *bdata = NULL;
	if (body_file)
		bdata = read_file(body_file, &blen);
	else if (body) {
		blen = strlen(body);
		bdata = xmalloc(blen + 1);
		memcpy(bdata, body, blen + 1);
	}
	build_request(&p.req, method, path, &p.t, bdata, blen);
	free(bdata);
	p.head = strcmp(method, "HEAD") == 0;
	p.warmup = warmup;
	p.target_total = n + warmup;
	p.lat = xmalloc(sizeof(*p.lat) * (size_t)n);
	p.ep = epoll_create1(EPOLL_CLOEXEC);
	if (p.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	p.nconns = conns;
	p.conns = calloc((size_t)conns, sizeof(*p.conns));
	if (!p.conns)
		die("out of memory");
	/* connect everything before the clock starts, as the peers' producers do */
	for (int i = 0; i < conns; i++)
		if (tp_open(&p, &p.conns[i]) != 0)
			die("cannot connect to %s: %s", addr, strerror(errno));

	int64_t t0 = mono_ns();
	int64_t deadline = t0 + (int64_t)(duration * 1e9);
	p.t_start = t0;
	for (int i = 0; i < conns; i++)
		tp_start(&p, &p.conns[i]);
	struct epoll_event evs[256];
	int timed_out = 0;
	while (p.done < p.target_total) {
		int64_t now = mono_ns();
		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		int64_t left_ms = (deadline - now) / 1000000 + 1;
		int ne = epoll_wait(p.ep, evs, 256, left_ms > 100 ? 100 : (int)left_ms);
		if (ne < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < ne; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			if ((evs[i].events & EPOLLOUT) && c->busy && c->out_off < p.req.len) {
				if (tp_write(&p, c) != 0) {
					p.errors++;
					p.done++;
					tp_close(&p, c);
					tp_start(&p, c);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				tp_readable(&p, c);
		}
		/* connections whose reconnect failed sit idle: give them the next request */
		for (int i = 0; i < conns && p.issued < p.target_total; i++)
			if (!p.conns[i].busy && p.conns[i].fd < 0)
				tp_start(&p, &p.conns[i]);
	}
	int64_t t_end = mono_ns();
	if (p.done < p.warmup)
		p.t_start = t_end;
	double secs = (double)(t_end - p.t_start) / 1e9;
	size_t measured = p.nlat;
	int64_t ok = 0;
	for (int s = 200; s < 300; s++)
		ok += p.status[s];
	struct summary s = summarize(p.lat, p.nlat, 1e6);
	double rps = secs > 0 ? (double)measured / secs : 0;
	for (int i = 0; i < conns; i++) {
		if (p.conns[i].fd >= 0)
			close(p.conns[i].fd);
		free(p.conns[i].in.p);
	}
	if (json) {
		printf("{\"mode\":\"throughput\",\"method\":\"%s\",\"path\":\"%s\",\"conns\":%d,"
		       "\"requested\":%" PRId64 ",\"responses\":%zu,\"ok_2xx\":%" PRId64
		       ",\"errors\":%" PRId64 ",\"malformed\":%" PRId64 ",\"reconnects\":%" PRId64
		       ",\"timed_out\":%s,\"secs\":%.6f,\"req_per_s\":%.1f",
		       method, path, conns, n, measured, ok, p.errors, p.malformed, p.reconnects,
		       timed_out ? "true" : "false", secs, rps);
		if (jobs_per_req)
			printf(",\"jobs_per_request\":%" PRId64 ",\"jobs_per_s\":%.1f",
			       jobs_per_req, rps * (double)jobs_per_req);
		printf(",\"statuses\":{");
		int first = 1;
		for (int k = 100; k < 600; k++)
			if (p.status[k]) {
				printf("%s\"%d\":%" PRId64, first ? "" : ",", k, p.status[k]);
				first = 0;
			}
		printf("},");
		print_summary_json(stdout, "latency_ms", &s);
		printf("}\n");
	} else {
		printf("%s %s, %d connection(s), %zu responses in %.3f s%s\n", method, path, conns,
		       measured, secs, timed_out ? " (stopped by --duration)" : "");
		printf("requests/s: %.1f\n", rps);
		if (jobs_per_req)
			printf("jobs/s: %.1f (%" PRId64 " per request)\n",
			       rps * (double)jobs_per_req, jobs_per_req);
		printf("statuses:");
		for (int k = 100; k < 600; k++)
			if (p.status[k])
				printf(" %d x%" PRId64, k, p.status[k]);
		printf("\nerrors: %" PRId64 " (malformed %" PRId64 ", reconnects %" PRId64 ")\n",
		       p.errors, p.malformed, p.reconnects);
		printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
		       s.p50, s.p90, s.p99, s.p999, s.max, s.mean);
	}
	free(p.conns);
	free(p.lat);
	free(p.req.p);
	close(p.ep);
	return (!timed_out && ok == (int64_t)measured && measured == (size_t)n) ? 0 : 1;
}

/* ---------------------------------------------------------------- blocking helpers */

/* Writes all of data to a non-blocking fd, waiting at most IO_TIMEOUT_MS in total. */
static int write_all(int fd, const char *data, size_t len)
{
	int64_t deadline = mono_ns() + (int64_t)IO_TIMEOUT_MS * 1000000;
	while (len) {
		ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			int left = (int)((deadline - mono_ns()) / 1000000);
			struct pollfd pf = {fd, POLLOUT, 0};
			if (left <= 0 || poll(&pf, 1, left) <= 0)
				return -1;
			continue;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes into b, waiting at most until deadline; -1 on EOF, error or timeout. */
static int read_some(int fd, struct buf *b, int64_t deadline)
{
	for (;;) {
		buf_reserve(b, 65536);
		ssize_t r = recv(fd, b->p + b->len, b->cap - b->len, 0);
		if (r > 0) {
			b->len += (size_t)r;
			return 0;
		}
		if (r == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		int left = (int)((deadline - mono_ns()) / 1000000);
		struct pollfd pf = {fd, POLLIN, 0};
		if (left <= 0 || poll(&pf, 1, left) <= 0)
			return -1;
	}
}

/* One HTTP exchange on a keep-alive connection (reconnects once if it was closed). */
struct hconn {
	struct target t;
	int fd;
	struct buf in;
};

static int hconn_exchange(struct hconn *h, const struct buf *req, struct http_resp *r)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (h->fd < 0 && (h->fd = connect_to(&h->t)) < 0)
			return -1;
		h->in.len = 0;
		if (write_all(h->fd, req->p, req->len) != 0)
			goto retry;
		int64_t deadline = mono_ns() + (int64_t)IO_TIMEOUT_MS * 1000000;
		for (;;) {
			int rc = http_parse(h->in.p ? h->in.p : "", h->in.len, 0, r);
			if (rc > 0) {
				if (r->close) {
					/* body stays valid in h->in until the next exchange */
					close(h->fd);
					h->fd = -1;
				}
				return 0;
			}
			if (rc < 0)
				return -1;
			if (read_some(h->fd, &h->in, deadline) != 0)
				break;
		}
	retry:
		if (h->in.len)
			return -1; /* a partial answer: do not resend a POST */
		close(h->fd);
		h->fd = -1;
	}
	return -1;
}

/* ---------------------------------------------------------------- RESP (Redis) */

struct rconn {
	int fd;
	struct buf in;
	size_t off; /* parse position in in */
};

enum { R_NIL, R_STR, R_INT, R_ERR };

struct rreply {
	int type;
	long long integer;
	const char *str; /* points into the connection buffer; valid until the next read */
	size_t len;
};

static void rconn_open(struct rconn *rc, const char *addr)
{
	struct target t;
	parse_target(addr, &t);
	memset(rc, 0, sizeof(*rc));
	rc->fd = connect_to(&t);
	if (rc->fd < 0)
		die("cannot connect to redis at %s: %s", addr, strerror(errno));
}

static void resp_append(struct buf *out, int argc, const char *const *argv)
{
	buf_printf(out, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		buf_printf(out, "$%zu\r\n", n);
		buf_add(out, argv[i], n);
		buf_add(out, "\r\n", 2);
	}
}

/* Parses one non-array reply at rc->off: 1 done, 0 need more, -1 protocol error. */
static int resp_parse(struct rconn *rc, struct rreply *r)
{
	const char *p = rc->in.p + rc->off;
	size_t avail = rc->in.len - rc->off;
	const char *nl = avail ? memmem(p, avail, "\r\n", 2) : NULL;
	if (!nl)
		return 0;
	size_t line = (size_t)(nl - p);
	switch (p[0]) {
	case '+':
	case '-':
		r->type = p[0] == '+' ? R_STR : R_ERR;
		r->str = p + 1;
		r->len = line - 1;
		rc->off += line + 2;
		return 1;
	case ':':
		r->type = R_INT;
		r->integer = strtoll(p + 1, NULL, 10);
		rc->off += line + 2;
		return 1;
	case '$': {
		long long n = strtoll(p + 1, NULL, 10);
		if (n < 0) {
			r->type = R_NIL;
			rc->off += line + 2;
			return 1;
		}
		if (avail < line + 2 + (size_t)n + 2)
			return 0;
		r->type = R_STR;
		r->str = p + line + 2;
		r->len = (size_t)n;
		rc->off += line + 2 + (size_t)n + 2;
		return 1;
	}
	default: return -1;
	}
}

/* Reads one reply (blocking up to IO_TIMEOUT_MS). */
static void rconn_read(struct rconn *rc, struct rreply *r)
{
	int64_t deadline = mono_ns() + (int64_t)IO_TIMEOUT_MS * 1000000;
	for (;;) {
		int rc2 = resp_parse(rc, r);
		if (rc2 > 0)
			return;
		if (rc2 < 0)
			die("unexpected reply from redis");
		if (rc->off) { /* keep the buffer small: drop what was parsed */
			buf_consume(&rc->in, rc->off);
			rc->off = 0;
		}
		if (read_some(rc->fd, &rc->in, deadline) != 0)
			die("redis did not answer");
	}
}

static void rconn_send(struct rconn *rc, const struct buf *out)
{
	if (write_all(rc->fd, out->p, out->len) != 0)
		die("cannot write to redis: %s", strerror(errno));
}

/* ---------------------------------------------------------------- latency */

static int64_t parse_json_int_field(const char *body, size_t len, const char *field, int *ok)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", field);
	const char *p = memmem(body, len, pat, strlen(pat));
	*ok = 0;
	if (!p)
		return 0;
	p += strlen(pat);
	while (p < body + len && *p == ' ')
		p++;
	char tmp[32];
	size_t k = 0;
	while (p < body + len && k + 1 < sizeof(tmp) && (isdigit((unsigned char)*p) || *p == '-'))
		tmp[k++] = *p++;
	tmp[k] = '\0';
	if (!k)
		return 0;
	*ok = 1;
	return strtoll(tmp, NULL, 10);
}

/* Sleeps until 0.2 ms before t (mono ns), then spins, as the peers' producers do. */
static void pace_until(int64_t t)
{
	int64_t d = t - mono_ns();
	if (d > 300000)
		sleep_ns(d - 200000);
	while (mono_ns() < t)
		;
}

/* POSTs one noop job carrying t0_us; returns its id or -1. rt_ns gets the HTTP round trip. */
static int64_t send_probe(struct hconn *h, struct buf *req, const char *queue, int64_t *rt_ns)
{
	char body[256];
	int64_t t0 = real_ns() / 1000;
	int64_t m0 = mono_ns();
	int n;
	if (queue)
		n = snprintf(body, sizeof(body),
			     "{\"type\":\"noop\",\"queue\":\"%s\",\"payload\":{\"t0_us\":%" PRId64
			     "}}",
			     queue, t0);
	else
		n = snprintf(body, sizeof(body),
			     "{\"type\":\"noop\",\"payload\":{\"t0_us\":%" PRId64 "}}", t0);
	build_request(req, "POST", "/jobs", &h->t, body, (size_t)n);
	struct http_resp r;
	if (hconn_exchange(h, req, &r) != 0 || r.status != 201)
		return -1;
	*rt_ns = mono_ns() - m0;
	int ok;
	int64_t id = parse_json_int_field(r.body, r.body_len, "id", &ok);
	return ok && id > 0 ? id : -1;
}

/* Reads the results of ids[0..n) into lat_us (-1 while missing); returns how many are known. */
static size_t fetch_results(struct rconn *rc, const char *prefix, const int64_t *ids, size_t n,
			    int64_t *lat_us, size_t *bad)
{
	struct buf out = {0};
	size_t known = 0;
	for (size_t start = 0; start < n; start += 1000) {
		size_t end = start + 1000 < n ? start + 1000 : n;
		out.len = 0;
		size_t asked = 0;
		for (size_t i = start; i < end; i++) {
			if (lat_us[i] >= 0)
				continue;
			char key[128];
			/* docs/redis.md: a job's key carries its id's bucket as hash tag */
			snprintf(key, sizeof(key), "%s{%" PRId64 "}:job:%" PRId64, prefix,
				 ids[i] % 16384, ids[i]);
			const char *argv[] = {"HGET", key, "result"};
			resp_append(&out, 3, argv);
			asked++;
		}
		if (!asked)
			continue;
		rconn_send(rc, &out);
		for (size_t i = start; i < end; i++) {
			if (lat_us[i] >= 0)
				continue;
			struct rreply r;
			rconn_read(rc, &r);
			if (r.type == R_STR) {
				int ok;
				int64_t v = parse_json_int_field(r.str, r.len, "latency_us", &ok);
				if (ok)
					lat_us[i] = v;
				else {
					lat_us[i] =
						INT64_MAX; /* finished without a latency: count it */
					(*bad)++;
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		known += lat_us[i] >= 0;
	free(out.p);
	return known;
}

/* Polls until every id has a result or the deadline passes; returns how many have one. */
static size_t wait_results(struct rconn *rc, const char *prefix, const int64_t *ids, size_t n,
			   int64_t *lat_us, size_t *bad, int64_t deadline, int64_t poll_ns)
{
	for (;;) {
		size_t known = fetch_results(rc, prefix, ids, n, lat_us, bad);
		if (known == n || mono_ns() >= deadline)
			return known;
		sleep_ns(poll_ns);
	}
}

static int run_latency(int argc, char **argv)
{
	int json = 0;
	int64_t m = 1000, spacing_us = 1000, warm = 10, backlog = 0;
	double drain_s = 30, duration = 120;
	const char *queue = NULL, *redis = NULL, *prefix = "jobq:", *addr = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (OPT("-m", "--samples")) {
			NEED();
			m = parse_int(a, v, 1, MAX_SAMPLES);
		} else if (strcmp(a, "--spacing-us") == 0) {
			NEED();
			spacing_us = parse_int(a, v, 0, 10000000);
		} else if (strcmp(a, "--warm") == 0) {
			NEED();
			warm = parse_int(a, v, 0, 10000);
		} else if (strcmp(a, "--backlog") == 0) {
			NEED();
			backlog = parse_int(a, v, 0, 10000);
		} else if (strcmp(a, "--queue") == 0) {
			NEED();
			queue = v;
		} else if (strcmp(a, "--redis") == 0) {
			NEED();
			redis = v;
		} else if (strcmp(a, "--prefix") == 0) {
			NEED();
			prefix = v;
		} else if (strcmp(a, "--drain-s") == 0) {
			NEED();
			drain_s = parse_double(a, v, 0, MAX_SECONDS);
		} else if (OPT("-d", "--duration")) {
			NEED();
			duration = parse_double(a, v, 0.001, MAX_SECONDS);
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (a[0] == '-') {
			usage_error("unknown option '%s'", a);
		} else if (!addr) {
			addr = a;
		} else {
			usage_error("unexpected argument '%s'", a);
		}
	}
	if (!addr || !redis)
		usage_error("latency needs HOST:PORT of the broker and --redis HOST:PORT");
	if (queue) {
		for (const char *q = queue; *q; q++)
			if (!isalnum((unsigned char)*q) && !strchr("_.:-", *q))
				usage_error("queue name '%s' is not valid", queue);
		if (strlen(queue) > 64)
			usage_error("queue name is longer than 64");
	}
	if (strlen(prefix) > 64)
		usage_error("prefix is longer than 64");

	struct hconn h = {.fd = -1};
	parse_target(addr, &h.t);
	if ((h.fd = connect_to(&h.t)) < 0)
		die("cannot connect to %s: %s", addr, strerror(errno));
	struct rconn rc;
	rconn_open(&rc, redis);
	struct buf req = {0}, bulk_req = {0};
	if (backlog) {
		struct buf body = {0};
		buf_add(&body, "[", 1);
		for (int64_t i = 0; i < backlog; i++) {
			if (queue)
				buf_printf(&body, "%s{\"type\":\"noop\",\"queue\":\"%s\"}",
					   i ? "," : "", queue);
			else
				buf_printf(&body, "%s{\"type\":\"noop\"}", i ? "," : "");
		}
		buf_add(&body, "]", 1);
		build_request(&bulk_req, "POST", "/jobs/bulk", &h.t, body.p, body.len);
		free(body.p);
	}

	/* warm-up: the workers and every connection on the path become hot */
	int64_t *wids = xmalloc(sizeof(int64_t) * (size_t)(warm ? warm : 1));
	int64_t *wlat = xmalloc(sizeof(int64_t) * (size_t)(warm ? warm : 1));
	size_t bad = 0;
	for (int64_t k = 0; k < warm; k++) {
		int64_t rt;
		wids[k] = send_probe(&h, &req, queue, &rt);
		wlat[k] = -1;
		if (wids[k] < 0)
			die("warm-up enqueue failed");
	}
	if (warm && wait_results(&rc, prefix, wids, (size_t)warm, wlat, &bad,
				 mono_ns() + 60 * 1000000000LL, 10000000) < (size_t)warm)
		die("warm-up jobs did not complete within 60 s (are workers running?)");
	free(wids);
	free(wlat);

	int64_t *ids = xmalloc(sizeof(int64_t) * (size_t)m);
	int64_t *lat = xmalloc(sizeof(int64_t) * (size_t)m);
	int64_t *rts = xmalloc(sizeof(int64_t) * (size_t)m);
	int64_t *bulk_rts = xmalloc(sizeof(int64_t) * (size_t)m);
	int64_t sent = 0, send_errors = 0;
	int64_t t0 = mono_ns();
	int64_t deadline = t0 + (int64_t)(duration * 1e9);
	int64_t nxt = t0;
	int timed_out = 0;
	for (int64_t k = 0; k < m; k++) {
		if (mono_ns() >= deadline) {
			timed_out = 1;
			break;
		}
		if (backlog) {
			struct http_resp r = {.status = -1};
			int64_t b0 = mono_ns();
			if (hconn_exchange(&h, &bulk_req, &r) != 0 || r.status != 201)
				die("POST /jobs/bulk of the backlog failed (status %d)", r.status);
			bulk_rts[k] = mono_ns() - b0;
		} else {
			pace_until(nxt);
		}
		int64_t ts = mono_ns();
		int64_t id = send_probe(&h, &req, queue, &rts[sent]);
		nxt = ts + spacing_us * 1000;
		if (id < 0) {
			send_errors++;
			continue;
		}
		ids[sent] = id;
		lat[sent] = -1;
		sent++;
		if (backlog) { /* the next backlog only once this probe has run */
			size_t one_bad = 0;
			int64_t pd = deadline > mono_ns() + 60 * 1000000000LL
					     ? deadline
					     : mono_ns() + 60 * 1000000000LL;
			if (wait_results(&rc, prefix, &ids[sent - 1], 1, &lat[sent - 1], &one_bad,
					 pd, 1000000) < 1)
				die("probe %" PRId64 " behind a backlog of %" PRId64
				    " did not run within its time limit",
				    id, backlog);
			bad += one_bad;
		}
	}
	double send_secs = (double)(mono_ns() - t0) / 1e9;
	size_t got = wait_results(&rc, prefix, ids, (size_t)sent, lat, &bad,
				  mono_ns() + (int64_t)(drain_s * 1e9), 20000000);
	/* keep the known ones for the percentiles */
	size_t k2 = 0;
	for (size_t i = 0; i < (size_t)sent; i++)
		if (lat[i] >= 0 && lat[i] != INT64_MAX)
			lat[k2++] = lat[i];
	struct summary s = summarize(lat, k2, 1000.0);
	struct summary srt = summarize(rts, (size_t)sent, 1e6);
	struct summary sbk = backlog ? summarize(bulk_rts, (size_t)sent, 1e6) : (struct summary){0};
	if (json) {
		printf("{\"mode\":\"latency\",\"samples\":%" PRId64 ",\"sent\":%" PRId64
		       ",\"send_errors\":%" PRId64 ",\"results\":%zu,\"no_latency\":%zu,"
		       "\"spacing_us\":%" PRId64 ",\"backlog\":%" PRId64 ",\"timed_out\":%s,"
		       "\"send_secs\":%.4f,",
		       m, sent, send_errors, got, bad, spacing_us, backlog,
		       timed_out ? "true" : "false", send_secs);
		print_summary_json(stdout, "latency_ms", &s);
		printf(",");
		print_summary_json(stdout, "enqueue_rt_ms", &srt);
		if (backlog) {
			printf(",");
			print_summary_json(stdout, "backlog_post_ms", &sbk);
		}
		printf("}\n");
	} else {
		printf("%" PRId64 " noop jobs sent in %.3f s (%" PRId64
		       " errors)%s; %zu results read"
		       " (%zu without latency)\n",
		       sent, send_secs, send_errors, timed_out ? " (stopped by --duration)" : "",
		       got, bad);
		if (backlog)
			printf("each probe sent right after POST /jobs/bulk of %" PRId64
			       " noop jobs (p50 %.3f ms)\n",
			       backlog, sbk.p50);
		printf("enqueue-to-start ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  "
		       "mean %.3f\n",
		       s.p50, s.p90, s.p99, s.p999, s.max, s.mean);
		printf("enqueue round trip ms: p50 %.3f  p99 %.3f  max %.3f\n", srt.p50, srt.p99,
		       srt.max);
	}
	if (h.fd >= 0)
		close(h.fd);
	close(rc.fd);
	free(h.in.p);
	free(rc.in.p);
	free(req.p);
	free(bulk_req.p);
	free(ids);
	free(lat);
	free(rts);
	free(bulk_rts);
	return (!timed_out && send_errors == 0 && got == (size_t)m && bad == 0) ? 0 : 1;
}

/* ---------------------------------------------------------------- watch */

static int run_watch(int argc, char **argv)
{
	int json = 0;
	int64_t n = -1, interval_ms = 5, t0_ns = 0;
	double duration = 180;
	const char *queue = "default", *prefix = "jobq:", *addr = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (OPT("-n", "--jobs")) {
			NEED();
			n = parse_int(a, v, 1, 1000000000);
		} else if (strcmp(a, "--t0-ns") == 0) {
			NEED();
			t0_ns = parse_int(a, v, 1, INT64_MAX);
		} else if (strcmp(a, "--queue") == 0) {
			NEED();
			queue = v;
		} else if (strcmp(a, "--prefix") == 0) {
			NEED();
			prefix = v;
		} else if (strcmp(a, "--interval-ms") == 0) {
			NEED();
			interval_ms = parse_int(a, v, 1, 1000);
		} else if (OPT("-d", "--duration")) {
			NEED();
			duration = parse_double(a, v, 0.001, MAX_SECONDS);
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (a[0] == '-') {
			usage_error("unknown option '%s'", a);
		} else if (!addr) {
			addr = a;
		} else {
			usage_error("unexpected argument '%s'", a);
		}
	}
#undef OPT
#undef NEED
	if (!addr || n < 0)
		usage_error("watch needs -n N and HOST:PORT of redis");
	if (strlen(prefix) > 64 || strlen(queue) > 64)
		usage_error("prefix and queue are at most 64 bytes");
	int64_t now_real = real_ns();
	if (!t0_ns)
		t0_ns = now_real;
	if (t0_ns > now_real + 1000000000LL || now_real - t0_ns > 3600 * 1000000000LL)
		usage_error("--t0-ns is more than 1 s in the future or 1 h in the past");
	struct rconn rc;
	rconn_open(&rc, addr);
	char kq[160], kstats[160];
	snprintf(kq, sizeof(kq), "%sq:%s", prefix, queue);
	snprintf(kstats, sizeof(kstats), "%sstats", prefix);
	const char *a1[] = {"LLEN", kq};
	const char *a2[] = {"HGET", kstats, "completed"};
	const char *a3[] = {"HGET", kstats, "failed"};
	struct buf out = {0};
	resp_append(&out, 2, a1);
	resp_append(&out, 3, a2);
	resp_append(&out, 3, a3);

	int64_t deadline = t0_ns + (int64_t)(duration * 1e9);
	int64_t llen0 = -1, t_first_taken = 0, t_first_done = 0, t_done = 0;
	long long completed = 0, failed = 0, polls = 0;
	for (;;) {
		int64_t now = real_ns();
		rconn_send(&rc, &out);
		struct rreply r;
		rconn_read(&rc, &r);
		long long llen = r.type == R_INT ? r.integer : 0;
		rconn_read(&rc, &r);
		completed = r.type == R_STR ? strtoll(r.str, NULL, 10) : 0;
		rconn_read(&rc, &r);
		failed = r.type == R_STR ? strtoll(r.str, NULL, 10) : 0;
		polls++;
		if (llen0 < 0)
			llen0 = llen;
		else if (!t_first_taken && llen < llen0)
			t_first_taken = now;
		if (!t_first_done && completed > 0)
			t_first_done = now;
		if (completed >= n) {
			t_done = now;
			break;
		}
		if (now >= deadline)
			break;
		sleep_ns(interval_ms * 1000000);
	}
	if (t_done && !t_first_taken)
		t_first_taken = t_first_done ? t_first_done : t_done;
	double total = t_done ? (double)(t_done - t0_ns) / 1e9 : 0;
	double boot = t_first_taken ? (double)(t_first_taken - t0_ns) / 1e9 : 0;
	double first_done = t_first_done ? (double)(t_first_done - t0_ns) / 1e9 : 0;
	double steady = t_done && t_done > t_first_taken
				? (double)n / ((double)(t_done - t_first_taken) / 1e9)
				: 0;
	double steady_c = t_done && t_done > t_first_done
				  ? (double)n / ((double)(t_done - t_first_done) / 1e9)
				  : 0;
	if (json)
		printf("{\"mode\":\"watch\",\"n\":%" PRId64 ",\"done\":%s,\"completed\":%lld,"
		       "\"failed\":%lld,\"queue_len_at_start\":%" PRId64 ",\"polls\":%lld,"
		       "\"total_secs\":%.4f,\"jobs_per_s\":%.1f,\"first_taken_secs\":%.4f,"
		       "\"first_completed_secs\":%.4f,\"steady_jobs_per_s\":%.1f,"
		       "\"steady_from_first_completion_jobs_per_s\":%.1f}\n",
		       n, t_done ? "true" : "false", completed, failed, llen0, polls, total,
		       t_done ? (double)n / total : 0, boot, first_done, steady, steady_c);
	else if (t_done)
		printf("%" PRId64 " completed in %.3f s: %.1f jobs/s; first taken at %.3f s, first "
		       "completed at %.3f s; steady %.1f jobs/s (%.1f from the first completion); "
		       "failed %lld\n",
		       n, total, (double)n / total, boot, first_done, steady, steady_c, failed);
	else
		printf("gave up after %.1f s: %lld of %" PRId64 " completed, %lld failed\n",
		       duration, completed, n, failed);
	free(out.p);
	free(rc.in.p);
	close(rc.fd);
	return t_done && !failed ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	if (strcmp(argv[1], "throughput") == 0)
		return run_throughput(argc - 1, argv + 1);
	if (strcmp(argv[1], "latency") == 0)
		return run_latency(argc - 1, argv + 1);
	if (strcmp(argv[1], "watch") == 0)
		return run_watch(argc - 1, argv + 1);
	usage_error("unknown mode '%s'", argv[1]);
}
