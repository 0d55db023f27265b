/*
 * Tenet's CNI plugin as a small C program: the same contract as the POSIX sh script that
 * `tenet cni install` falls back to (src/cni/install.ts, ADR 018), without starting sh, sed
 * and curl (33 shared libraries) on every call. It exists for speed only: the runtime waits
 * for it on every container start, and curl's start alone cost more than the reference
 * plugins' whole DEL. It holds no CNI logic: the agent parses, validates and answers.
 *
 *   VERSION   answered here from the config's cniVersion, no agent (podman runs it for
 *             every conflist whenever the config dir changes).
 *   otherwise one HTTP/1.1 POST /v1/cni on the agent's unix socket (TENET_CNI_SOCKET, else
 *             the path baked in at build time), the five CNI_* variables percent-encoded as
 *             query parameters, stdin as the body; the answer's body goes to stdout; exit 1
 *             on HTTP >= 400 (curl --fail-with-body), 0 otherwise.
 *   no agent  a CNI error with code 11 (try again later) on stdout, exit 1, worded exactly as
 *             the script words it (the identity is tested: src/cni/forwarder.test.ts).
 *
 * Build-time macros (install.ts passes them; the defaults keep a bare `cc forwarder.c` valid):
 *   TENET_SOCKET     the default socket path, a C string literal
 *   TENET_VERSIONS   the supported versions as a JSON array's inside: "0.4.0","1.0.0",...
 *   TENET_LATEST     the version answered when the config's is not supported
 * Every buffer is static with a fixed bound; exceeding one is a CNI error naming the bound.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef TENET_SOCKET
#define TENET_SOCKET "/run/tenet/cni.sock"
#endif
#ifndef TENET_VERSIONS
#define TENET_VERSIONS "\"0.4.0\",\"1.0.0\",\"1.1.0\""
#endif
#ifndef TENET_LATEST
#define TENET_LATEST "1.1.0"
#endif

#define MAX_CONFIG (1024 * 1024)   /* the agent's body limit (fastify's default) */
#define MAX_VALUE 4096             /* one CNI_* variable, before encoding */
#define MAX_HEAD (5 * 3 * MAX_VALUE + 1024)
#define MAX_ANSWER (1024 * 1024)
#define TIMEOUT_S 60               /* the script's curl --max-time */

static char config[MAX_CONFIG + 1];
static char head[MAX_HEAD];
static char answer[MAX_ANSWER + 1];
static const char *sock_path;
static char timeout_msg[512];

/* Writes all of buf to fd, retrying short writes; 0 on success. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* A CNI error document on stdout and exit 1: the runtime shows msg to its user. */
static void fail(int code, const char *msg) {
  char out[1024];
  int n = snprintf(out, sizeof out, "{\"cniVersion\":\"1.0.0\",\"code\":%d,\"msg\":\"%s\"}\n", code, msg);
  write_all(1, out, n < (int)sizeof out ? (size_t)n : sizeof out - 1);
  exit(1);
}

/* The agent did not answer: the script's exact wording, `why` in place of its curl reason. */
static void unreachable(const char *why) {
  char msg[768];
  snprintf(msg, sizeof msg, "the Tenet agent did not answer on %s (%s): start it (tenet agent or tenet up), then retry", sock_path, why);
  fail(11, msg);
}

static void on_alarm(int sig) {
  (void)sig;
  write_all(1, timeout_msg, strlen(timeout_msg)); /* prepared before the alarm: signal-safe */
  _exit(1);
}

/* Reads stdin whole into config; returns its length. */
static size_t read_config(void) {
  size_t len = 0;
  for (;;) {
    ssize_t n = read(0, config + len, MAX_CONFIG + 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(4, "cannot read the network config on stdin");
    if (n == 0) break;
    len += (size_t)n;
    if (len > MAX_CONFIG) fail(4, "the network config on stdin is larger than 1 MiB");
  }
  config[len] = '\0';
  return len;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/*
 * The script's sed: on the first line holding "cniVersion", the LAST occurrence of
 * "cniVersion" <space>* : <space>* "<digits and dots>" gives the version (sed's greedy .*).
 */
static void config_version(char *out, size_t cap) {
  out[0] = '\0';
  const char *key = "\"cniVersion\"";
  const char *hit = strstr(config, key);
  if (!hit) return;
  const char *line = hit;
  while (line > config && line[-1] != '\n') line--;
  const char *end = strchr(hit, '\n');
  if (!end) end = config + strlen(config);
  for (const char *p = line; (p = strstr(p, key)) && p < end; p++) {
    const char *q = p + strlen(key);
    while (q < end && is_space(*q)) q++;
    if (q >= end || *q++ != ':') continue;
    while (q < end && is_space(*q)) q++;
    if (q >= end || *q++ != '"') continue;
    const char *v = q;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == '.')) q++;
    if (q >= end || *q != '"' || (size_t)(q - v) >= cap) continue;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
  }
}

