// The machine's raw ceiling for SFU forwarding on one core: recvmmsg -> SRTP unprotect -> N x (header
// rewrite + SRTP protect) -> sendmmsg, in plain C with the fastest SRTP work available here (OpenSSL 3 EVP,
// cipher contexts created once and re-keyed with a new IV per packet; HMAC-SHA1 from precomputed inner and
// outer SHA-1 states, RFC 2104). The same crypto as MediaCore's SRTPContext, without its bookkeeping: no
// replay window, no rollover counter (ROC is always 0), no stream table, no KDF (random session keys).
//
// Loopback only (127.0.0.1). Three threads: a sender (pre-protected packets, paced so the forwarder's
// socket does not overflow), the forwarder (the measured one) and a drain that empties the N viewer sockets.
// Stops by itself after --packets inputs or --seconds, whichever comes first.
//
//   ceiling [--profile cm|gcm] [--viewers N] [--packets M] [--size BYTES] [--seconds S] [--mode net|mem]
//           [--forwarder-cpu C] [--helper-cpu C] [--rate PPS]
//
// --forwarder-cpu/--helper-cpu pin the forwarder and the sender + drain threads (as taskset pins a server and
// its load generator). --rate makes the sender send one packet every 1/PPS s, like a paced publisher, so each
// recvmmsg returns about one packet, as a real SFU sees it; without it the sender keeps the forwarder busy
// (up to 64 packets per recvmmsg), which is the best case for batching.
// --size is the plain RTP packet as the publisher sends it (header with 3 one-byte extensions + VP8
// descriptor + payload, like Benchmarks' chromiumVideoPacket); SRTP adds 10 (cm) or 16 (gcm) bytes.
// --mode mem skips the sockets: the forwarder loops over pre-protected packets in memory (user-space work
// only). Prints a summary line and one JSON line. The figure is forwarded copies per CPU-second of the
// forwarder thread (CLOCK_THREAD_CPUTIME_ID: user + system, so it includes the kernel's loopback work done
// in its sendmmsg/recvmmsg calls).
//
// For callgrind (tools/bench/callgrind.sh): the per-packet work is `ceiling_forward_packet` (unprotect, N x
// rewrite + protect, send-slot bookkeeping); no syscall happens inside it.
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED  // SHA1_*: the only SHA-1 in OpenSSL 3.0 that never allocates per call
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define MAX_VIEWERS 1000
#define RECV_BATCH 64
#define SEND_BATCH 64        // datagrams per sendmmsg, as in performance-facts.md
#define BUF_SIZE 2048
#define SENDER_PACKETS 1024  // distinct pre-protected packets the sender cycles through
#define OUT_HEADER 20        // 12-byte fixed header + one-byte extension block with MID "0" (as Consumer.rewrite)

