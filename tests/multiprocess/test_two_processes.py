#!/usr/bin/env python3
"""Two real gst-launch-1.0 processes exchanging 1080p video through a ring.

Each frame the consumer receives is checked against a reference run of the
same videotestsrc pipeline (checksumsink prints PTS and SHA-1 per frame), so
a torn, stale, reordered or duplicated frame fails the test. Every process is
bounded by a timeout, and every ring is gone afterwards.
"""
import os
import signal
import subprocess
import tempfile
import time
import unittest

from support import (CAPS, ProcessTest, finish, frames, reader_count, ring_path, run_pipeline,
                     seconds, stats_of)


class TwoProcesses(ProcessTest):
    """1080p between two gst-launch-1.0 processes."""

    def every_frame_unchanged(self, what, src_extra="", sink_extra=""):
        ring = self.ring(what)
        consumer = self.start(f"shmringsrc ring={ring} timestamp-mode=original {src_extra} ! "
                              f"checksumsink")
        time.sleep(0.3)  # the consumer is waiting for a writer that does not exist yet
        producer = self.start(f"videotestsrc pattern=ball num-buffers=90 ! {CAPS} ! "
                              f"shmringsink ring={ring} sync=false wait-for-readers=true "
                              f"{sink_extra}")
        code, _, err = finish(producer)
        self.assertEqual(code, 0, err)
        code, out, err = finish(consumer)
        self.assertEqual(code, 0, "EOS ends the consumer cleanly: " + err)
        self.assertEqual(frames(out), self.reference_frames(90))

    def test_consumer_started_first_receives_every_frame_unchanged(self):
        self.every_frame_unchanged("first")

    def test_spinning_sides_pass_every_frame_unchanged(self):
        # spin-time on both sides: polling instead of sleeping changes when
        # a frame is seen, never which frames or what they hold.
        self.every_frame_unchanged("spin", "spin-time=1000000", "spin-time=1000000")

    def test_a_spinning_reader_notices_its_writer_die(self):
        # A spin budget longer than anything the test waits for: the reader
        # still looks at its writer's liveness while it polls, and ends
        # (on-writer-lost=eos) within finish()'s bound.
        # On two CPUs: a reader whose writer shares its CPU yields or sleeps
        # rather than spins, and this is about the reader that spins.
        ring = self.ring("spin-dead-writer")
        reader_cpu, writer_cpu = self.two_cpus()
        reader = self.pinned(reader_cpu, f"shmringsrc ring={ring} spin-time=60000000000 ! "
                             f"fakesink")
        time.sleep(0.3)
        writer = self.pinned(writer_cpu, f"videotestsrc is-live=true ! {CAPS} ! "
                             f"shmringsink ring={ring}")
        # Killed once the reader reads, not after a fixed time: a reader that
        # first came to the ring after its writer died would (rightly) wait
        # for a new one, which this test does not ask about. On a host in a
        # slow spell, beside another suite, 1.5 s was not always enough.
        attached_by = time.monotonic() + 20
        while reader_count(ring) < 1 and time.monotonic() < attached_by:
            time.sleep(0.05)
        self.assertEqual(reader_count(ring), 1, "the reader never attached")
        time.sleep(0.5)  # and reads for a while, spinning between frames
        writer.kill()
        finish(writer)
        code, _, err = finish(reader, timeout=20)
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(ring_path(ring)), "the last reader removes it")

    @staticmethod
    def two_cpus():
        """Two CPUs this test may use, or (None, None) where it has one."""
        cpus = sorted(os.sched_getaffinity(0))
        return (cpus[0], cpus[1]) if len(cpus) > 1 else (None, None)

    def pinned(self, cpu, description):
        """gst-launch-1.0 on one CPU (under taskset), or anywhere if None."""
        if cpu is None:
            return self.start(description)
        process = subprocess.Popen(["taskset", "-c", str(cpu), "gst-launch-1.0", "-q"] +
                                   description.split(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        return process

    def test_a_spinning_writer_reclaims_a_reader_killed_while_it_polls(self):
        # The writer polls for a free slot for up to 60 s and waits for a
        # blocking reader for up to 30 s: a reader SIGKILLed meanwhile is
        # reclaimed as a sleeping writer would (in 100 ms), so the other
        # reader and the writer finish within finish()'s bound.
        # The readers run on another CPU than the writer's: a writer whose
        # reader shares its CPU yields or sleeps rather than spins, and this
        # is about the writer that spins.
        ring = self.ring("spin-dead-reader")
        writer_cpu, readers_cpu = self.two_cpus()
        doomed = self.pinned(readers_cpu, f"shmringsrc ring={ring} ! identity sleep-time=5000 ! "
                             f"fakesink")
        live = self.pinned(readers_cpu, f"shmringsrc ring={ring} ! fakesink")
        time.sleep(0.5)
        writer = self.pinned(writer_cpu, f"videotestsrc num-buffers=600 ! "
                             f"video/x-raw,width=64,height=48 ! shmringsink ring={ring} "
                             f"sync=false wait-for-readers=true timeout=30000000000 "
                             f"spin-time=60000000000")
        time.sleep(1.0)
        doomed.kill()
        code, _, err = finish(writer, timeout=20)
        self.assertEqual(code, 0, err)
        self.assertEqual(finish(live, timeout=20)[0], 0)

    def test_clock_mode_keeps_frames_and_their_spacing(self):
        ring = self.ring("clock")
        consumer = self.start(f"shmringsrc ring={ring} ! checksumsink")
        time.sleep(0.3)
        producer = self.start(f"videotestsrc pattern=ball num-buffers=60 ! {CAPS} ! "
                              f"shmringsink ring={ring} sync=false wait-for-readers=true")
        self.assertEqual(finish(producer)[0], 0)
        code, out, err = finish(consumer)
        self.assertEqual(code, 0, err)
        got, want = frames(out), self.reference_frames(60)
        self.assertEqual([sha for _, sha in got], [sha for _, sha in want])
        # Mapped into the reader's running time: one constant shift for all.
        shifts = {round(seconds(g) - seconds(w), 6) for (g, _), (w, _) in zip(got, want)}
        self.assertEqual(len(shifts), 1, shifts)

    def test_late_consumer_joins_with_caps_at_a_newer_frame(self):
        ring = self.ring("late")
        # Paced by the sink (sync=true): a real-time stream with reproducible
        # frames, unlike a live source whose timestamps come from the clock.
        producer = self.start(f"videotestsrc pattern=ball num-buffers=90 ! "
                              f"{CAPS} ! shmringsink ring={ring}")
        time.sleep(1.0)
        consumer = self.start(f"shmringsrc ring={ring} timestamp-mode=original ! "
                              f"checksumsink")
        self.assertEqual(finish(producer)[0], 0)
        code, out, err = finish(consumer)
        self.assertEqual(code, 0, err)
        got = frames(out)
        want = dict(self.reference_frames(90))
        self.assertGreater(len(got), 10, "the late consumer received frames")
        self.assertGreater(seconds(got[0][0]), 0.5, "it started mid-stream")
        self.assertEqual(got[-1][0], list(want)[-1], "and ran until the writer's EOS")
        for pts, sha in got:
            self.assertEqual(sha, want.get(pts), f"frame at {pts}")
        self.assertEqual(len({pts for pts, _ in got}), len(got), "no frame twice")

    def test_killed_writer_ends_or_fails_the_reader_as_configured(self):
        for policy, expect_success in (("eos", True), ("error", False)):
            ring = self.ring("killed-" + policy)
            producer = self.start(f"videotestsrc is-live=true ! {CAPS} ! "
                                  f"shmringsink ring={ring}")
            deadline = time.monotonic() + 10
            while not os.path.exists(ring_path(ring)) and time.monotonic() < deadline:
                time.sleep(0.05)
            consumer = self.start(f"shmringsrc ring={ring} on-writer-lost={policy} ! "
                                  f"fakesink")
            time.sleep(0.5)
            producer.send_signal(signal.SIGKILL)
            producer.wait()
            code, _, err = finish(consumer, timeout=10)
            if expect_success:
                self.assertEqual(code, 0, err)
            else:
                self.assertNotEqual(code, 0)
                self.assertIn("died without sending EOS", err)
            # A killed writer cannot remove its ring; its last reader did, on
            # its way out.
            self.assertFalse(os.path.exists(ring_path(ring)), "the dead writer's ring is gone")

    def test_a_stream_without_caps_passes_as_bytes(self):
        # filesrc sets no caps: the file's bytes cross as they are, and the
        # reader's filesink writes the same file.
        ring = self.ring("bytes")
        with tempfile.TemporaryDirectory() as scratch:
            source, copy = os.path.join(scratch, "in.bin"), os.path.join(scratch, "out.bin")
            with open(source, "wb") as f:
                f.write(os.urandom(1_000_003))
            consumer = self.start(f"shmringsrc ring={ring} ! filesink location={copy}")
            producer = self.start(f"filesrc location={source} blocksize=65536 ! "
                                  f"shmringsink ring={ring} wait-for-readers=true")
            code, _, err = finish(producer)
            self.assertEqual(code, 0, err)
            code, _, err = finish(consumer)
            self.assertEqual(code, 0, "EOS ends the consumer cleanly: " + err)
            with open(source, "rb") as a, open(copy, "rb") as b:
                self.assertTrue(a.read() == b.read(), "the copy differs from the file")


class ZeroCopy(ProcessTest):
    """The writer side: upstream draws into ring slots from shmringsink's pool."""

    SMALL = "video/x-raw,format=I420,width=320,height=240,framerate=30/1"

    def exchange(self, ring, producer_upstream, caps, count, consumer_tail="",
                 reference_tail=""):
        consumer = self.start(f"shmringsrc ring={ring} timestamp-mode=original ! "
                              f"{consumer_tail} checksumsink")
        producer = run_pipeline(f"{producer_upstream} ! shmringsink name=writer ring={ring} "
                                f"sync=false wait-for-readers=true")
        self.processes.append(producer)
        code, out, err = finish(producer)
        self.assertEqual(code, 0, err)
        code, received, err = finish(consumer)
        self.assertEqual(code, 0, err)
        self.assertEqual(frames(received),
                         self.reference_frames(count, caps, reference_tail))
        return stats_of(out, "writer")

    def test_pool_aware_upstream_is_never_copied(self):
        stats = self.exchange(self.ring("pool"),
                              f"videotestsrc pattern=ball num-buffers=1000 ! {self.SMALL}",
                              self.SMALL, 1000)
        self.assertEqual(stats["published"], 1000)
        self.assertEqual(stats["copied"], 0)
        self.assertEqual(stats["bytes-copied"], 0)

    def test_upstream_with_its_own_buffers_is_copied_once(self):
        stats = self.exchange(self.ring("copy"),
                              f"videotestsrc pattern=ball num-buffers=200 ! {self.SMALL} ! "
                              f"identity drop-allocation=true", self.SMALL, 200)
        self.assertEqual(stats["published"], 200)
        self.assertEqual(stats["copied"], 200)
        self.assertEqual(stats["bytes-copied"], 200 * 320 * 240 * 3 // 2)

    def test_odd_width_frames_are_pixel_exact_through_videoconvert(self):
        odd = "video/x-raw,format=I420,width=321,height=241,framerate=30/1"
        to_rgb = "videoconvert ! video/x-raw,format=RGB !"
        stats = self.exchange(self.ring("odd"),
                              f"videotestsrc pattern=ball num-buffers=60 ! {odd}", odd, 60,
                              consumer_tail=to_rgb, reference_tail=to_rgb)
        self.assertEqual(stats["copied"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
