"""Setting a pipeline that holds shmringsink or shmringsrc to NULL returns
promptly from every wait, with the peer process stopped (SIGSTOP), dead or
absent, and after an element error. Each scenario runs in an application
(shutdown_app.py, PyGObject) that measures set_state(NULL)."""
import os
import subprocess
import unittest

from support import ProcessTest

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shutdown_app.py")
PYTHON = os.environ.get("SHMRING_SYSTEM_PYTHON", "/usr/bin/python3")


class Shutdown(ProcessTest):
    def shuts_down(self, scenario):
        ring = self.ring("down-" + scenario)
        run = subprocess.run([PYTHON, APP, scenario, ring], capture_output=True, text=True,
                             timeout=90)
        self.assertNotEqual(run.returncode, 3, f"scenario not reached: {run.stdout}{run.stderr}")
        self.assertEqual(run.returncode, 0, f"set_state(NULL) hung: {run.stdout}"
                                            f"{run.stderr[-1500:]}")
        self.assertIn("null after", run.stdout)

    def test_eos_waiting_for_a_slot(self):
        self.shuts_down("eos-waits-for-a-slot")

    def test_pool_acquire_waiting_for_a_slot(self):
        self.shuts_down("pool-acquire-waits")

    def test_waiting_for_readers(self):
        self.shuts_down("waits-for-readers")

    def test_after_an_element_error(self):
        self.shuts_down("after-an-element-error")

    def test_source_waiting_for_a_writer(self):
        self.shuts_down("source-waits-for-a-writer")

    def test_source_of_a_stopped_writer(self):
        self.shuts_down("source-of-a-stopped-writer")

    def test_source_of_a_dead_writer(self):
        self.shuts_down("source-of-a-dead-writer")


if __name__ == "__main__":
    unittest.main(verbosity=2)
