#!/usr/bin/env bash
# An application built against the installed library through pkg-config, as
# a user outside this tree would: install into a scratch root, compile the
# seed's array example with `pkg-config --cflags --libs shmring`, run it.
#
#   installed_library.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --no-rebuild --destdir "$root" >/dev/null
pc=$(find "$root" -name shmring.pc | head -n 1)
[ -n "$pc" ] || { echo "shmring.pc was not installed"; exit 1; }
# The scratch root stands for / : point the .pc's prefix into it.
sed -i "s|^prefix=|prefix=$root|" "$pc"
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs shmring)
c++ -std=c++17 -I"$source/examples/seed" "$source/examples/seed/array.cpp" $flags -o "$root/array"
libdir=$(dirname "$(find "$root" -name 'libshmring.so*' | head -n 1)")
output=$(LD_LIBRARY_PATH=$libdir "$root/array")
[ "$output" = $'123\n456' ] || { echo "unexpected output: $output"; exit 1; }
echo "built with: $flags"
