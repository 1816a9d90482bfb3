#!/usr/bin/env bash
# Memory soak: the live dashboard watches a private network namespace where
# connections open and close continuously (TIME_WAIT, CLOSE_WAIT churn), for
# MINUTES minutes; tcpwatch's RSS is printed every 30 s. Needs root (for the
# namespace), tmux and python3. Cleans up the namespace and every process it
# started (by pid), even on Ctrl-C.
#
#   sudo benches/soak.sh [MINUTES] [BINARY]
set -euo pipefail
minutes=${1:-10}
binary=${2:-target/release/tcpwatch}
ns="tcpwatch-soak-$$"
session="tcpwatch-soak-$$"
churn_pid=""

cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "$churn_pid" ] && kill "$churn_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM HUP

if [ "$(id -u)" != 0 ]; then echo "skipped: needs root for a private network namespace"; exit 0; fi
[ -x "$binary" ] || cargo build --release
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

# ~300 short connections a second closed by the client, and a server that
# keeps every 50th connection open without close() (CLOSE_WAIT), recycled.
ip netns exec "$ns" python3 - <<'PY' &
import socket, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 10000)); srv.listen(512)
leaked = []
n = 0
while True:
    start = time.time()
    for _ in range(30):
        c = socket.create_connection(("127.0.0.1", 10000)); s, _ = srv.accept()
        c.close(); n += 1
        if n % 50 == 0:
            leaked.append(s)
            leaked = leaked[-200:]
        else:
            s.recv(1); s.close()
    time.sleep(max(0, 0.1 - (time.time() - start)))
PY
churn_pid=$!

tmux new-session -d -s "$session" -x 120 -y 40 "$binary --netns $ns --interval 1s"
sleep 3
pid=$(pgrep -n -f "$binary --netns $ns" || true)
[ -n "$pid" ] || { echo "tcpwatch did not start"; exit 1; }
echo "tcpwatch pid $pid watching $ns for $minutes min"
echo "elapsed_s rss_kib tw_in_namespace"
end=$(( $(date +%s) + minutes * 60 ))
start=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  tw=$(ip netns exec "$ns" awk '/^TCP:/ {print $7}' /proc/net/sockstat)
  echo "$(( $(date +%s) - start )) $rss $tw"
  sleep 30
done
awk '/VmHWM/ {print "peak RSS (VmHWM) " $2 " kB"}' "/proc/$pid/status"
