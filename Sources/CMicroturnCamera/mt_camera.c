#include "mt_camera.h"

#include <errno.h>
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

enum { BUFFERS = 4 };

struct mt_camera {
    int fd;
    int width, height, stride, pixel_bytes, fps_num, fps_den;
    char fourcc[5], source[5];
    void *start[BUFFERS];
    size_t length[BUFFERS];
    int buffers;
    int streaming;
};

static int xioctl(int fd, unsigned long request, void *arg) {
    int r;
    do { r = v4l2_ioctl(fd, request, arg); } while (r == -1 && errno == EINTR);
    return r == -1 ? -errno : 0;
}

int mt_camera_identify(const char *path, mt_camera_identity *identity) {
    memset(identity, 0, sizeof *identity);
    int fd = open(path, O_RDWR | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    int r = ioctl(fd, VIDIOC_QUERYCAP, &cap) == -1 ? -errno : 0;
    close(fd);
    if (r < 0) return r;
    snprintf(identity->driver, sizeof identity->driver, "%s", (const char *)cap.driver);
    snprintf(identity->card, sizeof identity->card, "%s", (const char *)cap.card);
    snprintf(identity->bus, sizeof identity->bus, "%s", (const char *)cap.bus_info);
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    identity->can_capture = (caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_STREAMING);
    return 0;
}

static void fourcc_text(uint32_t f, char out[5]) {
    for (int i = 0; i < 4; i++) out[i] = (char)((f >> (8 * i)) & 0xFF);
    out[4] = 0;
}

static void add_mode(mt_camera_mode *m, uint32_t format, int width, int height, int fps_numerator, int fps_denominator) {
    fourcc_text(format, m->fourcc);
    m->width = width;
    m->height = height;
    m->fps_numerator = fps_numerator;
    m->fps_denominator = fps_denominator;
}

int mt_camera_modes(const char *path, mt_camera_mode *modes, int capacity) {
    int fd = open(path, O_RDWR | O_NONBLOCK);
    if (fd < 0) return -errno;
    int n = 0;
    struct v4l2_fmtdesc desc;
    memset(&desc, 0, sizeof desc);
    desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    for (desc.index = 0; n < capacity && ioctl(fd, VIDIOC_ENUM_FMT, &desc) == 0; desc.index++) {
        struct v4l2_frmsizeenum size;
        memset(&size, 0, sizeof size);
        size.pixel_format = desc.pixelformat;
        for (size.index = 0; n < capacity && ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &size) == 0; size.index++) {
            int w = size.type == V4L2_FRMSIZE_TYPE_DISCRETE ? (int)size.discrete.width : (int)size.stepwise.max_width;
            int h = size.type == V4L2_FRMSIZE_TYPE_DISCRETE ? (int)size.discrete.height : (int)size.stepwise.max_height;
            struct v4l2_frmivalenum ival;
            memset(&ival, 0, sizeof ival);
            ival.pixel_format = desc.pixelformat;
            ival.width = (uint32_t)w;
            ival.height = (uint32_t)h;
            int intervals = 0;
            for (ival.index = 0; n < capacity && ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &ival) == 0; ival.index++) {
                struct v4l2_fract f = ival.type == V4L2_FRMIVAL_TYPE_DISCRETE ? ival.discrete : ival.stepwise.min;
                add_mode(&modes[n++], desc.pixelformat, w, h, (int)f.denominator, (int)f.numerator);
                intervals++;
                if (ival.type != V4L2_FRMIVAL_TYPE_DISCRETE) break;
            }
            if (intervals == 0 && n < capacity) add_mode(&modes[n++], desc.pixelformat, w, h, 0, 0);
            if (size.type != V4L2_FRMSIZE_TYPE_DISCRETE) break;
        }
    }
    close(fd);
    return n;
}

static int fail(mt_camera *c, int code, char *error, size_t size, const char *what) {
    snprintf(error, size, "%s (%s)", what, strerror(-code));
    mt_camera_close(c);
    return code;
}

