#!/usr/bin/python3
"""An RTSP server for a ring: the way out of one machine. Serves the ring's
video, encoded to H.264, at rtsp://ADDRESS:PORT/shared (one pipeline shared
by every client) and rtsp://ADDRESS:PORT/own (a pipeline per client). The
readers wait for the camera's writer and follow it when it restarts
(on-writer-lost=wait). Prints "port N" once it listens; stops on SIGINT or
SIGTERM.

  /usr/bin/python3 examples/network/rtsp_server.py RING [--address 127.0.0.1] [--port 8554]
"""
import argparse
import signal

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def factory(ring, shared):
    media = GstRtspServer.RTSPMediaFactory.new()
    media.set_launch(f"( shmringsrc ring={ring} on-writer-lost=wait ! videoconvert ! "
                     f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
                     f"rtph264pay name=pay0 pt=96 config-interval=1 )")
    media.set_shared(shared)
    return media


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ring")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", default="8554", help="0: any free port")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address(args.address)
    server.set_service(args.port)
    mounts = server.get_mount_points()
    mounts.add_factory("/shared", factory(args.ring, True))
    mounts.add_factory("/own", factory(args.ring, False))
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on {args.address}:{args.port}")
    print(f"port {server.get_bound_port()}", flush=True)
    loop = GLib.MainLoop()
    for number in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
