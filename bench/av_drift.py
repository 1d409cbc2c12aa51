#!/usr/bin/python3
"""A/V drift between two processes through shmring.

The writer process captures live audio and video (audiotestsrc and
videotestsrc, is-live, one pipeline and one clock) into two rings. This
process reads both with shmringsrc (default timestamp-mode=clock) into
fakesinks that sync to the clock, and records for every buffer the instant
it was rendered and the instant the writer captured it (its PTS mapped to
this pipeline's running time: with both pipelines on the monotonic system
clock, PTS + base time is the writer's capture time).

For each stream: playout delay = render time - capture time. A/V offset =
audio delay - video delay, per one-second window. Drift = the offset in the
last 5 s minus the offset in the first 5 s.

It fails (exit 1) when the drift exceeds --max-drift-ms (default 2 ms) or any
one-second offset exceeds --max-offset-ms (default 5 ms). Why those bounds:
the transport adds nothing to either stream's timing in clock mode, and
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
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--max-drift-ms", type=float, default=2.0,
                        help="fail when the A/V offset moves more than this over the run")
    parser.add_argument("--max-offset-ms", type=float, default=5.0,
                        help="fail when any one-second A/V offset is larger than this")
    parser.add_argument("--mode", default="clock", choices=["clock", "original", "arrival"],
                        help="the readers' timestamp-mode; PTS is the capture time only in "
                             "clock mode (arrival: when the buffer reached the ring)")
    args = parser.parse_args()
    Gst.init(None)
    tag = f"avdrift-{os.getpid()}"
    video_ring, audio_ring = f"{tag}-video", f"{tag}-audio"

    writer = subprocess.Popen(
        ["gst-launch-1.0", "-q", "-e",
         "videotestsrc", "is-live=true", "!", "video/x-raw,width=640,height=360,framerate=30/1",
         "!", "shmringsink", f"ring={video_ring}",
         "audiotestsrc", "is-live=true", "samplesperbuffer=480", "!",
         "audio/x-raw,format=S16LE,rate=48000,channels=2", "!", "shmringsink",
         f"ring={audio_ring}"])

    reader = Gst.parse_launch(
        f"shmringsrc ring={video_ring} on-writer-lost=wait timestamp-mode={args.mode} ! "
        f"fakesink name=video sync=true signal-handoffs=true "
        f"shmringsrc ring={audio_ring} on-writer-lost=wait timestamp-mode={args.mode} ! "
        f"fakesink name=audio sync=true signal-handoffs=true")
    samples = {"video": [], "audio": []}

    def on_handoff(sink, buffer, _pad, name):
        clock = sink.get_clock()
        if clock is None or buffer.pts == Gst.CLOCK_TIME_NONE:
            return
        rendered = clock.get_time() - sink.get_base_time()
        samples[name].append((rendered, buffer.pts))

    for name in samples:
        reader.get_by_name(name).connect("handoff", on_handoff, name)
    reader.set_state(Gst.State.PLAYING)

    loop = GLib.MainLoop()
    GLib.timeout_add_seconds(args.seconds, loop.quit)
    started = time.monotonic()
    loop.run()
    reader.set_state(Gst.State.NULL)
    writer.send_signal(signal.SIGINT)
    writer.wait(timeout=30)

    def windows(name):
        """{second: median playout delay in ms} for one stream."""
        per_second = {}
        for rendered, pts in samples[name]:
            per_second.setdefault(rendered // Gst.SECOND, []).append((rendered - pts) / 1e6)
        return {second: statistics.median(values) for second, values in per_second.items()}

    video, audio = windows("video"), windows("audio")
    seconds = sorted(set(video) & set(audio))[1:]  # the first second is start-up
    if len(seconds) < 10:
        print("too few seconds with both streams", file=sys.stderr)
        return 1
    offset = {s: audio[s] - video[s] for s in seconds}
    first = statistics.mean(offset[s] for s in seconds[:5])
    last = statistics.mean(offset[s] for s in seconds[-5:])
    print(f"# A/V drift through shmring, timestamp-mode={args.mode}, "
          f"{time.monotonic() - started:.0f} s, {len(samples['video'])} video frames, "
          f"{len(samples['audio'])} audio buffers")
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
