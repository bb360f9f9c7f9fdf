// The host's screen for the VM's display (src/vm/display/host-output.ts; docs/vmm-platform.md §15):
// a Linux framebuffer device (fbdev), or a DRM card's dumb buffer on a CRTC, mapped into memory;
// and KVM's dirty log of the guest framebuffer's memory slot. Thin wrappers: which device, which
// pixels and when are the TypeScript side's.
// The DRM structures and ioctl numbers are the kernel's uapi (include/uapi/drm/drm.h and
// drm_mode.h), restated here because the build needs no libdrm headers.
#define _GNU_SOURCE
#include "args.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return r;
}

static void set_u32(napi_env env, napi_value o, const char *k, uint32_t v) {
  napi_value n;
  napi_create_uint32(env, v, &n);
  napi_set_named_property(env, o, k, n);
}

// ---- shared mappings of a device (the fbdev's memory, a DRM dumb buffer) ----
typedef struct {
  void *p;
  size_t len;
  int unmapped;
} shared_map_t;

static void shared_map_finalize(napi_env env, void *data, void *hint) {
  shared_map_t *m = hint;
  if (!m->unmapped) munmap(m->p, m->len);
  free(m);
}

// mmapShared(fd, length, offset) -> ArrayBuffer over MAP_SHARED, PROT_READ|PROT_WRITE memory of fd.
static napi_value mmap_shared(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint64_t len, off;
  if (!tendril_args_init(&a, env, info, "mmapShared") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_u64(&a, 1, "length", 1ULL << 32, &len) || !tendril_arg_u64(&a, 2, "offset", UINT64_MAX, &off))
    return NULL;
  if (len == 0) return tendril_throw_type(env, "mmapShared: length must be positive");
  void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
  if (p == MAP_FAILED) return tendril_throw_errno(env, "mmap", errno);
  shared_map_t *m = calloc(1, sizeof *m);
  if (!m) {
    munmap(p, (size_t)len);
    return tendril_throw_errno(env, "calloc", ENOMEM);
  }
  m->p = p;
  m->len = (size_t)len;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, (size_t)len, shared_map_finalize, m, &ab) != napi_ok) {
    shared_map_finalize(env, NULL, m);
    return tendril_throw_type(env, "napi_create_external_arraybuffer failed");
  }
  if (napi_wrap(env, ab, m, NULL, NULL, NULL) != napi_ok) return tendril_throw_type(env, "napi_wrap failed");
  return ab;
}

// munmapShared(arrayBuffer): detaches an mmapShared buffer and unmaps it now.
static napi_value munmap_shared(napi_env env, napi_callback_info info) {
  tendril_args a;
  void *data;
  size_t len;
  if (!tendril_args_init(&a, env, info, "munmapShared") || !tendril_arg_arraybuffer(&a, 0, "mem", false, &data, &len))
    return NULL;
  void *p = NULL;
  if (napi_unwrap(env, a.argv[0], &p) != napi_ok || !p)
    return tendril_throw_type(env, "munmapShared: not a buffer from mmapShared");
  shared_map_t *m = p;
  if (!m->unmapped) {
    m->unmapped = 1;
    napi_detach_arraybuffer(env, a.argv[0]);
    munmap(m->p, m->len);
  }
  return tendril_undefined(env);
}

// displayOpen(path) -> fd (O_RDWR, close-on-exec); displayClose(fd).
static napi_value display_open(napi_env env, napi_callback_info info) {
  tendril_args a;
  char *path;
  if (!tendril_args_init(&a, env, info, "displayOpen") || !tendril_arg_str(&a, 0, "path", false, &path, NULL))
    return NULL;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  int err = errno;
  free(path);
  if (fd < 0) return tendril_throw_errno(env, "open", err);
  return tendril_number(env, fd);
}

static napi_value display_close(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "displayClose") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  if (close(fd) < 0) return tendril_throw_errno(env, "close", errno);
  return tendril_undefined(env);
}

