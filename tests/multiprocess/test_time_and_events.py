"""Time, events and metadata between two processes: audio, H.264 with its
flags, tags and custom events in their place, and a live pair whose latency
is reported without warnings."""
import os
import re
import signal
import subprocess
import time
import unittest

from support import ProcessTest, finish, frames, gst_launch, seconds

SYSTEM_PYTHON = os.environ["SHMRING_SYSTEM_PYTHON"]
HERE = os.path.dirname(os.path.abspath(__file__))
AUDIO = "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved"


def identity_log(output):
    """What identity silent=false saw, in order: ("event", type, details) and
    ("buffer", size, dts, pts, duration, offset, flags as an int, metas)."""
    items = []
    for line in output.splitlines():
        if "last-message = event" in line:
            match = re.search(r"E \(type: ([\w-]+) \(\d+\), (.*)\) 0x", line)
            items.append(("event", match[1], match[2]))
        elif "last-message = chain" in line:
            match = re.search(r"\((\d+) bytes, dts: (\S+), pts: (\S+), duration: (\S+), "
                              r"offset: (\S+), offset_end: \S+, flags: ([0-9a-f]+) .*"
                              r"meta: (.*)\) 0x", line)
            items.append(("buffer", int(match[1]), match[2], match[3], match[4], match[5],
                          int(match[6], 16), match[7]))
    return items


# Flags that describe the data; DISCONT marks where each side started, and
# TAG_MEMORY is about one process's memory, not the data.
DATA_FLAGS = ~(0x40 | 0x4000)


