// Thin C shims for what Swift cannot import: macros and GNU-only socket calls.
#ifndef SABHA_CMEDIASHIMS_H
#define SABHA_CMEDIASHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

struct ssl_st;
struct bio_st;
struct ssl_ctx_st;

/// One datagram slot for a batched receive or send.
typedef struct sabha_dgram {
    void *data;                     ///< buffer start
    uint32_t capacity;              ///< buffer size (receive) or unused (send)
    uint32_t length;                ///< bytes received / to send
    struct sockaddr_storage addr;   ///< source (receive) or destination (send)
    socklen_t addrlen;
} sabha_dgram;

/// recvmmsg into `count` slots; returns datagrams received, 0 when the socket would block, -errno on error.
int sabha_recv_batch(int fd, sabha_dgram *slots, unsigned count);
/// sendmmsg of `count` slots; returns datagrams sent, -errno on error.
int sabha_send_batch(int fd, sabha_dgram *slots, unsigned count);

/// A non-blocking TCP listening socket bound to `addr` (SO_REUSEADDR; an IPv6 wildcard also takes IPv4);
/// returns the fd or -errno.
int sabha_tcp_listen(const struct sockaddr *addr, socklen_t addrlen, int backlog);
/// accept4 of one connection, non-blocking, close-on-exec, TCP_NODELAY (media must not wait for Nagle);
/// returns the fd (peer address in `addr`), -EAGAIN when none waits, other -errno on error.
int sabha_tcp_accept(int listen_fd, struct sockaddr_storage *addr);
/// epoll_create1(EPOLL_CLOEXEC); returns fd or -errno.
int sabha_epoll_create(void);
/// epoll_ctl with the event's data as a 64-bit value (the packed epoll_event stays in C).
/// `op`: 0 add, 1 modify, 2 delete. Returns 0 or -errno.
int sabha_epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// epoll_wait into parallel arrays of data values and event masks; returns how many, 0 on timeout or EINTR,
/// -errno on error.
int sabha_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms);

/// eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC); returns fd or -errno.
int sabha_eventfd(void);
/// Adds 1 to an eventfd.
void sabha_eventfd_signal(int fd);
/// Reads and clears an eventfd counter; returns the value or 0.
uint64_t sabha_eventfd_drain(int fd);

/// Names the calling thread (15 characters at most), for top/perf.
void sabha_set_thread_name(const char *name);
/// Writes a line to standard error with one write(2), safe from any thread.
void sabha_write_stderr(const char *text);

// OpenSSL macros.
long sabha_BIO_get_mem_data(struct bio_st *bio, char **data);
long sabha_DTLS_get_timeout_ms(struct ssl_st *ssl);  ///< -1 when no timer runs
int sabha_DTLS_handle_timeout(struct ssl_st *ssl);
long sabha_DTLS_set_link_mtu(struct ssl_st *ssl, long mtu);
long sabha_SSL_set_options_no_query_mtu(struct ssl_st *ssl);
long sabha_SSL_CTX_set_read_ahead(struct ssl_ctx_st *ctx, int yes);
long sabha_BIO_set_mem_eof_return(struct bio_st *bio, int value);


// SHA-1 (OpenSSL's low-level SHA1_*, deprecated in 3.0 but the only SHA-1 there that never allocates: EVP_MAC's
// HMAC re-init and EVP_MD_CTX_copy_ex both allocate per call). SRTPContext keeps the HMAC inner and outer pad
// states in `sabha_sha1_context_size()`-byte buffers and copies them per packet (RFC 2104).
size_t sabha_sha1_context_size(void);
int sabha_sha1_init(void *context);
int sabha_sha1_update(void *context, const void *data, size_t length);
int sabha_sha1_final(unsigned char *digest, void *context);

#endif
