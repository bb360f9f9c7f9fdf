// KVM bindings for the VM path (issue 6): thin ioctl wrappers, no device policy.
//
// One exception to "no policy": kvmRun() loops on KVM_RUN in C and answers a few port exits
// itself (per-port modes set from TypeScript): the PIIX4 PM timer (OVMF reads it about
// 4 million times per boot) and "sink" ports (all-ones reads, ignored writes, e.g. Linux's
// io_delay on 0x80). Every other exit returns to the caller, which runs in a worker thread
// (KVM_RUN blocks) and reads the exit from the kvm_run page mapped as an ArrayBuffer.
//
// Stopping: kvmKick() sets kvm_run.immediate_exit and sends a dedicated real-time signal
// (SIGRTMIN+5; never SIGUSR1, which Node reserves) to the thread inside kvmRun(). The
// signal is blocked on that thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK), and eaten
// with sigtimedwait after KVM_RUN returns EINTR.
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_VCPUS 64
#define KICK_SIGNAL (SIGRTMIN + 5)
#define PORT_JS 0
#define PORT_PMTIMER 1
#define PORT_SINK 2
// Exit counters: index = exit reason (< 40), plus fast-path counters.
#define NCOUNT 48
#define COUNT_FAST_PMTIMER 40
#define COUNT_FAST_SINK 41
#define COUNT_EINTR 42

typedef struct {
  int used;
  int fd;
  struct kvm_run *run;
  size_t run_size;
  pthread_t thread;
  volatile int thread_valid;
  int sigmask_set;
  uint64_t pm_start_ns;
  uint8_t *port_mode;  // 65536 entries, owned
  uint64_t counts[NCOUNT];
} vcpu_t;

static vcpu_t vcpus[MAX_VCPUS];
static pthread_mutex_t vcpus_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;

static void kick_handler(int sig) { (void)sig; }
static void install_kick_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = kick_handler;  // no SA_RESTART: KVM_RUN must return EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(KICK_SIGNAL, &sa, NULL);
}

// A vCPU handle: an index into vcpus[] that is in use.
static vcpu_t *arg_vcpu(const tendril_args *a, size_t i) {
  int64_t h;
  if (!tendril_arg_int(a, i, "vcpu", 0, MAX_VCPUS - 1, &h)) return NULL;
  if (!vcpus[h].used) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: vcpu %d is not a live vCPU handle", a->fn, (int)h);
    tendril_throw_type(a->env, msg);
    return NULL;
  }
  return &vcpus[h];
}

// The first argument of most calls: a vCPU handle.
#define VCPU_CALL(fn_name)                                     \
  tendril_args a;                                              \
  if (!tendril_args_init(&a, env, info, fn_name)) return NULL; \
  vcpu_t *v = arg_vcpu(&a, 0);                                 \
  if (!v) return NULL;

static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR && req != KVM_RUN);
  return r;
}

// ---- system fd ----
// kvmOpen(path = "/dev/kvm") -> fd.
static napi_value kvm_open(napi_env env, napi_callback_info info) {
  tendril_args a;
  char *path;
  if (!tendril_args_init(&a, env, info, "kvmOpen") || !tendril_arg_str(&a, 0, "path", true, &path, NULL)) return NULL;
  int fd = open(path ? path : "/dev/kvm", O_RDWR | O_CLOEXEC);
  int err = errno;
  free(path);
  if (fd < 0) return tendril_throw_errno(env, "open /dev/kvm", err);
  return tendril_number(env, fd);
}

static napi_value kvm_close(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "kvmClose") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  if (close(fd) < 0) return tendril_throw_errno(env, "close", errno);
  return tendril_undefined(env);
}

// ioctl(fd, req, int arg) returning the non-negative result: API version, extensions, mmap size,
// KVM_CREATE_VM, KVM_CREATE_IRQCHIP, KVM_SET_TSS_ADDR.
// The argument is optional (0) for the ioctls that take none.
static napi_value int_ioctl(napi_env env, napi_callback_info info, const char *fn, unsigned long req,
                            const char *name, const char *arg_name) {
  tendril_args a;
  int fd;
  uint64_t arg = 0;
  if (!tendril_args_init(&a, env, info, fn) || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      (tendril_arg_present(&a, 1) && !tendril_arg_u64(&a, 1, arg_name, ULONG_MAX, &arg)))
    return NULL;
  int r;
  do r = ioctl(fd, req, (unsigned long)arg); while (r < 0 && errno == EINTR);
  if (r < 0) return tendril_throw_errno(env, name, errno);
  return tendril_number(env, r);
}
#define INT_IOCTL(fn, js, req, arg_name)                          \
  static napi_value fn(napi_env env, napi_callback_info info) { \
    return int_ioctl(env, info, js, req, #req, arg_name);       \
  }
INT_IOCTL(kvm_api_version, "kvmApiVersion", KVM_GET_API_VERSION, "arg")
INT_IOCTL(kvm_check_extension, "kvmCheckExtension", KVM_CHECK_EXTENSION, "cap")
INT_IOCTL(kvm_vcpu_mmap_size, "kvmVcpuMmapSize", KVM_GET_VCPU_MMAP_SIZE, "arg")
INT_IOCTL(kvm_create_vm, "kvmCreateVm", KVM_CREATE_VM, "type")
INT_IOCTL(kvm_create_irqchip, "kvmCreateIrqchip", KVM_CREATE_IRQCHIP, "arg")
INT_IOCTL(kvm_set_tss_addr, "kvmSetTssAddr", KVM_SET_TSS_ADDR, "addr")

static napi_value kvm_set_identity_map_addr(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint64_t addr;
  if (!tendril_args_init(&a, env, info, "kvmSetIdentityMapAddr") || !tendril_arg_fd(&a, 0, "vmFd", &fd) ||
      !tendril_arg_u64(&a, 1, "addr", UINT64_MAX, &addr))
    return NULL;
  __u64 v = addr;
  if (xioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &v) < 0)
    return tendril_throw_errno(env, "KVM_SET_IDENTITY_MAP_ADDR", errno);
  return tendril_undefined(env);
}

