#!/usr/bin/env bash
# Screenshot of the workbench on a page, under a private Xvfb display.
# Usage: tests/screenshot.sh PAGE OUT.png [SECONDS] [extra pretext args]
# Needs imagemagick (import) and xvfb (xdotool, if present, parks the pointer);
# used by hand for README and metainfo. KEYS="alt+e" (xdotool key names) are
# typed after the wait, then AFTER more seconds pass before the shot;
# CLICKS="x,y x,y" are then clicked (one second apart).
set -eu
page=$1; out=$2; wait=${3:-4}; shift $(( $# < 3 ? $# : 3 ))
build=${BUILD_DIR:-build}
export GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR=$build/resources GTK_A11Y=none NO_AT_BRIDGE=1
xvfb-run -a -s "-screen 0 1280x820x24" bash -c "
  ./$build/app/pretext --page '$page' $* &
  pid=\$!
  sleep $wait
  if [ -n \"${KEYS:-}\" ]; then xdotool key ${KEYS:-}; sleep ${AFTER:-5}; fi
  for c in ${CLICKS:-}; do xdotool mousemove \${c%,*} \${c#*,} click 1; sleep 1; done
  command -v xdotool >/dev/null && xdotool mousemove 1279 819 && sleep 1
  import -window root '$out'
  kill \$pid
"
echo "wrote $out"
