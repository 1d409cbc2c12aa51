#!/usr/bin/env python3
"""No stream lost at the edges: a stream that ends before it begins, and a
writer stopped by SIGTERM or SIGKILL (as systemd and `docker stop` do), whose
ring must not stay behind once no live process uses it."""
import os
import signal
import time
import unittest

from support import ProcessTest, finish, ring_path, wait_for

SMALL = "video/x-raw,format=I420,width=320,height=240,framerate=30/1"


class StreamEdges(ProcessTest):
    def test_a_waiting_reader_gets_the_eos_of_an_empty_stream(self):
        ring = self.ring("empty")
        reader = self.start(f"shmringsrc ring={ring} ! fakesink")
        time.sleep(0.5)  # waiting for a writer that does not exist yet
        writer = self.start(f"videotestsrc num-buffers=0 ! shmringsink ring={ring}")
        self.assertEqual(finish(writer, timeout=20)[0], 0)
        code, _, err = finish(reader, timeout=20)
        self.assertEqual(code, 0, f"the EOS ended the reader: {err}")

    def test_a_writer_that_fails_before_its_first_frame_ends_its_reader(self):
        # The ring exists from the start (slot-size set); the writer waits for
        # its reader, then fails on its first buffer (too large for a slot).
        # The reader had joined it, so it ends rather than waiting without
        # end for a ring that is gone. With `error`, six times: whether the
        # EOS upstream sends after the error reaches the sink before
        # gst-launch stops the pipeline is a race (about half the runs).
        for run, (policy, expect_success) in enumerate([("eos", True)] + [("error", False)] * 6):
            ring = self.ring(f"fails-first-{policy}-{run}")
            reader = self.start(f"shmringsrc ring={ring} on-writer-lost={policy} ! fakesink")
            writer = self.start(f"videotestsrc num-buffers=5 ! {SMALL} ! shmringsink ring={ring} "
                                f"slot-size=1000 wait-for-readers=true")
            code, _, err = finish(writer, timeout=20)
            self.assertNotEqual(code, 0)
            self.assertIn("does not fit a slot", err)
            # It ends with on-writer-lost's answer: the EOS that upstream
            # sends after the error is not passed on, since a failed stream
            # is not a finished one.
            code, _, err = finish(reader, timeout=20)
            if expect_success:
                self.assertEqual(code, 0, err)
            else:
                self.assertNotEqual(code, 0, "the reader took the failed stream for a finished one")
                self.assertIn("stopped without sending EOS", err)

    def check_writer_stopped_by(self, sig):
        ring = self.ring(f"stopped-{sig.name}")
        reader = self.start(f"shmringsrc ring={ring} ! fakesink")
        writer = self.start(f"videotestsrc is-live=true ! {SMALL} ! shmringsink ring={ring}")
        wait_for(lambda: os.path.exists(ring_path(ring)), "the ring")
        time.sleep(1.0)
        writer.send_signal(sig)
        writer.wait(timeout=10)
        # on-writer-lost=eos (the default): the reader ends cleanly, and as
        # the last one out removes the dead writer's ring.
        code, _, err = finish(reader, timeout=20)
        self.assertEqual(code, 0, err)
        wait_for(lambda: not os.path.exists(ring_path(ring)), "the dead writer's ring to go")

    def test_a_writer_stopped_by_sigterm_leaves_nothing_once_its_reader_is_gone(self):
        self.check_writer_stopped_by(signal.SIGTERM)

    def test_a_writer_killed_leaves_nothing_once_its_reader_is_gone(self):
        self.check_writer_stopped_by(signal.SIGKILL)

    def test_a_reader_passing_by_removes_a_dead_writers_ring(self):
        ring = self.ring("passing")
        writer = self.start(f"videotestsrc is-live=true ! {SMALL} ! shmringsink ring={ring}")
        wait_for(lambda: os.path.exists(ring_path(ring)), "the ring")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        self.assertTrue(os.path.exists(ring_path(ring)), "nobody has looked at it yet")
        # A reader that waits 1.5 s for a live writer finds only the dead
        # one's ring; on its way out it removes it. (Killed in the instant
        # between creating the name and locking it, the writer leaves an
        # empty object: the reader removes that once it has stayed so past
        # the 0.5 s a creator is allowed.)
        code, _, err = finish(self.start(f"shmringsrc ring={ring} timeout=1500000000 ! fakesink"),
                              timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn("No writer", err)
        self.assertFalse(os.path.exists(ring_path(ring)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
