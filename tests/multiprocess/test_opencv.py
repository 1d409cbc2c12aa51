#!/usr/bin/python3
"""OpenCV as a real client, through its GStreamer backend (python3-opencv on
Debian's python3): cv2.VideoCapture reads a gst-launch-1.0 writer's ring,
and cv2.VideoWriter writes one that a gst-launch-1.0 reader saves with the
exact pixels written; release() ends the reader's stream with EOS."""
import hashlib
import unittest

import cv2
import numpy

from support import ProcessTest, finish, frames

WIDTH, HEIGHT = 320, 240


class OpenCV(ProcessTest):
    def test_video_capture_reads_distinct_frames_of_the_right_shape(self):
        ring = self.ring("cv-capture")
        # A live writer of 3 s; the capture joins it at once (shmringsrc waits
        # for the ring if it is not there yet) and reads 30 of its frames.
        writer = self.start(f"videotestsrc pattern=ball is-live=true num-buffers=90 ! "
                            f"video/x-raw,width={WIDTH},height={HEIGHT},framerate=30/1 ! "
                            f"shmringsink ring={ring}")
        capture = cv2.VideoCapture(f"shmringsrc ring={ring} ! videoconvert ! "
                                   f"video/x-raw,format=BGR ! appsink", cv2.CAP_GSTREAMER)
        self.assertTrue(capture.isOpened())
        seen = []
        for _ in range(30):
            ok, image = capture.read()
            self.assertTrue(ok)
            self.assertEqual(image.shape, (HEIGHT, WIDTH, 3))
            seen.append(hashlib.sha1(image.tobytes()).hexdigest())
        capture.release()
        # The ball moves: 30 frames of a live stream are (nearly) all different.
        self.assertGreater(len(set(seen)), 20)
        code, _, err = finish(writer)
        self.assertEqual(code, 0, err)

    def test_video_writer_frames_arrive_pixel_exact_and_release_ends_the_stream(self):
        ring = self.ring("cv-writer")
        reader = self.start(f"shmringsrc ring={ring} ! checksumsink")
        writer = cv2.VideoWriter(f"appsrc ! videoconvert ! video/x-raw,format=BGR ! "
                                 f"shmringsink ring={ring} wait-for-readers=true",
                                 cv2.CAP_GSTREAMER, 0, 30.0, (WIDTH, HEIGHT), True)
        self.assertTrue(writer.isOpened())
        generator = numpy.random.default_rng(7)
        written = []
        for _ in range(40):
            image = generator.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=numpy.uint8)
            writer.write(image)
            written.append(hashlib.sha1(image.tobytes()).hexdigest())
        writer.release()  # EOS: the reader ends
        code, out, err = finish(reader)
        self.assertEqual(code, 0, err)
        self.assertEqual([sha for _, sha in frames(out)], written)


if __name__ == "__main__":
    unittest.main(verbosity=2)
