#!/usr/bin/python3
"""A/V drift between two processes through shmring.

A writer process (this script with --writer) captures live audio and video
(audiotestsrc and videotestsrc, is-live, one pipeline and one clock) into
two rings, and prints for every buffer its capture instant: its PTS plus its
pipeline's base time, CLOCK_MONOTONIC (the system clock of both pipelines).
This process reads both rings with shmringsrc (default timestamp-mode=clock)
into fakesinks that sync to the clock, and records the instant each buffer
is rendered, on the same CLOCK_MONOTONIC.

Buffers are matched by their offset (frame or sample number, which the ring
carries), so the playout delay (render instant - capture instant) is
measured independently of the timestamps the reader computed: a reader that
maps one stream's timestamps wrongly renders it early or late and shows up.
A/V offset = audio delay - video delay, per one-second window. Drift = the
offset in the last 5 s minus the offset in the first 5 s.

It fails (exit 1) when the drift exceeds --max-drift-ms (default 2 ms) or any
one-second offset exceeds --max-offset-ms (default 5 ms). Why those bounds:
measured runs stay within 0.2 ms; a real fault (a stream's timestamps mapped
through the wrong base time or clock, a buffer's worth of shift, a reader
that falls behind) moves the offset by at least half an audio buffer (5 ms)
or keeps growing. Both bounds are far inside what a viewer notices (EBU R37:
audio 40 ms early to 60 ms late). Runs on Debian's python3 (python3-gst-1.0):

  GST_PLUGIN_PATH=build/plugin /usr/bin/python3 bench/av_drift.py [--seconds 60]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def run_writer(video_ring, audio_ring):
    """The writer process: prints 'video|audio OFFSET CAPTURE_NS' per buffer."""
    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"videotestsrc is-live=true ! video/x-raw,width=640,height=360,framerate=30/1 ! "
        f"shmringsink name=video ring={video_ring} "
        f"audiotestsrc is-live=true samplesperbuffer=480 ! "
        f"audio/x-raw,format=S16LE,rate=48000,channels=2 ! "
        f"shmringsink name=audio ring={audio_ring}")
    lock = threading.Lock()

    def on_buffer(pad, info, name):
        buffer = info.get_buffer()
        element = pad.get_parent_element()
        capture = buffer.pts + element.get_base_time()
        with lock:
            print(f"{name} {buffer.offset} {capture}", flush=True)
        return Gst.PadProbeReturn.OK

    for name in ("video", "audio"):
        pad = pipeline.get_by_name(name).get_static_pad("sink")
        pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer, name)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.send_event(Gst.Event.new_eos())
    pipeline.get_bus().timed_pop_filtered(5 * Gst.SECOND, Gst.MessageType.EOS)
    pipeline.set_state(Gst.State.NULL)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--max-drift-ms", type=float, default=2.0,
                        help="fail when the A/V offset moves more than this over the run")
    parser.add_argument("--max-offset-ms", type=float, default=5.0,
                        help="fail when any one-second A/V offset is larger than this")
    parser.add_argument("--mode", default="clock", choices=["clock", "original", "arrival"],
                        help="the readers' timestamp-mode; the writer's capture instant is "
                             "kept only in clock mode (arrival: when the buffer reached the "
                             "ring)")
    parser.add_argument("--writer", nargs=2, metavar=("VIDEO_RING", "AUDIO_RING"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        return run_writer(*args.writer)
    Gst.init(None)
    tag = f"avdrift-{os.getpid()}"
    video_ring, audio_ring = f"{tag}-video", f"{tag}-audio"

    captured = {}  # (stream, offset): capture instant, ns
    writer = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--writer",
                               video_ring, audio_ring], stdout=subprocess.PIPE, text=True)

    def collect():
        for line in writer.stdout:
            name, offset, capture = line.split()
            captured[(name, int(offset))] = int(capture)
    collector = threading.Thread(target=collect, daemon=True)
    collector.start()

    reader = Gst.parse_launch(
        f"shmringsrc ring={video_ring} on-writer-lost=wait timestamp-mode={args.mode} ! "
        f"fakesink name=video sync=true signal-handoffs=true "
        f"shmringsrc ring={audio_ring} on-writer-lost=wait timestamp-mode={args.mode} ! "
        f"fakesink name=audio sync=true signal-handoffs=true")
    rendered = {"video": [], "audio": []}  # (offset, render instant ns, running time)

    def on_handoff(sink, buffer, _pad, name):
        clock = sink.get_clock()
        if clock is None:
            return
        now = clock.get_time()
        rendered[name].append((buffer.offset, now, now - sink.get_base_time()))

    for name in rendered:
        reader.get_by_name(name).connect("handoff", on_handoff, name)
    reader.set_state(Gst.State.PLAYING)

    loop = GLib.MainLoop()
    GLib.timeout_add_seconds(args.seconds, loop.quit)
    started = time.monotonic()
    loop.run()
    reader.set_state(Gst.State.NULL)
    writer.send_signal(signal.SIGINT)
    writer.wait(timeout=30)
    collector.join(timeout=5)

    def windows(name):
        """{second of the reader's running time: median playout delay in ms}."""
        per_second = {}
        for offset, render, running in rendered[name]:
            capture = captured.get((name, offset))
            if capture is not None:
                per_second.setdefault(running // Gst.SECOND, []).append((render - capture) / 1e6)
        return {second: statistics.median(values) for second, values in per_second.items()}

    video, audio = windows("video"), windows("audio")
    seconds = sorted(set(video) & set(audio))[1:]  # the first second is start-up
    if len(seconds) < 10:
        print("too few seconds with both streams matched to their capture", file=sys.stderr)
        return 1
    offset = {s: audio[s] - video[s] for s in seconds}
    first = statistics.mean(offset[s] for s in seconds[:5])
    last = statistics.mean(offset[s] for s in seconds[-5:])
    print(f"# A/V drift through shmring, timestamp-mode={args.mode}, "
          f"{time.monotonic() - started:.0f} s, {len(rendered['video'])} video frames, "
          f"{len(rendered['audio'])} audio buffers, delay = render - capture (CLOCK_MONOTONIC)")
    print(f"playout delay, video: median {statistics.median(video.values()):.3f} ms")
    print(f"playout delay, audio: median {statistics.median(audio.values()):.3f} ms")
    print(f"A/V offset (audio - video), first 5 s: {first:+.3f} ms")
    print(f"A/V offset (audio - video), last 5 s:  {last:+.3f} ms")
    drift, largest = last - first, max(offset.values(), key=abs)
    print(f"drift over {seconds[-1] - seconds[0] + 1} s: {drift:+.3f} ms; "
          f"largest 1 s offset {largest:+.3f} ms")
    failed = False
    if abs(drift) > args.max_drift_ms:
        print(f"FAIL: drift {drift:+.3f} ms exceeds {args.max_drift_ms} ms", file=sys.stderr)
        failed = True
    if abs(largest) > args.max_offset_ms:
        print(f"FAIL: a 1 s offset of {largest:+.3f} ms exceeds {args.max_offset_ms} ms",
              file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
