#!/usr/bin/python3
"""A writer process for the event-order test: appsrc ! shmringsink, with tag
lists, custom downstream events and reference timestamps interleaved with
buffers, then EOS. Runs on Debian's python3 (python3-gst-1.0).

    event_writer.py RING
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def buffer(n):
    buf = Gst.Buffer.new_wrapped(bytes([n]) * 1000)
    buf.pts = n * Gst.SECOND // 10
    buf.duration = Gst.SECOND // 10
    buf.offset = n
    if n == 0:
        buf.add_reference_timestamp_meta(Gst.Caps.from_string("timestamp/x-ntp"),
                                         3_900_000_000 * Gst.SECOND, Gst.CLOCK_TIME_NONE)
    return buf


def tags(scope, **values):
    tag_list = Gst.TagList.new_empty()
    for name, value in values.items():
        tag_list.add_value(Gst.TagMergeMode.APPEND, name, value)
    tag_list.set_scope(scope)
    return Gst.Event.new_tag(tag_list)


def custom(name, **fields):
    structure = Gst.Structure.new_empty(name)
    for key, value in fields.items():
        structure.set_value(key, value)
    return Gst.Event.new_custom(Gst.EventType.CUSTOM_DOWNSTREAM, structure)


def main():
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "appsrc name=source format=time caps=application/x-shmring-test ! "
        f"shmringsink ring={sys.argv[1]} sync=false wait-for-readers=true")
    source = pipeline.get_by_name("source")
    pipeline.set_state(Gst.State.PLAYING)
    # appsrc queues serialized events with its buffers, in order.
    steps = [
        tags(Gst.TagScope.GLOBAL, title="shmring test"),
        buffer(0),
        custom("marker-a", n=1, text="hello, world"),
        buffer(1),
        tags(Gst.TagScope.STREAM, comment="second"),
        custom("marker-b", n=2),
        buffer(2),
    ]
    for step in steps:
        if isinstance(step, Gst.Event):
            source.send_event(step)
        else:
            source.emit("push-buffer", step)
    source.emit("end-of-stream")
    message = pipeline.get_bus().timed_pop_filtered(
        30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    return 0 if message and message.type == Gst.MessageType.EOS else 1


if __name__ == "__main__":
    sys.exit(main())