static napi_value kvm_create_pit2(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t flags;
  if (!tendril_args_init(&a, env, info, "kvmCreatePit2") || !tendril_arg_fd(&a, 0, "vmFd", &fd) ||
      !tendril_arg_u32(&a, 1, "flags", &flags))
    return NULL;
  struct kvm_pit_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.flags = flags;
  if (xioctl(fd, KVM_CREATE_PIT2, &cfg) < 0) return tendril_throw_errno(env, "KVM_CREATE_PIT2", errno);
  return tendril_undefined(env);
}

// ---- guest memory ----
// Each mapping is reference-counted: the ArrayBuffer kvmMapAnon returns holds one reference, and
// every view another thread takes with kvmMemView (the I/O thread reads and writes guest RAM) holds
// one more. A buffer gives its reference back when it is collected (its finalizer, in whichever
// isolate) or, at once, through kvmMemRelease, which also detaches it; the last one unmaps. So a
// guest that reboots does not keep its old RAM mapped until some garbage collection.
#define MAX_MAPPINGS 64
typedef struct {
  void *p;
  size_t size;
  int refs;
  uint32_t gen;
} mapping_t;
static mapping_t mappings[MAX_MAPPINGS];
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static void mapping_drop(mapping_t *m) {
  pthread_mutex_lock(&mappings_lock);
  if (--m->refs == 0) {
    munmap(m->p, m->size);
    m->p = NULL;
    m->size = 0;
  }
  pthread_mutex_unlock(&mappings_lock);
}

// One buffer's reference; found again through napi_wrap on the buffer.
typedef struct {
  mapping_t *m;
  int released;
} buf_ref_t;

static void buf_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  buf_ref_t *r = hint;
  if (!r->released) mapping_drop(r->m);
  free(r);
}

static napi_value mapping_buffer(napi_env env, mapping_t *m) {
  buf_ref_t *r = calloc(1, sizeof *r);
  if (!r) {
    mapping_drop(m);
    return tendril_throw_errno(env, "calloc", ENOMEM);
  }
  r->m = m;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, m->p, m->size, buf_finalize, r, &ab) != napi_ok) {
    buf_finalize(env, NULL, r);
    return tendril_throw_type(env, "napi_create_external_arraybuffer failed");
  }
  if (napi_wrap(env, ab, r, NULL, NULL, NULL) != napi_ok) return tendril_throw_type(env, "napi_wrap failed");
  return ab;
}

// kvmMemRelease(arrayBuffer): detaches a kvmMapAnon/kvmMemView buffer and gives its reference back
// now. The caller must hold no other views of it (they read as empty afterwards).
static napi_value kvm_mem_release(napi_env env, napi_callback_info info) {
  tendril_args a;
  void *data;
  size_t len;
  if (!tendril_args_init(&a, env, info, "kvmMemRelease") || !tendril_arg_arraybuffer(&a, 0, "mem", false, &data, &len))
    return NULL;
  void *p = NULL;
  if (napi_unwrap(env, a.argv[0], &p) != napi_ok || !p)
    return tendril_throw_type(env, "kvmMemRelease: not a buffer from kvmMapAnon or kvmMemView");
  buf_ref_t *r = p;
  if (!r->released) {
    r->released = 1;
    napi_detach_arraybuffer(env, a.argv[0]);
    mapping_drop(r->m);
  }
  return tendril_undefined(env);
}

// Anonymous, page-aligned, zero-filled mapping exposed as an external ArrayBuffer (no copy).
static napi_value kvm_map_anon(napi_env env, napi_callback_info info) {
  tendril_args a;
  uint64_t size;
  if (!tendril_args_init(&a, env, info, "kvmMapAnon") || !tendril_arg_u64(&a, 0, "size", SIZE_MAX, &size)) return NULL;
  if (size == 0 || (size & 4095))
    return tendril_throw_type(env, "kvmMapAnon: size must be a positive multiple of 4096");
  void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return tendril_throw_errno(env, "mmap guest memory", errno);
  pthread_mutex_lock(&mappings_lock);
  mapping_t *m = NULL;
  for (int i = 0; i < MAX_MAPPINGS; i++)
    if (!mappings[i].p) { m = &mappings[i]; break; }
  if (m) {
    m->p = p;
    m->size = (size_t)size;
    m->refs = 1;
    m->gen++;
  }
  pthread_mutex_unlock(&mappings_lock);
  if (!m) {
    munmap(p, (size_t)size);
    return tendril_throw_errno(env, "kvmMapAnon (mapping table full)", ENOMEM);
  }
  return mapping_buffer(env, m);
}

// kvmMemId(arrayBuffer) -> an id any thread may pass to kvmMemView, for a kvmMapAnon buffer.
static napi_value kvm_mem_id(napi_env env, napi_callback_info info) {
  tendril_args a;
  void *data;
  size_t len;
  if (!tendril_args_init(&a, env, info, "kvmMemId") || !tendril_arg_arraybuffer(&a, 0, "mem", false, &data, &len))
    return NULL;
  int64_t id = -1;
  pthread_mutex_lock(&mappings_lock);
  for (int i = 0; i < MAX_MAPPINGS; i++)
    if (mappings[i].p == data && mappings[i].size == len) id = (int64_t)mappings[i].gen * MAX_MAPPINGS + i;
  pthread_mutex_unlock(&mappings_lock);
  if (id < 0) return tendril_throw_type(env, "kvmMemId: not a buffer from kvmMapAnon");
  return tendril_number(env, (double)id);
}