// ---- fbdev ----
// fbInfo(fd) -> FBIOGET_VSCREENINFO and FBIOGET_FSCREENINFO: the geometry and pixel layout.
static napi_value fb_info(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "fbInfo") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  struct fb_var_screeninfo v;
  struct fb_fix_screeninfo f;
  memset(&v, 0, sizeof v);
  memset(&f, 0, sizeof f);
  if (xioctl(fd, FBIOGET_VSCREENINFO, &v) < 0) return tendril_throw_errno(env, "FBIOGET_VSCREENINFO", errno);
  if (xioctl(fd, FBIOGET_FSCREENINFO, &f) < 0) return tendril_throw_errno(env, "FBIOGET_FSCREENINFO", errno);
  napi_value o, id;
  napi_create_object(env, &o);
  set_u32(env, o, "xres", v.xres);
  set_u32(env, o, "yres", v.yres);
  set_u32(env, o, "xresVirtual", v.xres_virtual);
  set_u32(env, o, "yresVirtual", v.yres_virtual);
  set_u32(env, o, "xoffset", v.xoffset);
  set_u32(env, o, "yoffset", v.yoffset);
  set_u32(env, o, "bitsPerPixel", v.bits_per_pixel);
  set_u32(env, o, "grayscale", v.grayscale);
  set_u32(env, o, "redOffset", v.red.offset);
  set_u32(env, o, "redLength", v.red.length);
  set_u32(env, o, "greenOffset", v.green.offset);
  set_u32(env, o, "greenLength", v.green.length);
  set_u32(env, o, "blueOffset", v.blue.offset);
  set_u32(env, o, "blueLength", v.blue.length);
  set_u32(env, o, "lineLength", f.line_length);
  set_u32(env, o, "smemLen", f.smem_len);
  set_u32(env, o, "visual", f.visual);
  set_u32(env, o, "type", f.type);
  char name[sizeof f.id + 1];
  memcpy(name, f.id, sizeof f.id);
  name[sizeof f.id] = 0;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &id);
  napi_set_named_property(env, o, "id", id);
  return o;
}

// ---- DRM (uapi restated) ----
#define DRM_IOCTL_BASE 'd'
#define DRM_IO(nr) _IO(DRM_IOCTL_BASE, nr)
#define DRM_IOWR(nr, type) _IOWR(DRM_IOCTL_BASE, nr, type)

struct t_drm_mode_modeinfo {
  uint32_t clock;
  uint16_t hdisplay, hsync_start, hsync_end, htotal, hskew;
  uint16_t vdisplay, vsync_start, vsync_end, vtotal, vscan;
  uint32_t vrefresh, flags, type;
  char name[32];
};
struct t_drm_mode_card_res {
  uint64_t fb_id_ptr, crtc_id_ptr, connector_id_ptr, encoder_id_ptr;
  uint32_t count_fbs, count_crtcs, count_connectors, count_encoders;
  uint32_t min_width, max_width, min_height, max_height;
};
struct t_drm_mode_crtc {
  uint64_t set_connectors_ptr;
  uint32_t count_connectors, crtc_id, fb_id, x, y, gamma_size, mode_valid;
  struct t_drm_mode_modeinfo mode;
};
struct t_drm_mode_get_encoder {
  uint32_t encoder_id, encoder_type, crtc_id, possible_crtcs, possible_clones;
};
struct t_drm_mode_get_connector {
  uint64_t encoders_ptr, modes_ptr, props_ptr, prop_values_ptr;
  uint32_t count_modes, count_props, count_encoders;
  uint32_t encoder_id, connector_id, connector_type, connector_type_id;
  uint32_t connection, mm_width, mm_height, subpixel, pad;
};
struct t_drm_mode_fb_cmd {
  uint32_t fb_id, width, height, pitch, bpp, depth, handle;
};
struct t_drm_mode_fb_dirty_cmd {
  uint32_t fb_id, flags, color, num_clips;
  uint64_t clips_ptr;
};
struct t_drm_mode_create_dumb {
  uint32_t height, width, bpp, flags, handle, pitch;
  uint64_t size;
};
struct t_drm_mode_map_dumb {
  uint32_t handle, pad;
  uint64_t offset;
};
struct t_drm_mode_destroy_dumb {
  uint32_t handle;
};
struct t_drm_clip_rect {
  unsigned short x1, y1, x2, y2;
};

