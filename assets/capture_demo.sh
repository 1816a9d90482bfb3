#!/bin/sh
# Captures `tcpwatch demo` on the dashboard from a real run: a detached
# 120x40 tmux session, `tmux capture-pane` (plain text and with colours) at
# step 2 (the listen(1) queue full, 3 clients in SYN_SENT), step 4 (CLOSE_WAIT
# and FIN_WAIT2) and after the end (the teardown in the transition log), and
# PNGs drawn from the coloured captures (render_png.py).
#
# Usage: assets/capture_demo.sh [path/to/tcpwatch]
# Needs: tmux, python3 (+ pillow for the PNGs), fonts-dejavu-core.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-${CARGO_TARGET_DIR:-$here/../target}/debug/tcpwatch}
session=tcpwatch-demo-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT

tmux new-session -d -s "$session" -x 120 -y 40 \
    "TERM=xterm-256color '$binary' --color always demo; sleep 5"
shot() {
    tmux capture-pane -t "$session" -p >"$here/demo-$1.txt"
    tmux capture-pane -t "$session" -p -e >"$here/demo-$1.ansi"
    if python3 -c 'import PIL' 2>/dev/null; then
        python3 "$here/render_png.py" "$here/demo-$1.ansi" "$here/demo-$1.png"
    fi
}
# Introduction 3 s, step 1 4 s: step 2 starts at about 7 s; its SYN retries
# need a few seconds to show.
sleep 10
shot step2-syn-sent
# Step 3 at about 14 s, step 4 at about 19 s.
sleep 11
shot step4-close-wait
# Step 5 at about 24 s, done at about 29 s; let the teardown reach the log.
sleep 11
shot done-teardown
tmux send-keys -t "$session" q
echo "wrote demo-step2-syn-sent, demo-step4-close-wait, demo-done-teardown (.txt, .ansi, .png)"