// kvmMemView(id) -> another ArrayBuffer over the same mapping (keeps it mapped while alive).
static napi_value kvm_mem_view(napi_env env, napi_callback_info info) {
  tendril_args a;
  int64_t id;
  if (!tendril_args_init(&a, env, info, "kvmMemView") ||
      !tendril_arg_int(&a, 0, "id", 0, TENDRIL_MAX_SAFE_INTEGER, &id))
    return NULL;
  mapping_t *m = &mappings[id % MAX_MAPPINGS];
  pthread_mutex_lock(&mappings_lock);
  bool ok = m->p && (int64_t)m->gen == id / MAX_MAPPINGS;
  if (ok) m->refs++;
  pthread_mutex_unlock(&mappings_lock);
  if (!ok) return tendril_throw_type(env, "kvmMemView: no such mapping (released?)");
  return mapping_buffer(env, m);
}

// ---- eventfds (ioeventfd notifies, irqfd interrupts, the I/O thread's wake-ups) ----
static napi_value eventfd_create(napi_env env, napi_callback_info info) {
  tendril_args a;
  if (!tendril_args_init(&a, env, info, "eventfdCreate")) return NULL;
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return tendril_throw_errno(env, "eventfd", errno);
  return tendril_number(env, fd);
}

// eventfdWrite(fd, n = 1): adds n to the counter (wakes a waiter; fires an irqfd).
static napi_value eventfd_write_(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint64_t n = 1;
  if (!tendril_args_init(&a, env, info, "eventfdWrite") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      (tendril_arg_present(&a, 1) && !tendril_arg_u64(&a, 1, "n", UINT64_MAX - 1, &n)))
    return NULL;
  ssize_t r;
  do r = write(fd, &n, sizeof n); while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN) return tendril_throw_errno(env, "write eventfd", errno);
  return tendril_undefined(env);
}

// An NVMe controller's doorbells take 128 eventfds (src/vm/nvme/doorbells.ts), and there may be four.
#define EVENTFD_WAIT_MAX 1024

// eventfdWait(fds: number[], timeoutMs): poll() until one is readable (-1: no timeout); reads,
// and so resets, each readable one. Returns the indexes of those that were readable.
static napi_value eventfd_wait(napi_env env, napi_callback_info info) {
  tendril_args a;
  int64_t timeout;
  if (!tendril_args_init(&a, env, info, "eventfdWait") || !tendril_arg_int(&a, 1, "timeoutMs", -1, INT32_MAX, &timeout))
    return NULL;
  napi_value arr = a.argv[0];
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array || napi_get_array_length(env, arr, &n) != napi_ok ||
      n == 0 || n > EVENTFD_WAIT_MAX)
    return tendril_throw_type(env, "eventfdWait: fds must be an array of 1..1024 file descriptors");
  struct pollfd pfd[EVENTFD_WAIT_MAX];
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    int32_t fd;
    if (napi_get_element(env, arr, i, &e) != napi_ok || napi_get_value_int32(env, e, &fd) != napi_ok || fd < 0)
      return tendril_throw_type(env, "eventfdWait: fds must be non-negative integers");
    pfd[i].fd = fd;
    pfd[i].events = POLLIN;
    pfd[i].revents = 0;
  }
  int r;
  do r = poll(pfd, n, (int)timeout); while (r < 0 && errno == EINTR);
  if (r < 0) return tendril_throw_errno(env, "poll", errno);
  napi_value out;
  napi_create_array(env, &out);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!(pfd[i].revents & POLLIN)) continue;
    uint64_t v;
    ssize_t rr;
    do rr = read(pfd[i].fd, &v, sizeof v); while (rr < 0 && errno == EINTR);
    napi_set_element(env, out, k++, tendril_number(env, i));
  }
  return out;
}

