#!/usr/bin/env python3
"""Faults between real processes: writers and readers killed with SIGKILL,
stopped with SIGSTOP, too slow, or joining late. Nothing a peer does may
hang, crash or corrupt another process: every process is bounded in time,
every frame that arrives is checked against a reference run, and no ring
outlives its test.
"""
import os
import random
import re
import signal
import time
import unittest

from support import (ProcessTest, finish, frames, gst_launch, reader_count, ring_path,
                     ring_progress, run_pipeline, seconds, stats_of, wait_for)

SMALL = "video/x-raw,format=I420,width=320,height=240,framerate=30/1"
TINY = "video/x-raw,format=I420,width=160,height=120,framerate=30/1"


class Faults(ProcessTest):

    def track(self, process):
        self.processes.append(process)
        return process

    def test_killed_writer_is_replaced_and_the_reader_resumes(self):
        ring = self.ring("restart")
        reader = self.track(run_pipeline(
            f"shmringsrc name=reader ring={ring} on-writer-lost=wait "
            f"timestamp-mode=original ! checksumsink"))
        first = self.start(f"videotestsrc pattern=ball ! {SMALL} ! shmringsink ring={ring}")
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait()
        # The reader, waiting for a new writer, still holds its last frame
        # (downstream's last sample), and so the dead writer's ring.
        time.sleep(0.3)
        # Same name, other caps: the stale ring is replaced, not renamed.
        second = self.start(f"videotestsrc pattern=ball num-buffers=30 ! {TINY} ! "
                            f"shmringsink ring={ring}")
        self.assertEqual(finish(second)[0], 0)
        code, out, err = finish(reader)
        self.assertEqual(code, 0, "the second writer's EOS ends the reader: " + err)
        # The application was told: the writer was lost (why, and what the
        # source does about it), then that a writer is back.
        messages = [line for line in out.splitlines() if line.startswith("message ")]
        self.assertEqual(len(messages), 2, messages)
        self.assertRegex(messages[0], rf"^message shmring-writer-lost, ring=\(string\){ring}, "
                                      rf"pid=\(int\){first.pid}, reason=\(string\)died, "
                                      rf"action=\(string\)wait;$")
        self.assertRegex(messages[1], rf"^message shmring-writer-back, ring=\(string\){ring}, "
                                      rf"pid=\(int\){second.pid};$")
        got = frames(out)
        tiny = self.reference_frames(30, TINY)
        self.assertEqual(got[-30:], tiny, "every frame of the new writer, new caps, intact")
        small = dict(self.reference_frames(60, SMALL))
        before = got[:-30]
        self.assertGreater(len(before), 10, "frames of the first writer arrived")
        for pts, sha in before:
            self.assertEqual(sha, small.get(pts), f"first writer's frame at {pts}")

    def test_killed_readers_are_reclaimed_and_the_others_lose_nothing(self):
        ring = self.ring("reader-kills")
        steady = self.start(f"shmringsrc ring={ring} timestamp-mode=original ! checksumsink")
        time.sleep(0.3)
        # -m: the writer's bus messages, reader joined/left among them.
        producer = self.track(gst_launch(
            f"videotestsrc pattern=ball num-buffers=150 ! {SMALL} ! shmringsink ring={ring}",
            flags=("-m",)))
        rng = random.Random(1234)
        for _ in range(20):
            victim = self.start(f"shmringsrc ring={ring} ! fakesink")
            time.sleep(rng.uniform(0.02, 0.2))
            victim.send_signal(signal.SIGKILL)
            victim.wait()
        code, out, err = finish(producer)
        self.assertEqual(code, 0, err)
        code, received, err = finish(steady)
        self.assertEqual(code, 0, err)
        self.assertEqual(frames(received), self.reference_frames(150, SMALL),
                         "the steady reader lost nothing")
        left = len(re.findall(r"shmring-reader-left", out))
        joined = len(re.findall(r"shmring-reader-joined", out))
        self.assertGreaterEqual(left, joined - 1, "every killed reader was noticed")
        self.assertGreater(left, 5)

    def test_a_leaky_slow_reader_never_costs_a_fast_one_a_frame(self):
        ring = self.ring("leaky")
        # The writer waits for its first reader, the lossless one; the slow
        # leaky one (10 frames/s against the writer's 30) joins after it.
        producer = self.track(run_pipeline(
            f"videotestsrc pattern=ball num-buffers=90 ! {SMALL} ! "
            f"shmringsink name=writer ring={ring} wait-for-readers=true"))
        wait_for(lambda: os.path.exists(ring_path(ring)))
        fast = self.start(f"shmringsrc ring={ring} timestamp-mode=original ! checksumsink")
        # Only then the slow one: were it first, the writer would start for it
        # and the lossless reader would join mid-stream.
        wait_for(lambda: reader_count(ring) == 1)
        slow = self.track(run_pipeline(
            f"shmringsrc name=reader ring={ring} policy=leaky ! "
            f"identity sleep-time=100000 ! fakesink"))
        code, out, err = finish(producer)
        self.assertEqual(code, 0, err)
        self.assertEqual(stats_of(out, "writer")["overruns"], 0, "the writer never waited it out")
        code, received, err = finish(fast)
        self.assertEqual(code, 0, err)
        self.assertEqual(frames(received), self.reference_frames(90, SMALL))
        code, out, err = finish(slow)
        self.assertEqual(code, 0, err)
        stats = stats_of(out, "reader")
        self.assertGreater(stats["lost"], 0, "the slow reader skipped frames")
        self.assertGreater(stats["received"], 0)

    def test_a_stopped_reader_is_overrun_and_the_others_lose_nothing(self):
        ring = self.ring("sigstop")
        lossless = [self.start(f"shmringsrc ring={ring} timestamp-mode=original ! "
                               f"checksumsink") for _ in range(2)]
        stopped = self.track(run_pipeline(f"shmringsrc name=reader ring={ring} ! fakesink"))
        time.sleep(0.5)
        producer = self.track(run_pipeline(
            f"videotestsrc pattern=ball num-buffers=120 ! {SMALL} ! "
            f"shmringsink name=writer ring={ring} timeout=300000000"))
        time.sleep(1.0)
        stopped.send_signal(signal.SIGSTOP)
        time.sleep(1.5)
        stopped.send_signal(signal.SIGCONT)
        code, out, err = finish(producer)
        self.assertEqual(code, 0, err)
        self.assertGreaterEqual(stats_of(out, "writer")["overruns"], 1)
        for reader in lossless:
            code, received, err = finish(reader)
            self.assertEqual(code, 0, err)
            self.assertEqual(frames(received), self.reference_frames(120, SMALL))
        code, out, err = finish(stopped)
        self.assertEqual(code, 0, "the stopped reader carries on to EOS: " + err)
        self.assertGreater(stats_of(out, "reader")["lost"], 0)

    def test_late_join_of_h264_starts_at_a_keyframe(self):
        ring = self.ring("h264")
        producer = self.start(
            f"videotestsrc pattern=ball num-buffers=150 ! {SMALL} ! "
            f"x264enc key-int-max=30 tune=zerolatency speed-preset=ultrafast ! "
            f"video/x-h264,stream-format=byte-stream ! shmringsink ring={ring}")
        # Start the consumer just after a keyframe (every 30th frame), past
        # the first GOP, so that it joins mid-GOP.
        wait_for(lambda: (lambda published: published >= 31 and 1 <= published % 30 <= 8)(
            ring_progress(ring)[1]), "the writer just past a keyframe", timeout=20)
        consumer = self.track(gst_launch(
            f"shmringsrc ring={ring} timestamp-mode=original ! fakesink silent=false",
            flags=("-v",)))
        # How far the writer was once the reader had joined: the reader started
        # at a frame before that.
        joined_by = None

        def joined():
            nonlocal joined_by
            readers, joined_by = ring_progress(ring)
            return readers == 1
        wait_for(joined, "the consumer to join")
        self.assertEqual(finish(producer)[0], 0)
        code, out, err = finish(consumer)
        self.assertEqual(code, 0, err)
        chains = [line for line in out.splitlines() if "last-message = chain" in line]
        self.assertGreater(len(chains), 30)
        self.assertNotIn("delta-unit", chains[0], "the first buffer is a keyframe")
        # It joined mid-GOP: the first frame it pushed (a keyframe) comes after
        # every frame published before it joined, so it skipped delta units.
        first = round(seconds(re.search(r"pts: (\d+:\d+:[\d.]+)", chains[0])[1]) * 30)
        self.assertEqual(first % 30, 0, chains[0])
        self.assertGreaterEqual(first, joined_by, "the consumer joined mid-GOP")
        self.assertTrue(any("delta-unit" in line for line in chains[1:]),
                        "delta units flow once a keyframe has arrived")


