#!/usr/bin/python3
"""Takes frames out of a ring with shmringsrc ! appsink from Python
(PyGObject, Debian's python3-gst-1.0) and checks what push-frames put in.

    GST_PLUGIN_PATH=build/plugin /usr/bin/python3 examples/embedding/pull_frames.py RING
"""
import struct
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gst, GstApp, GstVideo  # noqa: E402,F401 (GstApp: appsink's methods)


def main():
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} RING", file=sys.stderr)
        return 2
    Gst.init(None)
    # on-writer-lost=wait: start before or after the writer, either is fine.
    pipeline = Gst.parse_launch(
        f"shmringsrc ring={sys.argv[1]} on-writer-lost=wait ! appsink name=sink sync=false")
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    pipeline.get_state(5 * Gst.SECOND)
    # From here on, frames get timestamps on this pipeline's running time.
    print(f"pulling from ring {sys.argv[1]}", flush=True)

    received = wrong = 0
    first_pts = last_pts = None
    caps_text = None
    while True:
        sample = sink.try_pull_sample(10 * Gst.SECOND)
        if sample is None:
            break  # EOS, or nothing for 10 s
        caps = sample.get_caps()
        caps_text = caps_text or caps.to_string()
        info = GstVideo.VideoInfo.new_from_caps(caps)
        buffer = sample.get_buffer()
        ok, mapped = buffer.map(Gst.MapFlags.READ)
        if ok:
            number = struct.unpack_from("<I", mapped.data, 0)[0]
            intact = (number == received and mapped.size == info.size
                      and mapped.data[-1] == number & 0xff)
            buffer.unmap(mapped)
        else:
            intact = False
        wrong += 0 if intact else 1
        first_pts = buffer.pts if first_pts is None else first_pts
        last_pts = buffer.pts
        received += 1

    eos = sink.is_eos()
    print(f"received {received} frames ({wrong} wrong), eos={'yes' if eos else 'no'}, "
          f"pts {first_pts} .. {last_pts} ns, caps {caps_text}")
    pipeline.set_state(Gst.State.NULL)
    return 0 if eos and wrong == 0 and received > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