// kvmSetMemoryRegion(vmFd, slot, flags, guestPhys, arrayBuffer|null, size): size 0 deletes the slot.
static napi_value kvm_set_memory_region(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t slot, flags;
  uint64_t gpa, size;
  void *data;
  size_t len;
  if (!tendril_args_init(&a, env, info, "kvmSetMemoryRegion") || !tendril_arg_fd(&a, 0, "vmFd", &fd) ||
      !tendril_arg_u32(&a, 1, "slot", &slot) || !tendril_arg_u32(&a, 2, "flags", &flags) ||
      !tendril_arg_u64(&a, 3, "gpa", UINT64_MAX, &gpa) || !tendril_arg_arraybuffer(&a, 4, "mem", true, &data, &len) ||
      !tendril_arg_u64(&a, 5, "size", UINT64_MAX, &size))
    return NULL;
  if (size > len) return tendril_throw_type(env, "kvmSetMemoryRegion: size is larger than mem");
  struct kvm_userspace_memory_region r = {.slot = slot,
                                          .flags = flags,
                                          .guest_phys_addr = gpa,
                                          .memory_size = size,
                                          .userspace_addr = (__u64)(uintptr_t)data};
  if (xioctl(fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
    return tendril_throw_errno(env, "KVM_SET_USER_MEMORY_REGION", errno);
  return tendril_undefined(env);
}

// ---- interrupts ----
static napi_value kvm_irq_line(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t irq, level;
  if (!tendril_args_init(&a, env, info, "kvmIrqLine") || !tendril_arg_fd(&a, 0, "vmFd", &fd) ||
      !tendril_arg_u32(&a, 1, "irq", &irq) || !tendril_arg_u32(&a, 2, "level", &level))
    return NULL;
  struct kvm_irq_level l = {.irq = irq, .level = level};
  if (xioctl(fd, KVM_IRQ_LINE, &l) < 0) return tendril_throw_errno(env, "KVM_IRQ_LINE", errno);
  return tendril_undefined(env);
}

// kvmIoeventfd(vmFd, addr, len, fd, flags[, datamatch]): KVM_IOEVENTFD; a guest write of `len` bytes
// to MMIO `addr` signals `fd` in the kernel instead of exiting (flags: DEASSIGN, DATAMATCH, PIO).
static napi_value kvm_ioeventfd(napi_env env, napi_callback_info info) {
  tendril_args a;
  int vmfd, fd;
  uint64_t addr, datamatch = 0;
  uint32_t len, flags;
  if (!tendril_args_init(&a, env, info, "kvmIoeventfd") || !tendril_arg_fd(&a, 0, "vmFd", &vmfd) ||
      !tendril_arg_u64(&a, 1, "addr", UINT64_MAX, &addr) || !tendril_arg_u32(&a, 2, "len", &len) ||
      !tendril_arg_fd(&a, 3, "fd", &fd) || !tendril_arg_u32(&a, 4, "flags", &flags) ||
      (tendril_arg_present(&a, 5) && !tendril_arg_u64(&a, 5, "datamatch", UINT64_MAX, &datamatch)))
    return NULL;
  struct kvm_ioeventfd e;
  memset(&e, 0, sizeof e);
  e.datamatch = datamatch;
  e.addr = addr;
  e.len = len;
  e.fd = fd;
  e.flags = flags;
  if (xioctl(vmfd, KVM_IOEVENTFD, &e) < 0) return tendril_throw_errno(env, "KVM_IOEVENTFD", errno);
  return tendril_undefined(env);
}

// kvmIrqfd(vmFd, fd, gsi, flags): KVM_IRQFD; a write to `fd` injects GSI `gsi` (flags: DEASSIGN).
static napi_value kvm_irqfd(napi_env env, napi_callback_info info) {
  tendril_args a;
  int vmfd, fd;
  uint32_t gsi, flags;
  if (!tendril_args_init(&a, env, info, "kvmIrqfd") || !tendril_arg_fd(&a, 0, "vmFd", &vmfd) ||
      !tendril_arg_fd(&a, 1, "fd", &fd) || !tendril_arg_u32(&a, 2, "gsi", &gsi) || !tendril_arg_u32(&a, 3, "flags", &flags))
    return NULL;
  struct kvm_irqfd q;
  memset(&q, 0, sizeof q);
  q.fd = (__u32)fd;
  q.gsi = gsi;
  q.flags = flags;
  if (xioctl(vmfd, KVM_IRQFD, &q) < 0) return tendril_throw_errno(env, "KVM_IRQFD", errno);
  return tendril_undefined(env);
}

// kvmSetGsiRouting(vmFd, entries): KVM_SET_GSI_ROUTING with whole kvm_irq_routing_entry records
// (TypeScript builds them, including the irqchip defaults the call replaces).
static napi_value kvm_set_gsi_routing(napi_env env, napi_callback_info info) {
  tendril_args a;
  int vmfd;
  void *data;
  size_t len;
  if (!tendril_args_init(&a, env, info, "kvmSetGsiRouting") || !tendril_arg_fd(&a, 0, "vmFd", &vmfd) ||
      !tendril_arg_bytes(&a, 1, "entries", &data, &len))
    return NULL;
  if (len % sizeof(struct kvm_irq_routing_entry) || len / sizeof(struct kvm_irq_routing_entry) > 4096)
    return tendril_throw_type(env, "kvmSetGsiRouting: entries must be whole kvm_irq_routing_entry records");
  struct kvm_irq_routing *r = calloc(1, sizeof *r + len);
  if (!r) return tendril_throw_errno(env, "calloc", ENOMEM);
  r->nr = (__u32)(len / sizeof(struct kvm_irq_routing_entry));
  memcpy(r->entries, data, len);
  int rc = xioctl(vmfd, KVM_SET_GSI_ROUTING, r);
  int e = errno;
  free(r);
  if (rc < 0) return tendril_throw_errno(env, "KVM_SET_GSI_ROUTING", e);
  return tendril_undefined(env);
}

static napi_value kvm_signal_msi(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t lo, hi, data;
  if (!tendril_args_init(&a, env, info, "kvmSignalMsi") || !tendril_arg_fd(&a, 0, "vmFd", &fd) ||
      !tendril_arg_u32(&a, 1, "addrLo", &lo) || !tendril_arg_u32(&a, 2, "addrHi", &hi) ||
      !tendril_arg_u32(&a, 3, "data", &data))
    return NULL;
  struct kvm_msi m;
  memset(&m, 0, sizeof m);
  m.address_lo = lo;
  m.address_hi = hi;
  m.data = data;
  int r = xioctl(fd, KVM_SIGNAL_MSI, &m);
  if (r < 0) return tendril_throw_errno(env, "KVM_SIGNAL_MSI", errno);
  return tendril_number(env, r);
}

// ---- CPUID ----
// KVM_GET_SUPPORTED_CPUID (system fd) or KVM_GET_SUPPORTED_HV_CPUID (system fd with
// KVM_CAP_SYS_HYPERV_CPUID, else a vCPU fd): a Buffer of kvm_cpuid_entry2 records (40 bytes each).
static napi_value supported_cpuid(napi_env env, int fd, unsigned long req, const char *what) {
  int n = 128;
  for (;;) {
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + (size_t)n * sizeof(struct kvm_cpuid_entry2));
    if (!c) return tendril_throw_errno(env, "calloc", ENOMEM);
    c->nent = (__u32)n;
    if (xioctl(fd, req, c) < 0) {
      int e = errno;
      free(c);
      if (e == E2BIG && n < 4096) { n *= 2; continue; }
      return tendril_throw_errno(env, what, e);
    }
    napi_value buf;
    void *out;
    size_t bytes = c->nent * sizeof(struct kvm_cpuid_entry2);
    napi_create_buffer_copy(env, bytes, c->entries, &out, &buf);
    free(c);
    return buf;
  }
}

static napi_value kvm_get_supported_cpuid(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "kvmGetSupportedCpuid") || !tendril_arg_fd(&a, 0, "kvmFd", &fd)) return NULL;
  return supported_cpuid(env, fd, KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID");
}

static napi_value kvm_get_supported_hv_cpuid(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "kvmGetSupportedHvCpuid") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  return supported_cpuid(env, fd, KVM_GET_SUPPORTED_HV_CPUID, "KVM_GET_SUPPORTED_HV_CPUID");
}