#define T_DRM_IOCTL_SET_MASTER DRM_IO(0x1e)
#define T_DRM_IOCTL_DROP_MASTER DRM_IO(0x1f)
#define T_DRM_IOCTL_MODE_GETRESOURCES DRM_IOWR(0xA0, struct t_drm_mode_card_res)
#define T_DRM_IOCTL_MODE_GETCRTC DRM_IOWR(0xA1, struct t_drm_mode_crtc)
#define T_DRM_IOCTL_MODE_SETCRTC DRM_IOWR(0xA2, struct t_drm_mode_crtc)
#define T_DRM_IOCTL_MODE_GETENCODER DRM_IOWR(0xA6, struct t_drm_mode_get_encoder)
#define T_DRM_IOCTL_MODE_GETCONNECTOR DRM_IOWR(0xA7, struct t_drm_mode_get_connector)
#define T_DRM_IOCTL_MODE_ADDFB DRM_IOWR(0xAE, struct t_drm_mode_fb_cmd)
#define T_DRM_IOCTL_MODE_RMFB DRM_IOWR(0xAF, unsigned int)
#define T_DRM_IOCTL_MODE_DIRTYFB DRM_IOWR(0xB1, struct t_drm_mode_fb_dirty_cmd)
#define T_DRM_IOCTL_MODE_CREATE_DUMB DRM_IOWR(0xB2, struct t_drm_mode_create_dumb)
#define T_DRM_IOCTL_MODE_MAP_DUMB DRM_IOWR(0xB3, struct t_drm_mode_map_dumb)
#define T_DRM_IOCTL_MODE_DESTROY_DUMB DRM_IOWR(0xB4, struct t_drm_mode_destroy_dumb)
#define T_DRM_MODE_CONNECTED 1
#define T_DRM_MODE_TYPE_PREFERRED (1 << 3)
#define DRM_MAX_OBJECTS 64
#define DRM_MAX_MODES 256

// drmSetMaster(fd) / drmDropMaster(fd): DRM_IOCTL_SET_MASTER / DROP_MASTER.
static napi_value drm_set_master(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "drmSetMaster") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  if (xioctl(fd, T_DRM_IOCTL_SET_MASTER, NULL) < 0) return tendril_throw_errno(env, "DRM_IOCTL_SET_MASTER", errno);
  return tendril_undefined(env);
}

static napi_value drm_drop_master(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "drmDropMaster") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  if (xioctl(fd, T_DRM_IOCTL_DROP_MASTER, NULL) < 0)
    return tendril_throw_errno(env, "DRM_IOCTL_DROP_MASTER", errno);
  return tendril_undefined(env);
}

// One connected connector with modes, and the CRTC to drive it.
typedef struct {
  uint32_t connector, crtc;
  struct t_drm_mode_modeinfo mode;
} drm_pipe_t;

