"""An application (PyGObject) that embeds shmringsink or shmringsrc, drives it
into one of the waits a pipeline can be stuck in, with its peer process
stopped (SIGSTOP) or absent, and then sets the pipeline to NULL. Prints
`null after S s` and exits 0 when set_state(NULL) returned within the bound,
1 otherwise (3 when the scenario could not be set up).

  shutdown_app.py SCENARIO RING

Run on Debian's /usr/bin/python3 (python3-gst-1.0)."""
import os
import signal
import subprocess
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

# The tests' own helpers (this file sits beside support.py).
from support import reader_count, ring_path  # noqa: E402

BOUND = 3.0  # s: "promptly"
LIVE = "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1"


def reader(ring):
    return subprocess.Popen(["gst-launch-1.0", "-q", "shmringsrc", f"ring={ring}", "!",
                            "fakesink"])


def writer(ring):
    return subprocess.Popen(["gst-launch-1.0", "-q", *LIVE.split(), "!", "shmringsink",
                             f"ring={ring}"])


def wait_until(condition, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def set_null_in_time(pipeline):
    """Sets NULL from a thread; True if it returned within the bound."""
    done = threading.Event()
    start = time.monotonic()
    threading.Thread(target=lambda: (pipeline.set_state(Gst.State.NULL), done.set()),
                     daemon=True).start()
    returned = done.wait(BOUND)
    print(f"null after {time.monotonic() - start:.2f} s" if returned else
          f"null still waiting after {BOUND} s", flush=True)
    return returned


def playing(description):
    pipeline = Gst.parse_launch(description)
    pipeline.set_state(Gst.State.PLAYING)
    return pipeline


def sink_with_a_stopped_reader(ring, properties, peers):
    """A writer pipeline whose one (blocking) reader joined, then stopped."""
    pipeline = playing(f"{LIVE} ! shmringsink ring={ring} {properties}")
    peers.append(reader(ring))
    assert wait_until(lambda: reader_count(ring) == 1), "the reader did not join"
    peers[-1].send_signal(signal.SIGSTOP)
    return pipeline


def source_of_a_writer(ring, properties, peers):
    """A reader pipeline attached to a writer process (peers[-1])."""
    peers.append(writer(ring))
    assert wait_until(lambda: os.path.exists(ring_path(ring))), "no ring"
    pipeline = playing(f"shmringsrc ring={ring} {properties} ! fakesink")
    time.sleep(0.5)
    return pipeline


def scenario(name, ring):
    """(pipeline, peers) with the pipeline stuck in the scenario's wait."""
    peers = []
    if name == "eos-waits-for-a-slot":
        # A blocking reader, stopped: every slot fills; then EOS waits.
        pipeline = sink_with_a_stopped_reader(ring, "timeout=30000000000", peers)
        time.sleep(0.5)
        pipeline.send_event(Gst.Event.new_eos())
        time.sleep(0.5)
    elif name == "pool-acquire-waits":
        # Upstream draws into ring slots from the sink's pool; the stopped
        # blocking reader keeps them all: the pool acquire waits.
        pipeline = sink_with_a_stopped_reader(ring, "slots=3 timeout=30000000000", peers)
        time.sleep(1.0)
    elif name == "waits-for-readers":
        pipeline = playing(f"{LIVE} ! shmringsink ring={ring} wait-for-readers=true")
        time.sleep(1.0)
    elif name == "after-an-element-error":
        # The stopped reader holds the slots past the timeout: an element
        # error, then the application shuts down as gst-launch does.
        pipeline = sink_with_a_stopped_reader(
            ring, "slots=3 timeout=300000000 on-reader-timeout=error", peers)
        message = pipeline.get_bus().timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.ERROR)
        assert message, "no element error"
    elif name == "source-waits-for-a-writer":
        pipeline = playing(f"shmringsrc ring={ring} ! fakesink")
        time.sleep(0.5)
    elif name == "source-of-a-stopped-writer":
        pipeline = source_of_a_writer(ring, "", peers)
        peers[-1].send_signal(signal.SIGSTOP)
        time.sleep(0.5)
    elif name == "source-of-a-dead-writer":
        pipeline = source_of_a_writer(ring, "on-writer-lost=wait", peers)
        peers[-1].kill()
        time.sleep(0.5)
    else:
        raise SystemExit(f"unknown scenario {name}")
    return pipeline, peers


def main(name, ring):
    Gst.init(None)
    try:
        pipeline, peers = scenario(name, ring)
    except AssertionError as error:
        print(f"setup failed: {error}", flush=True)
        return 3
    try:
        return 0 if set_null_in_time(pipeline) else 1
    finally:
        for peer in peers:
            # Let it stop cleanly (a writer removes its ring); kill it if not.
            peer.send_signal(signal.SIGCONT)
            peer.send_signal(signal.SIGINT)
            try:
                peer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                peer.kill()
                peer.wait()


if __name__ == "__main__":
    code = main(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    os._exit(code)  # a pipeline still stuck in NULL must not hold the exit
