#!/usr/bin/env python3
"""1080p I420 frames per second between two gst-launch-1.0 processes:
shmringsink/shmringsrc against shmsink/shmsrc, in one run, with the
single-core memcpy limit beside them.

Each transport moves N and then 2N frames; the rate is N divided by the
difference of the two wall times, so process start-up and negotiation
cancel out. Both consumers receive every frame (shmringsrc until the
writer's EOS, shmsrc until num-buffers) into fakesink.

  GST_PLUGIN_PATH=build/plugin python3 bench/compare_1080p.py [--frames N] [--runs R]
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

WIDTH, HEIGHT = 1920, 1080
FRAME_BYTES = WIDTH * HEIGHT * 3 // 2
CAPS = f"video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1"
# Upstreams that produce frames in their own memory: the sink copies once.
UPSTREAMS = {
    "imagefreeze": "videotestsrc num-buffers=1 ! {caps} ! imagefreeze num-buffers={n}",
    "videotestsrc": "videotestsrc pattern=ball num-buffers={n} ! {caps}",
}


def launch(description, counting=False):
    # A counting consumer runs with -v and a non-silent fakesink: one
    # "chain" line per buffer received, so the run proves it got them all.
    flags = ["-v"] if counting else ["-q"]
    return subprocess.Popen(["gst-launch-1.0"] + flags + description.split(),
                            stdout=subprocess.PIPE if counting else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def remove_shmsink_leftovers(socket, producer_pid):
    """shmsink leaves its socket and, when killed, its shm segments
    (/dev/shm/'shmpipe.%5d.%5d' with its pid) behind."""
    if os.path.exists(socket):
        os.unlink(socket)
    for segment in glob.glob(f"/dev/shm/shmpipe.{producer_pid:5d}.*"):
        os.unlink(segment)


class Stalled(Exception):
    """The consumer stopped receiving frames: the transport deadlocked."""


def run_pair(consumer, producer, socket, n):
    """Wall seconds from the first start until the consumer has all n frames.

    shmsrc cannot wait for a writer (it ends at once if it connects before
    shmsink listens): with `socket`, the producer starts first and the
    consumer 0.2 s after the socket appears; that fixed delay cancels out
    between the N and 2N runs. shmringsrc waits, so its consumer starts first."""
    timeout = 20 + n / 50  # far beyond any healthy run at >= 100 frames/s
    start = time.monotonic()
    if socket:
        p = launch(producer)
        while not os.path.exists(socket) and time.monotonic() - start < timeout:
            time.sleep(0.001)
        time.sleep(0.2)
        c = launch(consumer, counting=True)
    else:
        c = launch(consumer, counting=True)
        p = launch(producer)
    try:
        out, _ = c.communicate(timeout=timeout)
        elapsed = time.monotonic() - start
        received = out.count("chain")
        if received != n:
            raise RuntimeError(f"consumer received {received} of {n} frames:\n  {consumer}")
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        c.kill()
        out, _ = c.communicate()
        p.communicate()
        raise Stalled(f"stalled after {out.count('chain')} of {n} frames "
                      f"({timeout:.0f} s timeout)")
    finally:
        if socket:
            remove_shmsink_leftovers(socket, p.pid)
    # shmsink posts an error when its client leaves after num-buffers; only
    # the consumer's success counts for it.
    if c.returncode or (p.returncode and not socket):
        raise RuntimeError(f"failed ({p.returncode}, {c.returncode}):\n  {consumer}\n"
                           f"  {producer}\n{p.stderr.read()[-800:]}")
    return elapsed


def shmring(upstream, n, tag):
    ring = f"bench-{tag}-{os.getpid()}"
    return (f"shmringsrc ring={ring} ! fakesink sync=false silent=false",
            f"{upstream.format(caps=CAPS, n=n)} ! "
            f"shmringsink ring={ring} sync=false wait-for-readers=true", None)


def shmsink(upstream, n, tag):
    path = os.path.join(tempfile.gettempdir(), f"bench-shmsink-{tag}-{os.getpid()}")
    # shm-size for 10 frames; shmsrc needs the caps to be typed again.
    return (f"shmsrc socket-path={path} is-live=true num-buffers={n} ! {CAPS} ! "
            f"fakesink sync=false silent=false",
            f"{upstream.format(caps=CAPS, n=n)} ! shmsink socket-path={path} "
            f"shm-size={FRAME_BYTES * 10} wait-for-connection=true sync=false", path)


def frames_per_second(transport, upstream, n, runs):
    """(median frames/s, None) or (None, why it could not be measured)."""
    rates = []
    for run in range(runs):
        try:
            t1 = run_pair(*transport(upstream, n, f"{run}a"), n)
            t2 = run_pair(*transport(upstream, 2 * n, f"{run}b"), 2 * n)
        except Stalled as stalled:
            return None, str(stalled)
        rates.append(n / max(t2 - t1, 1e-6))
    return statistics.median(rates), None


def memcpy_limit(build_dir):
    tool = os.path.join(build_dir, "bench", "memcpy-limit")
    out = subprocess.run([tool, str(FRAME_BYTES), "1", "8"], capture_output=True,
                         text=True, check=True).stdout
    return float(out) / FRAME_BYTES


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build-dir", default="build")
    args = parser.parse_args()

    limit = memcpy_limit(args.build_dir)
    print(f"1080p I420 ({FRAME_BYTES} bytes), {args.frames} vs {2 * args.frames} frames, "
          f"median of {args.runs} runs; {os.cpu_count()} cores")
    print(f"memcpy limit (1 core, one warm frame into 8 slots in turn): {limit:.0f} frames/s "
          f"({limit * FRAME_BYTES / 1e9:.2f} GB/s)")
    print(f"{'upstream':<13} {'shmring fps':>12} {'shmsink fps':>12} "
          f"{'shmring/shmsink':>16} {'shmring/memcpy':>15}")
    notes = []
    for name, upstream in UPSTREAMS.items():
        ring_fps, ring_problem = frames_per_second(shmring, upstream, args.frames, args.runs)
        shm_fps, shm_problem = frames_per_second(shmsink, upstream, args.frames, args.runs)
        cells = [f"{ring_fps:12.0f}" if ring_fps else f"{'stalled':>12}",
                 f"{shm_fps:12.0f}" if shm_fps else f"{'stalled':>12}",
                 f"{ring_fps / shm_fps:16.2f}" if ring_fps and shm_fps else f"{'-':>16}",
                 f"{ring_fps / limit:15.2f}" if ring_fps else f"{'-':>15}"]
        print(f"{name:<13} " + " ".join(cells))
        sys.stdout.flush()
        for transport, problem in (("shmring", ring_problem), ("shmsink", shm_problem)):
            if problem:
                notes.append(f"{transport} with {name}: {problem}")
    for note in notes:
        print("note: " + note)


if __name__ == "__main__":
    main()
