"""The ring follows the stream with slot-size unset: a decoder's padded
frames and caps that change to bigger frames grow it, and readers in other
processes follow with the new caps and a DISCONT, losing nothing in block
mode. With slot-size set, a buffer that does not fit stays an error."""
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from support import (ProcessTest, finish, frames, gst_launch, process_gone, ring_path,
                     run_pipeline, stats_of, wait_for)
from test_small_shm import in_small_shm
from test_time_and_events import identity_log

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = os.environ["SHMRING_SYSTEM_PYTHON"]
SIZES = ["160x120", "320x240", "640x480"]
PER_SIZE = 10
DISCONT = 0x40


def expected_frames():
    """The sha1 of each frame resizing_writer.py sends, in order."""
    digests = []
    n = 0
    for size in SIZES:
        width, height = map(int, size.split("x"))
        for _ in range(PER_SIZE):
            digests.append(hashlib.sha1(bytes([n]) * (width * height)).hexdigest())
            n += 1
    return digests


class RingGrowth(ProcessTest):
    @classmethod
    def setUpClass(cls):
        # H.264 files whose decoded frames avdec_h264 pads beyond the caps'
        # size: 4:2:0 8-bit (the common case) and 4:4:4 10-bit.
        # Those of runs killed before their tearDownClass (a suite timeout).
        for stale in glob.glob(os.path.join(tempfile.gettempdir(), "shmring-growth-*-*")):
            pid = os.path.basename(stale).split("-")[2]
            if pid.isdigit() and process_gone(pid):
                shutil.rmtree(stale, ignore_errors=True)
        cls.media = tempfile.mkdtemp(prefix=f"shmring-growth-{os.getpid()}-")
        cls.files = {}
        for name, fmt in (("i420", "I420"), ("y444", "Y444_10LE")):
            path = os.path.join(cls.media, f"{name}.mp4")
            code, _, err = finish(gst_launch(
                f"videotestsrc pattern=ball num-buffers=20 ! "
                f"video/x-raw,format={fmt},width=1280,height=720,framerate=30/1 ! "
                f"x264enc ! mp4mux ! filesink location={path}"))
            assert code == 0, err
            cls.files[name] = path

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.media, ignore_errors=True)

    def resizing_writer(self, ring, *sink_properties, pause=0.0, readers=1):
        """The writer of SIZES; with `readers`, it waits for that many readers
        after its first frame (so that no reader starts late)."""
        args = [SYSTEM_PYTHON, os.path.join(HERE, "resizing_writer.py"), f"--pause={pause}",
                f"--readers={readers}", ring, str(PER_SIZE), *SIZES]
        if sink_properties:
            args += ["--", *sink_properties]
        writer = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(writer)
        return writer

    def pausing_writer(self, ring, *sink_properties):
        """A resizing writer for two readers that pauses 1.5 s after each
        size, returned once its first size has been read."""
        writer = self.resizing_writer(ring, *sink_properties, pause=1.5, readers=2)
        wait_for(lambda: os.path.exists(ring_path(ring)), "the ring", timeout=20)
        time.sleep(0.75)
        return writer

    def test_caps_that_grow_mid_stream_lose_nothing_in_block_mode(self):
        ring = self.ring("caps-grow")
        # A slow blocking reader has records in the old ring when it is
        # told to move; a leaky one beside it never holds the writer up.
        slow = self.start(f"shmringsrc ring={ring} ! identity sleep-time=3000 ! checksumsink")
        leaky = self.start(f"shmringsrc ring={ring} policy=leaky ! fakesink")
        time.sleep(0.5)
        writer = self.resizing_writer(ring, readers=2)
        code, out, err = finish(writer)
        self.assertEqual(code, 0, err)
        stats = stats_of(out, "sink")
        self.assertEqual(stats["ring-moves"], 2, out)
        self.assertGreaterEqual(stats["slot-size"], 640 * 480)
        self.assertEqual(stats["overruns"], 0, "the writer never overran its blocking reader")
        code, got, err = finish(slow)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(got)], expected_frames())
        self.assertEqual(finish(leaky)[0], 0)
        self.assertFalse(os.path.exists(ring_path(ring)))

    def test_a_reader_follows_with_new_caps_a_discont_and_the_same_segment(self):
        ring = self.ring("caps-follow")
        reader = gst_launch(f"shmringsrc ring={ring} timestamp-mode=original ! "
                            f"identity silent=false ! fakesink", flags=("-v",))
        self.processes.append(reader)
        time.sleep(0.5)
        code, _, err = finish(self.resizing_writer(ring))
        self.assertEqual(code, 0, err)
        code, out, err = finish(reader)
        self.assertEqual(code, 0, err)
        log = identity_log(out)
        caps = [item[2].replace("\\", "") for item in log if item[:2] == ("event", "caps")]
        self.assertEqual(len(caps), 3, caps)
        for text, size in zip(caps, SIZES):
            width, height = size.split("x")
            self.assertIn(f"width=(int){width}, height=(int){height}", text)
        self.assertEqual(sum(1 for item in log if item[:2] == ("event", "segment")), 1,
                         "the stream goes on in its segment")
        buffers = [item for item in log if item[0] == "buffer"]
        self.assertEqual([b[1] for b in buffers],
                         [int(w) * int(h) for w, h in (s.split("x") for s in SIZES)
                          for _ in range(PER_SIZE)])
        # The first buffer of each ring is DISCONT, and only those.
        discont = [i for i, b in enumerate(buffers) if b[6] & DISCONT]
        self.assertEqual(discont, [0, PER_SIZE, 2 * PER_SIZE])
        # Timestamps go on as the writer stamped them.
        self.assertEqual(buffers[-1][3], "0:00:00.966666666")

    def test_caps_that_shrink_reach_the_reader_without_a_move(self):
        # Smaller frames fit the slots: no move, and the reader still pushes
        # the new caps at the exact buffer.
        ring = self.ring("caps-shrink")
        reader = gst_launch(f"shmringsrc ring={ring} ! identity silent=false ! fakesink",
                            flags=("-v",))
        self.processes.append(reader)
        time.sleep(0.5)
        writer = subprocess.Popen(
            [SYSTEM_PYTHON, os.path.join(HERE, "resizing_writer.py"), ring, "3", "320x240",
             "160x120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(writer)
        code, out, err = finish(writer)
        self.assertEqual(code, 0, err)
        self.assertEqual(stats_of(out, "sink")["ring-moves"], 0)
        code, out, err = finish(reader)
        self.assertEqual(code, 0, err)
        log = identity_log(out)
        caps = [item[2].replace("\\", "") for item in log if item[:2] == ("event", "caps")]
        self.assertEqual(len(caps), 2, caps)
        self.assertIn("width=(int)160, height=(int)120", caps[1])
        kinds = [("caps" if item[:2] == ("event", "caps") else item[0]) for item in log
                 if item[0] == "buffer" or item[:2] == ("event", "caps")]
        self.assertEqual(kinds, ["caps"] + ["buffer"] * 3 + ["caps"] + ["buffer"] * 3)

    def padded_decoder_output(self, name):
        ring = self.ring(f"padded-{name}")
        after = "videoconvert ! video/x-raw,format=RGB ! checksumsink"
        reader = self.start(f"shmringsrc ring={ring} ! {after}")
        time.sleep(0.5)
        # The README's hand-over example, with the most common decoder.
        writer = run_pipeline(f"filesrc location={self.files[name]} ! decodebin ! "
                              f"shmringsink ring={ring} wait-for-readers=true")
        self.processes.append(writer)
        code, out, err = finish(writer)
        self.assertEqual(code, 0, err)
        stats = stats_of(out, "shmringsink0")
        self.assertEqual(stats["ring-moves"], 1, "padded frames grew the ring once")
        code, got, err = finish(reader)
        self.assertEqual(code, 0, err)
        code, want, err = finish(gst_launch(
            f"filesrc location={self.files[name]} ! decodebin ! {after}"))
        self.assertEqual(code, 0, err)
        self.assertEqual(len(frames(want)), 20)
        self.assertEqual([sha for _, sha in frames(got)], [sha for _, sha in frames(want)])

    def test_padded_4_2_0_decoder_output_passes_whole(self):
        self.padded_decoder_output("i420")

    def test_padded_4_4_4_decoder_output_passes_whole(self):
        self.padded_decoder_output("y444")

    def test_an_explicit_slot_size_stays_a_hard_limit(self):
        ring = self.ring("fixed")
        reader = self.start(f"shmringsrc ring={ring} on-writer-lost=eos ! fakesink")
        time.sleep(0.3)
        code, out, err = finish(self.resizing_writer(ring, "slot-size=19200"))
        self.assertNotEqual(code, 0)
        self.assertIn("does not fit a slot of ring", err)
        self.assertIn("set by 'slot-size'", err)
        self.assertEqual(finish(reader)[0], 0)

    def test_a_reader_that_does_not_follow_in_time_only_delays_the_writer(self):
        # Of two blocking readers, one is stopped (SIGSTOP) before the ring
        # moves: the writer waits for it no longer than its timeout and goes
        # on with the other, which loses nothing. Let go once the writer has
        # ended, the stopped one finds it gone (on-writer-lost=eos by
        # default) rather than waiting for a ring that never comes.
        ring = self.ring("stopped")
        stopped = self.start(f"shmringsrc ring={ring} ! checksumsink")
        running = self.start(f"shmringsrc ring={ring} ! checksumsink")
        time.sleep(0.5)
        writer = self.pausing_writer(ring, "timeout=200000000")
        os.kill(stopped.pid, signal.SIGSTOP)
        try:
            code, out, err = finish(writer, timeout=40)
        finally:
            os.kill(stopped.pid, signal.SIGCONT)
        self.assertEqual(code, 0, err)
        self.assertEqual(stats_of(out, "sink")["ring-moves"], 2)
        code, got, err = finish(running)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(got)], expected_frames())
        code, got, err = finish(stopped)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(got)], expected_frames()[:PER_SIZE])

    def test_a_slow_blocking_reader_draining_longer_than_the_timeout_still_follows(self):
        # The writer's timeout (250 ms) is shorter than the slow reader's
        # backlog at each move (8 slots x 60 ms): it is reading, so it is
        # waited for, and loses nothing, though a fast reader came over at
        # once (the writer then has a reader and would go on).
        ring = self.ring("slow-drain")
        slow = self.start(f"shmringsrc ring={ring} ! identity sleep-time=60000 ! checksumsink")
        fast = self.start(f"shmringsrc ring={ring} ! checksumsink")
        time.sleep(0.5)
        code, out, err = finish(self.resizing_writer(ring, "timeout=250000000", readers=2))
        self.assertEqual(code, 0, err)
        self.assertEqual(stats_of(out, "sink")["overruns"], 0)
        for reader in (slow, fast):
            code, got, err = finish(reader)
            self.assertEqual(code, 0, err)
            self.assertEqual([sha for _, sha in frames(got)], expected_frames())

    def late_follower(self, what, stopped_for):
        """A blocking reader stopped after the first size, for `stopped_for`
        seconds, beside a running one; returns its stats."""
        ring = self.ring(what)
        late = run_pipeline(f"shmringsrc ring={ring} ! fakesink")
        self.processes.append(late)
        running = self.start(f"shmringsrc ring={ring} ! fakesink")
        time.sleep(0.5)
        writer = self.pausing_writer(ring, "timeout=200000000")
        os.kill(late.pid, signal.SIGSTOP)
        time.sleep(stopped_for)
        os.kill(late.pid, signal.SIGCONT)
        code, _, err = finish(writer)
        self.assertEqual(code, 0, err)
        self.assertEqual(finish(running)[0], 0)
        code, out, err = finish(late)
        self.assertEqual(code, 0, err)
        return stats_of(out, "shmringsrc0")

    def test_a_late_follower_counts_what_it_missed_as_lost(self):
        # Back while the writer still writes to the second ring: it follows,
        # and the frames published there before it came count as lost.
        stats = self.late_follower("late", 1.75)
        self.assertGreater(stats["lost"], 0, stats)
        self.assertEqual(stats["received"] + stats["lost"], 3 * PER_SIZE, stats)

    def test_a_follower_that_skips_a_ring_counts_all_it_missed(self):
        # Back only once the writer is at the third ring: the second ring's
        # frames are lost to it too, and counted (rings number on).
        stats = self.late_follower("skips", 3.05)
        self.assertGreaterEqual(stats["lost"], PER_SIZE, stats)
        self.assertEqual(stats["received"] + stats["lost"], 3 * PER_SIZE, stats)

    def test_readers_in_separate_pid_namespaces_are_told_apart(self):
        # Both readers are pid 1, each in a PID namespace of its own: the
        # writer knows them by identity, not pid, and waits for the slow
        # blocking one though the leaky one comes over first. (The leaky one
        # joins while the writer pauses after its first size: the writer
        # waits for its first reader only.)
        ring = self.ring("namespaces")
        unshare = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
        namespaced = lambda *argv: subprocess.Popen(
            unshare + ["gst-launch-1.0", "-q", "shmringsrc", f"ring={ring}", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        # 10 frames at 200 ms outlast the writer's 1.5 s pause: the slow
        # reader still drains the first ring when it moves.
        slow = namespaced("!", "identity", "sleep-time=200000", "!", "checksumsink")
        self.processes.append(slow)
        time.sleep(0.5)
        writer = self.resizing_writer(ring, pause=1.5)
        wait_for(lambda: os.path.exists(ring_path(ring)), "the ring", timeout=20)
        leaky = namespaced("policy=leaky", "!", "fakesink")
        self.processes.append(leaky)
        code, _, err = finish(writer)
        self.assertEqual(code, 0, err)
        code, got, err = finish(slow)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(got)], expected_frames())
        self.assertEqual(finish(leaky)[0], 0)

    def test_a_blocking_reader_killed_before_a_move_does_not_hold_the_writer(self):
        # With a 30 s timeout, a writer that waited for a dead reader to
        # follow would overstay finish()'s 20 s; the live reader loses nothing.
        ring = self.ring("killed")
        doomed = self.start(f"shmringsrc ring={ring} ! fakesink")
        live = self.start(f"shmringsrc ring={ring} ! checksumsink")
        time.sleep(0.5)
        writer = self.pausing_writer(ring, "timeout=30000000000")
        doomed.kill()
        code, _, err = finish(writer, timeout=20)
        self.assertEqual(code, 0, err)
        code, got, err = finish(live)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(got)], expected_frames())

    def test_caps_that_change_faster_than_a_reader_reads_lose_nothing(self):
        # 30 caps, one frame each (shrinking: no move), to a reader slower
        # than the writer, in a ring of 16 slots: more caps are in flight
        # than the caps table holds (8), and the writer waits before it
        # reuses an entry still needed.
        ring = self.ring("caps-churn")
        reader = self.start(f"shmringsrc ring={ring} ! identity sleep-time=30000 ! checksumsink")
        time.sleep(0.5)
        sizes = [f"{640 - 8 * i}x{480 - 8 * i}" for i in range(30)]
        writer = subprocess.Popen(
            [SYSTEM_PYTHON, os.path.join(HERE, "resizing_writer.py"), ring, "1", *sizes, "--",
             "slots=16"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(writer)
        code, _, err = finish(writer)
        self.assertEqual(code, 0, err)
        code, got, err = finish(reader)
        self.assertEqual(code, 0, err)
        want = [hashlib.sha1(bytes([n]) * ((640 - 8 * n) * (480 - 8 * n))).hexdigest()
                for n in range(30)]
        self.assertEqual([sha for _, sha in frames(got)], want)

    def test_a_first_padded_frame_with_no_reader_needs_room_for_one_ring_only(self):
        # A 15 MB /dev/shm holds the 720p decoder's ring (8 x 1.4 MB) but not
        # two: with no reader yet, the old ring goes before the new one comes.
        code, out, err = in_small_shm(
            f"GST_PLUGIN_PATH={os.environ['GST_PLUGIN_PATH']} gst-launch-1.0 -q filesrc "
            f"location={self.files['i420']} ! decodebin ! shmringsink ring=small-decode; "
            f"echo exit=$?; echo left=$(ls /dev/shm | grep '^shmring\\.' | tr '\\n' ' ')",
            size="15m")
        self.assertIn("exit=0", out, err)
        self.assertIn("left=\n", out + "\n")

if __name__ == "__main__":
    unittest.main(verbosity=2)