// kvmEnableVcpuCap(vcpu, cap): KVM_ENABLE_CAP on the vCPU with no arguments (KVM_CAP_HYPERV_SYNIC2).
static napi_value kvm_enable_vcpu_cap(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmEnableVcpuCap");
  int32_t cap;
  if (!tendril_arg_i32(&a, 1, "cap", 0, 1 << 20, &cap)) return NULL;
  struct kvm_enable_cap e;
  memset(&e, 0, sizeof e);
  e.cap = (__u32)cap;
  if (xioctl(v->fd, KVM_ENABLE_CAP, &e) < 0) return tendril_throw_errno(env, "KVM_ENABLE_CAP", errno);
  return tendril_undefined(env);
}

// kvmGetMsrs(vcpu, indices: number[]) -> bigint[] (KVM_GET_MSRS; an MSR KVM does not know ends the
// list early, as the ioctl does, so the result may be shorter).
static napi_value kvm_get_msrs(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmGetMsrs");
  napi_value arr;
  uint32_t n = 0;
  bool is_array = false;
  if (!tendril_arg_present(&a, 1)) return tendril_throw_type(env, "kvmGetMsrs: indices must be an array");
  arr = a.argv[1];
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array || napi_get_array_length(env, arr, &n) != napi_ok || n > 64)
    return tendril_throw_type(env, "kvmGetMsrs: indices must be an array of at most 64 MSR numbers");
  struct kvm_msrs *m = calloc(1, sizeof *m + n * sizeof(struct kvm_msr_entry));
  if (!m) return tendril_throw_errno(env, "calloc", ENOMEM);
  m->nmsrs = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    uint32_t idx = 0;
    if (napi_get_element(env, arr, i, &el) != napi_ok || napi_get_value_uint32(env, el, &idx) != napi_ok) {
      free(m);
      return tendril_throw_type(env, "kvmGetMsrs: indices must be numbers");
    }
    m->entries[i].index = idx;
  }
  int r = xioctl(v->fd, KVM_GET_MSRS, m);
  if (r < 0) {
    int e = errno;
    free(m);
    return tendril_throw_errno(env, "KVM_GET_MSRS", e);
  }
  napi_value out;
  napi_create_array_with_length(env, (size_t)r, &out);
  for (int i = 0; i < r; i++) {
    napi_value b;
    napi_create_bigint_uint64(env, m->entries[i].data, &b);
    napi_set_element(env, out, (uint32_t)i, b);
  }
  free(m);
  return out;
}

// kvmSetMsr(vcpu, index, value: bigint): KVM_SET_MSRS for one MSR, as the host (KVM takes
// values from the VMM a guest may not write, e.g. the Hyper-V crash control's capabilities).
static napi_value kvm_set_msr(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmSetMsr");
  uint32_t idx = 0;
  uint64_t val = 0;
  bool lossless = false;
  if (!tendril_arg_present(&a, 2) || napi_get_value_uint32(env, a.argv[1], &idx) != napi_ok ||
      napi_get_value_bigint_uint64(env, a.argv[2], &val, &lossless) != napi_ok || !lossless)
    return tendril_throw_type(env, "kvmSetMsr: (vcpu, index: number, value: bigint < 2^64)");
  struct {
    struct kvm_msrs h;
    struct kvm_msr_entry e;
  } m;
  memset(&m, 0, sizeof m);
  m.h.nmsrs = 1;
  m.e.index = idx;
  m.e.data = val;
  int r = xioctl(v->fd, KVM_SET_MSRS, &m);
  if (r < 0) return tendril_throw_errno(env, "KVM_SET_MSRS", errno);
  if (r != 1) return tendril_throw_errno(env, "KVM_SET_MSRS (MSR refused)", EINVAL);
  return tendril_undefined(env);
}

static napi_value kvm_set_cpuid2(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmSetCpuid2");
  void *data;
  size_t len;
  if (!tendril_arg_bytes(&a, 1, "entries", &data, &len)) return NULL;
  if (len % sizeof(struct kvm_cpuid_entry2))
    return tendril_throw_type(env, "kvmSetCpuid2: entries must be whole 40-byte kvm_cpuid_entry2 records");
  struct kvm_cpuid2 *c = calloc(1, sizeof *c + len);
  if (!c) return tendril_throw_errno(env, "calloc", ENOMEM);
  c->nent = (__u32)(len / sizeof(struct kvm_cpuid_entry2));
  memcpy(c->entries, data, len);
  int r = xioctl(v->fd, KVM_SET_CPUID2, c);
  int e = errno;
  free(c);
  if (r < 0) return tendril_throw_errno(env, "KVM_SET_CPUID2", e);
  return tendril_undefined(env);
}

// ---- vCPUs ----
static napi_value kvm_create_vcpu(napi_env env, napi_callback_info info) {
  tendril_args a;
  int vmfd;
  uint32_t id;
  uint64_t mmap_size;
  if (!tendril_args_init(&a, env, info, "kvmCreateVcpu") || !tendril_arg_fd(&a, 0, "vmFd", &vmfd) ||
      !tendril_arg_u32(&a, 1, "id", &id) || !tendril_arg_u64(&a, 2, "mmapSize", SIZE_MAX, &mmap_size))
    return NULL;
  if (mmap_size == 0) return tendril_throw_type(env, "kvmCreateVcpu: mmapSize must be positive");
  pthread_once(&sig_once, install_kick_handler);
  int fd = ioctl(vmfd, KVM_CREATE_VCPU, (unsigned long)id);
  if (fd < 0) return tendril_throw_errno(env, "KVM_CREATE_VCPU", errno);
  void *run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) {
    int e = errno;
    close(fd);
    return tendril_throw_errno(env, "mmap kvm_run", e);
  }
  uint8_t *modes = calloc(65536, 1);
  pthread_mutex_lock(&vcpus_lock);
  int idx = -1;
  for (int i = 0; i < MAX_VCPUS; i++)
    if (!vcpus[i].used) { idx = i; break; }
  if (idx >= 0) {
    memset(&vcpus[idx], 0, sizeof vcpus[idx]);
    vcpus[idx].used = 1;
    vcpus[idx].fd = fd;
    vcpus[idx].run = run;
    vcpus[idx].run_size = (size_t)mmap_size;
    vcpus[idx].port_mode = modes;
  }
  pthread_mutex_unlock(&vcpus_lock);
  if (idx < 0 || !modes) {
    munmap(run, (size_t)mmap_size);
    close(fd);
    free(modes);
    return tendril_throw_errno(env, "KVM_CREATE_VCPU (table full)", ENOMEM);
  }
  return tendril_number(env, idx);
}