static int answer_version(void) {
  char v[32], quoted[40];
  config_version(v, sizeof v);
  snprintf(quoted, sizeof quoted, "\"%s\"", v);
  if (v[0] == '\0' || !strstr(TENET_VERSIONS, quoted)) strcpy(v, TENET_LATEST);
  printf("{\"cniVersion\":\"%s\",\"supportedVersions\":[" TENET_VERSIONS "]}\n", v);
  return 0;
}

/* Appends "&NAME=<percent-encoded $NAME>" (unset = empty, as "$NAME" is in sh). */
static size_t add_query(size_t at, const char *name, int first) {
  const char *value = getenv(name);
  if (!value) value = "";
  if (strlen(value) > MAX_VALUE) fail(4, "a CNI_* variable is longer than 4096 bytes");
  at += (size_t)snprintf(head + at, MAX_HEAD - at, "%s%s=", first ? "?" : "&", name);
  for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
    int plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~';
    if (plain) head[at++] = (char)*c;
    else at += (size_t)snprintf(head + at, MAX_HEAD - at, "%%%02X", *c);
  }
  return at;
}

static int connect_agent(void) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(sock_path) >= sizeof addr.sun_path) unreachable("socket path too long");
  strcpy(addr.sun_path, sock_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) unreachable("cannot connect");
  return fd;
}

/* Reads the whole answer (the request said Connection: close); returns its length. */
static size_t read_answer(int fd) {
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, answer + len, MAX_ANSWER - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) unreachable("connection lost");
    if (n == 0) break;
    len += (size_t)n;
    if (len == MAX_ANSWER) fail(999, "the Tenet agent's answer is larger than 1 MiB");
  }
  answer[len] = '\0';
  return len;
}

/* A header's value (case-insensitive name) within head..body, or NULL. */
static const char *header(const char *head_start, const char *body, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(head_start, "\r\n"); p && p + 2 < body; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    }
  }
  return NULL;
}

/* Decodes a chunked body in place; returns its length, or -1 if it is malformed. */
static long dechunk(char *body, const char *end) {
  char *out = body;
  const char *p = body;
  for (;;) {
    char *after;
    unsigned long size = strtoul(p, &after, 16);
    const char *data = strstr(after, "\r\n");
    if (after == p || !data || data + 2 + size > end) return -1;
    if (size == 0) return out - body;
    memmove(out, data + 2, size);
    out += size;
    p = data + 2 + size + 2;
  }
}

/* Prints the answer's body and returns the exit code: 1 on HTTP >= 400 (--fail-with-body). */
static int relay(size_t len) {
  int status = 0;
  char *body = strstr(answer, "\r\n\r\n");
  if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1 || !body) unreachable("bad answer");
  *body = '\0'; /* the head becomes a string for header(); the body starts 4 bytes on */
  body += 4;
  const char *end = answer + len;
  size_t size = (size_t)(end - body);
  const char *te = header(answer, body, "transfer-encoding");
  const char *cl = header(answer, body, "content-length");
  if (te && strncasecmp(te, "chunked", 7) == 0) {
    long n = dechunk(body, end);
    if (n < 0) unreachable("bad answer");
    size = (size_t)n;
  } else if (cl) {
    size_t want = strtoul(cl, NULL, 10);
    if (want > size) unreachable("connection lost");
    size = want;
  }
  if (write_all(1, body, size) != 0) return 1;
  return status >= 400 ? 1 : 0;
}

int main(void) {
  sock_path = getenv("TENET_CNI_SOCKET");
  if (!sock_path || !*sock_path) sock_path = TENET_SOCKET; /* sh's ${VAR:-default} */
  const char *command = getenv("CNI_COMMAND");
  size_t config_len = read_config();
  if (command && strcmp(command, "VERSION") == 0) return answer_version();

  signal(SIGPIPE, SIG_IGN); /* a closed socket is an error from write(), not a death */
  snprintf(timeout_msg, sizeof timeout_msg,
           "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"the Tenet agent did not answer on %s (timed out): start it (tenet agent or tenet up), then retry\"}\n",
           sock_path);
  signal(SIGALRM, on_alarm);
  alarm(TIMEOUT_S);

  size_t at = (size_t)snprintf(head, MAX_HEAD, "POST /v1/cni");
  const char *vars[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS"};
  for (int i = 0; i < 5; i++) at = add_query(at, vars[i], i == 0);
  at += (size_t)snprintf(head + at, MAX_HEAD - at,
                         " HTTP/1.1\r\nHost: tenet\r\ncontent-type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         config_len);
  int fd = connect_agent();
  if (write_all(fd, head, at) != 0 || write_all(fd, config, config_len) != 0) unreachable("connection lost");
  return relay(read_answer(fd));
}