// 0 and *out filled; -1 with errno (ENODEV: nothing connected) and *what naming the ioctl.
static int drm_find_pipe(int fd, drm_pipe_t *out, const char **what) {
  struct t_drm_mode_card_res res;
  uint32_t crtcs[DRM_MAX_OBJECTS], conns[DRM_MAX_OBJECTS], encs[DRM_MAX_OBJECTS];
  memset(&res, 0, sizeof res);
  *what = "DRM_IOCTL_MODE_GETRESOURCES";
  if (xioctl(fd, T_DRM_IOCTL_MODE_GETRESOURCES, &res) < 0) return -1;
  if (res.count_crtcs > DRM_MAX_OBJECTS || res.count_connectors > DRM_MAX_OBJECTS ||
      res.count_encoders > DRM_MAX_OBJECTS) {
    errno = E2BIG;
    return -1;
  }
  res.count_fbs = 0;
  res.fb_id_ptr = 0;
  res.crtc_id_ptr = (uint64_t)(uintptr_t)crtcs;
  res.connector_id_ptr = (uint64_t)(uintptr_t)conns;
  res.encoder_id_ptr = (uint64_t)(uintptr_t)encs;
  uint32_t ncrtc = res.count_crtcs, nconn = res.count_connectors, nenc = res.count_encoders;
  if (xioctl(fd, T_DRM_IOCTL_MODE_GETRESOURCES, &res) < 0) return -1;
  if (res.count_crtcs < ncrtc) ncrtc = res.count_crtcs;
  if (res.count_connectors < nconn) nconn = res.count_connectors;
  if (res.count_encoders < nenc) nenc = res.count_encoders;
  for (uint32_t i = 0; i < nconn; i++) {
    struct t_drm_mode_get_connector c;
    struct t_drm_mode_modeinfo modes[DRM_MAX_MODES];
    uint32_t cencs[DRM_MAX_OBJECTS];
    memset(&c, 0, sizeof c);
    c.connector_id = conns[i];
    *what = "DRM_IOCTL_MODE_GETCONNECTOR";
    if (xioctl(fd, T_DRM_IOCTL_MODE_GETCONNECTOR, &c) < 0) return -1;  // probes the modes
    if (c.connection != T_DRM_MODE_CONNECTED || c.count_modes == 0) continue;
    uint32_t nm = c.count_modes < DRM_MAX_MODES ? c.count_modes : DRM_MAX_MODES;
    uint32_t ne = c.count_encoders < DRM_MAX_OBJECTS ? c.count_encoders : DRM_MAX_OBJECTS;
    memset(&c, 0, sizeof c);
    c.connector_id = conns[i];
    c.count_modes = nm;
    c.modes_ptr = (uint64_t)(uintptr_t)modes;
    c.count_encoders = ne;
    c.encoders_ptr = (uint64_t)(uintptr_t)cencs;
    if (xioctl(fd, T_DRM_IOCTL_MODE_GETCONNECTOR, &c) < 0) return -1;
    if (c.count_modes < nm) nm = c.count_modes;
    if (c.count_encoders < ne) ne = c.count_encoders;
    if (nm == 0) continue;
    out->mode = modes[0];
    for (uint32_t m = 0; m < nm; m++)
      if (modes[m].type & T_DRM_MODE_TYPE_PREFERRED) {
        out->mode = modes[m];
        break;
      }
    out->connector = conns[i];
    // The encoder in use, else the first that has a CRTC it can drive.
    *what = "DRM_IOCTL_MODE_GETENCODER";
    for (uint32_t e = 0; e <= ne; e++) {
      uint32_t id = e == 0 ? c.encoder_id : cencs[e - 1];
      if (!id) continue;
      struct t_drm_mode_get_encoder enc;
      memset(&enc, 0, sizeof enc);
      enc.encoder_id = id;
      if (xioctl(fd, T_DRM_IOCTL_MODE_GETENCODER, &enc) < 0) continue;
      if (e == 0 && enc.crtc_id) {
        out->crtc = enc.crtc_id;
        return 0;
      }
      for (uint32_t k = 0; k < ncrtc && k < 32; k++)
        if (enc.possible_crtcs & (1u << k)) {
          out->crtc = crtcs[k];
          return 0;
        }
    }
  }
  *what = "DRM: no connected connector with a mode and a CRTC";
  errno = ENODEV;
  return -1;
}