// The kvm_run page(s) as an external ArrayBuffer; valid until kvmDestroyVcpu.
static napi_value kvm_vcpu_run_buffer(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmVcpuRunBuffer");
  napi_value ab;
  if (napi_create_external_arraybuffer(env, v->run, v->run_size, NULL, NULL, &ab) != napi_ok)
    return tendril_throw_type(env, "napi_create_external_arraybuffer failed");
  return ab;
}

static napi_value kvm_destroy_vcpu(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmDestroyVcpu");
  pthread_mutex_lock(&vcpus_lock);
  munmap(v->run, v->run_size);
  close(v->fd);
  free(v->port_mode);
  memset(v, 0, sizeof *v);
  pthread_mutex_unlock(&vcpus_lock);
  return tendril_undefined(env);
}

static napi_value kvm_vcpu_fd(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmVcpuFd");
  return tendril_number(env, v->fd);
}

// Register state as raw struct bytes (kvm_regs / kvm_sregs); TypeScript decodes them.
static napi_value get_struct(napi_env env, napi_callback_info info, const char *fn, unsigned long req, size_t size,
                             const char *name) {
  VCPU_CALL(fn);
  uint8_t tmp[1024];
  if (xioctl(v->fd, req, tmp) < 0) return tendril_throw_errno(env, name, errno);
  napi_value buf;
  void *out;
  napi_create_buffer_copy(env, size, tmp, &out, &buf);
  return buf;
}
static napi_value set_struct(napi_env env, napi_callback_info info, const char *fn, unsigned long req, size_t size,
                             const char *name) {
  VCPU_CALL(fn);
  void *data;
  size_t len;
  if (!tendril_arg_bytes(&a, 1, "regs", &data, &len)) return NULL;
  if (len != size) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: regs must be %zu bytes, got %zu", fn, size, len);
    return tendril_throw_type(env, msg);
  }
  if (xioctl(v->fd, req, data) < 0) return tendril_throw_errno(env, name, errno);
  return tendril_undefined(env);
}
static napi_value kvm_get_regs(napi_env env, napi_callback_info info) {
  return get_struct(env, info, "kvmGetRegs", KVM_GET_REGS, sizeof(struct kvm_regs), "KVM_GET_REGS");
}
static napi_value kvm_set_regs(napi_env env, napi_callback_info info) {
  return set_struct(env, info, "kvmSetRegs", KVM_SET_REGS, sizeof(struct kvm_regs), "KVM_SET_REGS");
}
static napi_value kvm_get_sregs(napi_env env, napi_callback_info info) {
  return get_struct(env, info, "kvmGetSregs", KVM_GET_SREGS, sizeof(struct kvm_sregs), "KVM_GET_SREGS");
}
static napi_value kvm_set_sregs(napi_env env, napi_callback_info info) {
  return set_struct(env, info, "kvmSetSregs", KVM_SET_SREGS, sizeof(struct kvm_sregs), "KVM_SET_SREGS");
}

// kvmGetMpState(vcpu) -> KVM_MP_STATE_* (0 runnable, 1 uninitialized, 2 init received, 3 halted,
// 4 SIPI received): where an AP is in INIT-SIPI-SIPI, for diagnostics.
static napi_value kvm_get_mp_state(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmGetMpState");
  struct kvm_mp_state s;
  if (xioctl(v->fd, KVM_GET_MP_STATE, &s) < 0) return tendril_throw_errno(env, "KVM_GET_MP_STATE", errno);
  return tendril_number(env, s.mp_state);
}

// kvmSetPortMode(vcpu, port, mode): 0 exit to JS, 1 PM timer (24-bit, 3.579545 MHz), 2 sink.
static napi_value kvm_set_port_mode(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmSetPortMode");
  int64_t port, mode;
  if (!tendril_arg_int(&a, 1, "port", 0, 0xFFFF, &port) || !tendril_arg_int(&a, 2, "mode", PORT_JS, PORT_SINK, &mode))
    return NULL;
  v->port_mode[port] = (uint8_t)mode;
  return tendril_undefined(env);
}

// kvmSetPmTimerStart(vcpu, startNs: bigint): CLOCK_MONOTONIC ns at VM start (= process.hrtime.bigint()).
static napi_value kvm_set_pm_timer_start(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmSetPmTimerStart");
  uint64_t start;
  if (!tendril_arg_u64(&a, 1, "startNs", UINT64_MAX, &start)) return NULL;
  v->pm_start_ns = start;
  return tendril_undefined(env);
}

static uint32_t pm_timer_now(const vcpu_t *v) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - v->pm_start_ns;
  unsigned __int128 t = (unsigned __int128)ns * 3579545u / 1000000000u;  // 128-bit: no overflow
  return (uint32_t)t & 0xFFFFFF;
}

static void set_run_sigmask(vcpu_t *v) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, KICK_SIGNAL);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  sigdelset(&old, KICK_SIGNAL);
  struct {
    struct kvm_signal_mask m;
    uint8_t set[8];
  } km;
  km.m.len = 8;  // the kernel's sigset_t on x86-64
  memcpy(km.set, &old, 8);
  xioctl(v->fd, KVM_SET_SIGNAL_MASK, &km);
  v->sigmask_set = 1;
}

static void eat_kick_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, KICK_SIGNAL);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, NULL, &zero) > 0) {
  }
}

