// V4L2 capture through libv4l2, which converts whatever the camera sends (YUYV, MJPEG, ...) into
// the format asked for: planar YUV 4:2:0, whose first plane is the grey picture, or packed RGB.
// In C because libv4l2's calls are variadic and the VIDIOC_* request numbers are macros Swift
// cannot import.
#ifndef MT_CAMERA_H
#define MT_CAMERA_H

#include <stddef.h>
#include <stdint.h>

typedef struct mt_camera mt_camera;

/// What a device says it is (VIDIOC_QUERYCAP), for finding the camera a board profile names.
typedef struct {
    char driver[32];
    char card[64];
    char bus[64];
    int can_capture;  // video capture and streaming
} mt_camera_identity;

/// Fills `identity` for the device at `path`; 0, or -errno.
int mt_camera_identify(const char *path, mt_camera_identity *identity);

/// One way the camera can stream: its own pixel format, a frame size, and a frame rate
/// (numerator/denominator frames per second; 0/0 when the camera does not say).
typedef struct {
    char fourcc[5];
    int width, height;
    int fps_numerator, fps_denominator;
} mt_camera_mode;

/// Up to `capacity` of the modes the device at `path` offers (formats x discrete sizes x discrete
/// intervals; stepwise ranges give their largest size); the count, or -errno.
int mt_camera_modes(const char *path, mt_camera_mode *modes, int capacity);

/// Opens `path` and streams `width` x `height` at `fps` (or the nearest the device offers), with
/// four memory-mapped buffers, delivering grey pictures (`rgb` 0: one byte a pixel) or colour
/// ones (`rgb` 1: red, green, blue bytes a pixel). 0 and *camera set, or -errno with a message
/// in `error`.
int mt_camera_open(const char *path, int width, int height, int fps, int rgb, mt_camera **camera, char *error, size_t error_size);

/// The size and frame rate agreed, the format delivered (four letters: YU12 or RGB3) and the
/// camera's own (what libv4l2 converts from; the same when the camera sends the delivered one).
void mt_camera_format(const mt_camera *camera, int *width, int *height, int *fps_numerator, int *fps_denominator,
                      char delivered[5], char source[5]);

/// Waits up to `timeout_ms` for a frame and copies its picture (width x height pixels of one or
/// three bytes) into `pixels`, with its capture time (seconds, monotonic clock) and sequence
/// number. 1: a frame; 2: a frame the driver marked corrupt, given back unread (its sequence
/// number set); 0: none in time; -errno: the device failed (ENODEV: it is gone).
int mt_camera_read(mt_camera *camera, uint8_t *pixels, int timeout_ms, double *timestamp, uint32_t *sequence);

/// Stops streaming and closes (safe on a camera that failed).
void mt_camera_close(mt_camera *camera);

#endif
