#!/usr/bin/env bash
# Plays a clip out of vivid's HDMI output on the virtual board and counts its repetitions on vivid's
# HDMI input, looped back in the driver (the way a board's camera path is exercised end to end:
# V4L2 output, the kernel's loopback, V4L2 capture, libv4l2's conversion, the counter at the
# camera's rate). Prints what `microturn reps --camera` printed and, when the clip has
# make-clips.py's ground truth beside it (CLIP.json), the truth.
#   tools/virtual-board/hdmi-loop.sh CLIP.y4m [extra microturn reps arguments]
#   python3 tools/make-clips.py --out /tmp/c --exercise squat --reps 8 --period 1.8 --sets 2 --seed 3 && \
#     tools/virtual-board/hdmi-loop.sh /tmp/c/clip-000.y4m
# Both ends run 640x480 at 59.94 frames a second (CEA/DMT timings index 0), YU12 (the format the
# counter's camera asks libv4l2 for, so the driver can loop it); each frame of a 30 fps clip goes
# out twice. The frames reach the board on a raw disk (run.sh's DISK), 0.9 MB a clip frame.
# vivid draws its on-screen display over what it captures (a timecode that changes every frame,
# the controls' values), at the capture's size: at the counter's 320x240 its text covers the top
# half of the picture, and a small movement there (a curl's arms) is hidden. OSD=0 (its default)
# keeps it, OSD=1 the counters only, OSD=2 none.
# Needs numpy (tools/setup.sh --tests) and the board (tools/virtual-board/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
clip=${1:?usage: tools/virtual-board/hdmi-loop.sh CLIP.y4m [microturn reps arguments]}
shift
[ -f "$clip" ] || { echo "hdmi-loop: no clip $clip" >&2; exit 66; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The clip, each frame scaled to 640x480 (nearest) as YU12 with neutral chroma, repeated to the
# output's 59.94 fps; prints the frame count and the seconds it lasts.
read -r frames seconds < <(python3 - "$clip" "$work/frames.img" <<'PY'
import sys
import numpy as np
path, out = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    header = f.readline().split()
    if not header or header[0] != b"YUV4MPEG2":
        sys.exit(f"hdmi-loop: {path} is not a YUV4MPEG2 file")
    tags = {h[:1]: h[1:] for h in header[1:]}
    width, height = int(tags[b"W"]), int(tags[b"H"])
    num, den = (int(v) for v in tags.get(b"F", b"30:1").split(b":"))
    chroma = tags.get(b"C", b"420jpeg")
    extra = 0 if chroma.startswith(b"mono") else (width * height if chroma.startswith(b"444") else width * height // 2)
    repeat = max(1, round(59.94 * den / num))
    neutral = np.full(640 * 480 // 2, 128, dtype=np.uint8).tobytes()
    ys = (np.arange(480) * height // 480)[:, None]
    xs = (np.arange(640) * width // 640)[None, :]
    count = 0
    with open(out, "wb") as o:
        while f.readline():
            luma = np.frombuffer(f.read(width * height), dtype=np.uint8)
            if luma.size < width * height:
                break
            f.read(extra)
            frame = luma.reshape(height, width)[ys, xs].tobytes() + neutral
            for _ in range(repeat):
                o.write(frame)
            count += repeat
print(count, f"{count / 59.94:.1f}")
PY
)
[ "$frames" -gt 0 ] || { echo "hdmi-loop: no frames in $clip" >&2; exit 65; }
# Output 1 and input 3 are vivid's HDMI ones; the loop needs the same timings, size, format and
# field at both ends, and loop_video on the capture side.
BEFORE="{ v4l2-ctl -d /dev/video1 -o 1 && v4l2-ctl -d /dev/video0 -i 3 &&
v4l2-ctl -d /dev/video1 --set-dv-bt-timings index=0 && v4l2-ctl -d /dev/video0 --set-dv-bt-timings index=0 &&
v4l2-ctl -d /dev/video1 -x width=640,height=480,pixelformat=YU12 && v4l2-ctl -d /dev/video0 -v width=640,height=480,pixelformat=YU12 &&
v4l2-ctl -d /dev/video0 -c loop_video=1 -c osd_text_mode=${OSD:-0}; } > /dev/null || echo 'hdmi-loop: vivid did not take the loopback set-up'" \
BESIDE="v4l2-ctl -d /dev/video1 --stream-out-mmap --stream-from=/dev/vda --stream-count=$frames > /dev/null 2>&1" \
DISK="$work/frames.img" tools/virtual-board/run.sh reps --camera /dev/video0 --duration "$(awk -v s="$seconds" 'BEGIN { print int(s + 3) }')" "$@"
truth=${clip%.y4m}.json
if [ -f "$truth" ]; then
  python3 - "$truth" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
print(f"truth: {t['total']} repetitions ({t['exercise']}, {'+'.join(t['nuisances']) or 'clean'})")
PY
fi