// drmModeset(fd) -> { width, height, pitch, size, mapOffset, handle, fbId, crtcId, connectorId,
// saved }: the first connected connector's preferred mode on a CRTC it can use, scanning out a new
// 32-bit XRGB8888 dumb buffer (zeroed by the kernel). `saved` holds the CRTC's previous state for
// drmRestore. Map the buffer with mmapShared(fd, size, mapOffset).
static napi_value drm_modeset(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  if (!tendril_args_init(&a, env, info, "drmModeset") || !tendril_arg_fd(&a, 0, "fd", &fd)) return NULL;
  drm_pipe_t p;
  memset(&p, 0, sizeof p);
  const char *what;
  if (drm_find_pipe(fd, &p, &what) < 0) return tendril_throw_errno(env, what, errno);
  struct t_drm_mode_crtc saved;
  memset(&saved, 0, sizeof saved);
  saved.crtc_id = p.crtc;
  if (xioctl(fd, T_DRM_IOCTL_MODE_GETCRTC, &saved) < 0)
    return tendril_throw_errno(env, "DRM_IOCTL_MODE_GETCRTC", errno);
  struct t_drm_mode_create_dumb cd;
  memset(&cd, 0, sizeof cd);
  cd.width = p.mode.hdisplay;
  cd.height = p.mode.vdisplay;
  cd.bpp = 32;
  if (xioctl(fd, T_DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0)
    return tendril_throw_errno(env, "DRM_IOCTL_MODE_CREATE_DUMB", errno);
  struct t_drm_mode_destroy_dumb dd = {.handle = cd.handle};
  struct t_drm_mode_fb_cmd fb;
  memset(&fb, 0, sizeof fb);
  fb.width = cd.width;
  fb.height = cd.height;
  fb.pitch = cd.pitch;
  fb.bpp = 32;
  fb.depth = 24;
  fb.handle = cd.handle;
  if (xioctl(fd, T_DRM_IOCTL_MODE_ADDFB, &fb) < 0) {
    int err = errno;
    xioctl(fd, T_DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
    return tendril_throw_errno(env, "DRM_IOCTL_MODE_ADDFB", err);
  }
  struct t_drm_mode_map_dumb md;
  memset(&md, 0, sizeof md);
  md.handle = cd.handle;
  struct t_drm_mode_crtc set;
  memset(&set, 0, sizeof set);
  set.crtc_id = p.crtc;
  set.fb_id = fb.fb_id;
  set.set_connectors_ptr = (uint64_t)(uintptr_t)&p.connector;
  set.count_connectors = 1;
  set.mode = p.mode;
  set.mode_valid = 1;
  const char *failed = NULL;
  if (xioctl(fd, T_DRM_IOCTL_MODE_MAP_DUMB, &md) < 0) failed = "DRM_IOCTL_MODE_MAP_DUMB";
  else if (xioctl(fd, T_DRM_IOCTL_MODE_SETCRTC, &set) < 0) failed = "DRM_IOCTL_MODE_SETCRTC";
  if (failed) {
    int err = errno;
    xioctl(fd, T_DRM_IOCTL_MODE_RMFB, &fb.fb_id);
    xioctl(fd, T_DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
    return tendril_throw_errno(env, failed, err);
  }
  napi_value o, buf;
  napi_create_object(env, &o);
  set_u32(env, o, "width", cd.width);
  set_u32(env, o, "height", cd.height);
  set_u32(env, o, "pitch", cd.pitch);
  napi_set_named_property(env, o, "size", tendril_number(env, (double)cd.size));
  napi_set_named_property(env, o, "mapOffset", tendril_number(env, (double)md.offset));
  set_u32(env, o, "handle", cd.handle);
  set_u32(env, o, "fbId", fb.fb_id);
  set_u32(env, o, "crtcId", p.crtc);
  set_u32(env, o, "connectorId", p.connector);
  void *copy;
  napi_create_buffer_copy(env, sizeof saved, &saved, &copy, &buf);
  napi_set_named_property(env, o, "saved", buf);
  return o;
}

// drmDirty(fd, fbId, y1, y2): DRM_IOCTL_MODE_DIRTYFB for rows y1..y2-1 (full width). Returns false
// when the driver has no dirty hook (ENOSYS): it scans the buffer out directly.
static napi_value drm_dirty(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t fb, y1, y2;
  if (!tendril_args_init(&a, env, info, "drmDirty") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_u32(&a, 1, "fbId", &fb) || !tendril_arg_u32(&a, 2, "y1", &y1) ||
      !tendril_arg_u32(&a, 3, "y2", &y2))
    return NULL;
  if (y1 >= y2 || y2 > 0xffff) return tendril_throw_type(env, "drmDirty: want y1 < y2 <= 65535");
  struct t_drm_clip_rect clip = {.x1 = 0, .y1 = (unsigned short)y1, .x2 = 0xffff, .y2 = (unsigned short)y2};
  struct t_drm_mode_fb_dirty_cmd d;
  memset(&d, 0, sizeof d);
  d.fb_id = fb;
  d.num_clips = 1;
  d.clips_ptr = (uint64_t)(uintptr_t)&clip;
  napi_value r;
  if (xioctl(fd, T_DRM_IOCTL_MODE_DIRTYFB, &d) < 0) {
    if (errno == ENOSYS) {
      napi_get_boolean(env, false, &r);
      return r;
    }
    return tendril_throw_errno(env, "DRM_IOCTL_MODE_DIRTYFB", errno);
  }
  napi_get_boolean(env, true, &r);
  return r;
}

// drmRestore(fd, saved, fbId, handle, connectorId): puts the CRTC back as drmModeset found it
// (when it had a mode) driving connectorId, removes the framebuffer and frees the dumb buffer. Best
// effort: returns the first failing ioctl's name, or null.
static napi_value drm_restore(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  void *data;
  size_t len;
  uint32_t fb, handle, connector;
  if (!tendril_args_init(&a, env, info, "drmRestore") || !tendril_arg_fd(&a, 0, "fd", &fd) ||
      !tendril_arg_bytes(&a, 1, "saved", &data, &len) || !tendril_arg_u32(&a, 2, "fbId", &fb) ||
      !tendril_arg_u32(&a, 3, "handle", &handle) || !tendril_arg_u32(&a, 4, "connectorId", &connector))
    return NULL;
  if (len != sizeof(struct t_drm_mode_crtc)) return tendril_throw_type(env, "drmRestore: saved is not from drmModeset");
  struct t_drm_mode_crtc s;
  memcpy(&s, data, sizeof s);
  const char *failed = NULL;
  if (s.mode_valid && s.fb_id) {
    // GETCRTC does not say which connectors the CRTC drove, and SETCRTC with a mode needs one:
    // the connector drmModeset took over.
    s.set_connectors_ptr = (uint64_t)(uintptr_t)&connector;
    s.count_connectors = 1;
    if (xioctl(fd, T_DRM_IOCTL_MODE_SETCRTC, &s) < 0) failed = "DRM_IOCTL_MODE_SETCRTC";
  }
  if (xioctl(fd, T_DRM_IOCTL_MODE_RMFB, &fb) < 0 && !failed) failed = "DRM_IOCTL_MODE_RMFB";
  struct t_drm_mode_destroy_dumb dd = {.handle = handle};
  if (xioctl(fd, T_DRM_IOCTL_MODE_DESTROY_DUMB, &dd) < 0 && !failed) failed = "DRM_IOCTL_MODE_DESTROY_DUMB";
  napi_value r;
  if (failed) napi_create_string_utf8(env, failed, NAPI_AUTO_LENGTH, &r);
  else napi_get_null(env, &r);
  return r;
}

// ---- KVM dirty log ----
// kvmGetDirtyLog(vmFd, slot, bitmap): KVM_GET_DIRTY_LOG into bitmap (one bit per 4 KiB page of
// the slot, a multiple of 8 bytes), which also clears the slot's log in the kernel.
static napi_value kvm_get_dirty_log(napi_env env, napi_callback_info info) {
  tendril_args a;
  int fd;
  uint32_t slot;
  void *data;
  size_t len;
  if (!tendril_args_init(&a, env, info, "kvmGetDirtyLog") || !tendril_arg_fd(&a, 0, "vmFd", &fd) ||
      !tendril_arg_u32(&a, 1, "slot", &slot) || !tendril_arg_arraybuffer(&a, 2, "bitmap", false, &data, &len))
    return NULL;
  if (len == 0 || len % 8) return tendril_throw_type(env, "kvmGetDirtyLog: bitmap must be a positive multiple of 8 bytes");
  struct kvm_dirty_log d;
  memset(&d, 0, sizeof d);
  d.slot = slot;
  d.dirty_bitmap = data;
  if (xioctl(fd, KVM_GET_DIRTY_LOG, &d) < 0) return tendril_throw_errno(env, "KVM_GET_DIRTY_LOG", errno);
  return tendril_undefined(env);
}

static napi_value display_constants(napi_env env, napi_callback_info info) {
  napi_value o;
  napi_create_object(env, &o);
  set_u32(env, o, "memLogDirtyPages", KVM_MEM_LOG_DIRTY_PAGES);
  set_u32(env, o, "fbTypePackedPixels", FB_TYPE_PACKED_PIXELS);
  set_u32(env, o, "fbVisualTruecolor", FB_VISUAL_TRUECOLOR);
  set_u32(env, o, "fbVisualDirectcolor", FB_VISUAL_DIRECTCOLOR);
  return o;
}

void tendril_register_display(napi_env env, napi_value exports) {
  tendril_export(env, exports, "mmapShared", mmap_shared);
  tendril_export(env, exports, "munmapShared", munmap_shared);
  tendril_export(env, exports, "displayOpen", display_open);
  tendril_export(env, exports, "displayClose", display_close);
  tendril_export(env, exports, "fbInfo", fb_info);
  tendril_export(env, exports, "drmSetMaster", drm_set_master);
  tendril_export(env, exports, "drmDropMaster", drm_drop_master);
  tendril_export(env, exports, "drmModeset", drm_modeset);
  tendril_export(env, exports, "drmDirty", drm_dirty);
  tendril_export(env, exports, "drmRestore", drm_restore);
  tendril_export(env, exports, "kvmGetDirtyLog", kvm_get_dirty_log);
  tendril_export(env, exports, "displayConstants", display_constants);
}
