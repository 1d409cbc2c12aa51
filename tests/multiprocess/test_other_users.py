"""Rings of other users, with a user the test creates (as root): a reader
trusts only rings of its own user or root unless told which owner to trust,
and a writer says clearly when another user's live object holds the name."""
import contextlib
import grp
import os
import pwd
import re
import signal
import subprocess
import tempfile
import time
import unittest

from support import (ProcessTest, cpu_seconds, finish, frames, gst_launch, process_gone,
                     ring_path, wait_for)

SMALL = "video/x-raw,format=I420,width=160,height=120,framerate=30/1"
# How long the other user's sources wait for a ring (ns): ample for a writer
# the test starts, and an end to one that would wait forever.
WAIT = 20 * 10**9


def sweep_users_of_ended_runs():
    """Users and groups an earlier run created, if it was killed before its
    tearDownClass (a suite timeout): their processes first."""
    for entry in pwd.getpwall():
        match = re.fullmatch(r"shmring-t(\d+)", entry.pw_name)
        if match and process_gone(match.group(1)):
            subprocess.run(["pkill", "-KILL", "-u", entry.pw_name], capture_output=True)
            time.sleep(0.2)
            subprocess.run(["userdel", entry.pw_name], capture_output=True)
    for entry in grp.getgrall():
        match = re.fullmatch(r"shmring-t(\d+)[a-z]?", entry.gr_name)
        if match and process_gone(match.group(1)):
            subprocess.run(["groupdel", entry.gr_name], capture_output=True)


