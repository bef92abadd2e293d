#!/usr/bin/env python3
"""Pipecat's turn stack as a peer for `microturn bench turns --pipecat`.

Runs the pipecat-ai wheel's own classes (Silero VAD, then Smart Turn v3.2 through onnxruntime, with
Pipecat's defaults: VAD confidence 0.7, start 0.2 s, stop 0.2 s, an incomplete turn ended after 3 s
of silence) on each dialog-NNN.wav of a folder, 20 ms at a time as a transport delivers it, and
writes where Pipecat's user turn starts (over the device: Pipecat interrupts the bot at once) and
where it ends, as capture samples, for the benchmark to act on in its simulation.

What Pipecat hears is the dialog's microphone track without the device's echo, as if its transport's
echo cancellation were perfect (the benchmark gives Microturn the echo). The turn strategy is
Pipecat's TurnAnalyzerUserTurnStopStrategy with wait_for_transcript=False (audio alone decides,
no speech-to-text in the way), which is its fastest setting. Time is the stream's, not the wall
clock's, so the decisions are the same on every run; Smart Turn's own compute time on this machine
is measured and reported beside them (it is not added to the decisions).

    python3 tools/pipecat-peer.py --dialogs DIR --out peer.json

Set up with `tools/setup.sh --peers` (a virtual environment in .venv-peers, kept out of git).
Exit codes: 64 bad arguments, 65 a WAV that is not 16 kHz mono 16-bit, 69 pipecat-ai is missing.
"""
import argparse
import asyncio
import glob
import json
import os
import sys
import time
import types
import wave

RATE = 16000
CHUNK = 320  # 20 ms, as Pipecat's transports deliver input audio


def load_pipecat():
    os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # Pipecat greets and logs every decision at debug level
    try:
        import numpy as np
        from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
        from pipecat.audio.turn.smart_turn import base_smart_turn
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
        from pipecat.audio.vad.silero import SileroVADAnalyzer
        from pipecat.audio.vad.vad_analyzer import VADState
        import pipecat
    except ImportError as e:
        print(f"pipecat-peer: cannot import pipecat-ai and onnxruntime ({e}); set them up with tools/setup.sh --peers "
              "and run this script with .venv-peers/bin/python", file=sys.stderr)
        sys.exit(69)
    return types.SimpleNamespace(np=np, EndOfTurnState=EndOfTurnState, base_smart_turn=base_smart_turn,
                                 SmartTurn=LocalSmartTurnAnalyzerV3, Silero=SileroVADAnalyzer, VADState=VADState,
                                 version=getattr(pipecat, "__version__", "?"))


class StreamClock:
    """Smart Turn cuts its audio by time stamps; on a file fed faster than real time they must be the stream's."""

    def __init__(self):
        self.seconds = 0.0

    def monotonic(self):
        return self.seconds


def read_pcm(path, np):
    try:
        with wave.open(path, "rb") as w:
            if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
                print(f"pipecat-peer: {path}: {w.getframerate()} Hz, {w.getnchannels()} channels, {8 * w.getsampwidth()}-bit; "
                      "the dialogs are 16 kHz mono 16-bit (make them with microturn bench make-dialogs)", file=sys.stderr)
                sys.exit(65)
            return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    except (wave.Error, EOFError) as e:
        print(f"pipecat-peer: {path}: not a readable WAV ({e})", file=sys.stderr)
        sys.exit(65)


async def one_dialog(pc, clock, pcm):
    """Pipecat's VAD controller, then its turn-analyzer stop strategy, frame by frame."""
    vad = pc.Silero()
    vad.set_sample_rate(RATE)
    turn = pc.SmartTurn()
    turn.set_sample_rate(RATE)
    start_secs, stop_secs = vad.params.start_secs, vad.params.stop_secs
    marks, compute_ms = [], []
    state = pc.VADState.QUIET
    speaking = False  # the strategy's _vad_user_speaking
    turn_start = None

    async def decide(at, by):
        nonlocal turn_start
        began = time.perf_counter()
        result, metrics = await turn.analyze_end_of_turn()
        if by == "model":
            compute_ms.append(1000 * (time.perf_counter() - began))
        if result == pc.EndOfTurnState.COMPLETE or by == "timeout":
            end = at - int(round((stop_secs if by == "model" else stop_secs + turn.params.stop_secs) * RATE))
            marks.append({"kind": "end", "at": at, "speechStart": turn_start if turn_start is not None else end,
                          "speechEnd": max(0, end), "by": by,
                          "probability": None if metrics is None else round(float(metrics.probability), 4)})
            turn_start = None

    for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
        at = i + CHUNK
        clock.seconds = at / RATE
        chunk = pcm[i:at].tobytes()
        new = vad._run_analyzer(chunk)  # what VADAnalyzer.analyze_audio runs on its thread
        if new != state and new in (pc.VADState.SPEAKING, pc.VADState.QUIET):
            if new == pc.VADState.SPEAKING:
                # VADUserStartedSpeakingFrame: the user's turn starts (and the bot is interrupted).
                turn.update_vad_start_secs(start_secs)
                speaking = True
                began = max(0, at - int(round(start_secs * RATE)))
                if turn_start is None:
                    turn_start = began
                marks.append({"kind": "start", "at": at, "speechStart": began})
            else:
                # VADUserStoppedSpeakingFrame: Smart Turn judges the turn so far.
                speaking = False
                await decide(at, "model")
        if new in (pc.VADState.SPEAKING, pc.VADState.QUIET):
            state = new
        if turn.append_audio(chunk, speaking) == pc.EndOfTurnState.COMPLETE:
            await decide(at, "timeout")  # stop_secs of silence after an incomplete verdict
    return marks, compute_ms


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--dialogs", required=True, help="folder of dialog-NNN.wav (from microturn bench make-dialogs)")
    p.add_argument("--out", required=True, help="JSON file to write the peer's turn starts and ends to")
    args = p.parse_args()
    paths = sorted(glob.glob(os.path.join(args.dialogs, "dialog-*.wav")))
    if not paths:
        print(f"pipecat-peer: no dialog-NNN.wav in {args.dialogs}; make them with microturn bench make-dialogs", file=sys.stderr)
        sys.exit(64)
    pc = load_pipecat()
    clock = StreamClock()
    # Smart Turn's buffer is cut by time.monotonic(); its compute time stays on the real clock.
    pc.base_smart_turn.time = types.SimpleNamespace(monotonic=clock.monotonic, perf_counter=time.perf_counter)
    out, all_ms = {}, []
    began = time.time()
    for n, path in enumerate(paths):
        name = os.path.splitext(os.path.basename(path))[0]
        marks, ms = asyncio.run(one_dialog(pc, clock, read_pcm(path, pc.np)))
        out[name] = marks
        all_ms += ms
        print(f"\rpipecat-peer: [{n + 1}/{len(paths)}] {name}  {time.time() - began:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    all_ms.sort()
    pct = lambda q: round(all_ms[min(len(all_ms) - 1, int(q * len(all_ms)))], 1) if all_ms else None
    doc = {"peer": f"pipecat-ai {pc.version}: Silero VAD + Smart Turn v3.2 (defaults, audio alone decides)",
           "smart_turn_ms": {"calls": len(all_ms), "p50": pct(0.5), "p95": pct(0.95)}, "dialogs": out}
    tmp = args.out + ".part"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