static int die(const char *what) {
    fprintf(stderr, "ceiling: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_s(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// MARK: - SRTP (one direction of one stream)

typedef struct {
    int gcm;
    EVP_CIPHER_CTX *ctx;
    uint8_t salt[14];
    SHA_CTX inner, outer;  // HMAC-SHA1 pads (cm)
} srtp_t;

static EVP_CIPHER *g_cipher;

static void srtp_init(srtp_t *s, int gcm, const uint8_t key[16], const uint8_t *salt, const uint8_t auth[20], int encrypt) {
    memset(s, 0, sizeof *s);
    s->gcm = gcm;
    s->ctx = EVP_CIPHER_CTX_new();
    if (!s->ctx || EVP_CipherInit_ex2(s->ctx, g_cipher, key, NULL, gcm ? encrypt : 1, NULL) != 1) {
        fprintf(stderr, "ceiling: cipher setup failed\n");
        exit(1);
    }
    memcpy(s->salt, salt, gcm ? 12 : 14);
    if (!gcm) {
        uint8_t block[64];
        memset(block, 0, sizeof block);
        memcpy(block, auth, 20);
        uint8_t pad[64];
        for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
        SHA1_Init(&s->inner);
        SHA1_Update(&s->inner, pad, 64);
        for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5C;
        SHA1_Init(&s->outer);
        SHA1_Update(&s->outer, pad, 64);
    }
}

static inline uint32_t load32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint16_t load16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void store32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline void store16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }

/// RTP header length (CSRCs and extension), or 0 when `length` cannot hold it.
static inline size_t rtp_header_length(const uint8_t *p, size_t length) {
    if (length < 12) return 0;
    size_t h = 12 + 4 * (p[0] & 0x0F);
    if (p[0] & 0x10) {
        if (length < h + 4) return 0;
        h += 4 + 4 * (size_t)load16(p + h + 2);
    }
    return length >= h ? h : 0;
}

/// IV from the header's SSRC and SEQ, ROC 0: RFC 3711 4.1.1 (cm, 16 bytes) or RFC 7714 8.1 (gcm, 12 bytes).
static inline void srtp_iv(const srtp_t *s, const uint8_t *header, uint8_t iv[16]) {
    if (s->gcm) {
        memcpy(iv, s->salt, 12);
        for (int i = 0; i < 4; i++) iv[2 + i] ^= header[8 + i];  // SSRC; ROC (bytes 6..9) is 0
        iv[10] ^= header[2];
        iv[11] ^= header[3];
    } else {
        memcpy(iv, s->salt, 14);
        iv[14] = iv[15] = 0;
        for (int i = 0; i < 4; i++) iv[4 + i] ^= header[8 + i];
        iv[12] ^= header[2];
        iv[13] ^= header[3];
    }
}

static inline void hmac_sha1(const srtp_t *s, const uint8_t *data, size_t length, uint8_t digest[20]) {
    static const uint8_t roc[4] = {0, 0, 0, 0};
    SHA_CTX w = s->inner;
    SHA1_Update(&w, data, length);
    SHA1_Update(&w, roc, 4);
    SHA1_Final(digest, &w);
    w = s->outer;
    SHA1_Update(&w, digest, 20);
    SHA1_Final(digest, &w);
}

/// `out` holds an RTP header of `hl` bytes; encrypts `plen` payload bytes from `payload` (out of place, or in
/// place when payload == out + hl) behind it and appends the tag. Returns the SRTP length, 0 on error.
static inline size_t srtp_protect(srtp_t *s, uint8_t *out, size_t hl, const uint8_t *payload, size_t plen) {
    uint8_t iv[16];
    int n;
    srtp_iv(s, out, iv);
    if (s->gcm) {
        if (EVP_EncryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) != 1 || EVP_EncryptUpdate(s->ctx, NULL, &n, out, (int)hl) != 1 ||
            EVP_EncryptUpdate(s->ctx, out + hl, &n, payload, (int)plen) != 1 ||
            EVP_EncryptFinal_ex(s->ctx, out + hl + plen, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + hl + plen) != 1)
            return 0;
        return hl + plen + 16;
    }
    if (EVP_EncryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) != 1 || EVP_EncryptUpdate(s->ctx, out + hl, &n, payload, (int)plen) != 1)
        return 0;
    uint8_t digest[20];
    hmac_sha1(s, out, hl + plen, digest);
    memcpy(out + hl + plen, digest, 10);
    return hl + plen + 10;
}

/// Checks and decrypts an SRTP packet in place. Returns the plain length, 0 on failure.
static inline size_t srtp_unprotect(srtp_t *s, uint8_t *p, size_t length) {
    size_t tag = s->gcm ? 16 : 10;
    if (length < 12 + tag) return 0;
    size_t end = length - tag;
    size_t hl = rtp_header_length(p, end);
    if (!hl) return 0;
    uint8_t iv[16];
    int n;
    srtp_iv(s, p, iv);
    if (s->gcm) {
        if (EVP_DecryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) != 1 || EVP_DecryptUpdate(s->ctx, NULL, &n, p, (int)hl) != 1 ||
            EVP_DecryptUpdate(s->ctx, p + hl, &n, p + hl, (int)(end - hl)) != 1 ||
            EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, 16, p + end) != 1 || EVP_DecryptFinal_ex(s->ctx, p + end, &n) != 1)
            return 0;
        return end;
    }
    uint8_t digest[20];
    hmac_sha1(s, p, end, digest);
    uint8_t diff = 0;
    for (int i = 0; i < 10; i++) diff |= digest[i] ^ p[end + i];
    if (diff) return 0;
    if (EVP_EncryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) != 1 || EVP_EncryptUpdate(s->ctx, p + hl, &n, p + hl, (int)(end - hl)) != 1)
        return 0;
    return end;
}