class OtherUsers(ProcessTest):
    @classmethod
    def setUpClass(cls):
        cls.user = None
        if os.geteuid() != 0:
            return
        sweep_users_of_ended_runs()
        name = f"shmring-t{os.getpid()}"  # the pid: how a later run tells it ended
        if subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                          capture_output=True).returncode == 0:
            cls.user = name
        # The other user's gst-launch needs a registry it may write.
        cls.registry = tempfile.mkdtemp(prefix="shmring-registry-")
        os.chmod(cls.registry, 0o777)

    @classmethod
    def tearDownClass(cls):
        if cls.user:
            subprocess.run(["userdel", cls.user], capture_output=True)
        subprocess.run(["rm", "-rf", cls.registry])

    def setUp(self):
        super().setUp()
        if self.user is None:
            self.skipTest("needs root and useradd, to create the other user")

    def as_user(self, description, quiet=True, env=None):
        env = dict(os.environ, GST_REGISTRY=os.path.join(self.registry, "registry.bin"),
                   **(env or {}))
        process = subprocess.Popen(["runuser", "-u", self.user, "--", "gst-launch-1.0",
                                    *(["-q"] if quiet else []), *description.split()],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def wait_for_ring(self, ring):
        deadline = time.monotonic() + 20
        while not os.path.exists(ring_path(ring)):
            self.assertLess(time.monotonic(), deadline, "the other user's writer made no ring")
            time.sleep(0.05)

    def test_a_reader_refuses_another_users_ring_unless_it_trusts_its_owner(self):
        ring = self.ring("foreign")
        writer = self.as_user(f"videotestsrc pattern=ball num-buffers=60 ! {SMALL} ! "
                              f"shmringsink ring={ring} perms=0644 wait-for-readers=true")
        self.wait_for_ring(ring)
        self.assertEqual(os.stat(ring_path(ring)).st_uid, pwd.getpwnam(self.user).pw_uid)
        # Root, trusting only itself (the default): a clear error naming the owner.
        code, _, err = finish(gst_launch(f"shmringsrc ring={ring} ! fakesink"), timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn(f"belongs to user {self.user}", err)
        self.assertIn("trusted-owner", err)
        # Told to trust that user: every frame, then EOS.
        code, out, err = finish(gst_launch(f"shmringsrc ring={ring} trusted-owner={self.user} "
                                           f"timestamp-mode=original ! checksumsink"), timeout=30)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(out)],
                         [sha for _, sha in self.reference_frames(60, SMALL)])
        self.assertEqual(finish(writer)[0], 0)

    def as_user_command(self, *argv):
        return subprocess.run(["runuser", "-u", self.user, "--", *argv], capture_output=True,
                              text=True, timeout=30)

    def test_a_ring_shared_read_only_is_read_by_another_user_who_cannot_touch_it(self):
        ring = self.ring("shared-ro")
        # The other user reads root's ring (root is trusted by default).
        reader = self.as_user(f"shmringsrc ring={ring} timeout={WAIT} timestamp-mode=original ! "
                              f"checksumsink",
                              quiet=False)
        writer = gst_launch(f"videotestsrc pattern=ball is-live=true num-buffers=60 ! {SMALL} ! "
                            f"shmringsink ring={ring} perms=0644 wait-for-readers=true")
        self.processes.append(writer)
        self.wait_for_ring(ring)
        # It may neither write nor truncate what the writer maps.
        self.assertNotEqual(self.as_user_command("truncate", "-s", "0", ring_path(ring)).returncode,
                            0, "the other user truncated the ring")
        self.assertNotEqual(
            self.as_user_command("sh", "-c", f"printf x > {ring_path(ring)}").returncode, 0,
            "the other user wrote into the ring")
        self.assertEqual(finish(writer, timeout=30)[0], 0)
        code, out, err = finish(reader, timeout=30)
        self.assertEqual(code, 0, err)
        self.assertIn("shared read-only with this user", out + err,
                      "policy=block cannot hold: said so")
        # (Without -q, gst-launch's own lines are in the output too.)
        self.assertEqual([sha for pts, sha in frames(out) if pts.count(":") == 2],
                         [sha for _, sha in self.reference_frames(60, SMALL)],
                         "every frame, intact")

    def in_group(self, group):
        self.assertEqual(subprocess.run(["groupadd", group], capture_output=True).returncode, 0)
        subprocess.run(["usermod", "-a", "-G", group, self.user], check=True, capture_output=True)

    def drop_group(self, group):
        subprocess.run(["gpasswd", "-d", self.user, group], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)

    def test_a_ring_shared_with_a_group_is_read_by_its_members(self):
        group = f"{self.user}g"
        self.in_group(group)
        try:
            ring = self.ring("shared-group")
            reader = self.as_user(f"shmringsrc ring={ring} timeout={WAIT} policy=leaky ! "
                                  f"checksumsink")
            writer = self.group_writer(ring, group, 30)
            self.wait_for_ring(ring)
            info = os.stat(ring_path(ring))
            self.assertEqual(oct(info.st_mode & 0o777), "0o640")
            self.assertEqual(info.st_gid, grp.getgrnam(group).gr_gid)
            self.assert_member_reads_every_frame(writer, reader, 30)
        finally:
            self.drop_group(group)

    def waiting_member(self, ring, log):
        """A member's source waiting for `ring`, its debug log in `log`."""
        reader = self.as_user(f"shmringsrc ring={ring} timeout={WAIT} policy=leaky ! "
                              f"checksumsink",
                              env={"GST_DEBUG": "shmringsrc:6", "GST_DEBUG_FILE": log,
                                   "GST_DEBUG_NO_COLOR": "1"})
        wait_for(lambda: "waiting for a writer" in self.read(log),
                 "the member's source to wait for the ring", timeout=30)
        return reader

    @staticmethod
    def read(path):
        if not os.path.exists(path):
            return ""
        with open(path) as text:
            return text.read()

    def assert_still_waiting(self, reader, log):
        if reader.poll() is not None:
            self.fail(f"the member gave up on a ring not shared yet: {reader.communicate()[1]}")
        self.assertIn("not yet shared it with this user", self.read(log),
                      "the member's source looked at the ring meanwhile")

    def group_writer(self, ring, group, count, env=None):
        # Paced by identity, not by a live source: a live source's frames
        # pile up while the writer waits for the reader (whose start, a
        # registry of its own to build, can take a second) and come at once
        # when it joins, faster than a read-only reader (leaky: it cannot
        # hold the writer back) could take them.
        writer = gst_launch(f"videotestsrc pattern=ball num-buffers={count} ! {SMALL} ! "
                            f"identity sleep-time=33000 ! shmringsink ring={ring} perms=0640 "
                            f"group={group} wait-for-readers=true sync=false", env=env)
        self.processes.append(writer)
        return writer

    @contextlib.contextmanager
    def member_waiting(self, suffix, what):
        """A group of the other user's, a ring and that user's source waiting
        for it: (group, ring, reader, log). The group and log go after."""
        group = f"{self.user}{suffix}"
        self.in_group(group)
        log = os.path.join(self.registry, f"{what}-{os.getpid()}.log")
        try:
            ring = self.ring(what)
            yield group, ring, self.waiting_member(ring, log), log
        finally:
            self.drop_group(group)
            if os.path.exists(log):
                os.unlink(log)

    def assert_member_reads_every_frame(self, writer, reader, count):
        try:
            self.assertEqual(finish(writer, timeout=30)[0], 0)
        except AssertionError as failure:
            os.killpg(reader.pid, signal.SIGKILL)  # runuser and its gst-launch
            raise AssertionError(f"{failure}; the reader said: "
                                 f"{reader.communicate()[1][-2000:]}") from failure
        code, out, err = finish(reader, timeout=30)
        self.assertEqual(code, 0, err)
        self.assertEqual(len(frames(out)), count, "the member read the writer's every frame")

    def test_a_new_ring_is_its_writers_alone_until_its_group_is_set_and_members_wait(self):
        # The writer held in the instant between creating the ring and
        # giving it its group, as a descheduled one would be.
        with self.member_waiting("w", "group-held") as (group, ring, reader, log):
            writer = self.group_writer(ring, group, 10, {
                "LD_PRELOAD": os.environ["SHMRING_SLOW_FCHOWN"],
                "SHMRING_TEST_FCHOWN_DELAY_MS": "1500"})
            self.wait_for_ring(ring)
            info = os.stat(ring_path(ring))
            self.assertEqual(info.st_mode & 0o077, 0, "nobody but its writer's user may open it "
                             "before it has its group (who did could keep it open after)")
            used_before = cpu_seconds(reader.pid)
            time.sleep(1)
            self.assert_still_waiting(reader, log)
            # Each look at the ring is an event of its name (the source's
            # own open and close): waking on those made the wait a spin.
            self.assertLess(cpu_seconds(reader.pid) - used_before, 0.3,
                            "the member's source spun while the ring was being created")
            self.assert_member_reads_every_frame(writer, reader, 10)

    def test_a_source_waits_for_its_own_users_ring_being_created_without_spinning(self):
        # Its looks open and close the ring, and each is an event of the
        # ring's name: waking on those made the wait a spin at 100% of a CPU.
        ring = self.ring("creating-own")
        writer = self.group_writer(ring, "root", 10, {
            "LD_PRELOAD": os.environ["SHMRING_SLOW_FCHOWN"],
            "SHMRING_TEST_FCHOWN_DELAY_MS": "1500"})
        self.wait_for_ring(ring)
        reader = gst_launch(f"shmringsrc ring={ring} timeout={WAIT} ! checksumsink")
        self.processes.append(reader)
        time.sleep(0.3)
        used_before = cpu_seconds(reader.pid)
        time.sleep(0.8)
        self.assertLess(cpu_seconds(reader.pid) - used_before, 0.3,
                        "the source spun while its ring was being created")
        self.assert_member_reads_every_frame(writer, reader, 10)

    def test_a_member_waits_out_a_writer_that_died_before_sharing_its_ring(self):
        # What a writer killed before it gave its ring a group leaves: an
        # empty object of its own, open to it alone. The next writer
        # replaces it; a member waiting meanwhile reads that writer's frames.
        with self.member_waiting("d", "group-died") as (group, ring, reader, log):
            os.close(os.open(ring_path(ring), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            time.sleep(1.5)
            self.assert_still_waiting(reader, log)
            # One told to wait only so long says what it found.
            code, _, err = finish(self.as_user(f"shmringsrc ring={ring} timeout=500000000 ! "
                                               f"fakesink"), timeout=30)
            self.assertNotEqual(code, 0)
            self.assertIn("was not ready within", err)
            self.assertIn("next shmringsink", err)
            self.assert_member_reads_every_frame(self.group_writer(ring, group, 10), reader, 10)

    def test_an_unopenable_object_of_an_untrusted_user_is_refused_at_once(self):
        # An empty object this user may not open, of a user it does not
        # trust: not a ring being created for it to wait for.
        ring = self.ring("squat-empty")
        os.close(os.open(ring_path(ring), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            code, _, err = finish(self.as_user(
                f"shmringsrc ring={ring} trusted-owner={self.user} timeout=10000000000 ! "
                f"fakesink"), timeout=30)
        finally:
            os.unlink(ring_path(ring))
        self.assertNotEqual(code, 0)
        self.assertIn("belongs to user root", err)
        self.assertNotIn("No writer", err, "refused, not waited for")

    def test_a_refusal_that_stands_is_an_error_at_once(self):
        ring = self.ring("refused")
        writer = self.start(f"videotestsrc is-live=true ! {SMALL} ! shmringsink ring={ring}")
        self.wait_for_ring(ring)
        time.sleep(1)  # past the instant in which a creator sets group and mode
        code, _, err = finish(self.as_user(f"shmringsrc ring={ring} timeout=10000000000 ! "
                                           f"fakesink"), timeout=30)
        self.assertNotEqual(code, 0, "the other user may not open root's 0600 ring")
        self.assertNotIn("No writer", err, "refused, not waited for")
        self.assertIn("Permission denied", err)
        self.assertIn("'perms'", err, "the error says what decides it")
        os.kill(writer.pid, signal.SIGINT)
        finish(writer)

    def test_a_group_that_names_nothing_is_a_settings_error(self):
        code, _, err = finish(gst_launch(f"videotestsrc num-buffers=1 ! shmringsink "
                                         f"ring={self.ring('no-group')} group=no-such-group-here"),
                              timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn("No group 'no-such-group-here'", err)

    def test_a_trusted_owner_that_names_nobody_is_a_settings_error(self):
        code, _, err = finish(gst_launch(f"shmringsrc ring={self.ring('nobody-at-all')} "
                                         "trusted-owner=no-such-user-here ! fakesink"), timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn("No user 'no-such-user-here'", err)

    def test_a_writer_names_the_other_user_holding_the_name(self):
        ring = self.ring("squatted")
        squatter = self.as_user(f"videotestsrc is-live=true ! {SMALL} ! shmringsink ring={ring}")
        self.wait_for_ring(ring)
        code, _, err = finish(gst_launch(f"videotestsrc num-buffers=10 ! {SMALL} ! "
                                         f"shmringsink ring={ring}"), timeout=20)
        self.assertNotEqual(code, 0, "root does not take another user's live ring")
        self.assertIn(f"held by an object of user {self.user}", err)
        # SIGINT to its process group (runuser does not pass SIGINT on): the
        # other user's writer stops and removes its ring.
        os.killpg(squatter.pid, signal.SIGINT)
        finish(squatter)


if __name__ == "__main__":
    unittest.main(verbosity=2)
