#!/usr/bin/env python3
"""shmring:// URIs: what takes a URI reaches a ring. A writer made from a URI
in gst-launch-1.0 (`videotestsrc ! shmring://NAME?...`), read by uridecodebin,
playbin and gst-play-1.0; every frame checked against a reference run. Bad
URIs are clear errors."""
import subprocess
import unittest

from support import ProcessTest, finish, frames

SMALL = "video/x-raw,format=I420,width=320,height=240,framerate=30/1"


class Uris(ProcessTest):
    def writer(self, ring, count=60):
        # The sink made from a URI, its property set by the URI's query.
        return self.start(f"videotestsrc pattern=ball num-buffers={count} ! {SMALL} ! "
                          f"shmring://{ring}?wait-for-readers=true&sync=false")

    def check_every_frame(self, ring, reader_description):
        writer = self.writer(ring)
        reader = self.start(reader_description)
        code, _, err = finish(writer)
        self.assertEqual(code, 0, err)
        code, out, err = finish(reader)
        self.assertEqual(code, 0, err)
        want = self.reference_frames(60, SMALL)
        self.assertEqual([sha for _, sha in frames(out)], [sha for _, sha in want])

    def test_uridecodebin_reads_a_ring(self):
        ring = self.ring("uridecodebin")
        self.check_every_frame(ring, f"uridecodebin uri=shmring://{ring}?timestamp-mode=original "
                                     f"! checksumsink")

    def test_playbin_plays_a_ring(self):
        ring = self.ring("playbin")
        self.check_every_frame(ring, f"playbin uri=shmring://{ring} video-sink=checksumsink "
                                     f"audio-sink=fakesink")

    def test_gst_play_plays_a_ring_to_its_end(self):
        ring = self.ring("gst-play")
        writer = self.writer(ring)
        play = subprocess.run(["gst-play-1.0", "--videosink=fakesink", "--audiosink=fakesink",
                               "--no-interactive", f"shmring://{ring}"],
                              capture_output=True, text=True, timeout=60)
        self.assertIn("Reached end of play list", play.stdout, play.stderr)
        self.assertEqual(finish(writer)[0], 0)

    def test_a_uri_source_in_gst_launch_with_query_properties(self):
        ring = self.ring("launch-src")
        self.check_every_frame(ring, f"shmring://{ring}?timestamp-mode=original&policy=block ! "
                                     f"checksumsink")

    def test_bad_uris_are_clear_errors(self):
        for uri, expected in (
                ("shmring://x?no-such-property=1", "no property 'no-such-property'"),
                ("shmring://x?policy=sideways", "'sideways' is not a value of property 'policy'"),
                ("shmring://x?ring=other", "no property 'ring' that a URI may set"),
                ("shmring://x?policy", "not property=value"),
                ("shmring://a%20b", "names no ring")):
            code, _, err = finish(self.start(f"uridecodebin uri={uri} ! fakesink"), timeout=20)
            self.assertNotEqual(code, 0, uri)
            self.assertIn(expected, err, uri)


if __name__ == "__main__":
    unittest.main(verbosity=2)
