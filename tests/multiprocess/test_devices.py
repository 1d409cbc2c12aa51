#!/usr/bin/python3
"""The device provider: a GstDeviceMonitor in this process sees the rings
that gst-launch-1.0 writers fill in other processes, as Video/Source or
Audio/Source by their caps, with ring, writer pid and readers; writers that
start, stop (EOS) or are killed while it runs are added and removed; and a
device's element reads its ring. Runs on Debian's python3 (python3-gst-1.0)."""
import os
import signal
import subprocess
import time
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from support import ProcessTest, finish, gst_launch  # noqa: E402

Gst.init(None)
SMALL = "video/x-raw,format=I420,width=320,height=240,framerate=30/1"


class Devices(ProcessTest):
    def setUp(self):
        super().setUp()
        self.monitor = Gst.DeviceMonitor.new()
        self.monitor.add_filter("Video/Source", None)
        self.monitor.add_filter("Audio/Source", None)
        self.bus = self.monitor.get_bus()
        self.events = []  # (DEVICE_ADDED or DEVICE_REMOVED, device), not yet matched

    def tearDown(self):
        self.monitor.stop()
        super().tearDown()

    def writer(self, ring, source=f"videotestsrc is-live=true ! {SMALL}"):
        process = gst_launch(f"{source} ! shmringsink ring={ring}", flags=("-q", "-e"))
        self.processes.append(process)
        return process

    def rings_now(self):
        return {d.get_properties().get_string("ring"): d for d in self.monitor.get_devices()
                if d.get_properties() and d.get_properties().get_name() == "shmring-ring"}

    def wait_for_event(self, kind, ring, timeout=10):
        """The device of `ring` from the first DEVICE_ADDED/REMOVED for it.
        The extended message types are no bit masks (a filter for one lets
        the others through): every device message is kept, and matched by
        its exact type."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (message_type, device) in enumerate(self.events):
                properties = device.get_properties()
                if message_type == kind and properties and \
                        properties.get_string("ring") == ring:
                    del self.events[: i + 1]
                    return device
            if time.monotonic() >= deadline:
                self.fail(f"no {kind.first_value_nick} for ring {ring} in {timeout} s")
            message = self.bus.timed_pop_filtered(100 * Gst.MSECOND,
                                                  Gst.MessageType.DEVICE_ADDED |
                                                  Gst.MessageType.DEVICE_REMOVED |
                                                  Gst.MessageType.DEVICE_CHANGED)
            if message is None:
                continue
            if message.type == Gst.MessageType.DEVICE_ADDED:
                self.events.append((message.type, message.parse_device_added()))
            elif message.type == Gst.MessageType.DEVICE_REMOVED:
                self.events.append((message.type, message.parse_device_removed()))
            elif message.type == Gst.MessageType.DEVICE_CHANGED:
                self.events.append((message.type, message.parse_device_changed()[0]))

    def test_live_rings_are_listed_as_sources_by_their_caps(self):
        video, audio = self.ring("dev-video"), self.ring("dev-audio")
        video_writer = self.writer(video)
        audio_writer = self.writer(audio, "audiotestsrc is-live=true")
        reader = self.start(f"shmringsrc ring={video} ! fakesink")
        self.assertTrue(self.monitor.start())
        self.wait_for_event(Gst.MessageType.DEVICE_ADDED, video)
        rings = self.rings_now()
        if audio not in rings:
            self.wait_for_event(Gst.MessageType.DEVICE_ADDED, audio)
            rings = self.rings_now()
        self.assertEqual(rings[video].get_device_class(), "Video/Source")
        self.assertEqual(rings[audio].get_device_class(), "Audio/Source")
        self.assertTrue(rings[video].get_caps().to_string().startswith("video/x-raw"))
        properties = rings[video].get_properties()
        self.assertEqual(properties.get_int("writer-pid")[1], video_writer.pid)
        self.assertIn(properties.get_uint("readers")[1], (0, 1))  # the reader may not be in yet
        # The device's element reads the ring.
        element = rings[video].create_element(None)
        self.assertEqual(element.get_factory().get_name(), "shmringsrc")
        self.assertEqual(element.get_property("ring"), video)
        pipeline = Gst.Pipeline.new()
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("num-buffers", 5)
        pipeline.add(element)
        pipeline.add(sink)
        element.link(sink)
        pipeline.set_state(Gst.State.PLAYING)
        message = pipeline.get_bus().timed_pop_filtered(
            10 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        pipeline.set_state(Gst.State.NULL)
        self.assertIsNotNone(message)
        self.assertEqual(message.type, Gst.MessageType.EOS)
        reader.send_signal(signal.SIGKILL)
        finish(reader)
        for writer in (video_writer, audio_writer):
            writer.send_signal(signal.SIGINT)  # -e: EOS, the ring closes and goes
            self.assertEqual(finish(writer)[0], 0)

    def test_writers_that_come_and_go_are_added_and_removed(self):
        self.assertTrue(self.monitor.start())
        stopped, killed = self.ring("dev-stopped"), self.ring("dev-killed")
        first = self.writer(stopped)
        self.wait_for_event(Gst.MessageType.DEVICE_ADDED, stopped)
        second = self.writer(killed, "audiotestsrc is-live=true")
        self.wait_for_event(Gst.MessageType.DEVICE_ADDED, killed)
        first.send_signal(signal.SIGINT)  # -e: EOS, the ring closes and goes
        self.assertEqual(finish(first)[0], 0)
        self.wait_for_event(Gst.MessageType.DEVICE_REMOVED, stopped)
        second.send_signal(signal.SIGKILL)  # its ring stays behind, its writer dead
        finish(second)
        self.wait_for_event(Gst.MessageType.DEVICE_REMOVED, killed)
        self.assertNotIn(killed, self.rings_now())
        # A new writer on the killed one's name is a new device.
        third = self.writer(killed)
        device = self.wait_for_event(Gst.MessageType.DEVICE_ADDED, killed)
        self.assertEqual(device.get_properties().get_int("writer-pid")[1], third.pid)
        third.send_signal(signal.SIGINT)
        finish(third)

    def test_a_ring_that_grows_is_the_same_device_changed(self):
        # The writer moves to bigger slots when its caps grow: the monitor
        # tells a change (new caps and slot size), not a removal.
        self.assertTrue(self.monitor.start())
        ring = self.ring("dev-grows")
        reader = gst_launch(f"shmringsrc ring={ring} ! fakesink")
        self.processes.append(reader)
        time.sleep(0.3)
        writer = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "resizing_writer.py"), "--pause=2",
             ring, "5", "160x120", "640x480"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(writer)
        added = self.wait_for_event(Gst.MessageType.DEVICE_ADDED, ring)
        self.assertIn("width=(int)160", added.get_caps().to_string())
        changed = self.wait_for_event(Gst.MessageType.DEVICE_CHANGED, ring)
        self.assertIn("width=(int)640", changed.get_caps().to_string())
        self.assertGreaterEqual(changed.get_properties().get_uint64("slot-size")[1], 640 * 480)
        self.assertEqual(finish(writer)[0], 0)
        self.assertEqual(finish(reader)[0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
