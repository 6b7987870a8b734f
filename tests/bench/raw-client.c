/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* The hand-written reference for bench-sink (issue 11): what the least a
 * Socket.IO client can do to send the sink's events costs.
 *
 *   raw-client --url http://127.0.0.1:PORT --events N --size 2048
 *       --in-flight 32 [--event audio_data] [--namespace /] [--token T]
 *       [--timeout S] [--transports websocket] [--refill-at N]
 *
 * One thread, one non-blocking socket driven by poll(). It does the
 * WebSocket upgrade and the Engine.IO/Socket.IO handshake itself, then
 * writes exactly the frames socketiosink writes: per event the text frame
 * 451-<id>["audio_data",{"audio_data":{"_placeholder":true,"num":0},
 * "seq":N,"pts":P,"duration":D,"format":"S16LE","rate":16000,"channels":1}]
 * and one binary frame with the 2048 bytes, both masked (8 bytes at a
 * time, like the sink), keeping --in-flight acks outstanding and writing
 * the events the acks of one read make room for in one write(). Like the
 * sink, a full window is topped up once it has drained to --refill-at
 * (default: half of --in-flight; --refill-at IN_FLIGHT-1 refills after
 * every ack). An ack is
 * parsed as far as its id ("43[/nsp,]<id>"): its arguments are skipped.
 * Pings are answered. --in-flight 0 sends without ack ids, then one acked
 * "bench_barrier" event, as node-client.js does.
 *
 * No TLS, no HTTP proxy, no fragmented messages from the server, no
 * reconnection: anything unexpected ends it with exit status 1.
 *
 * Prints the peers' JSON line (client, events, bytes, in_flight, wall_s,
 * cpu_s, events_per_s, cpu_s_per_mb, max_rss_kb, sha256), timed like
 * theirs from the namespace CONNECT reply to the last ack, plus "acked".
 * The payload bytes are the peers' (same sha256). GLib is used for the
 * sha256 only, after the measurement. */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#define RING 64
#define RATE 16000
#define CHANNELS 1
#define MAX_INCOMING (1 << 20)

typedef struct
{
  const char *url;
  uint64_t events;
  unsigned size;
  unsigned in_flight;
  const char *event;
  const char *nsp;
  const char *token;
  unsigned timeout_s;
  unsigned refill_at;
} Options;

typedef struct
{
  uint8_t *data;
  size_t start, end, cap;
} Buffer;

typedef enum
{
  WAIT_OPEN,                    /* Engine.IO open packet "0{...}" */
  WAIT_CONNECT,                 /* namespace CONNECT reply "40{...}" */
  STREAMING,
  CLOSING,                      /* "41" and the close frame sent */
} Phase;

typedef struct
{
  Options o;
  int fd;
  Phase phase;
  uint8_t *ring[RING];
  uint64_t duration_ns;
  uint32_t mask_state;
  Buffer in, out;

  /* the text frame up to the ack id, and the JSON after "seq": ... */
  char prefix[512];
  size_t prefix_length;
  char json_head[512];
  size_t json_head_length;
  char json_tail[128];
  size_t json_tail_length;

  uint64_t sent, acked;
  uint8_t *acked_map;           /* one bit per ack id */
  int barrier_sent;
  double t0, t1, cpu0, cpu1;
} Client;

static void
fail (const char *msg)
{
  fprintf (stderr, "raw-client: %s\n", msg);
  exit (1);
}

static void
fail_errno (const char *what)
{
  fprintf (stderr, "raw-client: %s: %s\n", what, strerror (errno));
  exit (1);
}

static void
on_alarm (int sig)
{
  static const char msg[] = "raw-client: timed out\n";

  (void) sig;
  if (write (2, msg, sizeof msg - 1) < 0) {
    /* nothing more to say */
  }
  _exit (1);
}

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t
parse_uint (const char *arg, const char *value)
{
  char *end;
  unsigned long long v;

  if (value == NULL || *value < '0' || *value > '9')
    goto bad;
  errno = 0;
  v = strtoull (value, &end, 10);
  if (*end != '\0' || errno != 0)
    goto bad;
  return v;
bad:
  fprintf (stderr, "raw-client: %s needs a non-negative integer\n", arg);
  exit (1);
}

