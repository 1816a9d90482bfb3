#!/bin/sh
# Captures the README screenshot from a real run: the listen(1) experiment
# on loopback (listen_experiment.py), tcpwatch's dashboard beside it in a
# detached 120x40 tmux session, then `tmux capture-pane` as plain text and
# with colours, and a PNG drawn from the coloured capture (render_png.py).
#
# Usage: assets/capture_dashboard.sh [path/to/tcpwatch]
# Needs: tmux, python3 with pillow for the PNG (PYTHON=/usr/bin/python3 to
# pick one), fonts-dejavu-core.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-${CARGO_TARGET_DIR:-$here/../target}/debug/tcpwatch}
session=tcpwatch-shot-$$
portfile=$(mktemp)

"${PYTHON:-python3}" "$here/listen1_experiment.py" --seconds 60 >"$portfile" &
experiment=$!
trap 'tmux kill-session -t "$session" 2>/dev/null || true; kill "$experiment" 2>/dev/null || true; rm -f "$portfile"' EXIT
while [ ! -s "$portfile" ]; do sleep 0.1; done
port=$(cat "$portfile")

tmux new-session -d -s "$session" -x 120 -y 40 \
    "TERM=xterm-256color '$binary' --port $port --interval 500ms --color always"
# Let the queue sparkline and the TIME_WAIT chart gather some history.
sleep 15
tmux capture-pane -t "$session" -p >"$here/dashboard-listen1.txt"
tmux capture-pane -t "$session" -p -e >"$here/dashboard-listen1.ansi"
tmux send-keys -t "$session" q
"${PYTHON:-python3}" "$here/render_png.py" "$here/dashboard-listen1.ansi" "$here/dashboard-listen1.png"
echo "port $port: wrote dashboard-listen1.txt, .ansi and .png"
