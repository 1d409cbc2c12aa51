#!/usr/bin/python3
"""A writer whose frames grow mid-stream, for the ring-growth tests:
appsrc ! shmringsink with GRAY8 frames of each size in turn (COUNT frames
each), frame n filled with the byte n, then EOS. Runs on Debian's python3
(python3-gst-1.0). Prints the sink's stats at the end.

    resizing_writer.py [--pause=SECONDS] [--readers=N] RING COUNT WIDTHxHEIGHT [...]
                       [-- SINK-PROPERTY ...]

--pause: sleep that long after each size's frames, before the next caps.
--readers: after the first frame (published once a reader is attached),
wait until N readers are attached before the next: a reader that comes
later starts at the newest frame, the first, so every reader gets them all.
"""
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def wait_for_readers(pipeline, count):
    """Until the sink has `count` readers (within 20 s)."""
    sink = pipeline.get_by_name("sink")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stats = sink.get_property("stats")
        if stats and stats.get_uint("readers")[1] >= count:
            return True
        time.sleep(0.01)
    return False


def main():
    Gst.init(None)
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    pause, readers = 0.0, 1
    while args[0].startswith("--"):
        option, value = args.pop(0)[2:].split("=", 1)
        if option == "pause":
            pause = float(value)
        elif option == "readers":
            readers = int(value)
    ring, count, sizes = args[0], int(args[1]), [tuple(map(int, s.split("x"))) for s in args[2:]]
    pipeline = Gst.parse_launch(
        "appsrc name=source format=time ! "
        f"shmringsink name=sink ring={ring} sync=false wait-for-readers=true {' '.join(extra)}")
    source = pipeline.get_by_name("source")
    pipeline.set_state(Gst.State.PLAYING)
    n = 0
    for width, height in sizes:
        source.set_property("caps", Gst.Caps.from_string(
            f"video/x-raw,format=GRAY8,width={width},height={height},framerate=30/1"))
        for _ in range(count):
            buf = Gst.Buffer.new_wrapped(bytes([n % 256]) * (width * height))
            buf.pts = n * Gst.SECOND // 30
            buf.duration = Gst.SECOND // 30
            source.emit("push-buffer", buf)
            n += 1
            if n == 1 and readers > 1 and not wait_for_readers(pipeline, readers):
                print(f"writer failed: fewer than {readers} readers came", file=sys.stderr)
                return 1
        time.sleep(pause)
    source.emit("end-of-stream")
    message = pipeline.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    stats = pipeline.get_by_name("sink").get_property("stats")
    print(f"stats sink: {stats.to_string()}", flush=True)
    pipeline.set_state(Gst.State.NULL)
    if message is None or message.type != Gst.MessageType.EOS:
        error = message.parse_error()[0].message if message else "no EOS within 60 s"
        print(f"writer failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
