#!/usr/bin/env bash
# The plugin and the tool as installed, with nothing of this tree around
# them: install into a scratch root, then load the plugin with only
# GST_PLUGIN_SYSTEM_PATH pointing at the installed plugin folder (no
# LD_LIBRARY_PATH, no GST_PLUGIN_PATH), move a frame between two processes
# through it, and run the installed `shmring` tool. The core library must
# carry a versioned SONAME; the plugin and the tool must not need it.
#
#   installed_plugin.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(mktemp -d)
ring="installed-plugin-$$"
trap 'rm -rf "$root"; rm -f "/dev/shm/shmring.$ring"' EXIT
meson install -C "$build" --no-rebuild --destdir "$root" >/dev/null

plugin=$(find "$root" -name libgstshmring.so | head -n 1)
[ -n "$plugin" ] || { echo "the plugin was not installed"; exit 1; }
case "$plugin" in
  */gstreamer-1.0/libgstshmring.so) ;;
  *) echo "the plugin is not in a gstreamer-1.0 folder: $plugin"; exit 1 ;;
esac
library=$(find "$root" -name 'libshmring.so.*.*' | head -n 1)
soname=$(readelf -d "$library" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ "$soname" =~ ^libshmring\.so\.[0-9]+$ ]] || { echo "libshmring's SONAME is '$soname'"; exit 1; }
for binary in "$plugin" "$(find "$root" -path '*/bin/shmring')"; do
  if readelf -d "$binary" | grep -q 'NEEDED.*libshmring'; then
    echo "$binary needs libshmring.so, which the loader may not find"
    exit 1
  fi
done

# A clean environment: what a user's shell has, and where the plugin is.
home=$root/home
mkdir -p "$home"
clean_env=(env -i "PATH=/usr/bin:/bin" "HOME=$home"
           "GST_PLUGIN_SYSTEM_PATH=$(dirname "$plugin")")
inspected=$("${clean_env[@]}" gst-inspect-1.0 shmringsink 2>&1 || true)
grep -q "^  Filename .*$plugin" <<<"$inspected" || {
  echo "gst-inspect-1.0 does not find shmringsink in the installed plugin:"
  echo "$inspected" | head -n 20
  exit 1
}
"${clean_env[@]}" gst-inspect-1.0 shmringsrc >/dev/null || { echo "no shmringsrc"; exit 1; }
# Two processes through the installed plugin (and the system's, for fakesrc
# and fakesink): the reader counts 10 buffers.
clean_env[4]="GST_PLUGIN_SYSTEM_PATH=$(dirname "$plugin"):$(pkg-config --variable=pluginsdir gstreamer-1.0)"
"${clean_env[@]}" timeout 30 gst-launch-1.0 -q shmringsrc "ring=$ring" ! fakesink \
  num-buffers=10 >/dev/null &
reader=$!
"${clean_env[@]}" timeout 30 gst-launch-1.0 -q fakesrc num-buffers=10 sizetype=fixed \
  sizemax=64 ! application/x-test ! shmringsink "ring=$ring" wait-for-readers=true >/dev/null
wait "$reader" || { echo "the reader of the installed plugin failed"; exit 1; }
"${clean_env[@]}" "$(find "$root" -path '*/bin/shmring')" list >/dev/null
echo "installed plugin: $(dirname "$plugin"), library SONAME $soname"
