#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED
#include "CMediaShims.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/sha.h>

#define SABHA_MAX_BATCH 64

int sabha_recv_batch(int fd, sabha_dgram *slots, unsigned count) {
    struct mmsghdr msgs[SABHA_MAX_BATCH];
    struct iovec iov[SABHA_MAX_BATCH];
    if (count > SABHA_MAX_BATCH) count = SABHA_MAX_BATCH;
    for (unsigned i = 0; i < count; i++) {
        iov[i].iov_base = slots[i].data;
        iov[i].iov_len = slots[i].capacity;
        memset(&msgs[i].msg_hdr, 0, sizeof(struct msghdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].addr;
        msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        msgs[i].msg_len = 0;
    }
    int n = recvmmsg(fd, msgs, count, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        return -errno;
    }
    for (int i = 0; i < n; i++) {
        slots[i].length = msgs[i].msg_len;
        slots[i].addrlen = msgs[i].msg_hdr.msg_namelen;
        // A datagram larger than the buffer is truncated: report it as unusable.
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) slots[i].length = 0;
    }
    return n;
}

int sabha_send_batch(int fd, sabha_dgram *slots, unsigned count) {
    struct mmsghdr msgs[SABHA_MAX_BATCH];
    struct iovec iov[SABHA_MAX_BATCH];
    if (count > SABHA_MAX_BATCH) count = SABHA_MAX_BATCH;
    for (unsigned i = 0; i < count; i++) {
        iov[i].iov_base = slots[i].data;
        iov[i].iov_len = slots[i].length;
        memset(&msgs[i].msg_hdr, 0, sizeof(struct msghdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].addr;
        msgs[i].msg_hdr.msg_namelen = slots[i].addrlen;
    }
    int n;
    do {
        n = sendmmsg(fd, msgs, count, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int sabha_tcp_listen(const struct sockaddr *addr, socklen_t addrlen, int backlog) {
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, addr, addrlen) != 0 || listen(fd, backlog) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int sabha_tcp_accept(int listen_fd, struct sockaddr_storage *addr) {
    socklen_t length = sizeof *addr;
    int fd;
    do {
        fd = accept4(listen_fd, (struct sockaddr *)addr, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int sabha_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int sabha_epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = { .events = events, .data.u64 = data };
    int ops[3] = { EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL };
    if (op < 0 || op > 2) return -EINVAL;
    return epoll_ctl(epfd, ops[op], fd, &event) == 0 ? 0 : -errno;
}

int sabha_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, ready, max, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        data[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return n;
}

int sabha_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void sabha_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

uint64_t sabha_eventfd_drain(int fd) {
    uint64_t value = 0;
    if (read(fd, &value, sizeof value) != sizeof value) return 0;
    return value;
}

void sabha_set_thread_name(const char *name) {
    char shortName[16];
    strncpy(shortName, name, 15);
    shortName[15] = 0;
    pthread_setname_np(pthread_self(), shortName);
}

void sabha_write_stderr(const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t written = write(2, text, length);
        if (written <= 0) return;
        text += written;
        length -= (size_t)written;
    }
}

long sabha_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

long sabha_DTLS_get_timeout_ms(SSL *ssl) {
    struct timeval tv;
    if (DTLSv1_get_timeout(ssl, &tv) != 1) return -1;
    return (long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int sabha_DTLS_handle_timeout(SSL *ssl) { return (int)DTLSv1_handle_timeout(ssl); }
long sabha_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
long sabha_SSL_set_options_no_query_mtu(SSL *ssl) { return (long)SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU); }
long sabha_SSL_CTX_set_read_ahead(SSL_CTX *ctx, int yes) { return SSL_CTX_set_read_ahead(ctx, yes); }
long sabha_BIO_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }

size_t sabha_sha1_context_size(void) { return sizeof(SHA_CTX); }
int sabha_sha1_init(void *context) { return SHA1_Init((SHA_CTX *)context); }
int sabha_sha1_update(void *context, const void *data, size_t length) { return SHA1_Update((SHA_CTX *)context, data, length); }
int sabha_sha1_final(unsigned char *digest, void *context) { return SHA1_Final(digest, (SHA_CTX *)context); }