int mt_camera_open(const char *path, int width, int height, int fps, int rgb, mt_camera **camera, char *error, size_t error_size) {
    *camera = NULL;
    mt_camera *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    c->fd = v4l2_open(path, O_RDWR | O_NONBLOCK, 0);
    if (c->fd < 0) {
        int code = -errno;
        free(c);
        snprintf(error, error_size, "cannot open it (%s)", strerror(-code));
        return code;
    }
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    int r = xioctl(c->fd, VIDIOC_QUERYCAP, &cap);
    if (r < 0) return fail(c, r, error, error_size, "not a V4L2 device");
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
        return fail(c, -ENOTSUP, error, error_size, "it does not capture video by streaming");
    }
    // Planar YUV 4:2:0 (the first plane is grey) or packed RGB from whatever the camera sends:
    // libv4l2 converts.
    uint32_t wanted = rgb ? V4L2_PIX_FMT_RGB24 : V4L2_PIX_FMT_YUV420;
    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = (uint32_t)width;
    fmt.fmt.pix.height = (uint32_t)height;
    fmt.fmt.pix.pixelformat = wanted;
    fmt.fmt.pix.field = V4L2_FIELD_ANY;
    r = xioctl(c->fd, VIDIOC_S_FMT, &fmt);
    if (r < 0) return fail(c, r, error, error_size, "cannot set a format");
    if (fmt.fmt.pix.pixelformat != wanted) return fail(c, -EINVAL, error, error_size, "libv4l2 cannot deliver the format asked for");
    c->width = (int)fmt.fmt.pix.width;
    c->height = (int)fmt.fmt.pix.height;
    c->pixel_bytes = rgb ? 3 : 1;
    c->stride = fmt.fmt.pix.bytesperline ? (int)fmt.fmt.pix.bytesperline : c->width * c->pixel_bytes;
    fourcc_text(fmt.fmt.pix.pixelformat, c->fourcc);
    // The camera's own format: the plain ioctl goes past libv4l2 to the driver.
    struct v4l2_format own;
    memset(&own, 0, sizeof own);
    own.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (ioctl(c->fd, VIDIOC_G_FMT, &own) == 0) fourcc_text(own.fmt.pix.pixelformat, c->source);
    else memcpy(c->source, c->fourcc, 5);
    // The frame rate (cameras that cannot set it keep theirs).
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    parm.parm.capture.timeperframe.numerator = 1;
    parm.parm.capture.timeperframe.denominator = (uint32_t)(fps > 0 ? fps : 30);
    xioctl(c->fd, VIDIOC_S_PARM, &parm);
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c->fd, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator > 0) {
        c->fps_num = (int)parm.parm.capture.timeperframe.denominator;
        c->fps_den = (int)parm.parm.capture.timeperframe.numerator;
    } else {
        c->fps_num = fps;
        c->fps_den = 1;
    }
    struct v4l2_requestbuffers req;
    memset(&req, 0, sizeof req);
    req.count = BUFFERS;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    r = xioctl(c->fd, VIDIOC_REQBUFS, &req);
    if (r < 0) return fail(c, r, error, error_size, "cannot get streaming buffers");
    if (req.count < 2) return fail(c, -ENOMEM, error, error_size, "too few streaming buffers");
    for (uint32_t i = 0; i < req.count && i < BUFFERS; i++) {
        struct v4l2_buffer buf;
        memset(&buf, 0, sizeof buf);
        buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        buf.memory = V4L2_MEMORY_MMAP;
        buf.index = i;
        r = xioctl(c->fd, VIDIOC_QUERYBUF, &buf);
        if (r < 0) return fail(c, r, error, error_size, "cannot query a buffer");
        c->start[i] = v4l2_mmap(NULL, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, buf.m.offset);
        if (c->start[i] == MAP_FAILED) {
            c->start[i] = NULL;
            return fail(c, -errno, error, error_size, "cannot map a buffer");
        }
        c->length[i] = buf.length;
        c->buffers = (int)i + 1;
        r = xioctl(c->fd, VIDIOC_QBUF, &buf);
        if (r < 0) return fail(c, r, error, error_size, "cannot queue a buffer");
    }
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    r = xioctl(c->fd, VIDIOC_STREAMON, &type);
    if (r < 0) return fail(c, r, error, error_size, "cannot start streaming");
    c->streaming = 1;
    *camera = c;
    return 0;
}

void mt_camera_format(const mt_camera *c, int *width, int *height, int *fps_numerator, int *fps_denominator,
                      char delivered[5], char source[5]) {
    *width = c->width;
    *height = c->height;
    *fps_numerator = c->fps_num;
    *fps_denominator = c->fps_den;
    memcpy(delivered, c->fourcc, 5);
    memcpy(source, c->source, 5);
}

int mt_camera_read(mt_camera *c, uint8_t *pixels, int timeout_ms, double *timestamp, uint32_t *sequence) {
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    if (ready == 0) return 0;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return -ENODEV;
    struct v4l2_buffer buf;
    memset(&buf, 0, sizeof buf);
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    int r = xioctl(c->fd, VIDIOC_DQBUF, &buf);
    if (r == -EAGAIN) return 0;
    if (r < 0) return r;
    if (buf.index >= (uint32_t)c->buffers) return -EIO;
    *sequence = buf.sequence;
    if (buf.flags & V4L2_BUF_FLAG_ERROR) {  // corrupt (a bad transfer): give it back unread
        r = xioctl(c->fd, VIDIOC_QBUF, &buf);
        return r < 0 ? r : 2;
    }
    const uint8_t *src = c->start[buf.index];
    size_t row = (size_t)c->width * (size_t)c->pixel_bytes;
    size_t need = (size_t)c->stride * (size_t)(c->height - 1) + row;
    if (c->length[buf.index] < need) {  // a buffer smaller than its picture: give it back, report
        xioctl(c->fd, VIDIOC_QBUF, &buf);
        return -EIO;
    }
    for (int y = 0; y < c->height; y++) memcpy(pixels + (size_t)y * row, src + (size_t)y * c->stride, row);
    *timestamp = (double)buf.timestamp.tv_sec + (double)buf.timestamp.tv_usec / 1e6;
    r = xioctl(c->fd, VIDIOC_QBUF, &buf);
    return r < 0 ? r : 1;
}

void mt_camera_close(mt_camera *c) {
    if (!c) return;
    if (c->streaming) {
        enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(c->fd, VIDIOC_STREAMOFF, &type);
    }
    for (int i = 0; i < c->buffers; i++) {
        if (c->start[i]) v4l2_munmap(c->start[i], c->length[i]);
    }
    if (c->fd >= 0) v4l2_close(c->fd);
    free(c);
}
