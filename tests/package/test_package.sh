#!/usr/bin/env bash
# The Debian package as a user installs it: tools/package.sh builds it,
# `apt-get install ./….deb` installs it, and with no GST_PLUGIN_PATH (nor
# anything else of this tree) set, gst-inspect-1.0 finds both elements, a
# frame crosses between two processes, and the installed `shmring` tool runs.
# The package is removed again at the end. Needs root (run by tools/test.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ring="package-test-$$"
scratch=$(mktemp -d)
cleanup() {
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq gstreamer1.0-shmring >/dev/null 2>&1 || true
  rm -rf "$scratch"
  rm -f "/dev/shm/shmring.$ring"
}
trap cleanup EXIT
deb=$(tools/package.sh "$scratch/out")
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
echo "installed: $(dpkg-query -W -f='${Package} ${Version}' gstreamer1.0-shmring)"
plugin=$(dpkg -L gstreamer1.0-shmring | grep '/gstreamer-1.0/libgstshmring.so$')
pluginsdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
[ "$(dirname "$plugin")" = "$pluginsdir" ] ||
  { echo "the plugin is in $(dirname "$plugin"), GStreamer looks in $pluginsdir"; exit 1; }

# A user's environment: nothing of this tree, a registry of its own.
clean_env=(env -i "PATH=/usr/bin:/bin" "HOME=$scratch")
"${clean_env[@]}" gst-inspect-1.0 shmringsink | grep -E "^  (Filename|Version)" | sed 's/^ */  /'
"${clean_env[@]}" gst-inspect-1.0 shmringsrc >/dev/null || { echo "no shmringsrc"; exit 1; }
"${clean_env[@]}" timeout 30 gst-launch-1.0 -q shmringsrc "ring=$ring" ! fakesink \
  num-buffers=10 >/dev/null &
reader=$!
"${clean_env[@]}" timeout 30 gst-launch-1.0 -q videotestsrc num-buffers=10 ! \
  shmringsink "ring=$ring" wait-for-readers=true >/dev/null
wait "$reader" || { echo "the reader failed"; exit 1; }
"${clean_env[@]}" shmring list >/dev/null
echo "package: two processes through the installed plugin, and the shmring tool: OK"
