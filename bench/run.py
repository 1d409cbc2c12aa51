#!/usr/bin/env python3
"""shmring against shmsink/shmsrc and the memcpy limit, on the same machine in
one run: throughput of raw video, small buffers, one-way latency, fan-out, and
the seed library's ring-bandwidth chart. Prints a table with absolute figures
and ratios, and writes it with two plots into the output folder.

  GST_PLUGIN_PATH=build/plugin python3 bench/run.py [--quick] [--out bench-out]

--quick runs every measurement once and small (under two minutes), so that
CI keeps the harness working; its figures are not for quoting.
"""
import argparse
import functools
import glob
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

# A consumer that receives nothing for this long has stalled (healthy runs
# here move thousands of buffers a second); --quick waits 4 s.
STALL_SECONDS = 10
# Rounds of the small-buffer rows, whose transports take turns in each round.
SMALL_ROUNDS = 5
RESOLUTIONS = [("320x240", 320, 240), ("1080p", 1920, 1080), ("4K", 3840, 2160)]

# The host is a shared virtual machine whose two CPUs exchange cache lines
# at very different speeds from one minute to the next: slow spells (a third
# of the usual speed or less, for minutes) and short fast ones. A probe
# before and after every measurement (bench/bare-ring, 64 B records: core to
# core, nothing else) is read against the run's usual speed, the upper
# quartile of all its probes, which neither a fast spell nor a slow start
# sets. A measurement waits for a host at its usual speed, is taken again
# when the probe after it finds the host slow, and is judged once more at
# the end against the usual speed of the whole run: the report lists every
# figure whose probes found the host slow, or fast.
SLOW_BELOW = 0.5           # of the usual speed: the host is in a slow spell
FAST_ABOVE = 2.0           # ... in a fast one
WAIT_BUDGET_SECONDS = 900  # the most a run spends probing and waiting; then it measures
RETAKES = 2                # times a measurement is taken again after a slow probe
WARM_UP_PROBES = 5         # before the first measurement, so that it has a speed to meet


def caps_for(width, height):
    return f"video/x-raw,format=I420,width={width},height={height},framerate=30/1"


# Upstreams, named by what the sinks do with their frames. "copied": frames
# in memory of the upstream's own (identity drop-allocation=true keeps the
# sink's allocator away), so each sink copies every frame once. "pool":
# videotestsrc draws into memory the sink lends it (shmringsink's ring slots,
# shmsink's shm area): no copy in either.
VARIANTS = {
    "copied": "videotestsrc pattern=black num-buffers={n} ! {caps} ! "
              "identity drop-allocation=true",
    "pool": "videotestsrc pattern=black num-buffers={n} ! {caps}",
}


class Stalled(Exception):
    """The consumer stopped receiving: the transport deadlocked."""


def run_ring_tool(tool, name, node, nodes, seconds, *extra, timeout=120):
    """Bytes/s and records/s of a ring benchmark that prints
    'NODE NODES RECORDS SECONDS BYTES_PER_S' (ring-bandwidth, bare-ring)."""
    out = subprocess.run([tool(name), str(node), str(nodes), seconds, *extra],
                         capture_output=True, text=True, check=True, timeout=timeout).stdout.split()
    return float(out[4]), int(out[2]) / float(out[3])


def run_bare_ring(tool, node, nodes, seconds, mode, timeout=120):
    """bench/bare-ring: a two-process ring of indices and slots and nothing
    else, what the machine gives a ring."""
    return run_ring_tool(tool, "bare-ring", node, nodes, seconds, mode, timeout=timeout)