static void
parse_args (int argc, char **argv, Options * o)
{
  int i;

  o->url = NULL;
  o->events = 20000;
  o->size = 2048;
  o->in_flight = 32;
  o->event = "audio_data";
  o->nsp = "/";
  o->token = NULL;
  o->timeout_s = 300;
  o->refill_at = G_MAXUINT;

  for (i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (v == NULL) {
      fprintf (stderr, "raw-client: %s needs a value\n", a);
      exit (1);
    }
    if (strcmp (a, "--url") == 0)
      o->url = v;
    else if (strcmp (a, "--events") == 0)
      o->events = parse_uint (a, v);
    else if (strcmp (a, "--size") == 0)
      o->size = parse_uint (a, v);
    else if (strcmp (a, "--in-flight") == 0)
      o->in_flight = parse_uint (a, v);
    else if (strcmp (a, "--event") == 0)
      o->event = v;
    else if (strcmp (a, "--namespace") == 0)
      o->nsp = v;
    else if (strcmp (a, "--token") == 0)
      o->token = v;
    else if (strcmp (a, "--timeout") == 0)
      o->timeout_s = parse_uint (a, v);
    else if (strcmp (a, "--refill-at") == 0)
      o->refill_at = parse_uint (a, v);
    else if (strcmp (a, "--transports") == 0) {
      if (strcmp (v, "websocket") != 0)
        fail ("only --transports websocket");
    } else {
      fprintf (stderr, "raw-client: unknown argument %s\n", a);
      exit (1);
    }
  }
  if (o->url == NULL)
    fail ("--url is required");
  if (o->nsp[0] != '/' || strpbrk (o->nsp, ",\"\\") != NULL)
    fail ("--namespace must start with / and hold no , \" or \\");
  if (strpbrk (o->event, "\"\\") != NULL || strlen (o->event) > 200)
    fail ("--event must be short and hold no \" or \\");
  if (o->token && (strpbrk (o->token, "\"\\") != NULL ||
          strlen (o->token) > 200))
    fail ("--token must be short and hold no \" or \\");
  if (o->size < 2 || o->size % (2 * CHANNELS) != 0 || o->size > 64 * 1024)
    fail ("--size must be a multiple of 2 from 2 to 65536");
  if (o->in_flight > 65535)
    fail ("--in-flight must be at most 65535");
  if (o->refill_at == G_MAXUINT)
    o->refill_at = o->in_flight / 2;
  if (o->refill_at >= o->in_flight && o->in_flight > 0)
    fail ("--refill-at must be below --in-flight");
}

/* ---- buffers ----------------------------------------------------------- */

static void
buffer_reserve (Buffer * b, size_t extra)
{
  if (b->end + extra <= b->cap)
    return;
  if (b->start > 0) {
    memmove (b->data, b->data + b->start, b->end - b->start);
    b->end -= b->start;
    b->start = 0;
  }
  if (b->end + extra > b->cap) {
    while (b->end + extra > b->cap)
      b->cap = b->cap ? b->cap * 2 : 65536;
    b->data = realloc (b->data, b->cap);
    if (b->data == NULL)
      fail ("out of memory");
  }
}

static void
buffer_consume (Buffer * b, size_t length)
{
  b->start += length;
  if (b->start == b->end)
    b->start = b->end = 0;
}

/* ---- output ------------------------------------------------------------ */

static char *
put_u64 (char *p, uint64_t v)
{
  char digits[20];
  int n = 0;

  do {
    digits[n++] = '0' + v % 10;
    v /= 10;
  } while (v);
  while (n)
    *p++ = digits[--n];
  return p;
}

