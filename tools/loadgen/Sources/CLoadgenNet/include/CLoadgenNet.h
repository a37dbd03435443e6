// Thin shims for the load generator's sockets: GNU-only batched calls with kernel receive timestamps, epoll.
#ifndef LOADGEN_CLOADGENNET_H
#define LOADGEN_CLOADGENNET_H

#include <stdint.h>

/// One datagram of a batch on a connected UDP socket.
typedef struct lg_dgram {
    void *data;          ///< buffer start
    uint32_t capacity;   ///< buffer size (receive)
    uint32_t length;     ///< bytes received / to send
    int64_t stamp_ns;    ///< receive: kernel arrival time (CLOCK_REALTIME, SO_TIMESTAMPNS), 0 if none
} lg_dgram;

/// recvmmsg (MSG_DONTWAIT) into at most 64 slots; returns datagrams received, 0 when none waits, -errno on error.
int lg_recv_batch(int fd, lg_dgram *slots, unsigned count);
/// sendmmsg of at most 64 slots on a connected socket; returns datagrams sent, -errno on error.
int lg_send_batch(int fd, const lg_dgram *slots, unsigned count);
/// A non-blocking UDP socket bound to 127.0.0.1 (or ::1 when `ipv6`) on an ephemeral port, with
/// SO_TIMESTAMPNS and the given buffer sizes; returns the fd (and the port in `*port`) or -errno.
int lg_udp_socket(int ipv6, int buffer_bytes, uint16_t *port);
/// The same, bound to the given IPv4 or IPv6 literal (such as 127.0.0.2 for Janus, whose libnice ignores `lo`).
int lg_udp_socket_at(const char *ip, int buffer_bytes, uint16_t *port);
/// connect(2) to an IPv4 or IPv6 literal; 0 or -errno.
int lg_udp_connect(int fd, const char *ip, uint16_t port);
/// CLOCK_REALTIME in nanoseconds (comparable with lg_dgram.stamp_ns).
int64_t lg_realtime_ns(void);
/// CLOCK_MONOTONIC in nanoseconds.
int64_t lg_monotonic_ns(void);

int lg_epoll_create(void);
/// Adds `fd` for EPOLLIN with `tag` as its data; 0 or -errno.
int lg_epoll_add(int epfd, int fd, uint64_t tag);
/// Removes `fd` from the set (a peer that left); 0 or -errno.
int lg_epoll_del(int epfd, int fd);
/// Waits at most `timeout_ms`; writes the tags of ready fds; returns how many, or -errno.
int lg_epoll_wait(int epfd, uint64_t *tags, int max, int timeout_ms);
/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
long lg_raise_fd_limit(void);
/// Names the calling thread (15 characters at most).
void lg_set_thread_name(const char *name);

#endif
