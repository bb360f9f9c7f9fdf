// AF_PACKET calls for the DHCPv4 client (src/net/dhcp4/, docs/net-dhcp.md §6): open a socket
// bound to one interface, send one frame to a MAC, receive one frame with a timeout, attach a
// socket filter. Thin: argument checks and errno only; framing, the filter program and retries
// live in TypeScript.
//
// SOCK_DGRAM, not SOCK_RAW: the kernel writes and strips the Ethernet header from the
// sockaddr_ll we pass, so TypeScript deals in IPv4 packets only and the same code would serve
// any link type whose hardware address fits sockaddr_ll.
#define _GNU_SOURCE
#include "args.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#define MAX_RECV_TIMEOUT_MS 60000

// packetOpen(ifindex, ethertype) -> fd: an AF_PACKET/SOCK_DGRAM socket bound to the interface
// and protocol, close-on-exec. Our own transmissions are not looped back where the kernel can
// say so (PACKET_IGNORE_OUTGOING, Linux 4.20; older kernels just show them, and TS drops them).
static napi_value packet_open_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int32_t ifindex;
  uint32_t ethertype;
  if (!tendril_args_init(&a, env, info, "packetOpen") || !tendril_arg_i32(&a, 0, "ifindex", 1, INT32_MAX, &ifindex) ||
      !tendril_arg_u32(&a, 1, "ethertype", &ethertype))
    return NULL;
  if (ethertype > 0xffff) return tendril_throw_type(env, "packetOpen: ethertype must be in 0..65535");
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons((uint16_t)ethertype));
  if (fd < 0) return tendril_throw_errno(env, "socket(AF_PACKET)", errno);
  int one = 1;
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  // Auxiliary data says whether the checksum is still to be filled in by offload (veth, virtio).
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0) {
    int err = errno;
    close(fd);
    return tendril_throw_errno(env, "setsockopt(PACKET_AUXDATA)", err);
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    int err = errno;
    close(fd);
    return tendril_throw_errno(env, "bind(AF_PACKET)", err);
  }
  return tendril_number(env, fd);
}

// packetSend(fd, ifindex, dstMac, bytes, ethertype): one datagram; the kernel adds the link
// header for dstMac (6 bytes) and the socket's protocol.
static napi_value packet_send_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  int32_t ifindex;
  uint32_t ethertype;
  void *mac, *data;
  size_t maclen, len;
  if (!tendril_args_init(&a, env, info, "packetSend") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_i32(&a, 1, "ifindex", 1, INT32_MAX, &ifindex) || !tendril_arg_bytes(&a, 2, "dstMac", &mac, &maclen) ||
      !tendril_arg_bytes(&a, 3, "bytes", &data, &len) || !tendril_arg_u32(&a, 4, "ethertype", &ethertype))
    return NULL;
  if (maclen != 6) return tendril_throw_type(env, "packetSend: dstMac must be 6 bytes");
  if (ethertype > 0xffff) return tendril_throw_type(env, "packetSend: ethertype must be in 0..65535");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = ifindex;
  sll.sll_halen = 6;
  memcpy(sll.sll_addr, mac, 6);
  ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&sll, sizeof sll);
  if (n < 0) return tendril_throw_errno(env, "sendto(AF_PACKET)", errno);
  return tendril_number(env, (double)n);
}

// packetRecv(fd, buf, timeoutMs) -> Promise<{length, csumNotReady}>, length 0 on timeout: a
// blocking recvmsg with SO_RCVTIMEO, run on the libuv pool so the event loop stays free.
// csumNotReady is the kernel's TP_STATUS_CSUMNOTREADY: a locally generated packet (veth, a
// bridge on this host) whose transport checksum offload has not computed yet, so it cannot be
// verified. The buffer is held by a reference until the work completes; the caller must not
// close fd while a receive is pending.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buf_ref;
  int fd;
  void *buf;
  size_t cap;
  int32_t timeout_ms;
  ssize_t result;
  bool csum_not_ready;
  int err;
  const char *syscall;
} recv_job;