static uint32_t
next_mask (uint32_t * state)
{
  uint32_t x = *state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

/* Appends one masked frame, masking @data as it is copied (one pass, eight
 * bytes at a time, as the sink does). */
static void
queue_frame (Client * c, uint8_t opcode, const void *data, size_t length)
{
  const uint8_t *src = data;
  uint32_t m = next_mask (&c->mask_state);
  uint64_t m64 = ((uint64_t) m << 32) | m;
  uint8_t mask[4], *p;
  size_t i;

  buffer_reserve (&c->out, length + 14);
  p = c->out.data + c->out.end;
  *p++ = 0x80 | opcode;
  if (length < 126) {
    *p++ = 0x80 | length;
  } else if (length < 65536) {
    *p++ = 0x80 | 126;
    *p++ = length >> 8;
    *p++ = length & 0xff;
  } else {
    int shift;

    *p++ = 0x80 | 127;
    for (shift = 56; shift >= 0; shift -= 8)
      *p++ = ((uint64_t) length >> shift) & 0xff;
  }
  memcpy (mask, &m, 4);
  memcpy (p, mask, 4);
  p += 4;
  /* m64 holds the 4 mask bytes twice, in memory order */
  for (i = 0; i + 8 <= length; i += 8) {
    uint64_t v;

    memcpy (&v, src + i, 8);
    v ^= m64;
    memcpy (p + i, &v, 8);
  }
  for (; i < length; i++)
    p[i] = src[i] ^ mask[i & 3];
  c->out.end = p + length - c->out.data;
}

static void
queue_text (Client * c, const char *text)
{
  queue_frame (c, 0x1, text, strlen (text));
}

static void
prepare_event_text (Client * c)
{
  Options *o = &c->o;
  int n;

  /* "451-" ["/nsp,"]; the ack id follows, then the JSON */
  n = snprintf (c->prefix, sizeof c->prefix, "451-%s%s",
      strcmp (o->nsp, "/") ? o->nsp : "", strcmp (o->nsp, "/") ? "," : "");
  if (n < 0 || (size_t) n >= sizeof c->prefix)
    fail ("namespace too long");
  c->prefix_length = n;
  n = snprintf (c->json_head, sizeof c->json_head,
      "[\"%s\",{\"audio_data\":{\"_placeholder\":true,\"num\":0},\"seq\":",
      o->event);
  c->json_head_length = n;
  n = snprintf (c->json_tail, sizeof c->json_tail,
      ",\"format\":\"S16LE\",\"rate\":%d,\"channels\":%d}]", RATE, CHANNELS);
  c->json_tail_length = n;
}

/* One event: its text frame and its attachment, back to back. */
static void
queue_event (Client * c)
{
  char text[1024], *p = text;
  uint64_t seq = c->sent;

  memcpy (p, c->prefix, c->prefix_length);
  p += c->prefix_length;
  if (c->o.in_flight > 0)
    p = put_u64 (p, seq);
  memcpy (p, c->json_head, c->json_head_length);
  p += c->json_head_length;
  p = put_u64 (p, seq);
  memcpy (p, ",\"pts\":", 7);
  p = put_u64 (p + 7, seq * c->duration_ns);
  memcpy (p, ",\"duration\":", 12);
  p = put_u64 (p + 12, c->duration_ns);
  memcpy (p, c->json_tail, c->json_tail_length);
  p += c->json_tail_length;

  queue_frame (c, 0x1, text, p - text);
  queue_frame (c, 0x2, c->ring[seq % RING], c->o.size);
  c->sent++;
}

static void
queue_barrier (Client * c)
{
  char text[300];

  snprintf (text, sizeof text, "42%s%s%llu[\"bench_barrier\"]",
      strcmp (c->o.nsp, "/") ? c->o.nsp : "",
      strcmp (c->o.nsp, "/") ? "," : "", (unsigned long long) c->o.events);
  queue_text (c, text);
  c->barrier_sent = 1;
}

/* Tops the window up. */
static void
fill_window (Client * c)
{
  if (c->phase != STREAMING)
    return;
  if (c->o.in_flight == 0) {
    /* no acks to wait for: bounded by the output buffer */
    while (c->sent < c->o.events && c->out.end - c->out.start < (1 << 20))
      queue_event (c);
    if (c->sent == c->o.events && !c->barrier_sent)
      queue_barrier (c);
    return;
  }
  /* a full window waits until it has drained to refill_at, as the sink's
   * streaming thread does */
  if (c->sent - c->acked > c->o.refill_at)
    return;
  while (c->sent < c->o.events && c->sent - c->acked < c->o.in_flight)
    queue_event (c);
}

/* Writes what the socket takes; FALSE when output remains. */
static int
flush_output (Client * c)
{
  while (c->out.end > c->out.start) {
    ssize_t n = send (c->fd, c->out.data + c->out.start,
        c->out.end - c->out.start, MSG_NOSIGNAL);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      fail_errno ("send");
    }
    buffer_consume (&c->out, n);
  }
  return 1;
}

