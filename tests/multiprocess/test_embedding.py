"""The embedding examples, as users would run them: push-frames (appsrc !
shmringsink, C++) feeding pull-frames (shmringsrc ! appsink, C++) and
pull_frames.py (the same in Python through PyGObject, on Debian's python3)."""
import os
import re
import subprocess
import unittest

from support import ProcessTest, finish

EXAMPLES = os.environ["SHMRING_EXAMPLES"]
SYSTEM_PYTHON = os.environ["SHMRING_SYSTEM_PYTHON"]
FRAMES = 45


class Embedding(ProcessTest):
    def run_pair(self, ring, puller):
        # The reader starts first and waits for the ring; the writer waits
        # for the reader, so every frame arrives. The writer starts once the
        # reader plays: frames written before that would be older than the
        # reader's running time (and stamped at its start).
        pull = subprocess.Popen(puller + [ring], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.processes.append(pull)
        self.assertEqual(pull.stdout.readline().strip(), f"pulling from ring {ring}")
        push = subprocess.Popen([os.path.join(EXAMPLES, "push-frames"), ring, str(FRAMES)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(push)
        push_code, push_out, push_err = finish(push)
        pull_code, pull_out, pull_err = finish(pull)
        self.assertEqual(push_code, 0, push_err)
        self.assertEqual(push_out.strip(), f"pushed {FRAMES} frames into ring {ring}")
        self.assertEqual(pull_code, 0, pull_out + pull_err)
        match = re.match(r"received (\d+) frames \((\d+) wrong\), eos=yes, pts (\d+) \.\. (\d+) ns",
                         pull_out)
        self.assertTrue(match, pull_out)
        self.assertEqual(int(match[1]), FRAMES)
        self.assertEqual(int(match[2]), 0)
        self.assertIn("format=(string)RGBA", pull_out)
        self.assertIn("width=(int)320", pull_out)
        # Default timestamp-mode=clock: the reader's timestamps keep the
        # writer's spacing, FRAMES - 1 frame durations from first to last.
        span = int(match[4]) - int(match[3])
        self.assertAlmostEqual(span, (FRAMES - 1) * 1_000_000_000 / 30, delta=1000)

    def test_cpp_application_to_cpp_application(self):
        self.run_pair(self.ring("embed-cpp"), [os.path.join(EXAMPLES, "pull-frames")])

    def test_cpp_application_to_python_application(self):
        script = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "embedding",
                              "pull_frames.py")
        self.run_pair(self.ring("embed-py"), [SYSTEM_PYTHON, script])


if __name__ == "__main__":
    unittest.main(verbosity=2)