class HostProbe:
    """Whether the host runs at its usual speed now, and what that did to
    the run."""

    def __init__(self, tool, quick):
        self.tool = tool
        self.quick = quick  # CI: probe (keeps it working), never wait or retake
        self.rates = []  # every probe's records/s
        self.failures = []  # why probes failed: a failed probe says nothing, nobody waits on it
        self.taken = []  # (what, the probes' rates around its last take)
        self.retaken = 0
        self.probing = 0.0  # seconds spent probing and waiting
        self.quiet_at = None  # when, and at what rate, a probe last found the host usual
        self.quiet_rate = None

    def rate(self):
        """Records/s of one probe now, or None when the probe failed."""
        started = time.monotonic()
        failure = None
        try:
            _, rate = run_bare_ring(self.tool, 64, 64, "0.1" if self.quick else "0.2", "touch",
                                    timeout=60)
        except subprocess.CalledProcessError as error:
            failure = (error.stderr or "").strip()[-200:] or f"exit status {error.returncode}"
        except (subprocess.TimeoutExpired, IndexError, ValueError, OSError) as error:
            failure = str(error)
        finally:
            self.probing += time.monotonic() - started
        if failure is not None:
            if not self.failures:
                print(f"host probe failed ({failure}): measuring without it", file=sys.stderr)
            self.failures.append(failure)
            return None
        self.rates.append(rate)
        return rate

    def usual_speed(self):
        if len(self.rates) < 2:
            return self.rates[0] if self.rates else 0.0
        # Inclusive: never past the fastest probe (the default extrapolates
        # beyond it while there are few).
        return statistics.quantiles(self.rates, n=4, method="inclusive")[2]

    def warm_up(self):
        for _ in range(WARM_UP_PROBES):
            self.rate()

    def quiet(self):
        """(the host at its usual speed now, the last probe's rate). Up to
        two probes: one slow probe may be a hiccup of its own."""
        rate = None
        for _ in range(2):
            rate = self.rate()
            if rate is None or rate >= SLOW_BELOW * self.usual_speed():
                self.quiet_at, self.quiet_rate = time.monotonic(), rate
                return True, rate
        self.quiet_at = None
        return False, rate

    def budget_left(self):
        return not self.quick and self.probing < WAIT_BUDGET_SECONDS

    def wait_for_quiet(self):
        """(quiet, rate) once the host runs at its usual speed, or when the
        run has spent its budget for waiting."""
        if self.quiet_at is not None and time.monotonic() - self.quiet_at < 1:
            return True, self.quiet_rate  # the probe after the measurement before
        while True:
            quiet, rate = self.quiet()
            if quiet or not self.budget_left():
                return quiet, rate
            started = time.monotonic()
            time.sleep(3)
            self.probing += time.monotonic() - started

    def steady(self, what, measure):
        """measure() at the host's usual speed, taken again if the host
        slowed meanwhile (while the budget lasts)."""
        for attempt in range(1 + RETAKES):
            _, before = self.wait_for_quiet()
            value = measure()
            quiet_after, after = self.quiet()
            if quiet_after or attempt == RETAKES or not self.budget_left():
                break
            self.retaken += 1
        self.taken.append((what, [rate for rate in (before, after) if rate is not None]))
        return value

    def summary(self):
        """The report's account of the host, judged against the whole run."""
        usual = self.usual_speed()
        def listed(title, names):
            shown = "; ".join(names[:12]) + (f"; and {len(names) - 12} more" if len(names) > 12
                                             else "")
            return f"{title} ({len(names)}): {shown}."
        slow = [what for what, rates in self.taken if rates and min(rates) < SLOW_BELOW * usual]
        fast = [what for what, rates in self.taken if rates and max(rates) > FAST_ABOVE * usual]
        text = [f"Host probe: bench/bare-ring 64 B touch before and after each of "
                f"{len(self.taken)} measurements; {len(self.rates)} probes"]
        if self.rates:
            text[0] += (f" from {min(self.rates) / 1e6:.0f} to {max(self.rates) / 1e6:.0f} M "
                        f"records/s, usual speed (their upper quartile) {usual / 1e6:.0f} M; slow "
                        f"below {SLOW_BELOW}x of it, fast above {FAST_ABOVE}x")
        text[0] += (f". Retaken after a slow probe: {self.retaken}; probing and waiting: "
                    f"{self.probing:.0f} s.")
        if self.failures:
            text.append(f"Probes that failed: {len(self.failures)} (the first: "
                        f"{self.failures[0]}); nobody waited on them.")
        text.append(listed("Measured on a slow host", slow) if slow else
                    "No figure was measured on a slow host.")
        if fast:
            text.append(listed("Measured on a fast host", fast))
        return [line for paragraph in text for line in textwrap.wrap(paragraph, 100)]


def steady(method):
    """A Harness method that measures: run on a quiet host (HostProbe.steady)."""
    def words(value):
        """An argument in a few words: the element that matters, a size."""
        if isinstance(value, tuple):  # a transport: its consumer element
            return value[0].split()[0]
        if not isinstance(value, str):
            return str(value)
        size = re.search(r"width=(\d+),height=(\d+)|sizemax=(\d+)", value)
        shown = value.split()[0]
        if size:
            shown += " " + (f"{size[1]}x{size[2]}" if size[1] else f"{size[3]} B")
        return shown

    @functools.wraps(method)
    def measured(self, *args, **kwargs):
        what = f"{method.__name__}({', '.join(words(a) for a in args)})"
        return self.host.steady(what, lambda: method(self, *args, **kwargs))
    return measured