static void random_keys(int gcm, uint8_t key[16], uint8_t salt[14], uint8_t auth[20]) {
    if (RAND_bytes(key, 16) != 1 || RAND_bytes(salt, 14) != 1 || RAND_bytes(auth, 20) != 1) {
        fprintf(stderr, "ceiling: RAND_bytes failed\n");
        exit(1);
    }
    (void)gcm;
}

// MARK: - Forwarder

typedef struct {
    srtp_t srtp;          // outbound
    uint8_t key[16], salt[14], auth[20];  // kept for the start-up self-check only
    uint32_t ssrc;
    uint16_t seq_delta;
    struct sockaddr_in addr;
    int fd;               // the viewer's own socket (drained by the drain thread)
} viewer_t;

typedef struct {
    int gcm, nviewers;
    srtp_t inbound;
    viewer_t *viewers;
    // Send batch: SEND_BATCH slots, each a buffer + iovec + mmsghdr pointing at a viewer's address.
    uint8_t *out;  // capacity * BUF_SIZE
    struct iovec *out_iov;
    struct mmsghdr *out_msg;
    int capacity;  // max(SEND_BATCH, nviewers): one packet's copies always fit
    int out_used;
    uint64_t auth_failures;
} forwarder_t;

/// The per-packet work: unprotect once, then per viewer a send slot, header rewrite (SSRC, PT, SEQ, MID
/// extension as Consumer.rewrite writes it), protect out of place from the plain payload, slot bookkeeping.
/// The caller flushes the send batch when fewer than `nviewers` slots are left. Returns the copies made.
__attribute__((noinline)) int ceiling_forward_packet(forwarder_t *f, uint8_t *in, size_t length) {
    size_t plain = srtp_unprotect(&f->inbound, in, length);
    if (!plain) {
        f->auth_failures++;
        return 0;
    }
    size_t hl = rtp_header_length(in, plain);
    const uint8_t *payload = in + hl;
    size_t plen = plain - hl;
    uint16_t seq = load16(in + 2);
    int copies = 0;
    for (int v = 0; v < f->nviewers; v++) {
        viewer_t *viewer = &f->viewers[v];
        int slot = f->out_used;
        uint8_t *out = f->out + (size_t)slot * BUF_SIZE;
        out[0] = 0x90;                // V=2, X=1
        out[1] = in[1];               // marker + payload type (same PT here)
        store16(out + 2, (uint16_t)(seq + viewer->seq_delta));
        memcpy(out + 4, in + 4, 4);   // timestamp
        store32(out + 8, viewer->ssrc);
        out[12] = 0xBE; out[13] = 0xDE; out[14] = 0; out[15] = 1;    // one-byte extensions, 1 word
        out[16] = 0x40; out[17] = '0'; out[18] = 0; out[19] = 0;     // id 4 (mid), "0"
        size_t n = srtp_protect(&viewer->srtp, out, OUT_HEADER, payload, plen);
        if (!n) continue;
        f->out_iov[slot].iov_base = out;
        f->out_iov[slot].iov_len = n;
        f->out_msg[slot].msg_hdr.msg_name = &viewer->addr;
        f->out_msg[slot].msg_hdr.msg_namelen = sizeof viewer->addr;
        f->out_used = slot + 1;
        copies++;
    }
    return copies;
}

// MARK: - Packets

