#!/usr/bin/env python3
"""Synthetic exercise clips with ground truth, for the repetition counter's tests and bench.

  tools/make-clips.py --out DIR [--count 24] [--seed 1] [--width 160 --height 120 --fps 30]
  tools/make-clips.py --out DIR --cases hard [--count 30] [--seed 2]
  tools/make-clips.py --out DIR --exercise squat --reps 8 --period 2.0 [--nuisance shake,noise]

Each clip is DIR/clip-NNN.y4m (YUV4MPEG2, Cmono: the counter reads grey) and DIR/clip-NNN.json:
the exercise, frame rate, every repetition (start/end seconds, full or partial: partial ones must
not be counted), the sets, the total, and the nuisances applied. An articulated figure (head,
torso, upper and lower arms and legs, drawn as thick limbs) does squats, push-ups, jumping jacks
or curls with a period of 1-4 s that drifts within a clip, amplitude that varies per rep, pauses
between sets and the occasional half-done rep; nuisances are sensor noise, a lighting drift,
camera shake and a second thing moving in the background (smaller than the person).

The hard cases (--cases hard) are what the first counter failed on: small movements (curls and
shoulder presses, and any exercise done far from the camera, a third of the height), a second
person of the same size walking back and forth with swinging arms, and an on-screen display (a
clock whose digits change every second and a scrolling ticker) over a quarter of the picture.
Each clip has one of them (and noise); every exercise meets every case. Tune on one seed, report
on another.

Needs numpy (tools/setup.sh --tests installs it).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

EXERCISES = ["squat", "pushup", "jumpingjack", "curl", "press"]
NUISANCES = ["noise", "lighting", "shake", "distractor", "far", "person", "display"]
HARD = ["far", "person", "display"]


def pose(exercise, depth):
    """Joint positions (x, y in figure units, y down; figure ~1.0 tall) at movement depth 0..1."""
    d = depth
    if exercise == "squat":  # the upper body lowers as the knees bend; arms come forward
        down = 0.22 * d
        knee = (0.08 + 0.12 * d, 0.75 + 0.02 * d)
        return dict(head=(0, 0.08 + down), neck=(0, 0.16 + down), hip=(0, 0.55 + down),
                    lknee=(-knee[0], knee[1]), rknee=(knee[0], knee[1]), lfoot=(-0.08, 1.0), rfoot=(0.08, 1.0),
                    lelbow=(-0.12 + 0.04 * d, 0.3 + down - 0.05 * d), relbow=(0.12 - 0.04 * d, 0.3 + down - 0.05 * d),
                    lhand=(-0.1 + 0.06 * d, 0.42 + down - 0.2 * d), rhand=(0.1 - 0.06 * d, 0.42 + down - 0.2 * d))
    if exercise == "pushup":
        body_y = 0.7 + 0.18 * d  # the whole body lowers, hands stay on the floor
        return dict(head=(-0.55, body_y - 0.05), neck=(-0.45, body_y), hip=(0.1, body_y + 0.04),
                    lknee=(0.3, body_y + 0.08), rknee=(0.3, body_y + 0.08), lfoot=(0.5, 1.0), rfoot=(0.5, 1.0),
                    lelbow=(-0.45 + 0.12 * d, body_y + 0.12 - 0.04 * d), relbow=(-0.45 + 0.12 * d, body_y + 0.12 - 0.04 * d),
                    lhand=(-0.45, 1.0), rhand=(-0.45, 1.0))
    if exercise == "jumpingjack":
        spread = d
        return dict(head=(0, 0.08 - 0.03 * d), neck=(0, 0.16 - 0.03 * d), hip=(0, 0.55 - 0.03 * d),
                    lknee=(-0.06 - 0.1 * spread, 0.77), rknee=(0.06 + 0.1 * spread, 0.77),
                    lfoot=(-0.07 - 0.2 * spread, 1.0), rfoot=(0.07 + 0.2 * spread, 1.0),
                    lelbow=(-0.14 - 0.12 * spread, 0.3 - 0.25 * spread), relbow=(0.14 + 0.12 * spread, 0.3 - 0.25 * spread),
                    lhand=(-0.15 - 0.15 * spread, 0.45 - 0.55 * spread), rhand=(0.15 + 0.15 * spread, 0.45 - 0.55 * spread))
    if exercise == "press":  # shoulder press: hands from the shoulders to overhead, elbows out
        return dict(head=(0, 0.08), neck=(0, 0.16), hip=(0, 0.55), lknee=(-0.07, 0.77), rknee=(0.07, 0.77),
                    lfoot=(-0.08, 1.0), rfoot=(0.08, 1.0),
                    lelbow=(-0.2 + 0.04 * d, 0.24 - 0.16 * d), relbow=(0.2 - 0.04 * d, 0.24 - 0.16 * d),
                    lhand=(-0.16 + 0.06 * d, 0.1 - 0.22 * d), rhand=(0.16 - 0.06 * d, 0.1 - 0.22 * d))
    # curl: both forearms swing up about the elbows
    angle = math.pi * 0.85 * d
    ex, ey = 0.13, 0.34
    hx, hy = 0.02 * math.sin(angle), 0.16 * math.cos(angle)
    return dict(head=(0, 0.08), neck=(0, 0.16), hip=(0, 0.55), lknee=(-0.07, 0.77), rknee=(0.07, 0.77),
                lfoot=(-0.08, 1.0), rfoot=(0.08, 1.0), lelbow=(-ex, ey), relbow=(ex, ey),
                lhand=(-ex - hx, ey + hy), rhand=(ex + hx, ey + hy))


LIMBS = [("neck", "hip", 0.07), ("neck", "lelbow", 0.035), ("neck", "relbow", 0.035), ("lelbow", "lhand", 0.03),
         ("relbow", "rhand", 0.03), ("hip", "lknee", 0.045), ("hip", "rknee", 0.045), ("lknee", "lfoot", 0.04),
         ("rknee", "rfoot", 0.04)]


def walker(time, stride, phase0):
    """A person walking: legs and arms swing with each step (a gait of about 1 s per stride)."""
    a = 0.5 * math.sin(2 * math.pi * time / stride + phase0)
    return dict(head=(0, 0.08), neck=(0, 0.16), hip=(0, 0.55),
                lknee=(-0.1 * a, 0.77), rknee=(0.1 * a, 0.77), lfoot=(-0.2 * a, 1.0), rfoot=(0.2 * a, 1.0),
                lelbow=(0.08 * a, 0.33), relbow=(-0.08 * a, 0.33), lhand=(0.16 * a, 0.48), rhand=(-0.16 * a, 0.48))


def display(canvas, time, seed, shade):
    """An on-screen display over the top-right quarter: a clock (its digits change each second) and a ticker."""
    h, w = canvas.shape
    y0, x0 = 0, w - w // 2
    panel = canvas[y0:y0 + h // 2, x0:]
    panel[:] = 30
    ph, pw = panel.shape
    digits = np.random.default_rng(seed * 100003 + int(time)).random((3, 8)) < 0.5
    cell_h, cell_w = max(1, ph * 2 // 3 // 3), max(1, pw // 8)
    for r in range(3):
        for c in range(8):
            if digits[r, c]:
                panel[r * cell_h:(r + 1) * cell_h - 1, c * cell_w:(c + 1) * cell_w - 1] = shade
    band = panel[ph * 3 // 4:, :]
    xs = np.arange(pw)
    band[:, ((xs + int(time * pw / 3.0)) // max(1, pw // 12)) % 2 == 0] = 0.8 * shade


def draw(canvas, joints, cx, cy, scale, shade):
    h, w = canvas.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    P = {k: (cx + v[0] * scale, cy + v[1] * scale) for k, v in joints.items()}
    for a, b, thick in LIMBS:
        (x0, y0), (x1, y1) = P[a], P[b]
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
        dist = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
        canvas[dist <= thick * scale] = shade
    hx, hy = P["head"]
    canvas[np.hypot(xs - hx, ys - hy) <= 0.075 * scale] = shade


def plan(rng, exercise, reps, period, sets):
    """Repetition times: (start, end, depth, counted) and the set boundaries."""
    t, out, set_spans = 1.0 + rng.uniform(0, 1.0), [], []
    per_set = [reps // sets + (1 if i < reps % sets else 0) for i in range(sets)]
    p = period
    for s, n in enumerate(per_set):
        start = t
        for _ in range(n):
            p = min(4.0, max(1.0, p * rng.uniform(0.9, 1.1)))  # speed drifts
            depth = rng.uniform(0.7, 1.0)
            out.append((t, t + p, depth, True))
            t += p
            if rng.uniform() < 0.12:  # a half-done rep: not counted
                hp = p * 0.6
                out.append((t, t + hp, rng.uniform(0.2, 0.35), False))
                t += hp
        set_spans.append((start, t))
        if s < sets - 1:
            t += rng.uniform(3.0, 6.0)
    return out, set_spans, t + 1.0 + rng.uniform(0, 1.0)


def depth_at(reps, time):
    for start, end, depth, _ in reps:
        if start <= time < end:
            phase = (time - start) / (end - start)
            return depth * 0.5 * (1 - math.cos(2 * math.pi * phase))
    return 0.0


def make_clip(path_base, rng, exercise, reps_n, period, sets, nuisances, width, height, fps):
    reps, set_spans, duration = plan(rng, exercise, reps_n, period, sets)
    frames = int(duration * fps)
    background = (rng.uniform(60, 110) + 12 * rng.standard_normal((height, width))).astype(np.float32)
    background = np.clip(background, 0, 255)
    scale = height * (0.55 if exercise == "pushup" else 0.78)
    cx = width * (0.55 if exercise == "pushup" else 0.5)
    cy = height * (0.15 if exercise != "pushup" else -0.05)
    if "far" in nuisances:  # a third of the height, off to one side: small movements
        scale *= 0.4
        cx = width * (0.25 if exercise != "pushup" else 0.3)
        cy = height * (0.5 if exercise != "pushup" else 0.35)
    if "display" in nuisances:  # beside the display, which it must not hide behind
        cx = width * 0.32
    shade = rng.uniform(170, 230)
    if "person" in nuisances:
        stride, phase0, lap = rng.uniform(0.9, 1.3), rng.uniform(0, 2 * math.pi), rng.uniform(6.0, 10.0)
    if "display" in nuisances:
        display_seed = int(rng.integers(1 << 30))
    with open(path_base + ".y4m", "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 Cmono\n".encode())
        for i in range(frames):
            time = i / fps
            canvas = background.copy()
            if "distractor" in nuisances:  # a smaller thing crossing the background, slowly
                dx = (time * width / 12.0) % (width * 1.4) - 0.2 * width
                dy = height * 0.25 + 6 * math.sin(time * 1.3)
                ys, xs = np.mgrid[0:height, 0:width]
                canvas[np.hypot(xs - dx, ys - dy) <= height * 0.07] = 150
            if "person" in nuisances:  # as big as the exerciser, walking back and forth behind
                u = (time / lap) % 2.0
                wx = width * (0.1 + 0.8 * (u if u < 1 else 2 - u))
                draw(canvas, walker(time, stride, phase0), wx, height * 0.15, height * 0.78, 130)
            joints = pose(exercise, depth_at(reps, time))
            ox, oy = 0.0, 0.0
            if "shake" in nuisances:
                ox, oy = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)
            draw(canvas, joints, cx + ox, cy + oy, scale, shade)
            if "display" in nuisances:
                display(canvas, time, display_seed, 220)
            if "lighting" in nuisances:
                canvas *= 1.0 + 0.25 * math.sin(2 * math.pi * time / 20.0)
            if "noise" in nuisances:
                canvas += 6 * rng.standard_normal(canvas.shape)
            f.write(b"FRAME\n")
            f.write(np.clip(canvas, 0, 255).astype(np.uint8).tobytes())
    truth = dict(exercise=exercise, fps=fps, width=width, height=height, frames=frames,
                 reps=[dict(start=round(s, 3), end=round(e, 3), counted=c) for s, e, _, c in reps],
                 sets=[dict(start=round(s, 3), end=round(e, 3)) for s, e in set_spans],
                 total=sum(1 for r in reps if r[3]), nuisances=sorted(nuisances))
    with open(path_base + ".json", "w") as f:
        json.dump(truth, f, indent=1)
    return truth


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=24)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--width", type=int, default=160)
    p.add_argument("--height", type=int, default=120)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--exercise", choices=EXERCISES, help="one clip of this exercise (with --reps, --period)")
    p.add_argument("--reps", type=int, default=8)
    p.add_argument("--period", type=float, default=2.0)
    p.add_argument("--sets", type=int, default=1)
    p.add_argument("--nuisance", default="", help="comma-separated: " + ", ".join(NUISANCES))
    p.add_argument("--cases", choices=["classic", "hard"], default="classic",
                   help="classic: the first four exercises, one nuisance of the first four each; hard: " + ", ".join(HARD))
    a = p.parse_args()
    if a.width < 32 or a.height < 24 or a.fps < 5:
        sys.exit("make-clips.py: the smallest clip is 32x24 at 5 fps")
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    if a.exercise:
        nuisances = [n for n in a.nuisance.split(",") if n]
        bad = [n for n in nuisances if n not in NUISANCES]
        if bad:
            sys.exit(f"make-clips.py: unknown nuisance {bad[0]} (there are {', '.join(NUISANCES)})")
        t = make_clip(os.path.join(a.out, "clip-000"), rng, a.exercise, a.reps, a.period, a.sets, nuisances, a.width, a.height, a.fps)
        print(f"{a.out}/clip-000: {t['exercise']}, {t['total']} reps, {t['frames']} frames", file=sys.stderr)
        return
    for i in range(a.count):
        if a.cases == "hard":
            exercise = EXERCISES[(i // len(HARD)) % len(EXERCISES)]
            nuisances = [HARD[i % len(HARD)], "noise"]
        else:
            exercise = EXERCISES[i % 4]
            nuisances = [NUISANCES[(i // 4) % 4]] if i >= 4 else []
        t = make_clip(os.path.join(a.out, f"clip-{i:03d}"), rng, exercise, int(rng.integers(6, 16)), float(rng.uniform(1.0, 4.0)),
                      int(rng.integers(1, 3)), nuisances, a.width, a.height, a.fps)
        print(f"{a.out}/clip-{i:03d}: {exercise}, {t['total']} reps, {t['frames']} frames, {','.join(nuisances) or 'clean'}", file=sys.stderr)


if __name__ == "__main__":
    main()
