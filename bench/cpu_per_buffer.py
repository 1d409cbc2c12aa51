#!/usr/bin/env python3
"""CPU time per buffer of the writer and the reader process of a shmring
pair (user + system, from rusage), at 64 B and at 1080p. Each pipeline runs
twice, with N and with N/10 buffers, and the difference is divided by the
difference in buffers, so that process start-up (GStreamer's init, the
registry) does not count. The producer's own work (fakesrc, videotestsrc
drawing black) is in the writer's figure on purpose: it is the same in any
build, so a change shows as a change of the whole.

Beside the pair, the same upstream in one process, measured alike: into
fakesink ('alone'), through a queue into fakesink ('queue', both threads'
CPU), and into a shmringsink that no reader reads ('no reader', the
writer's pipeline with no line shared with another core).

  GST_PLUGIN_PATH=build/plugin python3 bench/cpu_per_buffer.py [--runs 3] [--n 200000]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "64 B": ("fakesrc num-buffers={n} sizetype=fixed sizemax=64 filltype=zero ! "
             "application/x-test", "slot-size=65536", 1.0),
    "1080p": ("videotestsrc pattern=black num-buffers={n} ! "
              "video/x-raw,format=I420,width=1920,height=1080,framerate=30/1", "", 0.01),
}


def launch(pipeline):
    return subprocess.Popen(["gst-launch-1.0", "-q", *pipeline.split()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def cpu_seconds_of(name, process):
    """User + system CPU seconds of `process`, once it has exited cleanly."""
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{name} failed: {process.stderr.read().decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime


def run_pair(upstream, sink_extra, n, serial):
    ring = f"bench-cpu-{os.getpid()}-{serial}"
    reader = launch(f"shmringsrc ring={ring} ! fakesink sync=false")
    time.sleep(0.3)
    writer = launch(f"{upstream.format(n=n)} ! shmringsink ring={ring} sync=false "
                    f"wait-for-readers=true {sink_extra}")
    usages = {name: cpu_seconds_of(name, process)
              for name, process in (("writer", writer), ("reader", reader))}
    usages["pair"] = usages["writer"] + usages["reader"]
    return usages


def in_process(upstream, sink_extra, n, serial):
    """CPU seconds of the in-process pipelines, by name."""
    ring = f"bench-cpu-{os.getpid()}-{serial}-no-reader"
    pipelines = {
        "alone": f"{upstream.format(n=n)} ! fakesink sync=false",
        "queue": f"{upstream.format(n=n)} ! queue ! fakesink sync=false",
        "no reader": f"{upstream.format(n=n)} ! shmringsink ring={ring} sync=false {sink_extra}",
    }
    return {name: cpu_seconds_of(f"'{pipeline}'", launch(pipeline))
            for name, pipeline in pipelines.items()}


def cpu_seconds(upstream, sink_extra, n, serial):
    """CPU seconds of every column for `n` buffers."""
    return {**run_pair(upstream, sink_extra, n, serial),
            **in_process(upstream, sink_extra, n, serial)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=200000, help="64 B buffers (1080p: n/100)")
    args = parser.parse_args()
    serial = 0
    print(f"# CPU per buffer (us), median of {args.runs}; writer includes its producer; "
          f"'pair' is writer + reader, 'queue' both of its threads")
    columns = ("writer", "reader", "pair", "no reader", "alone", "queue")
    print(f"{'buffers':8} " + " ".join(f"{c:>9}" for c in columns))
    for label, (upstream, sink_extra, scale) in CASES.items():
        big = max(20, int(args.n * scale))
        small = big // 10
        per = {c: [] for c in columns}
        for _ in range(args.runs):
            serial += 1
            a = cpu_seconds(upstream, sink_extra, big, serial)
            serial += 1
            b = cpu_seconds(upstream, sink_extra, small, serial)
            for column in columns:
                per[column].append((a[column] - b[column]) / (big - small) * 1e6)
        print(f"{label:8} " + " ".join(f"{statistics.median(per[c]):9.2f}" for c in columns),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