class Starvation(ProcessTest):
    def test_the_smallest_ring_streams_while_the_sink_keeps_its_last_buffer(self):
        # Two slots: the pool may lend one. GstBaseSink keeps the last buffer
        # it rendered (last-sample); a pool place held until that buffer is
        # freed stopped the stream after one frame.
        ring = self.ring("two-slots")
        reader = self.start(f"shmringsrc ring={ring} ! checksumsink")
        writer = self.start(f"videotestsrc pattern=ball num-buffers=60 ! {SMALL} ! "
                            f"shmringsink ring={ring} slots=2")
        code, _, err = finish(writer, timeout=30)
        self.assertEqual(code, 0, err)
        code, out, err = finish(reader, timeout=30)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(out)],
                         [sha for _, sha in self.reference_frames(60, SMALL)],
                         "every frame, in order (the lossless reader holds the writer back)")

    def test_slow_leaky_readers_together_cannot_starve_the_writer(self):
        # Four leaky readers whose downstream queues everything and drains
        # slowly, joined at different times, would each keep up to half of
        # the slots, and together all of them. The lossless reader gets
        # every frame; the writer (upstream drawing into its pool) never
        # fails.
        ring = self.ring("starve")
        lossless = self.start(f"shmringsrc ring={ring} ! checksumsink")
        writer = self.start(f"videotestsrc pattern=ball is-live=true num-buffers=150 ! "
                            f"{SMALL} ! shmringsink ring={ring}")
        wait_for(lambda: os.path.exists(ring_path(ring)))
        slow = []
        for _ in range(4):
            # Each joins once the writer has published more frames: they hold
            # different slots.
            published = ring_progress(ring)[1]
            wait_for(lambda: ring_progress(ring)[1] >= published + 5, "more frames")
            # 25 frames/s drained from 30 coming: the queue grows, so each
            # reader's downstream comes to hold half of the slots.
            slow.append(run_pipeline(
                f"shmringsrc name=reader ring={ring} policy=leaky ! "
                f"queue max-size-buffers=1000 ! identity sleep-time=40000 ! fakesink"))
            self.processes.append(slow[-1])
        code, _, err = finish(writer, timeout=60)
        self.assertEqual(code, 0, f"the writer never failed: {err}")
        code, out, err = finish(lossless, timeout=30)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(out)],
                         [sha for _, sha in self.reference_frames(150, SMALL)],
                         "the lossless reader got every frame, intact")
        for reader in slow:
            code, out, err = finish(reader, timeout=30)
            self.assertEqual(code, 0, err)
            stats = stats_of(out, "reader")
            # The scenario was reached: frames were copied rather than kept
            # in the ring (that the copies are not ring memory is checked
            # in the element tests).
            self.assertGreater(stats["copied"], 0, stats)
            self.assertGreater(stats["received"], 0, stats)


if __name__ == "__main__":
    unittest.main(verbosity=2)
