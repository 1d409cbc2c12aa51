#!/usr/bin/env bash
# Builds a Debian package of shmring from this tree: the GStreamer plugin in
# GStreamer's plugin folder, the `shmring` tool, the core library (versioned
# SONAME), its headers and pkg-config file. Prints the package's path.
#
#   tools/package.sh [OUT_DIR]        (default: build-deb/)
#   apt-get install ./build-deb/gstreamer1.0-shmring_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build-deb}")
tools/setup.sh >/dev/null
build=build-deb/build
[ -f "$build/build.ninja" ] ||
  meson setup "$build" --prefix=/usr --buildtype=release -Dtests=false >/dev/null
ninja -C "$build" >/dev/null

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --no-rebuild --destdir "$root/pkg" >/dev/null
# The package's own files only: no static archive (the plugin and tool carry
# the core already; a -dev package would ship it).
find "$root/pkg" -name 'libshmring.a' -delete

version=$(meson introspect "$build" --projectinfo | python3 -c \
  'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)
gst_version=$(pkg-config --modversion gstreamer-1.0 | cut -d. -f1,2)
mkdir -p "$root/pkg/DEBIAN"
cat >"$root/pkg/DEBIAN/control" <<CONTROL
Package: gstreamer1.0-shmring
Version: $version
Architecture: $arch
Maintainer: shmring developers <shmring@localhost>
Section: libs
Priority: optional
Depends: libgstreamer1.0-0 (>= $gst_version), libgstreamer-plugins-base1.0-0 (>= $gst_version), libstdc++6, libc6
Installed-Size: $(du -sk "$root/pkg" | cut -f1)
Description: GStreamer elements that move buffers between processes through shared memory
 shmringsink and shmringsrc carry buffers, caps, timestamps and events
 between pipelines in separate processes through a lock-free ring in POSIX
 shared memory, to many readers, surviving crashes of either side. Also the
 shmring tool (list, info, clean) and the C++ core library.
CONTROL
# libshmring.so.N is a public library in the loader's path: refresh its cache.
echo "activate-noawait ldconfig" >"$root/pkg/DEBIAN/triggers"
mkdir -p "$out"
deb="$out/gstreamer1.0-shmring_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root/pkg" "$deb" >/dev/null
echo "$deb"
