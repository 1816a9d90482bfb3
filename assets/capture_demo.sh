#!/bin/sh
# Captures `tcpwatch demo` from a real run: a detached 120x40 tmux session,
# driven with the demo's step keys (n: next step, d: dashboard) so each
# capture lands on its step however loaded the machine is, then
# `tmux capture-pane` as plain text and with colours, and PNGs drawn from
# the coloured captures (render_png.py):
#   demo-step2-listen1-full   step 2 on the diagram: the listen(1) queue
#                             2/1 FULL, 3 clients in SYN_SENT retrying
#   demo-step2-dashboard      the same moment on the dashboard (d): the
#                             listener row 2/1 FULL and the backlog alert
#   demo-step4-close-wait     step 4: CLOSE_WAIT 3 and FIN_WAIT2 3
#   demo-done-teardown        after the end: the teardown in the log
#
# Usage: assets/capture_demo.sh [path/to/tcpwatch]
# Needs: tmux, python3 with pillow for the PNGs (PYTHON=/usr/bin/python3 to
# pick one), fonts-dejavu-core.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-${CARGO_TARGET_DIR:-$here/../target}/debug/tcpwatch}
python=${PYTHON:-python3}
session=tcpwatch-demo-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT

tmux new-session -d -s "$session" -x 120 -y 40 \
    "TERM=xterm-256color '$binary' --color always demo; sleep 5"
keys() { tmux send-keys -t "$session" "$@"; }
shot() {
    tmux capture-pane -t "$session" -p >"$here/demo-$1.txt"
    tmux capture-pane -t "$session" -p -e >"$here/demo-$1.ansi"
    if "$python" -c 'import PIL' 2>/dev/null; then
        "$python" "$here/render_png.py" "$here/demo-$1.ansi" "$here/demo-$1.png"
    fi
}
sleep 2     # the introduction
keys n      # step 1: listen(1)
sleep 1.5
keys n      # step 2: five clients; the SYN retries need a few seconds
sleep 3.5
shot step2-listen1-full
keys d
sleep 1
shot step2-dashboard
keys d
keys n      # step 3: short connections
sleep 1.5
keys n      # step 4: the server that never calls close(); its alert needs 3 samples
sleep 3
shot step4-close-wait
keys n      # step 5: a refused connect
sleep 1.5
keys n      # done: everything closed; let the teardown reach the log
sleep 2
shot done-teardown
keys q
echo "wrote demo-step2-listen1-full, demo-step2-dashboard, demo-step4-close-wait, demo-done-teardown (.txt, .ansi, .png)"
