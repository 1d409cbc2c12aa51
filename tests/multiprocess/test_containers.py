#!/usr/bin/env python3
"""Containers: processes that share /dev/shm but not a PID namespace.

One side of each test runs under `unshare --pid --fork --mount-proc` (its own
PID namespace and its own /proc, as in a container that mounts the host's
/dev/shm), the other on the host. A pid seen from one side means nothing, or
somebody else, on the other, so whatever judges a peer alive or dead must not
rest on it: a live peer over there is alive, and a killed one is dead, within
a bound. Covered: frames both ways, a second writer refused, a killed writer
noticed, `shmring clean` and `list`, and a buffer lock and a queue node held
by a process killed over there.

Every process is bounded in time and killed if it overstays (a namespaced one
with its whole process group); every object is gone afterwards. Runs alone:
`shmring clean` acts on the whole machine. Needs unshare(1) and the right to
make PID namespaces (root); without them each test is skipped, saying why.
"""
import os
import re
import select
import signal
import subprocess
import sys
import time
import unittest

from support import ProcessTest, frames, reader_count, ring_path, row, shmring_cli, wait_for

HOLD_OBJECTS = os.environ["SHMRING_HOLD_OBJECTS"]

SMALL = "video/x-raw,format=I420,width=320,height=240,framerate=30/1"
# --kill-child: the namespaced process dies with unshare, whatever kills it.
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
BOUND = 20        # s: the longest any process of these tests may run
DEATH_BOUND = 3.0  # s: a killed peer must be noticed in this (the design says ~100 ms)

_unshare_problem = []


def unshare_problem():
    """None when PID namespaces can be made here, else why not."""
    if not _unshare_problem:
        try:
            run = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True,
                                 timeout=BOUND)
            problem = (None if run.returncode == 0 else
                       f"exit {run.returncode}: {run.stderr.strip()}")
        except (OSError, subprocess.TimeoutExpired) as error:
            problem = str(error)
        _unshare_problem.append(problem)
    return _unshare_problem[0]


def shmring(*args, namespaced=False):
    """(exit code, stdout, stderr) of the CLI, on the host or in a namespace."""
    return shmring_cli(*args, prefix=UNSHARE if namespaced else (), timeout=BOUND)


def text(data):
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


class Lines:
    """Lines a helper prints, each awaited for a bounded time."""

    def __init__(self, process, what):
        self.process, self.what, self.pending = process, what, b""

    def next(self, timeout=BOUND):
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.what}: no line within {timeout} s "
                                     f"(so far {self.pending!r})")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError(f"{self.what} ended (exit {self.process.wait()}) "
                                         f"after {self.pending!r}")
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode().strip()