/// A Chromium-style VP8 packet as Benchmarks' chromiumVideoPacket: 28-byte header with abs-send-time (id 2),
/// transport-wide-cc (id 3) and mid (id 4) one-byte extensions, a 4-byte VP8 descriptor, random payload.
static void make_packet(uint8_t *p, size_t size, uint16_t seq) {
    static const uint8_t header[28] = {
        0x90, 96, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x0B, 0xAD, 0xCA, 0xFE,
        0xBE, 0xDE, 0x00, 0x03, 0x22, 0x3A, 0x51, 0x07, 0x31, 0x01, 0x2C, 0x40, '0', 0x00, 0x00, 0x00};
    memcpy(p, header, 28);
    store16(p + 2, seq);
    p[28] = 0x90; p[29] = 0x80; p[30] = 0x80 | 0x12; p[31] = 0x34;
    RAND_bytes(p + 32, (int)(size - 32));
}

// MARK: - Threads

typedef struct {
    int gcm;
    size_t size;
    uint8_t key[16], salt[14], auth[20];
    int fd;                      // connected to the forwarder's socket
    double deadline;             // CLOCK_MONOTONIC
    unsigned window;             // packets in flight before the sender waits
    double rate;                 // > 0: one packet every 1/rate s, as a publisher sends (paced); else as fast as allowed
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t *received;  // forwarder's count
    atomic_int *stop;
} sender_t;

static void *sender_main(void *arg) {
    sender_t *s = arg;
    srtp_t srtp;
    srtp_init(&srtp, s->gcm, s->key, s->salt, s->auth, 1);
    uint8_t *packets = malloc((size_t)SENDER_PACKETS * BUF_SIZE);
    size_t lengths[SENDER_PACKETS];
    if (!packets) die("malloc");
    for (int i = 0; i < SENDER_PACKETS; i++) {
        uint8_t *p = packets + (size_t)i * BUF_SIZE;
        make_packet(p, s->size, (uint16_t)(1000 + i));
        size_t hl = rtp_header_length(p, s->size);
        lengths[i] = srtp_protect(&srtp, p, hl, p + hl, s->size - hl);
    }
    struct iovec iov[32];
    struct mmsghdr msg[32];
    memset(msg, 0, sizeof msg);
    unsigned next = 0;
    uint64_t sent = 0;
    double start = now_s(CLOCK_MONOTONIC);
    while (s->rate > 0 && !atomic_load(s->stop) && now_s(CLOCK_MONOTONIC) < s->deadline) {
        double due = start + (double)sent / s->rate;
        struct timespec at = {(time_t)due, (long)((due - (double)(time_t)due) * 1e9)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        if (send(s->fd, packets + (size_t)next * BUF_SIZE, lengths[next], 0) > 0) sent++;
        else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) die("sender send");
        else sent++;  // keep the schedule
        next = (next + 1) % SENDER_PACKETS;
    }
    while (s->rate <= 0 && !atomic_load(s->stop) && now_s(CLOCK_MONOTONIC) < s->deadline) {
        if (sent - atomic_load(s->received) + 32 > s->window) {
            struct timespec pause = {0, 20000};
            nanosleep(&pause, NULL);
            continue;
        }
        for (int i = 0; i < 32; i++) {
            iov[i].iov_base = packets + (size_t)next * BUF_SIZE;
            iov[i].iov_len = lengths[next];
            msg[i].msg_hdr.msg_iov = &iov[i];
            msg[i].msg_hdr.msg_iovlen = 1;
            next = (next + 1) % SENDER_PACKETS;
        }
        int n = sendmmsg(s->fd, msg, 32, 0);
        if (n > 0) sent += (unsigned)n;
        else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) die("sender sendmmsg");
    }
    atomic_store(&s->sent, sent);
    EVP_CIPHER_CTX_free(srtp.ctx);
    free(packets);
    return NULL;
}

typedef struct {
    viewer_t *viewers;
    int nviewers;
    double deadline;
    atomic_int stop;
    uint64_t delivered;
} drain_t;

