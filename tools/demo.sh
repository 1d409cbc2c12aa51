#!/usr/bin/env bash
# Sets up (tools/setup.sh), then runs the demo: a producer process sends 150
# frames of moving colour bars through the ring 'demo-<pid>' to a consumer
# process, which counts them, checksums each one and saves the last as PNG.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
ring="demo-$$"
out="$PWD/demo-out"
rm -rf "$out"
mkdir -p "$out"

echo "== consumer: shmringsrc ring=$ring ! ... (started first: it waits for the producer)"
gst-launch-1.0 -q shmringsrc ring="$ring" \
  ! tee name=t \
  t. ! queue ! videoconvert ! pngenc compression-level=1 \
     ! multifilesink location="$out/frame-%05d.png" max-files=1 \
  t. ! queue ! checksumsink >"$out/checksums.txt" &
consumer=$!
trap 'kill $consumer 2>/dev/null || true' EXIT

sleep 0.5
echo "== producer: videotestsrc ! 640x360@30 ! shmringsink ring=$ring"
gst-launch-1.0 -q videotestsrc pattern=smpte horizontal-speed=8 num-buffers=150 \
  ! video/x-raw,format=I420,width=640,height=360,framerate=30/1 \
  ! shmringsink ring="$ring" wait-for-readers=true

# The producer sent EOS: the consumer ends on its own.
wait $consumer
trap - EXIT

received=$(wc -l <"$out/checksums.txt")
first=$(head -n1 "$out/checksums.txt" | cut -d' ' -f1)
last=$(tail -n1 "$out/checksums.txt" | cut -d' ' -f1)
png=$(ls "$out"/frame-*.png)
echo "== consumer received $received frames (PTS $first .. $last), each checksummed in $out/checksums.txt"
echo "== last frame received, as PNG: $png"
[ "$received" -eq 150 ]