class Containers(ProcessTest):

    def setUp(self):
        super().setUp()
        problem = unshare_problem()
        if problem:
            self.skipTest(f"cannot make a PID namespace with {' '.join(UNSHARE)}: {problem}")
        self.namespaced = []
        self.interrupted = False  # a process was killed for overstaying
        self.debris = []  # objects a test leaves on purpose (a killed writer's ring)

    def tearDown(self):
        # A namespaced process is killed with its group: unshare and what it
        # runs, so no pipe stays open behind a dead unshare.
        for process in self.processes:
            if process.poll() is None:
                self.interrupted = True
                self.kill(process)
                process.communicate()
        # After a failure midway, what the killed processes held is debris of
        # that failure (already reported), not a leak.
        for name in self.rings if self.interrupted else self.debris:
            if os.path.exists(ring_path(name)):
                os.unlink(ring_path(name))
        super().tearDown()

    # ---- processes ----------------------------------------------------------

    def spawn(self, argv, namespaced, binary=False, stdin=subprocess.DEVNULL):
        process = subprocess.Popen((UNSHARE if namespaced else []) + argv, stdin=stdin,
                                   stdout=subprocess.PIPE,
                                   stderr=None if binary else subprocess.PIPE,
                                   text=not binary, start_new_session=namespaced)
        self.processes.append(process)
        if namespaced:
            self.namespaced.append(process)
        return process

    def gst(self, description, namespaced, flags=("-q",)):
        return self.spawn(["gst-launch-1.0", *flags] + description.split(), namespaced)

    def kill(self, process):
        if process in self.namespaced:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            process.kill()

    def outcome(self, process, what, timeout=BOUND, ring=None):
        """(exit code, stdout, stderr); killed, and the test failed, if it
        overstays (saying how many readers `ring` had then)."""
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            readers = f"; readers on the ring: {reader_count(ring)}" if ring else ""
            self.interrupted = True
            self.kill(process)
            out, err = process.communicate()
            raise AssertionError(f"{what} still running after {timeout} s{readers}; "
                                 f"stderr: {text(err)[-1500:]}")
        return process.returncode, text(out), text(err)

    def inner_pid(self, unshare, name):
        """The host's pid of the program unshare runs, checked to be in its own
        PID namespace (two pids in NSpid: the host's and its own)."""
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/status") as f:
                        status = dict(line.rstrip("\n").split(":\t", 1) for line in f
                                      if ":\t" in line)
                except OSError:
                    continue
                if status.get("PPid") == str(unshare.pid) and status.get("Name") == name:
                    self.assertEqual(len(status["NSpid"].split()), 2,
                                     f"{name} runs in a PID namespace of its own")
                    return int(entry)
            if unshare.poll() is not None:
                raise AssertionError(f"unshare ended (exit {unshare.returncode}) "
                                     f"before {name} was seen running")
            time.sleep(0.05)
        raise AssertionError(f"{name} not seen running under unshare in {BOUND} s")

    def kill_inner(self, unshare, pid):
        """SIGKILL to the namespaced program itself; returns when it is gone."""
        os.kill(pid, signal.SIGKILL)
        try:
            unshare.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            raise AssertionError("unshare outlived its killed child by 5 s")
        self.assertFalse(os.path.exists(f"/proc/{pid}"), "the namespaced process is gone")

    def wait_for_ring(self, name, writer):
        def there():
            if writer.poll() is not None:
                raise AssertionError(f"the writer of {name} ended (exit {writer.returncode}) "
                                     f"before its ring appeared: {text(writer.stderr.read())}")
            return os.path.exists(ring_path(name))
        wait_for(there, f"ring {name}", timeout=BOUND)
        return os.stat(ring_path(name)).st_ino

    def start_live_writer(self, ring, namespaced):
        """A live writer (-e: EOS on SIGINT) streaming into `ring`; returns the
        process, the writer's host pid, and the ring's inode once it exists."""
        writer = self.gst(f"videotestsrc is-live=true ! {SMALL} ! shmringsink ring={ring}",
                          namespaced=namespaced, flags=("-q", "-e"))
        pid = self.inner_pid(writer, "gst-launch-1.0") if namespaced else writer.pid
        inode = self.wait_for_ring(ring, writer)
        time.sleep(0.5)
        return writer, pid, inode

    def assert_running(self, process, what):
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"{what} ended (exit {process.returncode}): "
                                 f"{text(err)[-1500:]}")

    # ---- frames across the namespace boundary --------------------------------

    def exchange(self, writer_namespaced):
        ring = self.ring("ct-" + ("from-ns" if writer_namespaced else "to-ns"))
        # on-writer-lost=error: a live writer taken for dead fails the reader
        # loudly instead of ending it early with EOS.
        reader = self.gst(f"shmringsrc ring={ring} on-writer-lost=error "
                          f"timestamp-mode=original ! checksumsink",
                          namespaced=not writer_namespaced)
        time.sleep(0.3)  # the reader is waiting for a writer that does not exist yet
        # Live, so that the namespaced side is still running when it is checked.
        writer = self.gst(f"videotestsrc pattern=ball is-live=true num-buffers=60 ! {SMALL} ! "
                          f"shmringsink ring={ring} sync=false wait-for-readers=true",
                          namespaced=writer_namespaced)
        self.inner_pid(writer if writer_namespaced else reader, "gst-launch-1.0")
        where = ("namespaced reader", "host writer") if not writer_namespaced else \
                ("host reader", "namespaced writer")
        code, out, err = self.outcome(reader, f"the {where[0]} (the {where[1]} still "
                                              f"running: {writer.poll() is None})", ring=ring)
        self.assertEqual(code, 0, f"EOS ends the {where[0]} cleanly: {err}")
        # A live source stamps by its clock: compare the pictures, in order.
        self.assertEqual([sha for _, sha in frames(out)],
                         [sha for _, sha in self.reference_frames(60, SMALL)],
                         f"the {where[0]} received every frame, unchanged")
        code, _, err = self.outcome(writer, f"the {where[1]}")
        self.assertEqual(code, 0, err)

    def test_host_writer_to_namespaced_reader(self):
        self.exchange(writer_namespaced=False)

    def test_namespaced_writer_to_host_reader(self):
        self.exchange(writer_namespaced=True)

    # ---- one writer per ring, across namespaces -------------------------------

    def second_writer_is_refused(self, first_namespaced):
        ring = self.ring("ct-second-" + ("host" if first_namespaced else "ns"))
        first, first_pid, inode = self.start_live_writer(ring, first_namespaced)
        where = "on the host" if first_namespaced else "in a PID namespace"
        second = self.gst(f"videotestsrc num-buffers=30 ! {SMALL} ! shmringsink ring={ring}",
                          namespaced=not first_namespaced)
        code, _, err = self.outcome(second, f"the second writer {where}")
        self.assertNotEqual(code, 0, f"a second writer {where} took over the ring of a live "
                                     f"writer in the other namespace: {err}")
        self.assertIn(ring, err)
        self.assertRegex(err, r"(?i)\blive\b|in use",
                         "the error says the ring is in use by a live writer")
        self.assert_running(first, "the first writer")
        self.assertTrue(os.path.exists(ring_path(ring)), "the first writer's ring is still there")
        self.assertEqual(os.stat(ring_path(ring)).st_ino, inode, "and it is the same object")
        # The first writer still streams: a reader on the refused writer's
        # side gets frames from it.
        reader = self.gst(f"shmringsrc ring={ring} num-buffers=15 on-writer-lost=error ! "
                          f"checksumsink", namespaced=not first_namespaced)
        code, out, err = self.outcome(reader, f"a reader {where}")
        self.assertEqual(code, 0, err)
        self.assertEqual(len(frames(out)), 15, "frames of the first writer")
        os.kill(first_pid, signal.SIGINT)  # -e: EOS, then a clean close
        code, _, err = self.outcome(first, "the first writer")
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(ring_path(ring)), "its writer removed the ring")

    def test_host_writer_refuses_a_namespaced_live_writers_ring(self):
        self.second_writer_is_refused(first_namespaced=True)

    def test_namespaced_writer_refuses_a_host_live_writers_ring(self):
        self.second_writer_is_refused(first_namespaced=False)

    # ---- a killed writer over there -------------------------------------------

    def test_killed_namespaced_writer_is_noticed_by_a_host_reader(self):
        ring = self.ring("ct-killed")
        writer = self.gst(f"videotestsrc is-live=true ! {SMALL} ! shmringsink ring={ring}",
                          namespaced=True)
        inner = self.inner_pid(writer, "gst-launch-1.0")
        self.wait_for_ring(ring, writer)
        reader = self.gst(f"shmringsrc ring={ring} on-writer-lost=error ! checksumsink",
                          namespaced=False)
        wait_for(lambda: reader_count(ring) == 1,
                      "the host reader to join the namespaced writer's ring", timeout=10)
        time.sleep(1.0)
        self.assert_running(reader, "the host reader, while the namespaced writer lives,")
        self.kill_inner(writer, inner)
        killed_at = time.monotonic()
        self.debris.append(ring)  # a killed writer cannot remove its ring
        code, out, err = self.outcome(reader, "the host reader after its writer was killed",
                                      timeout=10)
        noticed = time.monotonic() - killed_at
        self.assertNotEqual(code, 0, "on-writer-lost=error: the reader fails")
        self.assertIn("died without sending EOS", err)
        self.assertLess(noticed, DEATH_BOUND, f"the writer's death noticed in {noticed:.2f} s")
        self.assertGreater(len(frames(out)), 10, "frames arrived while the writer lived")
        # A killed writer cannot remove its ring; its last reader did, on
        # leaving it, across the namespace boundary.
        self.assertFalse(os.path.exists(ring_path(ring)),
                         "the last reader out removed the dead writer's ring")

    # ---- the command-line tool ------------------------------------------------

    def clean_keeps_a_live_ring(self, writer_namespaced):
        ring = self.ring("ct-clean-" + ("ns" if writer_namespaced else "host"))
        writer, writer_pid, inode = self.start_live_writer(ring, writer_namespaced)
        where = "on the host" if writer_namespaced else "in a PID namespace"
        code, out, err = shmring("clean", namespaced=not writer_namespaced)
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.exists(ring_path(ring)),
                        f"`shmring clean` {where} removed a ring whose live writer is in "
                        f"the other namespace:\n{out}")
        self.assertEqual(os.stat(ring_path(ring)).st_ino, inode)
        self.assertNotIn(f"removed {ring}", out)
        self.assertIn(f"kept    {ring}: ", out)
        code, listing, err = shmring("list", namespaced=not writer_namespaced)
        self.assertEqual(code, 0, err)
        listed = row(listing, ring)
        self.assertEqual(listed[1], "ring")
        self.assertEqual(listed[3], "alive", f"`shmring list` {where}:\n{listing}")
        code, info, err = shmring("info", ring, namespaced=not writer_namespaced)
        self.assertEqual(code, 0, err)
        self.assertRegex(info, r"(?m)^writer:\s+\S+ alive", info)
        # Still a working ring: a reader on the cleaning side gets frames
        # until the writer ends the stream.
        reader = self.gst(f"shmringsrc ring={ring} on-writer-lost=error ! checksumsink",
                          namespaced=not writer_namespaced)
        time.sleep(1.0)
        self.assert_running(writer, "the writer")
        os.kill(writer_pid, signal.SIGINT)
        code, _, err = self.outcome(writer, "the writer")
        self.assertEqual(code, 0, err)
        code, out, err = self.outcome(reader, f"the reader {where}")
        self.assertEqual(code, 0, f"the writer's EOS ends the reader cleanly: {err}")
        self.assertGreater(len(frames(out)), 5, "frames arrived after `shmring clean`")

    def test_clean_on_the_host_keeps_a_namespaced_writers_ring(self):
        self.clean_keeps_a_live_ring(writer_namespaced=True)

    def test_clean_in_a_namespace_keeps_a_host_writers_ring(self):
        self.clean_keeps_a_live_ring(writer_namespaced=False)

    # ---- a buffer lock and a queue node held over there ------------------------

    def held_and_recovered(self, what, name):
        """The host creates `name` (hold-objects --recover-WHAT), a namespaced
        hold-objects --hold-WHAT takes the lock or a node; the host must not
        get it while the holder lives, and must within DEATH_BOUND once it is
        killed. Returns the host's 'after kill:' line."""
        host = self.spawn([HOLD_OBJECTS, f"--recover-{what}", name], namespaced=False,
                          binary=True, stdin=subprocess.PIPE)
        said = Lines(host, "the host's hold-objects")
        self.assertEqual(said.next(), "ready")
        holder = self.spawn([HOLD_OBJECTS, f"--hold-{what}", name], namespaced=True,
                            binary=True)
        inner = self.inner_pid(holder, "hold-objects")
        self.assertEqual(Lines(holder, "the namespaced hold-objects").next(), "ready")

        def tell(line):
            host.stdin.write(line.encode() + b"\n")
            host.stdin.flush()
        tell("check")
        self.assertEqual(said.next(), "while held: blocked",
                         f"the host must not get the {what} of a live holder in another "
                         f"PID namespace")
        self.kill_inner(holder, inner)
        tell("killed")
        after = said.next(timeout=10)
        code, _, _ = self.outcome(host, "the host's hold-objects")
        self.assertEqual(code, 0)
        self.assertFalse(os.path.exists(ring_path(name)), "the host's helper removed it")
        return after

    def test_killed_lock_holder_in_a_namespace_loses_the_buffer_lock(self):
        after = self.held_and_recovered("lock", self.ring("ct-lock"))
        match = re.fullmatch(r"after kill: locked in (\d+) ms", after)
        self.assertTrue(match, f"the host got the write lock of a killed holder: {after!r}")
        self.assertLess(int(match[1]) / 1000, DEATH_BOUND, after)

    def test_killed_queue_writer_in_a_namespace_gives_its_node_back(self):
        after = self.held_and_recovered("lease", self.ring("ct-lease"))
        match = re.fullmatch(r"after kill: got (\S+) in (\d+) ms, abandoned (\d+)", after)
        self.assertTrue(match, f"the host read past the killed writer's node: {after!r}")
        self.assertEqual(match[1], "three", "the item behind the recovered node")
        self.assertEqual(match[3], "1", "the killed writer's node counted as abandoned")
        self.assertLess(int(match[2]) / 1000, DEATH_BOUND, after)


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    # Every test skipped (no PID namespaces here): meson shows SKIP, not OK.
    sys.exit(77 if result.testsRun and len(result.skipped) == result.testsRun else 0)
