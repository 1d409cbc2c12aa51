"""Helpers for tests with real processes: gst-launch-1.0 and run-pipeline
started with bounded lifetimes, checksumsink output, and rings that must not
outlive a test."""
import os
import re
import signal
import subprocess
import time
import unittest

CAPS = "video/x-raw,format=I420,width=1920,height=1080,framerate=30/1"
PROCESS_TIMEOUT = 60


def gst_launch(description, flags=("-q",), env=None):
    """gst-launch-1.0 with its output captured; flags such as -m (bus
    messages) or -v (property changes) replace the default -q; `env` adds
    to the environment."""
    return subprocess.Popen(["gst-launch-1.0", *flags] + description.split(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **env) if env else None)


def process_gone(pid):
    """Whether no process has this pid (of this PID namespace) any more."""
    return not os.path.exists(f"/proc/{pid}")


def cpu_seconds(pid):
    """CPU time (user + system) of a process and its children so far, as
    /proc says: for a runuser whose gst-launch is its child."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids += [int(child) for child in children.read().split()]
    except OSError:
        pass
    for each in pids:
        try:
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / tick


def finish(process, timeout=PROCESS_TIMEOUT):
    """(exit code, stdout, stderr) of a process, killed if it overstays."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"process overstayed {timeout} s: {err[-2000:]}")
    return process.returncode, out, err


def run_pipeline(description):
    """A producer run by tests/multiprocess/run-pipeline: like gst-launch-1.0,
    but it prints each shmring element's stats at the end."""
    return subprocess.Popen([os.environ["SHMRING_RUN_PIPELINE"]] + description.split(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stats_of(output, element):
    """{field: int} from the 'stats NAME: structure' line run-pipeline prints."""
    for line in output.splitlines():
        if line.startswith(f"stats {element}:"):
            return {k: int(v) for k, v in re.findall(r"([\w-]+)=\([\w]+\)(\d+)", line)}
    raise AssertionError(f"no stats for {element} in {output!r}")


def frames(checksum_output):
    """[(pts, sha1)] from checksumsink's output."""
    result = []
    for line in checksum_output.splitlines():
        parts = line.split()
        if len(parts) == 2:
            result.append((parts[0], parts[1]))
    return result


def seconds(pts):
    h, m, s = pts.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def ring_path(name):
    return "/dev/shm/shmring." + name


def wait_for(condition, what="the condition", timeout=10):
    """Polls `condition` until it holds; an AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def shmring_cli(*args, prefix=(), timeout=30):
    """(exit code, stdout, stderr) of the `shmring` tool; `prefix` runs it
    through another command (e.g. unshare, for another PID namespace)."""
    run = subprocess.run([*prefix, os.environ["SHMRING_CLI"], *args], capture_output=True,
                         text=True, timeout=timeout)
    return run.returncode, run.stdout, run.stderr


def row(listing, name):
    """The columns of `shmring list`'s line for object `name`."""
    for line in listing.splitlines():
        if line.split()[:1] == [name]:
            return line.split()
    raise AssertionError(f"{name} not listed in:\n{listing}")


def reader_count(name):
    """How many readers `shmring info` shows on a ring (0 while it is absent)."""
    run = subprocess.run([os.environ["SHMRING_CLI"], "info", name], capture_output=True,
                         text=True, timeout=30)
    match = re.search(r"^readers:\s+(\d+)", run.stdout, re.MULTILINE)
    return int(match[1]) if match else 0


def ring_progress(name):
    """(readers, frames published) as `shmring info` shows them on a ring,
    from one look; (0, 0) while it is absent."""
    run = subprocess.run([os.environ["SHMRING_CLI"], "info", name], capture_output=True,
                         text=True, timeout=30)
    readers = re.search(r"^readers:\s+(\d+)", run.stdout, re.MULTILINE)
    published = re.search(r"^frames:\s+(\d+) published", run.stdout, re.MULTILINE)
    return (int(readers[1]) if readers else 0, int(published[1]) if published else 0)


class ProcessTest(unittest.TestCase):
    """Starts processes and rings, and makes sure none outlives the test."""
    reference = {}

    def setUp(self):
        self.rings = []
        self.processes = []

    def tearDown(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            # One started in a session of its own (runuser, unshare) may have
            # left children that hold its pipes: end its whole group.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for name in self.rings:
            left = os.path.exists(ring_path(name))
            if left:
                os.unlink(ring_path(name))
            self.assertFalse(left, f"ring {name} left behind")

    def ring(self, what):
        name = f"mp-{what}-{os.getpid()}"
        self.rings.append(name)
        return name

    def start(self, description):
        process = gst_launch(description)
        self.processes.append(process)
        return process

    def reference_frames(self, count, caps=CAPS, after=""):
        key = (count, caps, after)
        if key not in ProcessTest.reference:
            code, out, err = finish(gst_launch(
                f"videotestsrc pattern=ball num-buffers={count} ! {caps} ! {after} "
                f"checksumsink"))
            self.assertEqual(code, 0, err)
            ProcessTest.reference[key] = frames(out)
        return ProcessTest.reference[key]