class TimeAndEvents(ProcessTest):
    def identity_reader(self, ring):
        """A reader whose identity logs every buffer and event it passes (-v),
        started before its writer and given time to play."""
        consumer = gst_launch(f"shmringsrc ring={ring} timestamp-mode=original ! "
                              f"identity silent=false ! fakesink", flags=("-v",))
        self.processes.append(consumer)
        time.sleep(0.5)
        return consumer

    def test_audio_keeps_caps_samples_and_spacing(self):
        ring = self.ring("audio")
        # Default timestamp-mode=clock; the reader plays before the writer starts.
        consumer = self.start(f"shmringsrc ring={ring} ! {AUDIO} ! checksumsink")
        time.sleep(0.5)
        producer = self.start(f"audiotestsrc num-buffers=50 samplesperbuffer=480 ! {AUDIO} ! "
                              f"shmringsink ring={ring} sync=false wait-for-readers=true")
        self.assertEqual(finish(producer)[0], 0)
        code, out, err = finish(consumer)
        self.assertEqual(code, 0, err)
        got = frames(out)
        code, reference, err = finish(self.start(
            f"audiotestsrc num-buffers=50 samplesperbuffer=480 ! {AUDIO} ! checksumsink"))
        want = frames(reference)
        self.assertEqual(len(want), 50)
        self.assertEqual([sha for _, sha in got], [sha for _, sha in want])
        # 10 ms buffers, mapped into the reader's running time by one shift.
        shifts = {round(seconds(g) - seconds(w), 6) for (g, _), (w, _) in zip(got, want)}
        self.assertEqual(len(shifts), 1, shifts)

    def test_h264_keeps_delta_units_headers_and_timestamps(self):
        ring = self.ring("h264")
        consumer = self.identity_reader(ring)
        producer = gst_launch(
            "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
            "x264enc key-int-max=15 bframes=2 ! h264parse ! identity silent=false ! "
            f"shmringsink ring={ring} sync=false wait-for-readers=true", flags=("-v",))
        self.processes.append(producer)
        code, written, err = finish(producer)
        self.assertEqual(code, 0, err)
        code, read, err = finish(consumer)
        self.assertEqual(code, 0, err)

        def buffers(log):
            return [(size, dts, pts, duration, offset, flags & DATA_FLAGS)
                    for kind, size, dts, pts, duration, offset, flags, _ in
                    (item for item in identity_log(log) if item[0] == "buffer")]
        sent, received = buffers(written), buffers(read)
        self.assertEqual(len(sent), 60)
        self.assertEqual(received, sent)
        delta = [flags & 0x2000 for *_, flags in received]
        self.assertEqual(delta.count(0), 4, "keyframes every 15 frames")
        self.assertTrue(any(dts != pts for _, dts, pts, *_ in received), "B-frames reordered")
        # The encoder's tags came along.
        tags = [details for kind, name, details, *_ in identity_log(read)
                if kind == "event" and name == "tag"]
        self.assertTrue(any("encoder" in t and "x264" in t for t in tags), tags)

    def test_tags_custom_events_and_metas_keep_their_place(self):
        ring = self.ring("events")
        consumer = self.identity_reader(ring)
        writer = subprocess.Popen([SYSTEM_PYTHON, os.path.join(HERE, "event_writer.py"), ring],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(writer)
        code, _, err = finish(writer)
        self.assertEqual(code, 0, err)
        code, out, err = finish(consumer)
        self.assertEqual(code, 0, err)
        seen = []
        for item in identity_log(out):
            if item[0] == "buffer":
                seen.append(f"buffer {item[5]} pts {item[3]} meta {item[7]}")
            else:
                seen.append(f"{item[1]} {item[2]}")
        self.assertEqual(len(seen), 11, seen)
        self.assertTrue(seen[0].startswith("stream-start "))
        self.assertEqual(seen[1], "caps GstEventCaps, caps=(GstCaps)application/x-shmring-test;")
        self.assertTrue(seen[2].startswith("segment "))
        self.assertEqual(seen[3:], [
            'tag GstTagList-global, taglist=(taglist)"taglist\\,\\ title\\=\\(string\\)'
            '\\"shmring\\\\\\ test\\"\\;";',
            "buffer 0 pts 0:00:00.000000000 meta GstReferenceTimestampMeta",
            'custom-downstream marker-a, n=(int)1, text=(string)"hello\\,\\ world";',
            "buffer 1 pts 0:00:00.100000000 meta none",
            'tag GstTagList-stream, taglist=(taglist)"taglist\\,\\ comment\\=\\(string\\)second\\;";',
            "custom-downstream marker-b, n=(int)2;",
            "buffer 2 pts 0:00:00.200000000 meta none",
            "eos ",
        ])

    def test_live_pair_reports_latency_without_warnings(self):
        ring = self.ring("latency")
        env = dict(os.environ, GST_DEBUG="shmringsrc:5,shmringsink:5", GST_DEBUG_NO_COLOR="1")
        writer = subprocess.Popen(
            ["gst-launch-1.0", "-v", "-e", "videotestsrc", "is-live=true", "!",
             "video/x-raw,width=320,height=240,framerate=30/1", "!", "shmringsink",
             f"ring={ring}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reader = subprocess.Popen(
            ["gst-launch-1.0", "-v", "shmringsrc", f"ring={ring}", "on-writer-lost=wait", "!",
             "videoconvert", "!", "fakesink", "sync=true"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes += [writer, reader]
        time.sleep(3)
        writer.send_signal(signal.SIGINT)  # -e: EOS, which ends the reader too
        code, writer_out, writer_err = finish(writer)
        self.assertEqual(code, 0, writer_err)
        code, reader_out, reader_err = finish(reader)
        self.assertEqual(code, 0, reader_err)
        for output in (writer_out, writer_err, reader_out, reader_err):
            self.assertNotIn("WARNING", output)
            self.assertNotIn("Can't determine", output)
            self.assertNotIn("processing deadline", output)
        # The writer's pipeline latency, as its sink published it; the
        # reader's last answer adds one frame (30 fps) and the ring's 8 slots.
        writer_latency = re.findall(r"pipeline latency (\d+):(\d+):([\d.]+)", writer_err)
        self.assertTrue(writer_latency, writer_err[-2000:])
        h, m, s = writer_latency[-1]
        writer_ns = round((int(h) * 3600 + int(m) * 60 + float(s)) * 1e9)
        self.assertGreater(writer_ns, 0, "a live writer pipeline has latency")
        answers = re.findall(r"latency min (\d+):(\d+):([\d.]+) max (\d+):(\d+):([\d.]+)",
                             reader_err)
        self.assertTrue(answers, reader_err[-2000:])
        last = answers[-1]
        min_ns = round((int(last[0]) * 3600 + int(last[1]) * 60 + float(last[2])) * 1e9)
        max_ns = round((int(last[3]) * 3600 + int(last[4]) * 60 + float(last[5])) * 1e9)
        frame = 33_333_333
        self.assertEqual(min_ns, writer_ns + frame)
        self.assertEqual(max_ns, writer_ns + 8 * frame)


if __name__ == "__main__":
    unittest.main(verbosity=2)