/* ---- input ------------------------------------------------------------- */

static void
start_closing (Client * c)
{
  static const uint8_t normal[2] = { 1000 >> 8, 1000 & 0xff };

  c->t1 = now_seconds ();
  c->cpu1 = cpu_seconds ();
  if (strcmp (c->o.nsp, "/") == 0) {
    queue_text (c, "41");
  } else {
    char text[300];

    snprintf (text, sizeof text, "41%s,", c->o.nsp);
    queue_text (c, text);
  }
  queue_frame (c, 0x8, normal, 2);
  c->phase = CLOSING;
}

/* "3[/nsp,]<id>[...]" after the Engine.IO "4": the id, or -1. */
static int64_t
ack_id_of (Client * c, const char *p, size_t length)
{
  const char *end = p + length;
  size_t nsp_length = strlen (c->o.nsp);
  uint64_t id = 0;

  p++;                          /* '3' */
  if (p < end && *p == '/') {
    if ((size_t) (end - p) <= nsp_length || memcmp (p, c->o.nsp,
            nsp_length) != 0 || p[nsp_length] != ',')
      return -1;
    p += nsp_length + 1;
  }
  if (p == end || *p < '0' || *p > '9')
    return -1;
  while (p < end && *p >= '0' && *p <= '9' && id < (1ULL << 60))
    id = id * 10 + (*p++ - '0');
  if (p == end || *p != '[')
    return -1;
  return id;
}

static void
handle_ack (Client * c, const char *p, size_t length)
{
  int64_t id = ack_id_of (c, p, length);

  if (id < 0)
    fail ("malformed ack");
  if (c->o.in_flight == 0) {
    if (!c->barrier_sent || (uint64_t) id != c->o.events)
      fail ("unexpected ack");
    c->acked = c->o.events;
  } else {
    if ((uint64_t) id >= c->sent || (c->acked_map[id >> 3] & (1 << (id & 7))))
      fail ("ack for an id not in flight");
    c->acked_map[id >> 3] |= 1 << (id & 7);
    c->acked++;
  }
  if (c->acked == c->o.events)
    start_closing (c);
}

static void
handle_text (Client * c, const char *p, size_t length)
{
  if (length == 0)
    fail ("empty text message");
  switch (p[0]) {
    case '0':
      if (c->phase != WAIT_OPEN)
        fail ("a second open packet");
      if (c->o.token) {
        char text[600];

        snprintf (text, sizeof text, "40%s%s{\"token\":\"%s\"}",
            strcmp (c->o.nsp, "/") ? c->o.nsp : "",
            strcmp (c->o.nsp, "/") ? "," : "", c->o.token);
        queue_text (c, text);
      } else if (strcmp (c->o.nsp, "/") == 0) {
        queue_text (c, "40");
      } else {
        char text[300];

        snprintf (text, sizeof text, "40%s,", c->o.nsp);
        queue_text (c, text);
      }
      c->phase = WAIT_CONNECT;
      return;
    case '2':
      queue_text (c, "3");
      return;
    case '4':
      break;
    default:
      return;                   /* pong, noop */
  }
  if (length >= 2 && p[1] == '3' && c->phase >= STREAMING) {
    handle_ack (c, p + 1, length - 1);
    return;
  }
  if (length >= 2 && p[1] == '0' && c->phase == WAIT_CONNECT) {
    c->phase = STREAMING;
    c->t0 = now_seconds ();
    c->cpu0 = cpu_seconds ();
    return;
  }
  if (length >= 2 && (p[1] == '1' || p[1] == '4')) {
    fprintf (stderr, "raw-client: server said %.*s\n", (int) length, p);
    exit (1);
  }
  /* server events are ignored */
}

