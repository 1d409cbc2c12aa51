#!/usr/bin/env python3
"""1080p I420 frames per second between two processes: shmringsink/shmringsrc
against shmsink/shmsrc, in one run, with the single-core memcpy limit beside
them.

The producer is gst-launch-1.0; the consumer is bench/consumer-rate, which
times the first and the last buffer reaching its fakesink, so process
start-up and negotiation stay out of the rate. A consumer that sees no new
buffer for 10 s has stalled: that is reported, not waited for.

  GST_PLUGIN_PATH=build/plugin python3 bench/compare_1080p.py [--frames N] [--runs R]
"""
import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

WIDTH, HEIGHT = 1920, 1080
FRAME_BYTES = WIDTH * HEIGHT * 3 // 2
CAPS = f"video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1"
# Upstreams, each named by what the sink must do with its frames.
# "copied": frames in memory of the upstream's own, so every sink copies each
# once; identity drop-allocation=true keeps the sink's allocator away (shmsink
# would otherwise lend videotestsrc its shm, and for imagefreeze's one
# repeated frame send the same block again and again without copying).
# "pool": videotestsrc draws each frame into memory the sink lends it
# (shmringsink's ring slots, shmsink's shm area): no copy in either.
UPSTREAMS = {
    "imagefreeze, copied": "videotestsrc num-buffers=1 ! {caps} ! "
                           "identity drop-allocation=true ! imagefreeze num-buffers={n}",
    "black, copied": "videotestsrc pattern=black num-buffers={n} ! {caps} ! "
                     "identity drop-allocation=true",
    "black, pool": "videotestsrc pattern=black num-buffers={n} ! {caps}",
}
STALL_SECONDS = 10


class Stalled(Exception):
    """The consumer stopped receiving frames: the transport deadlocked."""


def remove_shmsink_leftovers(socket, producer_pid):
    """shmsink leaves its socket and, when killed, its shm segments
    (/dev/shm/'shmpipe.%5d.%5d' with its pid) behind."""
    if os.path.exists(socket):
        os.unlink(socket)
    for segment in glob.glob(f"/dev/shm/shmpipe.{producer_pid:5d}.*"):
        os.unlink(segment)


def measure(consumer, producer, socket, n, tools):
    """Frames per second the consumer received, first to last buffer."""
    counter = [os.path.join(tools, "consumer-rate"), "--count", str(n),
               "--timeout", str(STALL_SECONDS)] + consumer.split()
    start = time.monotonic()
    if socket:
        # shmsrc cannot wait for a writer: the producer starts first, and the
        # consumer once shmsink listens (it ends at once if it connects sooner).
        p = subprocess.Popen(["gst-launch-1.0", "-q"] + producer.split(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not os.path.exists(socket) and time.monotonic() - start < STALL_SECONDS:
            time.sleep(0.001)
        time.sleep(0.2)
        c = subprocess.Popen(counter, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    else:
        c = subprocess.Popen(counter, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p = subprocess.Popen(["gst-launch-1.0", "-q"] + producer.split(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        out, err = c.communicate(timeout=n / 10 + 60)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()  # shmsink may not notice that its reader left
        p.wait()
    finally:
        if c.poll() is None:
            c.kill()
        if p.poll() is None:
            p.kill()
            p.wait()
        if socket:
            remove_shmsink_leftovers(socket, p.pid)
    if "stalled=1" in out:
        frames = re.search(r"frames=(\d+)", out).group(1)
        raise Stalled(f"stalled after {frames} of {n} frames (no frame for {STALL_SECONDS} s)")
    m = re.search(r"frames=(\d+) seconds=([\d.]+)", out)
    if c.returncode or not m or int(m.group(1)) != n:
        raise RuntimeError(f"consumer failed ({c.returncode}): {out} {err[-800:]}\n"
                           f"  {consumer}\n  {producer}")
    # shmring's producer must also succeed; shmsink's posts an error when its
    # reader leaves after --count, so only its consumer counts.
    if p.returncode and not socket:
        raise RuntimeError(f"producer failed: {p.stderr.read()[-800:]}\n  {producer}")
    return (n - 1) / float(m.group(2))


def shmring(upstream, n, tag):
    ring = f"bench-{tag}-{os.getpid()}"
    return (f"shmringsrc ring={ring} ! fakesink name=sink sync=false",
            f"{upstream.format(caps=CAPS, n=n)} ! "
            f"shmringsink ring={ring} sync=false wait-for-readers=true", None)


def shmsink(upstream, n, tag):
    path = os.path.join(tempfile.gettempdir(), f"bench-shmsink-{tag}-{os.getpid()}")
    # shm-size for 10 frames; shmsrc needs the caps typed again.
    return (f"shmsrc socket-path={path} is-live=true ! {CAPS} ! fakesink name=sink sync=false",
            f"{upstream.format(caps=CAPS, n=n)} ! shmsink socket-path={path} "
            f"shm-size={FRAME_BYTES * 10} wait-for-connection=true sync=false", path)


def frames_per_second(transport, upstream, n, runs, tools):
    """(median frames/s, None) or (None, why it could not be measured)."""
    rates = []
    for run in range(runs):
        try:
            rates.append(measure(*transport(upstream, n, str(run)), n, tools))
        except Stalled as stalled:
            return None, str(stalled)
    return statistics.median(rates), None


def memcpy_limit(tools):
    # The best case of one copy per frame: a warm frame into two alternating
    # warm buffers, as the ring reuses its most recently freed slots.
    out = subprocess.run([os.path.join(tools, "memcpy-limit"), str(FRAME_BYTES), "1", "2"],
                         capture_output=True, text=True, check=True).stdout
    return float(out) / FRAME_BYTES


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build-dir", default="build")
    args = parser.parse_args()
    tools = os.path.join(args.build_dir, "bench")

    limit = memcpy_limit(tools)
    print(f"1080p I420 ({FRAME_BYTES} bytes), {args.frames} frames, median of {args.runs} "
          f"runs; {os.cpu_count()} cores")
    print(f"memcpy limit (1 core, a warm frame into 2 buffers in turn): {limit:.0f} frames/s "
          f"({limit * FRAME_BYTES / 1e9:.2f} GB/s)")
    print(f"{'upstream':<20} {'shmring fps':>12} {'shmsink fps':>12} "
          f"{'shmring/shmsink':>16} {'shmring/memcpy':>15}")
    notes = []
    for name, upstream in UPSTREAMS.items():
        ring_fps, ring_problem = frames_per_second(shmring, upstream, args.frames, args.runs,
                                                   tools)
        shm_fps, shm_problem = frames_per_second(shmsink, upstream, args.frames, args.runs,
                                                 tools)
        cells = [f"{ring_fps:12.0f}" if ring_fps else f"{'stalled':>12}",
                 f"{shm_fps:12.0f}" if shm_fps else f"{'stalled':>12}",
                 f"{ring_fps / shm_fps:16.2f}" if ring_fps and shm_fps else f"{'-':>16}",
                 f"{ring_fps / limit:15.2f}" if ring_fps else f"{'-':>15}"]
        print(f"{name:<20} " + " ".join(cells))
        sys.stdout.flush()
        for transport, problem in (("shmring", ring_problem), ("shmsink", shm_problem)):
            if problem:
                notes.append(f"{transport} with {name}: {problem}")
    for note in notes:
        print("note: " + note)


if __name__ == "__main__":
    main()