// Fast path: answer the exit in C. Returns 1 when handled.
static int fast_io(vcpu_t *v) {
  struct kvm_run *r = v->run;
  uint8_t mode = v->port_mode[r->io.port];
  if (mode == PORT_JS) return 0;
  uint8_t *data = (uint8_t *)r + r->io.data_offset;
  size_t n = (size_t)r->io.size * r->io.count;
  if (mode == PORT_PMTIMER) {
    if (r->io.direction == KVM_EXIT_IO_IN) {
      for (uint32_t i = 0; i < r->io.count; i++) {
        uint32_t t = pm_timer_now(v);
        memcpy(data + (size_t)i * r->io.size, &t, r->io.size);  // little-endian: low bytes
      }
    }
    v->counts[COUNT_FAST_PMTIMER]++;
    return 1;
  }
  if (r->io.direction == KVM_EXIT_IO_IN) memset(data, 0xFF, n);
  v->counts[COUNT_FAST_SINK]++;
  return 1;
}

// kvmRun(vcpu): KVM_RUN until an exit JS must see; returns kvm_run.exit_reason.
static napi_value kvm_run(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmRun");
  if (!v->thread_valid || !pthread_equal(v->thread, pthread_self())) {
    v->thread = pthread_self();
    v->thread_valid = 1;
    set_run_sigmask(v);
  }
  struct kvm_run *r = v->run;
  for (;;) {
    int rc = ioctl(v->fd, KVM_RUN, 0);
    if (rc < 0) {
      int e = errno;
      if (e == EINTR || e == EAGAIN) {
        eat_kick_signals();
        r->exit_reason = KVM_EXIT_INTR;
        v->counts[COUNT_EINTR]++;
        return tendril_number(env, KVM_EXIT_INTR);
      }
      return tendril_throw_errno(env, "KVM_RUN", e);
    }
    uint32_t reason = r->exit_reason;
    if (reason == KVM_EXIT_IO && fast_io(v)) {
      if (r->immediate_exit) {  // a kick arrived: let JS see it as INTR
        r->exit_reason = KVM_EXIT_INTR;
        return tendril_number(env, KVM_EXIT_INTR);
      }
      continue;
    }
    if (reason < 40) v->counts[reason]++;
    return tendril_number(env, reason);
  }
}

// kvmKick(vcpu): make kvmRun return KVM_EXIT_INTR soon; callable from any thread.
// Returns false when the vCPU no longer exists (kicking a destroyed vCPU is not an error: the
// main thread may race with the worker tearing the VM down). Holds the table lock so the
// kvm_run mapping cannot disappear underneath.
static napi_value kvm_kick(napi_env env, napi_callback_info info) {
  tendril_args a;
  int64_t i;
  if (!tendril_args_init(&a, env, info, "kvmKick") ||
      !tendril_arg_int(&a, 0, "vcpu", -TENDRIL_MAX_SAFE_INTEGER, TENDRIL_MAX_SAFE_INTEGER, &i))
    return NULL;
  bool ok = false;
  pthread_mutex_lock(&vcpus_lock);
  if (i >= 0 && i < MAX_VCPUS && vcpus[i].used) {
    vcpu_t *v = &vcpus[i];
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->thread_valid) pthread_kill(v->thread, KICK_SIGNAL);
    ok = true;
  }
  pthread_mutex_unlock(&vcpus_lock);
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

// kvmExitCounts(vcpu): Float64 array of counters (index = exit reason; 40 PM timer fast
// path, 41 sink fast path, 42 KVM_RUN interrupted).
static napi_value kvm_exit_counts(napi_env env, napi_callback_info info) {
  VCPU_CALL("kvmExitCounts");
  napi_value arr;
  napi_create_array_with_length(env, NCOUNT, &arr);
  for (uint32_t i = 0; i < NCOUNT; i++) {
    napi_value n = tendril_number_u64(env, "kvmExitCounts", "counter", v->counts[i]);
    if (!n) return NULL;
    napi_set_element(env, arr, i, n);
  }
  return arr;
}

