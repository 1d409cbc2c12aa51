#!/usr/bin/env bash
# Installs what shmring needs from Debian 12's packages and builds it in
# ./build. Safe to run again: it only installs what is missing and rebuilds
# what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build pkg-config g++ python3
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-base-apps  # gst-play-1.0, for the URI tests
  gstreamer1.0-plugins-bad   # checksumsink for the tests, shmsink/shmsrc for benchmarks
  gstreamer1.0-plugins-ugly  # x264enc: H.264 in the two-process tests
  gstreamer1.0-libav         # avdec_*: decodebin decodes the common formats (padded frames)
  python3-gst-1.0            # the PyGObject embedding example (runs on /usr/bin/python3)
  python3-opencv             # OpenCV (its GStreamer backend) as a client, in the tests
  gir1.2-gst-rtsp-server-1.0 # an RTSP server as a client, in the tests
  libgtest-dev
  clang libclang-rt-14-dev   # libFuzzer for the fuzz target, ThreadSanitizer
  clang-format               # the style check (.clang-format)
  gnuplot-nox                # the benchmark's plots
  gcovr                      # line and branch coverage of core/ and plugin/
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  echo "== configuring build/"
  meson setup build >/dev/null
fi
echo "== building"
ninja -C build >/dev/null
echo "== built: plugin in $(pwd)/build/plugin"
