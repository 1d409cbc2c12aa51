#!/usr/bin/env python3
"""Soak: random SIGKILL, SIGSTOP/SIGCONT and SIGTERM at a writer and three
readers (two lossless, one leaky) of one ring, for a while, restarting
whatever dies. Passes when:
  - nothing hangs: at the end every process ends within its bound;
  - no survivor crashes: no process dies of a signal it was not sent, or
    exits with an error on its own;
  - nothing is left in /dev/shm;
  - every frame every reader received is intact: the frame its timestamp
    names, checksum for checksum, against a reference run (losses are gaps,
    never damage).

  GST_PLUGIN_PATH=build/plugin python3 tests/soak/soak.py [--seconds 180] [--events 1000]

Prints the figures and a closing line 'soak: N passed, M failed'."""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CAPS = "video/x-raw,format=I420,width=160,height=120,framerate=60/1"
FPS = 60
BOUND = 15  # s: how long any process may take to end once asked


def reference(count):
    """{frame number: sha1} of videotestsrc pattern=ball."""
    out = subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "pattern=ball",
                          f"num-buffers={count}", "!", *CAPS.split(), "!", "checksumsink"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    shas = {}
    for n, line in enumerate(line for line in out.splitlines() if len(line.split()) == 2):
        shas[n] = line.split()[1]
    return shas


def seconds(pts):
    h, m, s = pts.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


class Role:
    """One process of the soak: how to start it, and what it did."""

    def __init__(self, name, argv, logdir):
        self.name, self.argv, self.logdir = name, argv, logdir
        self.process = None
        self.stopped = False
        self.sent = None  # the last signal we sent that ends it
        self.runs = 0
        self.outputs = []

    def start(self):
        self.runs += 1
        out = open(os.path.join(self.logdir, f"{self.name}-{self.runs}.out"), "w+")
        err = open(os.path.join(self.logdir, f"{self.name}-{self.runs}.err"), "w+")
        self.outputs.append((out, err))
        self.process = subprocess.Popen(self.argv, stdout=out, stderr=err)
        self.stopped = False
        self.sent = None

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, sig):
        if not self.alive():
            return False
        self.process.send_signal(sig)
        if sig == signal.SIGSTOP:
            self.stopped = True
        elif sig == signal.SIGCONT:
            self.stopped = False
        else:
            self.sent = sig
            if self.stopped:  # a stopped process only acts on it once continued
                self.process.send_signal(signal.SIGCONT)
                self.stopped = False
        return True


def unexpected_end(role):
    """Why the process's end was not one we caused, or None."""
    code = role.process.returncode
    if code == 0:
        return None
    if role.sent is not None and code in (-role.sent, 128 + role.sent):
        return None
    if role.sent == signal.SIGTERM and code in (-signal.SIGTERM, 143):
        return None
    _, err = role.outputs[-1]
    err.seek(0)
    return f"{role.name} run {role.runs} ended with {code}: {err.read()[-400:]}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    ring = f"soak-{os.getpid()}"
    logdir = tempfile.mkdtemp(prefix="shmring-soak-")
    random.seed(os.environ.get("SHMRING_SOAK_SEED", os.getpid()))
    shas = reference(int(args.seconds * FPS) + 10 * FPS)
    print(f"soak: ring {ring}, {args.seconds:.0f} s, {args.events} events, logs in {logdir}",
          flush=True)

    def reader(policy):
        return ["gst-launch-1.0", "-q", "shmringsrc", f"ring={ring}", f"policy={policy}",
                "on-writer-lost=wait", "timestamp-mode=original", "!", "checksumsink"]

    roles = [
        # Paced by its sink (sync=true), not a live source: a live source's
        # timestamps start wherever the clock is when it starts (a busy
        # machine starts it later), which would shift frame numbers; these
        # are n / FPS from every start, so a timestamp names its frame.
        Role("writer", ["gst-launch-1.0", "-q", "-e", "videotestsrc", "pattern=ball",
                        "!", *CAPS.split(), "!", "shmringsink", f"ring={ring}",
                        "timeout=200000000"], logdir),
        Role("block-1", reader("block"), logdir),
        Role("block-2", reader("block"), logdir),
        Role("leaky", reader("leaky"), logdir),
    ]
    failures = []
    counts = {"SIGKILL": 0, "SIGTERM": 0, "SIGSTOP": 0, "SIGCONT": 0}
    for role in roles:
        role.start()
    interval = args.seconds / args.events
    end = time.monotonic() + args.seconds
    events = 0
    while time.monotonic() < end and events < args.events:
        time.sleep(interval)
        for role in roles:  # restart what ended; note ends we did not cause
            if role.process.poll() is not None:
                why = unexpected_end(role)
                if why:
                    failures.append(why)
                role.start()
        role = random.choice(roles)
        if role.stopped:
            sig = signal.SIGCONT
        else:
            sig = random.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, signal.SIGSTOP])
        if role.signal(sig):
            counts[sig.name] += 1
            events += 1

    # The end: everything continues; the writer sends EOS (SIGINT with -e);
    # readers follow it. Every process must end within the bound.
    for role in roles:
        role.signal(signal.SIGCONT)
    time.sleep(1.0)
    writer = roles[0]
    if not writer.alive():
        writer.start()
        time.sleep(1.0)
    writer.process.send_signal(signal.SIGINT)
    hangs = 0
    for role in roles:
        try:
            role.process.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            hangs += 1
            failures.append(f"{role.name} run {role.runs} did not end within {BOUND} s")
            role.process.kill()
            role.process.wait()
            continue
        why = unexpected_end(role)
        if why:
            failures.append(why)

    # Every frame received is the frame its timestamp names.
    frames = damaged = 0
    for role in roles[1:]:
        for out, _ in role.outputs:
            out.seek(0)
            for line in out.read().splitlines():
                parts = line.split()
                if len(parts) != 2 or not re.match(r"\d+:\d+:\d+\.\d+", parts[0]):
                    continue
                n = round(seconds(parts[0]) * FPS)
                frames += 1
                if shas.get(n) != parts[1]:
                    damaged += 1
                    if damaged <= 5:
                        failures.append(f"{role.name}: frame {n} ({parts[0]}) is not intact")
    left = [name for name in os.listdir("/dev/shm") if name == f"shmring.{ring}"]
    if left:
        failures.append(f"left in /dev/shm: {left}")
        os.unlink(f"/dev/shm/shmring.{ring}")

    print(f"soak: events {events} ({', '.join(f'{k} {v}' for k, v in counts.items())}); "
          f"starts {', '.join(f'{r.name} {r.runs}' for r in roles)}")
    print(f"soak: hangs {hangs}, crashes {sum('ended with' in f for f in failures)}, "
          f"left in /dev/shm {len(left)}, frames checked {frames}, damaged {damaged}")
    for failure in failures[:20]:
        print("  FAIL " + failure)
    ok = not failures and frames > 0
    # The processes' logs are kept for a failure to be looked into, and
    # removed after a pass (the soak runs in every CI run).
    for role in roles:
        for out, err in role.outputs:
            out.close()
            err.close()
    if ok:
        shutil.rmtree(logdir, ignore_errors=True)
    else:
        print(f"soak: logs kept in {logdir}")
    print(f"soak: {int(ok)} passed, {int(not ok)} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