/* Parses the whole frames in the input buffer; FALSE once the server's
 * close frame came. */
static int
parse_frames (Client * c)
{
  while (c->in.end - c->in.start >= 2) {
    const uint8_t *f = c->in.data + c->in.start;
    size_t available = c->in.end - c->in.start, header = 2;
    uint64_t length = f[1] & 0x7f;
    unsigned opcode = f[0] & 0x0f;

    if ((f[0] & 0x80) == 0 || opcode == 0)
      fail ("fragmented message from the server");
    if (f[1] & 0x80)
      fail ("masked frame from the server");
    if (length == 126) {
      if (available < 4)
        return 1;
      length = (f[2] << 8) | f[3];
      header = 4;
    } else if (length == 127) {
      int k;

      if (available < 10)
        return 1;
      length = 0;
      for (k = 2; k < 10; k++)
        length = (length << 8) | f[k];
      header = 10;
    }
    if (length > MAX_INCOMING)
      fail ("message too large");
    if (available < header + length) {
      buffer_reserve (&c->in, header + length - available);
      return 1;
    }
    switch (opcode) {
      case 0x1:
        handle_text (c, (const char *) f + header, length);
        break;
      case 0x8:
        buffer_consume (&c->in, header + length);
        return 0;
      case 0x9:                /* ping: pong with its payload */
        queue_frame (c, 0xA, f + header, length);
        break;
      default:                 /* binary (server attachments), pong */
        break;
    }
    buffer_consume (&c->in, header + length);
  }
  return 1;
}

/* ---- connection -------------------------------------------------------- */

static void
connect_and_upgrade (Client * c)
{
  char host[256], port[16] = "80", path[512] = "/socket.io/", request[2048];
  const char *p = c->o.url, *host_end, *path_start;
  struct addrinfo hints = { 0 }, *res;
  int one = 1, n, rc;
  char *head_end = NULL;

  if (strncmp (p, "http://", 7) == 0)
    p += 7;
  else if (strncmp (p, "ws://", 5) == 0)
    p += 5;
  else
    fail ("--url must be http:// or ws:// (no TLS here)");
  path_start = p + strcspn (p, "/?");
  host_end = memchr (p, ':', path_start - p);
  if (host_end == NULL)
    host_end = path_start;
  else
    snprintf (port, sizeof port, "%.*s", (int) (path_start - host_end - 1),
        host_end + 1);
  snprintf (host, sizeof host, "%.*s", (int) (host_end - p), p);
  if (*path_start == '/' && path_start[1] != '\0')
    snprintf (path, sizeof path, "%s", path_start);

  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo (host, port, &hints, &res)) != 0) {
    fprintf (stderr, "raw-client: %s: %s\n", host, gai_strerror (rc));
    exit (1);
  }
  c->fd = socket (res->ai_family, SOCK_STREAM, 0);
  if (c->fd < 0 || connect (c->fd, res->ai_addr, res->ai_addrlen) < 0)
    fail_errno ("connect");
  freeaddrinfo (res);
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  n = snprintf (request, sizeof request, "GET %s%sEIO=4&transport=websocket "
      "HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nUser-Agent: raw-client\r\n\r\n", path,
      strchr (path, '?') ? "&" : "?", host, port);
  if (write (c->fd, request, n) != n)
    fail_errno ("write");

  /* the response head, blocking; frames after it stay in c->in */
  while (head_end == NULL) {
    ssize_t got;

    buffer_reserve (&c->in, 4096);
    got = read (c->fd, c->in.data + c->in.end, c->in.cap - c->in.end - 1);
    if (got <= 0)
      fail ("the server closed during the WebSocket handshake");
    c->in.end += got;
    c->in.data[c->in.end] = '\0';
    head_end = strstr ((char *) c->in.data, "\r\n\r\n");
  }
  if (strncmp ((char *) c->in.data, "HTTP/1.1 101", 12) != 0) {
    fprintf (stderr, "raw-client: handshake refused: %.*s\n",
        (int) strcspn ((char *) c->in.data, "\r\n"), (char *) c->in.data);
    exit (1);
  }
  buffer_consume (&c->in, head_end + 4 - (char *) c->in.data);
  fcntl (c->fd, F_SETFL, fcntl (c->fd, F_GETFL) | O_NONBLOCK);
}

