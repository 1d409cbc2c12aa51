#!/usr/bin/env python3
"""Two builds of the plugin side by side: the small-buffer pair of
bench/run.py (fakesrc into shmringsink in one process, shmringsrc into
bench/consumer-rate's fakesink in another), taken with each build in turn,
round after round. This host's speed moves in phases that move both builds
alike when they take turns, so the per-round ratio says what a change did
where two separate runs would not.

  python3 bench/ab_pair.py --build-dir build OLD_PLUGIN_DIR NEW_PLUGIN_DIR \\
      [--size 64] [--n 100000] [--rounds 16]

Prints each build's buffers/s per round, the medians, and NEW/OLD per round.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

STALL_SECONDS = 10


def pair_rate(build_dir, plugin_dir, size, n, serial):
    """Buffers/s the consumer received, first to last."""
    ring = f"bench-ab-{os.getpid()}-{serial}"
    env = dict(os.environ, GST_PLUGIN_PATH=plugin_dir)
    consumer = subprocess.Popen(
        [os.path.join(build_dir, "bench", "consumer-rate"), "--count", str(n), "--timeout",
         str(STALL_SECONDS), *f"shmringsrc ring={ring} ! fakesink name=sink sync=false".split()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    producer = subprocess.run(
        ["gst-launch-1.0", "-q",
         *(f"fakesrc num-buffers={n} sizetype=fixed sizemax={size} filltype=zero ! "
           f"application/x-test ! shmringsink ring={ring} sync=false wait-for-readers=true "
           f"slot-size=65536").split()],
        capture_output=True, text=True, env=env, timeout=n / 20 + 60)
    out, err = consumer.communicate(timeout=n / 20 + 60)
    m = re.search(r"frames=(\d+) seconds=([\d.]+)", out)
    if producer.returncode or consumer.returncode or not m or int(m.group(1)) != n:
        raise RuntimeError(f"pair failed: {out} {err[-400:]} {producer.stderr[-400:]}")
    return (n - 1) / float(m.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    rates = {"old": [], "new": []}
    for r in range(args.rounds):
        for which in ("old", "new"):
            rates[which].append(pair_rate(args.build_dir, getattr(args, which), args.size,
                                          args.n, f"{r}{which}"))
        print(f"round {r + 1}: old {rates['old'][-1]:.0f} new {rates['new'][-1]:.0f} "
              f"new/old {rates['new'][-1] / rates['old'][-1]:.2f}", flush=True)
    ratios = sorted(new / old for old, new in zip(rates["old"], rates["new"]))
    print(f"{args.size} B, {args.rounds} rounds of {args.n}: median old "
          f"{statistics.median(rates['old']):.0f}, new {statistics.median(rates['new']):.0f} "
          f"buffers/s; new/old per round {ratios[0]:.2f}-{ratios[-1]:.2f}, "
          f"median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