static void recv_execute(napi_env env, void *data) {
  recv_job *j = data;
  struct timeval tv = {.tv_sec = j->timeout_ms / 1000, .tv_usec = (j->timeout_ms % 1000) * 1000};
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1000;  // 0 would mean "block forever"
  if (setsockopt(j->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    j->err = errno;
    j->syscall = "setsockopt(SO_RCVTIMEO)";
    j->result = -1;
    return;
  }
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } control;
  struct iovec iov = {.iov_base = j->buf, .iov_len = j->cap};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n = recvmsg(j->fd, &msg, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) n = 0;
  else if (n < 0) {
    j->err = errno;
    j->syscall = "recvmsg(AF_PACKET)";
  }
  for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      j->csum_not_ready = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
    }
  j->result = n;
}

static void recv_complete(napi_env env, napi_status status, void *data) {
  recv_job *j = data;
  if (j->result >= 0) {
    napi_value o, v;
    napi_create_object(env, &o);
    napi_create_double(env, (double)j->result, &v);
    napi_set_named_property(env, o, "length", v);
    napi_get_boolean(env, j->csum_not_ready, &v);
    napi_set_named_property(env, o, "csumNotReady", v);
    napi_resolve_deferred(env, j->deferred, o);
  } else {
    // Build the same error object tendril_throw_errno throws, and reject with it.
    tendril_throw_errno(env, j->syscall, j->err);
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_reject_deferred(env, j->deferred, e);
  }
  napi_delete_reference(env, j->buf_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value packet_recv_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  int32_t timeout;
  void *buf;
  size_t cap;
  if (!tendril_args_init(&a, env, info, "packetRecv") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_bytes(&a, 1, "buf", &buf, &cap) ||
      !tendril_arg_i32(&a, 2, "timeoutMs", 0, MAX_RECV_TIMEOUT_MS, &timeout))
    return NULL;
  if (cap == 0) return tendril_throw_type(env, "packetRecv: buf must not be empty");
  recv_job *j = calloc(1, sizeof *j);
  if (!j) return tendril_throw_errno(env, "malloc", ENOMEM);
  j->fd = fd;
  j->buf = buf;
  j->cap = cap;
  j->timeout_ms = timeout;
  napi_value promise, name;
  napi_create_reference(env, a.argv[1], 1, &j->buf_ref);
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "tendril.packetRecv", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, recv_execute, recv_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

// packetAttachFilter(fd, program): SO_ATTACH_FILTER with a classic BPF program given as its raw
// struct sock_filter array (8 bytes per instruction, host byte order), built in TypeScript.
static napi_value packet_attach_filter_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  void *prog;
  size_t len;
  if (!tendril_args_init(&a, env, info, "packetAttachFilter") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_bytes(&a, 1, "program", &prog, &len))
    return NULL;
  if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return tendril_throw_type(env, "packetAttachFilter: program must be 1..4096 instructions of 8 bytes");
  struct sock_fprog fprog = {.len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = prog};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
    return tendril_throw_errno(env, "setsockopt(SO_ATTACH_FILTER)", errno);
  return tendril_undefined(env);
}

// packetClose(fd).
static napi_value packet_close_fn(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "packetClose") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  if (close(fd) != 0) return tendril_throw_errno(env, "close", errno);
  return tendril_undefined(env);
}

void tendril_register_net(napi_env env, napi_value exports) {
  tendril_export(env, exports, "packetOpen", packet_open_fn);
  tendril_export(env, exports, "packetSend", packet_send_fn);
  tendril_export(env, exports, "packetRecv", packet_recv_fn);
  tendril_export(env, exports, "packetAttachFilter", packet_attach_filter_fn);
  tendril_export(env, exports, "packetClose", packet_close_fn);
}