static void
run (Client * c)
{
  int open = 1;

  while (open) {
    struct pollfd pfd = { c->fd, POLLIN, 0 };
    ssize_t got;

    if (!flush_output (c))
      pfd.events |= POLLOUT;
    if (poll (&pfd, 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      fail_errno ("poll");
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      buffer_reserve (&c->in, 16384);
      got = recv (c->fd, c->in.data + c->in.end, c->in.cap - c->in.end, 0);
      if (got < 0 && errno != EAGAIN && errno != EINTR)
        fail_errno ("recv");
      if (got == 0) {
        if (c->phase != CLOSING)
          fail ("the server closed the connection");
        break;
      }
      if (got > 0) {
        c->in.end += got;
        open = parse_frames (c);
      }
    }
    /* after the whole read: the room its acks made goes in one write */
    fill_window (c);
  }
  if (c->phase != CLOSING)
    fail ("the server closed the WebSocket");
  flush_output (c);
  close (c->fd);
}

int
main (int argc, char **argv)
{
  Client c = { 0 };
  GChecksum *sum;
  struct rusage ru;
  uint64_t i, nbytes;
  unsigned k, j;
  double wall, cpu;

  parse_args (argc, argv, &c.o);
  signal (SIGALRM, on_alarm);
  alarm (c.o.timeout_s);
  c.mask_state = (uint32_t) getpid () * 2654435761u | 1;
  c.duration_ns = (uint64_t) (c.o.size / (2 * CHANNELS)) * 1000000000ull / RATE;
  c.acked_map = calloc (c.o.events / 8 + 1, 1);
  /* same formula as node-client.js, python-client.py and bench-sink */
  for (k = 0; k < RING; k++) {
    c.ring[k] = malloc (c.o.size);
    for (j = 0; j < c.o.size; j++)
      c.ring[k][j] = (k * 131 + j * 7 + (j >> 8)) & 0xff;
  }
  prepare_event_text (&c);

  connect_and_upgrade (&c);
  parse_frames (&c);
  run (&c);

  wall = c.t1 - c.t0;
  cpu = c.cpu1 - c.cpu0;
  nbytes = c.o.events * c.o.size;
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (i = 0; i < c.o.events; i++)
    g_checksum_update (sum, c.ring[i % RING], c.o.size);
  getrusage (RUSAGE_SELF, &ru);
  printf ("{\"client\":\"raw-client\",\"events\":%llu,\"bytes\":%llu"
      ",\"in_flight\":%u,\"wall_s\":%.4f,\"cpu_s\":%.4f"
      ",\"events_per_s\":%.1f,\"cpu_s_per_mb\":%.5f,\"max_rss_kb\":%ld"
      ",\"sha256\":\"%s\",\"acked\":%llu}\n",
      (unsigned long long) c.o.events, (unsigned long long) nbytes,
      c.o.in_flight, wall, cpu, wall > 0 ? c.o.events / wall : 0.0,
      nbytes ? cpu / (nbytes / 1e6) : 0.0, ru.ru_maxrss,
      g_checksum_get_string (sum), (unsigned long long) c.acked);
  g_checksum_free (sum);
  for (k = 0; k < RING; k++)
    free (c.ring[k]);
  free (c.acked_map);
  free (c.in.data);
  free (c.out.data);
  return 0;
}