static void *drain_main(void *arg) {
    drain_t *d = arg;
    static __thread uint8_t bufs[RECV_BATCH][64];  // MSG_TRUNC: only the first 64 bytes are copied
    struct iovec iov[RECV_BATCH];
    struct mmsghdr msg[RECV_BATCH];
    memset(msg, 0, sizeof msg);
    for (int i = 0; i < RECV_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        msg[i].msg_hdr.msg_iov = &iov[i];
        msg[i].msg_hdr.msg_iovlen = 1;
    }
    struct pollfd *fds = calloc((size_t)d->nviewers, sizeof *fds);
    if (!fds) die("calloc");
    for (int v = 0; v < d->nviewers; v++) fds[v] = (struct pollfd){.fd = d->viewers[v].fd, .events = POLLIN};
    int finishing = 0;
    for (;;) {
        uint64_t got = 0;
        for (int v = 0; v < d->nviewers; v++) {
            int n = recvmmsg(d->viewers[v].fd, msg, RECV_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
            if (n > 0) got += (unsigned)n;
        }
        d->delivered += got;
        if (got) continue;
        if (finishing || now_s(CLOCK_MONOTONIC) > d->deadline + 5) break;
        if (atomic_load(&d->stop)) { finishing = 1; continue; }  // one more empty pass after stop
        poll(fds, (nfds_t)d->nviewers, 10);
    }
    free(fds);
    return NULL;
}

static int udp_socket(int rcvbuf) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) die("SO_RCVBUF");
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind 127.0.0.1");
    return fd;
}

static struct sockaddr_in local_address(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
    return a;
}

static void flush(forwarder_t *f, int fd, uint64_t *sent, uint64_t *send_failed) {
    int first = 0;
    int tries = 0;
    while (first < f->out_used && tries++ < 8) {
        int n = sendmmsg(fd, f->out_msg + first, (unsigned)(f->out_used - first), 0);
        if (n > 0) first += n;
        else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) die("forwarder sendmmsg");
    }
    *sent += (unsigned)first;
    *send_failed += (unsigned)(f->out_used - first);
    f->out_used = 0;
}

/// Pins a thread to one CPU (`cpu` < 0: leave it where the scheduler puts it).
static void pin(pthread_t thread, int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(thread, sizeof set, &set);
    if (rc) { errno = rc; die("pthread_setaffinity_np"); }
}

