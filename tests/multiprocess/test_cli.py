"""`shmring list`, `info` and `clean` against objects of live and of killed
processes: rings written by gst-launch-1.0, and a buffer, an array and a
queue held by hold-objects. Runs alone (not in parallel with other suites):
`clean` acts on the whole machine."""
import json
import os
import signal
import subprocess
import time
import unittest

from support import (ProcessTest, finish, gst_launch, ring_path, row, shmring_cli as shmring,
                     wait_for)

HOLD_OBJECTS = os.environ["SHMRING_HOLD_OBJECTS"]


class CommandLineTool(ProcessTest):
    def hold(self, names):
        holder = subprocess.Popen([HOLD_OBJECTS, *names], stdout=subprocess.PIPE, text=True)
        self.processes.append(holder)
        self.assertEqual(holder.stdout.readline().strip(), "ready")
        holder.stdout.close()
        return holder

    def test_list_info_and_clean(self):
        live_ring, dead_ring = self.ring("cli-live"), self.ring("cli-dead")
        held = [self.ring("cli-buffer"), self.ring("cli-array"), self.ring("cli-queue")]
        # -e: on SIGINT at the end, the writer sends EOS and closes cleanly.
        live_writer = gst_launch(f"videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! "
                                 f"shmringsink ring={live_ring}", flags=("-q", "-e"))
        self.processes.append(live_writer)
        reader = self.start(f"shmringsrc ring={live_ring} on-writer-lost=wait ! fakesink")
        dead_writer = self.start(f"videotestsrc is-live=true ! shmringsink ring={dead_ring}")
        holder = self.hold(held)

        def ring_ready():
            code, out, _ = shmring("list")
            return (code == 0 and f"{live_ring} " in out and f"{dead_ring} " in out
                    and row(out, live_ring)[4] == "1" and int(row(out, live_ring)[6]) > 0)
        wait_for(ring_ready, "both rings, the live one with its reader", timeout=20)

        code, listing, _ = shmring("list")
        self.assertEqual(code, 0)
        live = row(listing, live_ring)
        self.assertEqual(live[1:4], ["ring", str(live_writer.pid), "alive"])
        self.assertIn("video/x-raw", " ".join(live[8:]))
        self.assertEqual(row(listing, held[0])[1:4], ["buffer", str(holder.pid), "alive"])
        self.assertEqual(row(listing, held[1])[1], "array")
        self.assertIn("16 x 8 bytes", listing)
        queue = row(listing, held[2])
        self.assertEqual(queue[1], "queue")
        self.assertEqual(queue[5], "2/4")  # two items waiting in four nodes

        code, info, _ = shmring("info", live_ring)
        self.assertEqual(code, 0)
        self.assertIn(f"writer:        {live_writer.pid} alive", info)
        self.assertIn("readers:       1", info)
        self.assertIn(f"pid {reader.pid}", info)
        self.assertIn("width=(int)64", info)
        code, info, _ = shmring("info", held[2])
        self.assertIn("items:         2 written, 0 taken, 2 queued", info)

        # The same, as JSON for monitoring systems.
        code, out, _ = shmring("list", "--json")
        self.assertEqual(code, 0)
        listed = {entry["name"]: entry for entry in json.loads(out)}
        live_json = listed[live_ring]
        self.assertEqual((live_json["kind"], live_json["owner_pid"], live_json["owner_alive"]),
                         ("ring", live_writer.pid, True))
        self.assertIn("width=(int)64", live_json["caps"])
        self.assertEqual([r["pid"] for r in live_json["readers"]], [reader.pid])
        self.assertEqual(live_json["readers"][0]["policy"], "block")
        self.assertGreater(live_json["frames"], 0)
        self.assertEqual((listed[held[2]]["kind"], listed[held[2]]["written"],
                          listed[held[2]]["taken"]), ("queue", 2, 0))
        self.assertEqual((listed[held[1]]["elements"], listed[held[1]]["element_size"]), (16, 8))
        code, out, _ = shmring("info", held[0], "--json")
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out)["kind"], "buffer")

        # The live view: two looks a second apart give the ring's rates and
        # its reader's policy, lag and losses.
        code, out, err = shmring("watch", "--interval", "1000", "--count", "2")
        self.assertEqual(code, 0, err)
        views = [view for view in out.split("\n\n") if view.strip()]
        self.assertEqual(len(views), 2, out)
        first, second = (dict((line.split()[0], line.split()) for line in view.splitlines())
                         for view in views)
        self.assertEqual(first[live_ring][1:5], [str(live_writer.pid), "alive", "-", "-"])
        fps, megabytes = float(second[live_ring][3]), float(second[live_ring][4])
        self.assertGreater(fps, 0, "a live 30 fps writer published within a second")
        self.assertGreater(megabytes, 0)
        self.assertRegex(views[1], rf"reader {reader.pid} +block +alive +lag \d+ +lost 0 ")

        # Everything is owned by a live process: clean removes none of it.
        code, out, _ = shmring("clean")
        self.assertEqual(code, 0)
        for name in [live_ring, dead_ring, *held]:
            self.assertTrue(os.path.exists(ring_path(name)), f"{name} removed:\n{out}")

        # Kill the dead ring's writer and the holder: now theirs are stale.
        for process in (dead_writer, holder):
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
        code, listing, _ = shmring("list")
        self.assertEqual(row(listing, dead_ring)[2:4], [str(dead_writer.pid), "dead"])
        self.assertEqual(row(listing, held[1])[3], "dead")

        junk = self.ring("cli-junk")  # not a shmring header: whose it is is unknown
        with open(ring_path(junk), "wb") as f:
            f.write(b"not a ring" * 100)
        # Empty and unlocked: a writer killed between creating the name and
        # locking it. Kept while it may be a creator at work, removed once it
        # has stayed so past the grace.
        half, young = self.ring("cli-half-created"), self.ring("cli-being-created")
        open(ring_path(half), "wb").close()
        time.sleep(0.6)
        open(ring_path(young), "wb").close()
        code, listing, _ = shmring("list")
        self.assertIn("left half-created by a creator that died", " ".join(row(listing, half)))
        self.assertIn("being created", " ".join(row(listing, young)))
        self.assertNotIn("died", " ".join(row(listing, young)))

        code, out, _ = shmring("clean")
        self.assertIn(f"removed {half}", out)
        self.assertIn(f"kept    {young}: being created", out)
        os.unlink(ring_path(young))
        self.assertEqual(code, 0)
        for name in [dead_ring, *held]:
            self.assertIn(f"removed {name}", out)
            self.assertFalse(os.path.exists(ring_path(name)))
        self.assertTrue(os.path.exists(ring_path(live_ring)), out)
        self.assertIn(f"kept    {live_ring}: ring owned by live process {live_writer.pid}", out)
        self.assertIn(f"kept    {junk}: ", out)
        os.unlink(ring_path(junk))

        # The live pair was not disturbed: stop the writer, the reader sees EOS.
        live_writer.send_signal(signal.SIGINT)
        self.assertEqual(finish(live_writer)[0], 0)
        self.assertEqual(finish(reader)[0], 0)

    def test_bad_names_and_missing_objects(self):
        code, _, err = shmring("info", f"no-such-ring-{os.getpid()}")
        self.assertEqual(code, 1)
        self.assertIn("No such file", err)
        code, _, err = shmring("info", "../etc")
        self.assertEqual(code, 1)
        self.assertIn("invalid object name", err)
        code, _, err = shmring("frobnicate")
        self.assertEqual(code, 2)
        self.assertIn("usage", err)


    def test_list_shows_objects_it_may_not_open(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to look as another user (nobody)")
        ring = self.ring("cli-private")
        writer = self.start(f"videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! "
                            f"shmringsink ring={ring} perms=0600")
        wait_for(lambda: os.path.exists(ring_path(ring)), "the ring", timeout=20)
        code, out, err = shmring("list", prefix=("setpriv", "--reuid=65534", "--regid=65534",
                                                 "--clear-groups"))
        self.assertEqual(code, 0, err)
        self.assertIn("Permission denied", " ".join(row(out, ring)),
                      "the row is there, with why it cannot be read")
        code, out, err = shmring("list", "--json", prefix=(
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
        self.assertEqual(code, 0, err)
        entry = {e["name"]: e for e in json.loads(out)}[ring]
        self.assertIn("Permission denied", entry["problem"])
        writer.send_signal(signal.SIGINT)
        finish(writer)


if __name__ == "__main__":
    unittest.main(verbosity=2)