class Harness:
    def __init__(self, build_dir, quick=False):
        self.tools = os.path.join(build_dir, "bench")
        self.serial = 0
        self.host = HostProbe(self.tool, quick)

    def tool(self, name):
        return os.path.join(self.tools, name)

    def name(self, what):
        self.serial += 1
        return f"bench-{what}-{os.getpid()}-{self.serial}"

    # -- transports: (consumer head, producer tail, socket or None) --------

    def shmring(self, what, sink_extra="", src_extra=""):
        ring = self.name(what)
        return (f"shmringsrc ring={ring} {src_extra}",
                f"shmringsink ring={ring} sync=false wait-for-readers=true {sink_extra}", None)

    def shmsink(self, what, shm_size):
        path = os.path.join(tempfile.gettempdir(), self.name(what))
        return (f"shmsrc socket-path={path} is-live=true",
                f"shmsink socket-path={path} shm-size={shm_size} wait-for-connection=true "
                f"sync=false", path)

    # -- running pairs of processes ----------------------------------------

    @staticmethod
    def remove_shmsink_leftovers(socket, producer_pid):
        """shmsink leaves its socket and, when killed, its shm segments
        (/dev/shm/'shmpipe.%5d.%5d' with its pid) behind."""
        if os.path.exists(socket):
            os.unlink(socket)
        for segment in glob.glob(f"/dev/shm/shmpipe.{producer_pid:5d}.*"):
            os.unlink(segment)

    @staticmethod
    def wait_until_listening(socket):
        """shmsrc cannot wait for a writer: it ends at once if it connects
        before shmsink listens, which is a moment after the socket appears."""
        deadline = time.monotonic() + STALL_SECONDS
        while not os.path.exists(socket) and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0.2)

    def start_pair(self, consumer_argv, producer_argv, socket):
        """Starts consumer and producer in the order each transport needs:
        with shmsink (`socket`) the producer first; shmringsrc waits for its
        writer, so its consumer goes first."""
        launch_producer = lambda: subprocess.Popen(
            producer_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        launch_consumer = lambda: subprocess.Popen(
            consumer_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if socket:
            p = launch_producer()
            self.wait_until_listening(socket)
            return launch_consumer(), p
        c = launch_consumer()
        return c, launch_producer()

    def finish_pair(self, c, p, socket, timeout):
        try:
            out, err = c.communicate(timeout=timeout)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()  # shmsink may not notice that its reader left
            p.wait()
        finally:
            for process in (c, p):
                if process.poll() is None:
                    process.kill()
                    process.wait()
            if socket:
                self.remove_shmsink_leftovers(socket, p.pid)
        return out, err

    @steady
    def rate(self, transport, upstream, n, cpus=None):
        """Items per second the consumer received, first to last; with
        `cpus` (a taskset list), both processes run on those CPUs only."""
        consumer, producer_tail, socket = transport
        on = ["taskset", "-c", cpus] if cpus else []
        counter = on + [self.tool("consumer-rate"), "--count", str(n), "--timeout",
                        str(STALL_SECONDS)] + f"{consumer} ! fakesink name=sink sync=false".split()
        c, p = self.start_pair(counter, on + ["gst-launch-1.0", "-q"] +
                               f"{upstream} ! {producer_tail}".split(), socket)
        out, err = self.finish_pair(c, p, socket, timeout=n / 20 + 60)
        if "stalled=1" in out:
            frames = re.search(r"frames=(\d+)", out).group(1)
            raise Stalled(f"stalled after {frames} of {n} (no buffer for {STALL_SECONDS} s)")
        m = re.search(r"frames=(\d+) seconds=([\d.]+)", out)
        if c.returncode or not m or int(m.group(1)) != n:
            raise RuntimeError(f"consumer failed ({c.returncode}): {out} {err[-600:]}")
        if p.returncode and not socket:
            raise RuntimeError(f"producer failed: {p.stderr.read()[-600:]}")
        return (n - 1) / float(m.group(2))

    def median_rate(self, make_transport, upstream, n, runs, cpus=None):
        """(median rate, None) or (None, why it could not be measured)."""
        rates = []
        for _ in range(runs):
            try:
                rates.append(self.rate(make_transport(), upstream, n, cpus))
            except Stalled as stalled:
                return None, str(stalled)
        return statistics.median(rates), None

    @steady
    def memcpy_limit(self, size, slots=2, processes=1):
        """Bytes/s of one core copying a warm buffer into `slots` in turn: the
        best case of one copy per buffer. With processes=2, per process while
        two copy at once: the limit of a copy in and a copy out in parallel."""
        out = subprocess.run([self.tool("memcpy-limit"), str(size), "0.5", str(slots),
                              str(processes)], capture_output=True, text=True,
                             check=True).stdout
        return float(out)

    @steady
    def anchor_rate(self, pipeline, n, runs, cpus=None):
        """Median items/s of one process running `pipeline` (its last element
        fakesink name=sink): the producer alone, or the same pipeline with a
        queue between two threads, counted as the transports are."""
        rates = []
        on = ["taskset", "-c", cpus] if cpus else []
        for _ in range(runs):
            out = subprocess.run(
                on + [self.tool("consumer-rate"), "--count", str(n), "--timeout",
                      str(STALL_SECONDS)] +
                pipeline.split(), capture_output=True, text=True, timeout=n / 20 + 60).stdout
            m = re.search(r"frames=(\d+) seconds=([\d.]+)", out)
            if not m or int(m.group(1)) != n:
                return None
            rates.append((n - 1) / float(m.group(2)))
        return statistics.median(rates)

    def anchors(self, upstream, n, runs):
        return dict(alone=self.anchor_rate(f"{upstream} ! fakesink name=sink sync=false", n, runs),
                    queue=self.anchor_rate(f"{upstream} ! queue ! fakesink name=sink sync=false",
                                           n, runs))

    # -- the sections -------------------------------------------------------

    def throughput(self, quick, runs):
        rows = []
        for label, width, height in RESOLUTIONS:
            frame = width * height * 3 // 2
            n = {"320x240": 5000, "1080p": 1000, "4K": 300}[label]
            if quick:
                n //= 10
            limit = self.memcpy_limit(frame) / frame
            for variant, upstream_template in VARIANTS.items():
                upstream = upstream_template.format(n=n, caps=caps_for(width, height))
                ring, ring_note = self.median_rate(lambda: self.shmring("video"), upstream, n,
                                                   runs)
                shm, shm_note = self.median_rate(
                    lambda: self.shmsink("video", frame * 10), upstream, n, runs)
                rows.append(dict(label=label, variant=variant, frame=frame, limit=limit,
                                 ring=ring, shm=shm, **self.anchors(upstream, n, runs),
                                 notes=[x for x in (
                                     ring_note and "shmring: " + ring_note,
                                     shm_note and "shmsink: " + shm_note) if x]))
        return rows

    @staticmethod
    def interleaved(measures, runs):
        """Each measure's median over `runs` rounds, the measures taking
        turns within a round. This host's speed moves in phases of tens of
        milliseconds that move every transport alike, anchors included (the
        in-process queue from 0.95 to 1.9 us per buffer and back within one
        run): taken in turns, the transports share those phases and their
        ratios hold still. measures: name -> () -> (rate, note); one with a
        note (it stalled) is not taken again.
        Returns ({name: median or None}, {name: note})."""
        rates = {name: [] for name in measures}
        notes = {}
        for _ in range(runs):
            for name, measure in measures.items():
                if name in notes:
                    continue
                rate, note = measure()
                if note:
                    notes[name] = note
                elif rate is not None:
                    rates[name].append(rate)
        return ({name: statistics.median(r) if r else None for name, r in rates.items()},
                notes)

    def small_buffers(self, quick, runs):
        rows = []
        # 100,000 buffers: 0.1-0.2 s, several of the host's speed phases in
        # each run (20,000 fell within one).
        n = 5000 if quick else 100000
        for size in (64, 1024, 4096):
            upstream = (f"fakesrc num-buffers={n} sizetype=fixed sizemax={size} "
                        f"filltype=zero ! application/x-test")
            # Latency on demand: both sides poll 20 us before they sleep, so
            # that a buffer a few microseconds away costs no futex wake-up.
            spin = "spin-time=20000"
            rates, notes = self.interleaved({
                "ring": lambda: self.median_rate(
                    lambda: self.shmring("small", "slot-size=65536"), upstream, n, 1),
                "ring_spin": lambda: self.median_rate(
                    lambda: self.shmring("small", f"slot-size=65536 {spin}", spin), upstream,
                    n, 1),
                "shm": lambda: self.median_rate(lambda: self.shmsink("small", 64 << 20),
                                                upstream, n, 1),
                "alone": lambda: (self.anchor_rate(
                    f"{upstream} ! fakesink name=sink sync=false", n, 1), None),
                "queue": lambda: (self.anchor_rate(
                    f"{upstream} ! queue ! fakesink name=sink sync=false", n, 1), None),
                # The writer's pipeline with no reader at all: nothing read,
                # no line shared with another core. The pair cannot pass it.
                "no_reader": lambda: (self.anchor_rate(
                    f"{upstream} ! shmringsink name=sink ring={self.name('no-reader')} "
                    f"sync=false slot-size=65536", n, 1), None),
                # Both processes on one CPU (a one-CPU container; a pair the
                # scheduler packed): they can only take turns.
                "ring_one_cpu": lambda: self.median_rate(
                    lambda: self.shmring("small", "slot-size=65536"), upstream, n, 1, "0"),
                "queue_one_cpu": lambda: (self.anchor_rate(
                    f"{upstream} ! queue ! fakesink name=sink sync=false", n, 1, "0"), None),
            }, runs)
            labels = {"ring": "shmring", "ring_spin": "shmring, spin-time", "shm": "shmsink",
                      "ring_one_cpu": "shmring, one CPU"}
            rows.append(dict(size=size, rounds=runs, n=n, **rates,
                             notes=[f"{labels[name]}: {note}" for name, note in notes.items()]))
        return rows

    @steady
    def pipeline_latency(self, transport, count, interval_us, size):
        consumer, producer_tail, socket = transport
        consumer_argv = [self.tool("latency"), "consume", str(count)] + \
            f"{consumer} ! appsink name=sink sync=false".split()
        # The producer is the latency tool, stamping as it pushes.
        producer_argv = [self.tool("latency"), "produce", str(count), str(interval_us),
                         str(size)] + \
            f"appsrc name=src caps=application/x-latency ! {producer_tail}".split()
        c, p = self.start_pair(consumer_argv, producer_argv, socket)
        out, _ = self.finish_pair(c, p, socket, timeout=count * interval_us / 1e6 + 60)
        return parse_latency(out)

    @steady
    def in_process_latency(self, count, interval_us, size):
        """The anchor: appsrc ! queue ! appsink in one process."""
        out = subprocess.run(
            [self.tool("latency"), "both", str(count), str(interval_us), str(size)] +
            "appsrc name=src caps=application/x-latency ! queue ! appsink name=sink "
            "sync=false".split(), capture_output=True, text=True,
            timeout=count * interval_us / 1e6 + 60).stdout
        return parse_latency(out)

    def latency(self, quick):
        count = 100 if quick else 1000
        core = lambda interval_us, *spin: self.core_latency(count, interval_us, *spin)
        frame = 1920 * 1080 * 3 // 2
        # Every 1 ms the writer sleeps between records, and its write() call
        # starts cold (the ring's lines are in the reader's cache); every
        # 10 us records flow. write_us (the writer's own call) shows the part
        # of the latency spent before the record is visible.
        # The core rows' anchor: the same ring with its reader a thread of
        # the writer's process.
        rows = [dict(what="core ring, 8 B record, idle, futex wake", ring=core(1000), shm=None,
                     anchor=core(1000, "0", "threads")),
                dict(what="core ring, 8 B record, spin 2 ms", ring=core(1000, "2000"), shm=None,
                     anchor=core(1000, "2000", "threads")),
                dict(what="core ring, 8 B, spin 2 ms, every 10 us", ring=core(10, "2000"),
                     shm=None, anchor=core(10, "2000", "threads"))]
        for label, size, spin in (("pipelines, 64 B buffers", 64, 0),
                                  ("pipelines, 64 B, spin-time 10 ms", 64, 10_000_000),
                                  ("pipelines, 1080p frames", frame, 0)):
            spin_prop = f"spin-time={spin}" if spin else ""
            consumer, producer_tail, socket = self.shmring(
                "latency", f"slot-size={max(size, 4096)} {spin_prop}")
            ring = self.pipeline_latency((f"{consumer} {spin_prop}", producer_tail, socket),
                                         count, 5000, size)
            # The consumer leaves its first max(10, count / 20) samples out
            # (settling); fewer than the rest means it stopped receiving.
            if ring and ring["samples"] < count - max(10, count // 20):
                ring = None  # a stall, not a figure
            shm = None if spin else self.pipeline_latency(
                self.shmsink("latency", max(size, 4096) * 16), count, 5000, size)
            rows.append(dict(what=f"{label}, every 5 ms", ring=ring, shm=shm,
                             anchor=self.in_process_latency(count, 5000, size)))
        return rows

    @steady
    def core_latency(self, count, interval_us, *spin):
        return parse_latency(subprocess.run(
            [self.tool("ring-latency"), str(count), str(interval_us), *spin],
            capture_output=True, text=True, check=True).stdout)

    @steady
    def writer_cpu_per_frame(self, transport_kind, readers, n):
        """CPU seconds the producer process spent per frame with `readers`
        readers attached (1080p, drawn into the sink's memory)."""
        caps = caps_for(1920, 1080)
        upstream = VARIANTS["pool"].format(n=n, caps=caps)
        if transport_kind == "shmring":
            consumer, producer_tail, socket = self.shmring("fanout")
        else:
            consumer, producer_tail, socket = self.shmsink("fanout", 1920 * 1080 * 3 // 2 * 10)
        # Readers that leave after n frames: shmsink's EOS waits until its
        # clients let go of every buffer, so its producer ends only then.
        launch_reader = lambda: subprocess.Popen(
            [self.tool("consumer-rate"), "--count", str(n), "--timeout", str(STALL_SECONDS)] +
            f"{consumer} ! fakesink name=sink sync=false".split(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reader_processes = []
        if not socket:
            reader_processes = [launch_reader() for _ in range(readers)]
            time.sleep(0.3)
        p = subprocess.Popen(["gst-launch-1.0", "-q"] + f"{upstream} ! {producer_tail}".split(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if socket:
            self.wait_until_listening(socket)
            reader_processes = [launch_reader() for _ in range(readers)]
        stalled = False
        deadline = time.monotonic() + STALL_SECONDS + n / 100
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                p.send_signal(signal.SIGKILL)
                _, status, usage = os.wait4(p.pid, 0)
                p.returncode = -9
                stalled = True
                break
            time.sleep(0.01)
        readers_failed = False
        for reader in reader_processes:
            try:
                readers_failed |= reader.wait(timeout=STALL_SECONDS) != 0
            except subprocess.TimeoutExpired:
                reader.kill()
                reader.wait()
                readers_failed = True
        if socket:
            self.remove_shmsink_leftovers(socket, p.pid)
        # A shmring reader that stalled (consumer-rate exits 3) or failed is
        # a failure of the transport; shmsink's readers may stall by design.
        if stalled or (readers_failed and transport_kind == "shmring"):
            return None
        return (usage.ru_utime + usage.ru_stime) / n

    def fan_out(self, quick):
        n = 100 if quick else 1000
        rows = []
        for readers in ((1, 8) if quick else (1, 2, 4, 8)):
            rows.append(dict(readers=readers,
                             ring=self.writer_cpu_per_frame("shmring", readers, n),
                             shm=self.writer_cpu_per_frame("shmsink", readers, n)))
        return rows

    def ring_bandwidth(self, quick):
        counts = (2, 20, 50) if quick else (2, 5, 10, 20, 30, 40, 50)
        seconds = "0.1" if quick else "0.5"
        rows = []
        for node in (1024, 1 << 20):
            limit = self.memcpy_limit(node)
            for count in counts:
                rows.append(dict(node=node, nodes=count, limit=limit,
                                 bandwidth=self.ring_rate(node, count, seconds)[0]))
        return rows


    @steady
    def ring_rate(self, node, nodes, seconds, *spin):
        """Bytes/s and records/s of the core ring (bench/ring-bandwidth)."""
        return run_ring_tool(self.tool, "ring-bandwidth", node, nodes, seconds, *spin)

    @steady
    def queue_bandwidth(self, node, nodes, seconds, writers, readers, mode, *one_cpu):
        out = subprocess.run([self.tool("queue-bandwidth"), str(node), str(nodes), seconds,
                              str(writers), str(readers), mode, *one_cpu], capture_output=True,
                             text=True, check=True, timeout=120).stdout.split()
        return float(out[6]), int(out[4]) / float(out[5])

    def seed_chart(self, quick):
        """The seed's class (CircularBuffer, queue mode) as the seed measured
        it, beside the broadcast ring, against the parallel memcpy limit."""
        counts = (2, 20, 50) if quick else (2, 5, 10, 20, 30, 40, 50)
        seconds = "0.1" if quick else "0.5"
        rows = []
        for node in (1024, 1 << 20):
            limit = self.memcpy_limit(node, slots=20, processes=2)
            for count in counts:
                for what, args in (("queue copy 1w1r", (1, 1, "copy")),
                                   ("queue lease 1w1r", (1, 1, "lease")),
                                   ("queue copy 2w2r", (2, 2, "copy"))):
                    bandwidth, _ = self.queue_bandwidth(node, count, seconds, *args)
                    rows.append(dict(node=node, nodes=count, what=what, bandwidth=bandwidth,
                                     limit=limit))
                bandwidth, _ = self.bare_ring(node, count, seconds, "copy")
                rows.append(dict(node=node, nodes=count, what="bare ring copy", bandwidth=bandwidth,
                                 limit=limit))
        return rows

    @steady
    def bare_ring(self, node, nodes, seconds, mode):
        """run_bare_ring, measured at the host's usual speed."""
        return run_bare_ring(self.tool, node, nodes, seconds, mode)

    def small_records(self, quick):
        """Records/s between two processes at 64 B and 1 KiB: the core ring
        (its reader touches two bytes) and the queue (copy in, copy out),
        each beside the bare ring read the same way; and the bare ring with
        the ring's per-record holds and orderings (held), which splits the
        ring's gap into what its protocol needs and what the rest costs."""
        seconds = "0.2" if quick else "1"
        rows = []
        # Two slot counts: what a ring of copies allows at 1 KiB depends on
        # it (the bare ring's copies moved 2x with the slot count in the
        # seed's chart, one way in one run and the other way in another),
        # so a bound is read only at the slot count it bounds.
        for size, slots in ((64, 8), (64, 64), (1024, 8), (1024, 64)):
            ring_rate = lambda *spin: self.ring_rate(size, slots, seconds, *spin)[1]
            queue = lambda *mode: self.queue_bandwidth(size, slots, seconds, 1, 1, *mode)[1]
            bare = lambda mode: self.bare_ring(size, slots, seconds, mode)[1]
            rows.append(dict(size=size, slots=slots, ring=ring_rate(), ring_spin=ring_rate("1000"),
                             # spin 0, the reader a thread on CPU 1: the anchor
                             ring_threads=ring_rate("0", "1", "threads"),
                             # spin 0, the reader on the writer's CPU
                             ring_one_cpu=ring_rate("0", "0"), queue=queue("copy"),
                             queue_lease=queue("lease"), queue_one_cpu=queue("copy", "one-cpu"),
                             # The anchor: the same queue between two threads of one process.
                             queue_threads=queue("copy", "threads"),
                             bare_touch=bare("touch"), bare_held=bare("held"),
                             bare_copy=bare("copy")))
        return rows


def parse_latency(out):
    m = re.search(r"samples=(\d+) median_us=([\d.]+) p99_us=([\d.]+) max_us=([\d.]+)", out)
    if not m:
        return None
    cpu = re.search(r"reader_cpu=([\d.]+)", out)
    write = re.search(r"write_us=([\d.]+)", out)
    return dict(samples=int(m.group(1)), median=float(m.group(2)), p99=float(m.group(3)),
                max=float(m.group(4)), reader_cpu=float(cpu.group(1)) if cpu else None,
                write_us=float(write.group(1)) if write else None)


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def cell(value, fmt):
    return format(value, fmt) if value else "stalled"


def report(results, lines):
    out = lines.append
    out("Anchors in every table: 'alone' is the producer into fakesink in one process, "
        "'queue' the same")
    out("pipeline with a queue between two threads; shmring should be >= 1.00x 'queue'.")
    out("")
    out(f"## Raw video between two processes (frames/s; GB/s = payload bytes)")
    out(f"{'frames':<16} {'shmring':>9} {'shmsink':>9} {'alone':>9} {'queue':>9} {'memcpy':>9} "
        f"{'ring GB/s':>10} {'ring/shmsink':>13} {'ring/queue':>11} {'ring/memcpy':>12}")
    for r in results["throughput"]:
        gbs = f"{r['ring'] * r['frame'] / 1e9:.2f}" if r["ring"] else "-"
        out(f"{r['label'] + ' ' + r['variant']:<16} {cell(r['ring'], '9.0f'):>9} "
            f"{cell(r['shm'], '9.0f'):>9} {cell(r['alone'], '9.0f'):>9} "
            f"{cell(r['queue'], '9.0f'):>9} {r['limit']:9.0f} {gbs:>10} "
            f"{ratio(r['ring'], r['shm']):>13} {ratio(r['ring'], r['queue']):>11} "
            f"{ratio(r['ring'], r['limit']):>12}")
        for note in r["notes"]:
            out(f"    note: {note}")
    out("")
    small = results["small"][0]
    out(f"## Small buffers between two processes (buffers/s, median of {small['rounds']} "
        f"round(s) of {small['n']:,} buffers, the transports in turns; 'spin': spin-time=20000 "
        f"on both)")
    out(f"{'size':<8} {'shmring':>10} {'spin':>10} {'shmsink':>10} {'no reader':>10} "
        f"{'alone':>10} {'queue':>10} {'ring/shmsink':>13} {'ring/queue':>11} "
        f"{'spin/queue':>11} {'ring/no reader':>15} {'no reader/queue':>16}")
    for r in results["small"]:
        out(f"{str(r['size']) + ' B':<8} {cell(r['ring'], '10.0f'):>10} "
            f"{cell(r.get('ring_spin'), '10.0f'):>10} "
            f"{cell(r['shm'], '10.0f'):>10} {cell(r.get('no_reader'), '10.0f'):>10} "
            f"{cell(r['alone'], '10.0f'):>10} "
            f"{cell(r['queue'], '10.0f'):>10} {ratio(r['ring'], r['shm']):>13} "
            f"{ratio(r['ring'], r['queue']):>11} {ratio(r.get('ring_spin'), r['queue']):>11} "
            f"{ratio(r['ring'], r.get('no_reader')):>15} "
            f"{ratio(r.get('no_reader'), r['queue']):>16}")
        for note in r["notes"]:
            out(f"    note: {note}")
    out("'no reader': the same shmringsink pipeline with no reader at all, the pair's ceiling: "
        "where 'no reader/queue'")
    out("is under 1.00 the writer's own pipeline is slower than the queue's, and no reader "
        "can make up for it.")
    out("")
    out("Both processes on one CPU (taskset -c 0; the queue's two threads too): they take turns")
    out(f"{'size':<8} {'shmring':>10} {'queue':>10} {'ring/queue':>11}")
    for r in results["small"]:
        out(f"{str(r['size']) + ' B':<8} {cell(r['ring_one_cpu'], '10.0f'):>10} "
            f"{cell(r['queue_one_cpu'], '10.0f'):>10} "
            f"{ratio(r['ring_one_cpu'], r['queue_one_cpu']):>11}")
    out("")
    out("## Small records between two processes, core library (M records/s; target 10)")
    out("'bare': bench/bare-ring, a ring with nothing but two indices, read as the ring is "
        "(touch) or as the queue is (copy);")
    out("'bare held': touch plus the ring's per-record holds and full orderings, nothing else;")
    out("'one CPU': the reader on the writer's CPU, where the two take turns;")
    out("'threads': the same ring or queue between two threads of one process (CPUs 0 and 1), "
        "the anchor: crossing a process should cost no more")
    out("'queue in place': the queue read through a read lease (first and last byte), as the "
        "ring is read")
    out(f"{'size':<8} {'slots':>5} {'ring':>8} {'ring, spin 1 ms':>16} {'one CPU':>8} "
        f"{'threads':>8} {'queue':>8} {'in place':>9} {'one CPU':>8} {'threads':>8} "
        f"{'bare touch':>11} {'bare held':>10} {'bare copy':>10} {'ring/threads':>13} "
        f"{'queue/threads':>14} {'ring/bare':>10} {'ring/held':>10} {'queue/bare':>11} "
        f"{'in place/bare':>14}")
    for r in results["records"]:
        out(f"{str(r['size']) + ' B':<8} {r['slots']:>5} {r['ring'] / 1e6:8.2f} "
            f"{r['ring_spin'] / 1e6:16.2f} "
            f"{r['ring_one_cpu'] / 1e6:8.2f} {r['ring_threads'] / 1e6:8.2f} "
            f"{r['queue'] / 1e6:8.2f} {r['queue_lease'] / 1e6:9.2f} "
            f"{r['queue_one_cpu'] / 1e6:8.2f} "
            f"{r['queue_threads'] / 1e6:8.2f} {r['bare_touch'] / 1e6:11.2f} "
            f"{r['bare_held'] / 1e6:10.2f} {r['bare_copy'] / 1e6:10.2f} "
            f"{ratio(r['ring'], r['ring_threads']):>13} "
            f"{ratio(r['queue'], r['queue_threads']):>14} "
            f"{ratio(r['ring'], r['bare_touch']):>10} "
            f"{ratio(r['ring'], r['bare_held']):>10} {ratio(r['queue'], r['bare_copy']):>11} "
            f"{ratio(r['queue_lease'], r['bare_touch']):>14}")
    out("")
    out("## One-way latency, CLOCK_MONOTONIC stamped by the writer, read by the reader (us)")
    out("'anchor': for pipelines the same pipeline in one process with a queue "
        "(appsrc ! queue ! appsink); for the core ring the same ring read by a thread of the "
        "writer's process")
    out(f"{'':<44} {'shmring median/p99/max':>26} {'shmsink median/p99/max':>24} "
        f"{'anchor median/p99/max':>24}")
    for r in results["latency"]:
        digits = 2 if r["what"].startswith("core") else 0
        fmt = lambda x: (f"{x['median']:.{digits}f} / {x['p99']:.{digits}f} / {x['max']:.0f}"
                         if x else "-")
        cpu = r["ring"] and r["ring"].get("reader_cpu")
        write = r["ring"] and r["ring"].get("write_us")
        note = f"   reader CPU {cpu:.2f} of a core" if cpu is not None else ""
        note += f", write() {write:.2f} us" if write is not None else ""
        out(f"{r['what']:<44} {fmt(r['ring']):>26} {fmt(r['shm']):>24} "
            f"{fmt(r['anchor']):>24}{note}")
    out("")
    out("## Fan-out: writer CPU time per 1080p frame (ms), frames drawn into the sink's memory")
    out(f"{'readers':<8} {'shmring':>9} {'shmsink':>9}")
    for r in results["fanout"]:
        out(f"{r['readers']:<8} {cell(r['ring'] and r['ring'] * 1e3, '9.3f'):>9} "
            f"{cell(r['shm'] and r['shm'] * 1e3, '9.3f'):>9}")
    first, last = results["fanout"][0], results["fanout"][-1]
    out(f"8 readers / 1 reader: shmring {ratio(last['ring'], first['ring'])}, "
        f"shmsink {ratio(last['shm'], first['shm'])}")
    out("")
    out("## The seed's chart: the seed's class (CircularBuffer, queue mode) and the broadcast "
        "ring (GB/s, payload once; the seed counts in and out: x2)")
    nodes = sorted({r["nodes"] for r in results["seed"]})
    out(f"{'':<24} " + " ".join(f"{n:>6}" for n in nodes) + "   (nodes)")
    for size, label in ((1024, "1 KiB"), (1 << 20, "1 MiB")):
        rows = [r for r in results["seed"] if r["node"] == size]
        limit = rows[0]["limit"]
        best = {}
        for what in ("queue copy 1w1r", "queue lease 1w1r", "queue copy 2w2r", "bare ring copy"):
            values = {r["nodes"]: r["bandwidth"] for r in rows if r["what"] == what}
            best[what] = max(values.values())
            out(f"{label + ' ' + what:<24} " +
                " ".join(f"{values[n] / 1e9:6.2f}" for n in nodes) +
                f"   best/parallel memcpy ({limit / 1e9:.1f} GB/s): "
                f"{ratio(best[what], limit)}")
        out(f"{'':<24} best queue copy 1w1r / best bare ring copy: "
            f"{ratio(best['queue copy 1w1r'], best['bare ring copy'])}")
        ring_rows = [r for r in results["bandwidth"] if r["node"] == size]
        values = {r["nodes"]: r["bandwidth"] for r in ring_rows}
        out(f"{label + ' broadcast ring':<24} " +
            " ".join(f"{values[n] / 1e9:6.2f}" if n in values else "     -" for n in nodes) +
            f"   best/memcpy limit ({ring_rows[0]['limit'] / 1e9:.1f} GB/s): "
            f"{ratio(max(values.values()), ring_rows[0]['limit'])}")


def plot(results, folder):
    """Two PNGs with gnuplot: throughput in GB/s, and the seed's chart."""
    if not shutil.which("gnuplot"):
        print("note: gnuplot is not installed; no plots")
        return
    data = os.path.join(folder, "throughput.dat")
    with open(data, "w") as f:
        f.write("# case shmring shmsink memcpy (GB/s; 0: stalled)\n")
        for r in results["throughput"]:
            gb = lambda fps: fps * r["frame"] / 1e9 if fps else 0
            f.write(f"\"{r['label']} {r['variant']}\" {gb(r['ring']):.3f} {gb(r['shm']):.3f} "
                    f"{gb(r['limit']):.3f}\n")
    bw = os.path.join(folder, "ring-bandwidth.dat")
    with open(bw, "w") as f:
        # Blocks: broadcast ring 1 KiB, 1 MiB; queue copy 1w1r 1 KiB, 1 MiB;
        # bare ring copy 1 KiB, 1 MiB.
        for size in (1024, 1 << 20):
            for r in results["bandwidth"]:
                if r["node"] == size:
                    f.write(f"{r['nodes']} {r['bandwidth'] / 1e9:.3f}\n")
            f.write("\n\n")
        for what in ("queue copy 1w1r", "bare ring copy"):
            for size in (1024, 1 << 20):
                for r in results["seed"]:
                    if r["node"] == size and r["what"] == what:
                        f.write(f"{r['nodes']} {r['bandwidth'] / 1e9:.3f}\n")
                f.write("\n\n")
    script = f"""
set terminal pngcairo size 1000,520 font ",10"
set output "{folder}/throughput.png"
set title "Raw I420 video between two processes (payload GB/s, higher is better; no bar: stalled)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "GB/s"
set key top right
set xtics rotate by -20
set yrange [0:*]
plot "{data}" using 2:xtic(1) title "shmring", "" using 3 title "shmsink/shmsrc", \\
     "" using 4 title "memcpy limit (1 core)"
set output "{folder}/ring-bandwidth.png"
set title "The seed's chart: 1 writer + 1 reader process (payload counted once)"
set style data linespoints
set xlabel "nodes (slots)"
set ylabel "GB/s"
set logscale y
set yrange [*:*]
set xtics norotate
plot "{bw}" index 0 title "broadcast ring, 1 KiB nodes", "" index 1 title "broadcast ring, 1 MiB nodes", \\
     "" index 2 title "queue copy in/out, 1 KiB nodes", "" index 3 title "queue copy in/out, 1 MiB nodes", \\
     "" index 4 title "bare ring copy in/out, 1 KiB" dashtype 2, \\
     "" index 5 title "bare ring copy in/out, 1 MiB" dashtype 2
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def shmring_failures(results):
    """Where shmring stalled or gave no figure. shmsink's stalls are data (it
    is known to deadlock under load); shmring's are bugs, and fail the run."""
    failures = []
    for r in results["throughput"]:
        if not r["ring"]:
            failures.append(f"raw video {r['label']} {r['variant']}")
    for r in results["small"]:
        if (not r["ring"] or not r.get("ring_spin") or not r.get("ring_one_cpu")
                or not r.get("no_reader")):
            failures.append(f"small buffers {r['size']} B")
    for r in results["latency"]:
        if not r["ring"]:
            failures.append(f"latency: {r['what']}")
    for r in results["fanout"]:
        if not r["ring"]:
            failures.append(f"fan-out {r['readers']} readers")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args()
    if args.quick:
        global STALL_SECONDS
        STALL_SECONDS = 4
    os.makedirs(args.out, exist_ok=True)
    harness = Harness(args.build_dir, args.quick)
    harness.host.warm_up()
    runs = 1 if args.quick else 3
    started = time.monotonic()
    results = {}
    for key, title, run in (
            ("throughput", "raw video", lambda: harness.throughput(args.quick, runs)),
            ("small", "small buffers",
             lambda: harness.small_buffers(args.quick, 1 if args.quick else SMALL_ROUNDS)),
            ("latency", "latency", lambda: harness.latency(args.quick)),
            ("fanout", "fan-out", lambda: harness.fan_out(args.quick)),
            ("bandwidth", "ring bandwidth", lambda: harness.ring_bandwidth(args.quick)),
            ("seed", "the seed's chart", lambda: harness.seed_chart(args.quick)),
            ("records", "small records", lambda: harness.small_records(args.quick))):
        print(f"measuring {title} ...", file=sys.stderr, flush=True)
        results[key] = run()
    lines = [f"# shmring benchmark{' (--quick: not for quoting)' if args.quick else ''}: "
             f"{os.cpu_count()} cores, {'1 run' if runs == 1 else f'median of {runs} runs'}, "
             f"{time.monotonic() - started:.0f} s", ""]
    lines += harness.host.summary() + [""]
    report(results, lines)
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.out, "results.txt"), "w") as f:
        f.write(text)
    plot(results, args.out)
    print(f"written: {args.out}/results.txt, {args.out}/throughput.png, "
          f"{args.out}/ring-bandwidth.png")
    if failures := shmring_failures(results):
        print("shmring stalled or failed in: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