static void usage(void) {
    fprintf(stderr, "usage: ceiling [--profile cm|gcm] [--viewers N] [--packets M] [--size BYTES] [--seconds S] [--mode net|mem]"
                    " [--forwarder-cpu C] [--helper-cpu C] [--rate PPS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int gcm = 0, nviewers = 10, mem = 0;
    long long packets = 10 * 1000 * 1000;
    size_t size = 1200;
    double seconds = 5;
    int forwarder_cpu = -1, helper_cpu = -1;
    double rate = 0;  // packets per second from the sender (0: as fast as the forwarder takes them)  // as with taskset for a server (forwarder) and the load generator (helpers)
    static const struct option options[] = {
        {"profile", required_argument, 0, 'p'}, {"viewers", required_argument, 0, 'v'}, {"packets", required_argument, 0, 'n'},
        {"size", required_argument, 0, 's'},    {"seconds", required_argument, 0, 't'}, {"mode", required_argument, 0, 'm'},
        {"forwarder-cpu", required_argument, 0, 'f'}, {"helper-cpu", required_argument, 0, 'h'}, {"rate", required_argument, 0, 'r'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
        switch (c) {
        case 'p': if (!strcmp(optarg, "gcm")) gcm = 1; else if (strcmp(optarg, "cm")) usage(); break;
        case 'v': nviewers = atoi(optarg); break;
        case 'n': packets = atoll(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'm': if (!strcmp(optarg, "mem")) mem = 1; else if (strcmp(optarg, "net")) usage(); break;
        case 'f': forwarder_cpu = atoi(optarg); break;
        case 'h': helper_cpu = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        default: usage();
        }
    }
    if (nviewers < 1 || nviewers > MAX_VIEWERS || packets < 1 || size < 40 || size > BUF_SIZE - 64 || seconds <= 0 || seconds > 600) usage();
    pin(pthread_self(), forwarder_cpu);

    g_cipher = EVP_CIPHER_fetch(NULL, gcm ? "AES-128-GCM" : "AES-128-CTR", NULL);
    if (!g_cipher) { fprintf(stderr, "ceiling: EVP_CIPHER_fetch failed\n"); return 1; }

    // RFC 3711 B.2: AES-CM keystream for session key 2B7E...4F3C and salt F0F1...FD, SSRC 0, index 0.
    {
        static const uint8_t key[16] = {0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6, 0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C};
        static const uint8_t expect[16] = {0xE0, 0x3E, 0xAD, 0x09, 0x35, 0xC9, 0x5E, 0x80, 0xE1, 0x66, 0xB1, 0x6D, 0xD9, 0x2B, 0x4E, 0xB4};
        uint8_t salt[14], auth[20] = {0}, pkt[64] = {0x80};
        for (int i = 0; i < 14; i++) salt[i] = (uint8_t)(0xF0 + i);
        EVP_CIPHER *ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
        EVP_CIPHER *saved = g_cipher;
        g_cipher = ctr;
        srtp_t s;
        srtp_init(&s, 0, key, salt, auth, 1);
        uint8_t zeros[16] = {0};
        srtp_protect(&s, pkt, 12, zeros, 16);
        if (memcmp(pkt + 12, expect, 16)) { fprintf(stderr, "ceiling: RFC 3711 B.2 keystream mismatch\n"); return 1; }
        EVP_CIPHER_CTX_free(s.ctx);
        EVP_CIPHER_free(ctr);
        g_cipher = saved;
    }

    forwarder_t f;
    memset(&f, 0, sizeof f);
    f.gcm = gcm;
    f.nviewers = nviewers;
    f.capacity = nviewers > SEND_BATCH ? nviewers : SEND_BATCH;
    f.out = aligned_alloc(64, (size_t)f.capacity * BUF_SIZE);
    f.out_iov = calloc((size_t)f.capacity, sizeof *f.out_iov);
    f.out_msg = calloc((size_t)f.capacity, sizeof *f.out_msg);
    f.viewers = calloc((size_t)nviewers, sizeof *f.viewers);
    if (!f.out || !f.out_iov || !f.out_msg || !f.viewers) die("malloc");
    for (int i = 0; i < f.capacity; i++) {
        f.out_msg[i].msg_hdr.msg_iov = &f.out_iov[i];
        f.out_msg[i].msg_hdr.msg_iovlen = 1;
    }
    uint8_t key[16], salt[14], auth[20];
    random_keys(gcm, key, salt, auth);
    srtp_init(&f.inbound, gcm, key, salt, auth, 0);
    for (int v = 0; v < nviewers; v++) {
        viewer_t *viewer = &f.viewers[v];
        random_keys(gcm, viewer->key, viewer->salt, viewer->auth);
        srtp_init(&viewer->srtp, gcm, viewer->key, viewer->salt, viewer->auth, 1);
        viewer->ssrc = 0x5000 + (uint32_t)v;
        viewer->seq_delta = (uint16_t)(7 * v + 1);
        if (!mem) {
            viewer->fd = udp_socket(1 << 20);
            viewer->addr = local_address(viewer->fd);
        }
    }

    // Self-check, outside the measurement: one packet through the forwarder, each copy unprotected with the
    // viewer's key must give back the publisher's payload.
    {
        srtp_t sender;
        srtp_init(&sender, gcm, key, salt, auth, 1);
        uint8_t plain[BUF_SIZE], in[BUF_SIZE];
        make_packet(plain, size, 999);
        memcpy(in, plain, size);
        size_t hl = rtp_header_length(in, size);
        size_t len = srtp_protect(&sender, in, hl, in + hl, size - hl);
        if (ceiling_forward_packet(&f, in, len) != nviewers) { fprintf(stderr, "ceiling: self-check forward failed\n"); return 1; }
        for (int v = 0; v < nviewers; v++) {
            srtp_t check;
            srtp_init(&check, gcm, f.viewers[v].key, f.viewers[v].salt, f.viewers[v].auth, 0);
            uint8_t *copy = f.out + (size_t)v * BUF_SIZE;
            size_t n = srtp_unprotect(&check, copy, f.out_iov[v].iov_len);
            if (n != OUT_HEADER + size - hl || memcmp(copy + OUT_HEADER, plain + hl, size - hl) || load32(copy + 8) != f.viewers[v].ssrc) {
                fprintf(stderr, "ceiling: self-check failed for viewer %d\n", v);
                return 1;
            }
            EVP_CIPHER_CTX_free(check.ctx);
        }
        f.out_used = 0;
        EVP_CIPHER_CTX_free(sender.ctx);
    }

    uint64_t inputs = 0, forwarded = 0, sent = 0, send_failed = 0, batches = 0;
    double cpu0, cpu1, wall0, wall1;
    struct rusage ru0, ru1;
    uint64_t delivered = 0, publisher_sent = 0;
    drain_t drain = {.viewers = f.viewers, .nviewers = nviewers};

    if (mem) {
        // In memory: pre-protected inputs, re-copied before each forward (that copy is outside the per-packet
        // function). No syscalls: the user-space part of the ceiling.
        srtp_t sender;
        srtp_init(&sender, gcm, key, salt, auth, 1);
        enum { POOL = 256 };
        uint8_t *pool = malloc((size_t)POOL * BUF_SIZE), in[BUF_SIZE];
        size_t lengths[POOL];
        if (!pool) die("malloc");
        for (int i = 0; i < POOL; i++) {
            uint8_t *p = pool + (size_t)i * BUF_SIZE;
            make_packet(p, size, (uint16_t)(2000 + i));
            size_t hl = rtp_header_length(p, size);
            lengths[i] = srtp_protect(&sender, p, hl, p + hl, size - hl);
        }
        double deadline = now_s(CLOCK_MONOTONIC) + seconds;
        getrusage(RUSAGE_THREAD, &ru0);
        cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        wall0 = now_s(CLOCK_MONOTONIC);
        while (inputs < (uint64_t)packets && ((inputs & 255) || now_s(CLOCK_MONOTONIC) < deadline)) {
            int i = (int)(inputs % POOL);
            memcpy(in, pool + (size_t)i * BUF_SIZE, lengths[i]);
            forwarded += (unsigned)ceiling_forward_packet(&f, in, lengths[i]);
            f.out_used = 0;  // no send: the copies are dropped
            inputs++;
        }
        cpu1 = now_s(CLOCK_THREAD_CPUTIME_ID);
        wall1 = now_s(CLOCK_MONOTONIC);
        getrusage(RUSAGE_THREAD, &ru1);
        sent = forwarded;
        free(pool);
        EVP_CIPHER_CTX_free(sender.ctx);
    } else {
        int rx = udp_socket(4 << 20);
        struct timeval timeout = {0, 50000};
        if (setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0) die("SO_RCVTIMEO");
        int rcvbuf = 0;
        socklen_t optlen = sizeof rcvbuf;
        getsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &optlen);
        struct sockaddr_in rx_addr = local_address(rx);
        int tx = udp_socket(0);

        atomic_int stop = 0;
        atomic_uint_fast64_t received = 0;
        double deadline = now_s(CLOCK_MONOTONIC) + seconds;
        sender_t sender = {.gcm = gcm, .size = size, .deadline = deadline, .rate = rate, .received = &received, .stop = &stop};
        memcpy(sender.key, key, 16); memcpy(sender.salt, salt, 14); memcpy(sender.auth, auth, 20);
        // About half of what the receive buffer holds (a 1200-byte datagram takes ≈ 2.3 KB of it).
        sender.window = (unsigned)(rcvbuf / 2304 / 2);
        if (sender.window < 64) sender.window = 64;
        sender.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sender.fd < 0 || connect(sender.fd, (struct sockaddr *)&rx_addr, sizeof rx_addr) < 0) die("sender socket");
        drain.deadline = deadline;

        pthread_t sender_thread, drain_thread;
        if (pthread_create(&drain_thread, NULL, drain_main, &drain) || pthread_create(&sender_thread, NULL, sender_main, &sender)) die("pthread_create");
        pin(drain_thread, helper_cpu);
        pin(sender_thread, helper_cpu);

        static uint8_t in[RECV_BATCH][BUF_SIZE];
        struct iovec iov[RECV_BATCH];
        struct mmsghdr msg[RECV_BATCH];
        memset(msg, 0, sizeof msg);
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i].iov_base = in[i];
            iov[i].iov_len = BUF_SIZE;
            msg[i].msg_hdr.msg_iov = &iov[i];
            msg[i].msg_hdr.msg_iovlen = 1;
        }
        getrusage(RUSAGE_THREAD, &ru0);
        cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        wall0 = now_s(CLOCK_MONOTONIC);
        while (inputs < (uint64_t)packets && now_s(CLOCK_MONOTONIC) < deadline) {
            int n = recvmmsg(rx, msg, RECV_BATCH, MSG_WAITFORONE, NULL);
            if (n <= 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                die("recvmmsg");
            }
            batches++;
            for (int i = 0; i < n && inputs < (uint64_t)packets; i++) {
                if (f.out_used + nviewers > f.capacity) flush(&f, tx, &sent, &send_failed);
                forwarded += (unsigned)ceiling_forward_packet(&f, in[i], msg[i].msg_len);
                inputs++;
            }
            flush(&f, tx, &sent, &send_failed);
            atomic_store(&received, inputs);
        }
        cpu1 = now_s(CLOCK_THREAD_CPUTIME_ID);
        wall1 = now_s(CLOCK_MONOTONIC);
        getrusage(RUSAGE_THREAD, &ru1);
        atomic_store(&stop, 1);
        pthread_join(sender_thread, NULL);
        atomic_store(&drain.stop, 1);
        pthread_join(drain_thread, NULL);
        delivered = drain.delivered;
        publisher_sent = sender.sent;
        close(rx); close(tx); close(sender.fd);
        for (int v = 0; v < nviewers; v++) close(f.viewers[v].fd);
    }

    double cpu = cpu1 - cpu0, wall = wall1 - wall0;
    double user = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1e-6;
    double sys = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1e-6;
    double per_cpu = cpu > 0 ? (double)sent / cpu : 0;
    const char *profile = gcm ? "gcm" : "cm";
    printf("ceiling %s %s: %d viewers, %zu-byte RTP, %llu inputs -> %llu sent (%llu delivered, %llu send failures, %llu auth failures) "
           "in %.3f s wall, %.3f s forwarder CPU (user %.3f, sys %.3f): %.0f forwarded packets per CPU-second, %.0f ns each\n",
           profile, mem ? "mem" : "net", nviewers, size, (unsigned long long)inputs, (unsigned long long)sent, (unsigned long long)delivered,
           (unsigned long long)send_failed, (unsigned long long)f.auth_failures, wall, cpu, user, sys, per_cpu, per_cpu > 0 ? 1e9 / per_cpu : 0);
    printf("{\"tool\":\"ceiling\",\"profile\":\"%s\",\"mode\":\"%s\",\"viewers\":%d,\"size\":%zu,\"inputs\":%llu,\"publisher_sent\":%llu,"
           "\"forwarded\":%llu,\"sent\":%llu,\"delivered\":%llu,\"send_failures\":%llu,\"auth_failures\":%llu,\"recv_batches\":%llu,"
           "\"wall_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,\"forwarded_per_cpu_s\":%.0f,\"inputs_per_cpu_s\":%.0f,"
           "\"ns_per_forwarded\":%.1f}\n",
           profile, mem ? "mem" : "net", nviewers, size, (unsigned long long)inputs, (unsigned long long)publisher_sent,
           (unsigned long long)forwarded, (unsigned long long)sent, (unsigned long long)delivered, (unsigned long long)send_failed,
           (unsigned long long)f.auth_failures, (unsigned long long)batches, wall, cpu, user, sys, per_cpu,
           cpu > 0 ? (double)inputs / cpu : 0, per_cpu > 0 ? 1e9 / per_cpu : 0);
    for (int v = 0; v < nviewers; v++) EVP_CIPHER_CTX_free(f.viewers[v].srtp.ctx);
    EVP_CIPHER_CTX_free(f.inbound.ctx);
    EVP_CIPHER_free(g_cipher);
    free(f.viewers);
    free(f.out_iov);
    free(f.out_msg);
    free(f.out);
    return f.auth_failures || sent == 0 ? 1 : 0;
}
