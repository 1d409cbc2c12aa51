"""A /dev/shm too small for the ring, as docker's 64 MB default is for 4K
video, and a full one. Each case runs in a private mount namespace
(`unshare -m`) with a small tmpfs mounted on /dev/shm there; the real one is
never touched. Nothing may die of SIGBUS, and nothing may be left behind."""
import os
import subprocess
import time
import unittest

BOUND = 60  # s: the longest one case may run
SIGBUS_EXITS = (135, -7)


def in_small_shm(script, size="32m"):
    """Runs `script` (bash) with a tmpfs of `size` on /dev/shm, in a mount
    namespace of its own; returns (exit code, stdout, stderr)."""
    wrapped = (f"set -u; mount --make-rprivate / && mount -t tmpfs -o size={size} tmpfs /dev/shm "
               f"&& {{ {script}\n}}")
    run = subprocess.run(["unshare", "--mount", "bash", "-c", wrapped], capture_output=True,
                         text=True, timeout=BOUND)
    return run.returncode, run.stdout, run.stderr


def unshare_refused():
    """Why a private mount namespace cannot be had here, or None."""
    try:
        run = subprocess.run(["unshare", "--mount", "bash", "-c",
                              "mount -t tmpfs -o size=1m tmpfs /dev/shm"],
                             capture_output=True, text=True, timeout=BOUND)
    except FileNotFoundError as error:
        return str(error)
    return None if run.returncode == 0 else run.stderr.strip() or f"exit {run.returncode}"


# Prints the writer's exit code and what it left in /dev/shm, one per line.
WRITER = ("gst-launch-1.0 {pipeline} >/dev/null 2>/tmp/shmring-small-$$.err; echo exit=$?; "
          "cat /tmp/shmring-small-$$.err >&2; rm -f /tmp/shmring-small-$$.err; "
          "echo left=$(ls /dev/shm | grep '^shmring\\.' | tr '\\n' ' ')")


def field(out, name):
    for line in out.splitlines():
        if line.startswith(name + "="):
            return line[len(name) + 1:].strip()
    raise AssertionError(f"no {name}= in {out!r}")


class SmallDevShm(unittest.TestCase):
    def setUp(self):
        refused = unshare_refused()
        if refused:
            self.skipTest(f"no private mount namespace here (unshare --mount): {refused}")

    def test_a_4k_ring_on_32_mb_is_a_clear_error_not_sigbus(self):
        start = time.monotonic()
        code, out, err = in_small_shm(WRITER.format(
            pipeline="videotestsrc num-buffers=50 ! video/x-raw,format=I420,width=3840,"
                     "height=2160 ! shmringsink ring=big"))
        self.assertEqual(code, 0, err)
        writer_exit = int(field(out, "exit"))
        self.assertNotIn(writer_exit, SIGBUS_EXITS, "the writer died of SIGBUS")
        self.assertNotEqual(writer_exit, 0, "a ring that does not fit is an error")
        # 8 slots of 12,441,600 bytes, and what there is.
        self.assertRegex(err, r"needs \d+ bytes but /dev/shm has \d+ free")
        self.assertIn("docker --shm-size", err)
        self.assertIn("fewer or smaller slots", err)
        self.assertEqual(field(out, "left"), "", "nothing is left behind")
        self.assertLess(time.monotonic() - start, 30)

    def test_a_slot_size_beyond_the_machine_is_refused_at_once(self):
        start = time.monotonic()
        code, out, err = in_small_shm(WRITER.format(
            pipeline="audiotestsrc num-buffers=5 ! shmringsink ring=huge "
                     "slot-size=4294967296"))
        self.assertEqual(code, 0, err)
        self.assertNotIn(int(field(out, "exit")), SIGBUS_EXITS + (0,))
        self.assertRegex(err, r"needs \d+ bytes")
        self.assertEqual(field(out, "left"), "")
        self.assertLess(time.monotonic() - start, 10, "refused before taking any memory")

    def test_on_a_full_dev_shm_writers_and_readers_fail_cleanly(self):
        # Fill /dev/shm, then: a writer of a small ring; a sparse object that
        # a hostile user made with truncate (its pages not reserved), read by
        # shmringsrc and looked at by the shmring tool.
        cli = os.environ["SHMRING_CLI"]
        script = (
            "dd if=/dev/zero of=/dev/shm/filler bs=1M 2>/dev/null; "
            "truncate -s 8M /dev/shm/shmring.sparse; "
            + WRITER.format(pipeline="videotestsrc num-buffers=5 ! video/x-raw,width=320,"
                                     "height=240 ! shmringsink ring=small") + "; "
            "timeout 20 gst-launch-1.0 shmringsrc ring=sparse timeout=1000000000 ! fakesink "
            ">/dev/null 2>&1; echo reader=$?; "
            f"timeout 20 {cli} list >/dev/null 2>&1; echo list=$?; "
            f"timeout 20 {cli} info sparse >/dev/null 2>&1; echo info=$?; "
            f"timeout 20 {cli} clean >/dev/null 2>&1; echo clean=$?")
        code, out, err = in_small_shm(script, size="16m")
        self.assertEqual(code, 0, err)
        writer_exit = int(field(out, "exit"))
        self.assertNotIn(writer_exit, SIGBUS_EXITS + (0,), err)
        self.assertRegex(err, r"needs \d+ bytes but /dev/shm has \d+ free")
        self.assertNotIn("shmring.small", field(out, "left"), "the failed ring is not left behind")
        # The sparse object reads as "being created": the reader waits for a
        # writer, then reports that none came. No SIGBUS anywhere.
        self.assertEqual(int(field(out, "reader")), 1, out)
        for tool in ("list", "info", "clean"):
            self.assertNotIn(int(field(out, tool)), SIGBUS_EXITS + (124,), f"shmring {tool}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