// Layout constants so TypeScript never guesses struct offsets.
static napi_value kvm_constants(napi_env env, napi_callback_info info) {
  napi_value o;
  napi_create_object(env, &o);
#define C(name, val) napi_set_named_property(env, o, name, tendril_number(env, (double)(val)))
  C("runExitReason", offsetof(struct kvm_run, exit_reason));
  C("runImmediateExit", offsetof(struct kvm_run, immediate_exit));
  C("runIoDirection", offsetof(struct kvm_run, io.direction));
  C("runIoSize", offsetof(struct kvm_run, io.size));
  C("runIoPort", offsetof(struct kvm_run, io.port));
  C("runIoCount", offsetof(struct kvm_run, io.count));
  C("runIoDataOffset", offsetof(struct kvm_run, io.data_offset));
  C("runMmioPhysAddr", offsetof(struct kvm_run, mmio.phys_addr));
  C("runMmioData", offsetof(struct kvm_run, mmio.data));
  C("runMmioLen", offsetof(struct kvm_run, mmio.len));
  C("runMmioIsWrite", offsetof(struct kvm_run, mmio.is_write));
  C("runSystemEventType", offsetof(struct kvm_run, system_event.type));
  C("runInternalSuberror", offsetof(struct kvm_run, internal.suberror));
  C("runInternalNdata", offsetof(struct kvm_run, internal.ndata));
  C("runInternalData", offsetof(struct kvm_run, internal.data));
  C("runFailEntryReason", offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason));
  C("regsSize", sizeof(struct kvm_regs));
  C("sregsSize", sizeof(struct kvm_sregs));
  C("cpuidEntrySize", sizeof(struct kvm_cpuid_entry2));
  C("memReadonly", KVM_MEM_READONLY);
  C("pitSpeakerDummy", KVM_PIT_SPEAKER_DUMMY);
  C("capIrqchip", KVM_CAP_IRQCHIP);
  C("capPit2", KVM_CAP_PIT2);
  C("capReadonlyMem", KVM_CAP_READONLY_MEM);
  C("capSetTssAddr", KVM_CAP_SET_TSS_ADDR);
  C("capImmediateExit", KVM_CAP_IMMEDIATE_EXIT);
  C("capSignalMsi", KVM_CAP_SIGNAL_MSI);
  C("capUserMemory", KVM_CAP_USER_MEMORY);
  C("capSetIdentityMapAddr", KVM_CAP_SET_IDENTITY_MAP_ADDR);
  C("kickSignal", KICK_SIGNAL);
  C("capIoeventfd", KVM_CAP_IOEVENTFD);
  C("capIrqfd", KVM_CAP_IRQFD);
  C("capIrqRouting", KVM_CAP_IRQ_ROUTING);
  C("capHypervCpuid", KVM_CAP_HYPERV_CPUID);
  C("capSysHypervCpuid", KVM_CAP_SYS_HYPERV_CPUID);
  C("capHypervSynic2", KVM_CAP_HYPERV_SYNIC2);
  C("systemEventCrash", KVM_SYSTEM_EVENT_CRASH);
  C("runHypervType", offsetof(struct kvm_run, hyperv.type));
  C("runHypervHcallResult", offsetof(struct kvm_run, hyperv.u.hcall.result));
  C("hypervExitHcall", KVM_EXIT_HYPERV_HCALL);
  C("ioeventfdFlagDeassign", KVM_IOEVENTFD_FLAG_DEASSIGN);
  C("ioeventfdFlagDatamatch", KVM_IOEVENTFD_FLAG_DATAMATCH);
  C("irqfdFlagDeassign", KVM_IRQFD_FLAG_DEASSIGN);
  C("routingEntrySize", sizeof(struct kvm_irq_routing_entry));
  C("routingIrqchip", KVM_IRQ_ROUTING_IRQCHIP);
  C("routingMsi", KVM_IRQ_ROUTING_MSI);
  C("irqchipPicMaster", KVM_IRQCHIP_PIC_MASTER);
  C("irqchipPicSlave", KVM_IRQCHIP_PIC_SLAVE);
  C("irqchipIoapic", KVM_IRQCHIP_IOAPIC);
#undef C
  return o;
}

void tendril_register_kvm(napi_env env, napi_value exports) {
  tendril_export(env, exports, "kvmOpen", kvm_open);
  tendril_export(env, exports, "kvmClose", kvm_close);
  tendril_export(env, exports, "kvmApiVersion", kvm_api_version);
  tendril_export(env, exports, "kvmCheckExtension", kvm_check_extension);
  tendril_export(env, exports, "kvmVcpuMmapSize", kvm_vcpu_mmap_size);
  tendril_export(env, exports, "kvmCreateVm", kvm_create_vm);
  tendril_export(env, exports, "kvmCreateIrqchip", kvm_create_irqchip);
  tendril_export(env, exports, "kvmSetTssAddr", kvm_set_tss_addr);
  tendril_export(env, exports, "kvmSetIdentityMapAddr", kvm_set_identity_map_addr);
  tendril_export(env, exports, "kvmCreatePit2", kvm_create_pit2);
  tendril_export(env, exports, "kvmMapAnon", kvm_map_anon);
  tendril_export(env, exports, "kvmMemId", kvm_mem_id);
  tendril_export(env, exports, "kvmMemView", kvm_mem_view);
  tendril_export(env, exports, "kvmMemRelease", kvm_mem_release);
  tendril_export(env, exports, "eventfdCreate", eventfd_create);
  tendril_export(env, exports, "eventfdWrite", eventfd_write_);
  tendril_export(env, exports, "eventfdWait", eventfd_wait);
  tendril_export(env, exports, "kvmIoeventfd", kvm_ioeventfd);
  tendril_export(env, exports, "kvmIrqfd", kvm_irqfd);
  tendril_export(env, exports, "kvmSetGsiRouting", kvm_set_gsi_routing);
  tendril_export(env, exports, "kvmSetMemoryRegion", kvm_set_memory_region);
  tendril_export(env, exports, "kvmIrqLine", kvm_irq_line);
  tendril_export(env, exports, "kvmSignalMsi", kvm_signal_msi);
  tendril_export(env, exports, "kvmGetSupportedCpuid", kvm_get_supported_cpuid);
  tendril_export(env, exports, "kvmSetCpuid2", kvm_set_cpuid2);
  tendril_export(env, exports, "kvmGetSupportedHvCpuid", kvm_get_supported_hv_cpuid);
  tendril_export(env, exports, "kvmEnableVcpuCap", kvm_enable_vcpu_cap);
  tendril_export(env, exports, "kvmGetMsrs", kvm_get_msrs);
  tendril_export(env, exports, "kvmSetMsr", kvm_set_msr);
  tendril_export(env, exports, "kvmCreateVcpu", kvm_create_vcpu);
  tendril_export(env, exports, "kvmVcpuRunBuffer", kvm_vcpu_run_buffer);
  tendril_export(env, exports, "kvmDestroyVcpu", kvm_destroy_vcpu);
  tendril_export(env, exports, "kvmVcpuFd", kvm_vcpu_fd);
  tendril_export(env, exports, "kvmGetRegs", kvm_get_regs);
  tendril_export(env, exports, "kvmSetRegs", kvm_set_regs);
  tendril_export(env, exports, "kvmGetSregs", kvm_get_sregs);
  tendril_export(env, exports, "kvmSetSregs", kvm_set_sregs);
  tendril_export(env, exports, "kvmSetPortMode", kvm_set_port_mode);
  tendril_export(env, exports, "kvmGetMpState", kvm_get_mp_state);
  tendril_export(env, exports, "kvmSetPmTimerStart", kvm_set_pm_timer_start);
  tendril_export(env, exports, "kvmRun", kvm_run);
  tendril_export(env, exports, "kvmKick", kvm_kick);
  tendril_export(env, exports, "kvmExitCounts", kvm_exit_counts);
  tendril_export(env, exports, "kvmConstants", kvm_constants);
}
