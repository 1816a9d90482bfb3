#!/usr/bin/env bash
# The --all-namespaces benchmark: 50 namespaces (48 with a listener, one
# holding 100k ESTABLISHED sockets, one where a listen(1) queue fills every
# few seconds), on top of the host's own. Measures:
#   1. what each round costs (cargo bench --bench namespaces): every
#      namespace's listeners (run 4x/s), light samples (1x/s), one whole table;
#   2. how long after a queue fills `tcpwatch -A --stream` raises backlog_full
#      for that namespace (latency per fill);
#   3. the --all-namespaces dashboard's own CPU over 30 s (tmux, 160x50).
# Root only. Makes traffic only on loopback inside namespaces it creates,
# and removes every namespace and child it made (by name, by pid).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 0; }
P="tcpwatch-nsbench-$$"
COUNT="${COUNT:-48}"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  tmux kill-session -t "$P" 2>/dev/null || true
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "/tmp/$P".*
}
trap cleanup EXIT
# BIN=path/to/tcpwatch to measure another build; ROUNDS=0 skips the cargo bench.
if [ -z "${BIN:-}" ]; then cargo build --release --quiet; BIN="$PWD/target/release/tcpwatch"; fi
mkns() { ip netns add "$1"; ip netns exec "$1" ip link set lo up; }

echo "== setting up: the load namespace (100k ESTABLISHED), $COUNT listening namespaces, the target"
mkns "$P-load"
ip netns exec "$P-load" sh -c 'echo "1024 65000" > /proc/sys/net/ipv4/ip_local_port_range; echo 262144 > /proc/sys/net/ipv4/tcp_max_tw_buckets'
# 6 x 8,400 loopback connections held open, to servers above the ephemeral
# range (so no client takes their port first); a process may hold 20,000
# descriptors here: 100k ESTABLISHED sockets that, unlike TIME_WAIT, do not
# expire (60 s) while the build and the rounds run.
LOADERS=6
for part in $(seq 0 $((LOADERS - 1))); do
  ip netns exec "$P-load" python3 -c "
import resource, socket, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ports = [65100 + $part * 10 + i for i in range(4)]
servers = []
for p in ports:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', p)); s.listen(4096); servers.append(s)
held = []
for n in range(8400):
    s = servers[n % 4]
    c = socket.create_connection(('127.0.0.1', ports[n % 4]))
    a, _ = s.accept()
    held += [c, a]
open('/tmp/$P.load.$part', 'w').close()
time.sleep(3600)
" &
  PIDS+=($!)
done
for i in $(seq 1 "$COUNT"); do
  mkns "$P-$i"
  ip netns exec "$P-$i" python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 8080)); s.listen(128)
time.sleep(600)" &
  PIDS+=($!)
done
mkns "$P-target"
until [ "$(ls "/tmp/$P".load.* 2>/dev/null | wc -l)" = "$LOADERS" ]; do sleep 1; done
echo "load: $(ip netns exec "$P-load" grep TCP: /proc/net/sockstat)"
echo "namespaces on the host: $(( $(ip netns list | wc -l) + 1 )) named + host (others' too)"

if [ "${ROUNDS:-1}" != 0 ]; then
  echo "== 1. round costs"
  cargo bench --quiet --bench namespaces 2>/dev/null | grep -v '^$'
fi

echo "== 2. detection latency (--stream, interval 1s)"
"$BIN" -A --stream > "/tmp/$P.stream" 2>/dev/null &
STREAM=$!
PIDS+=($STREAM)
sleep 6
ip netns exec "$P-target" python3 -c "
import socket, time
for round in range(6):
    port = 10000 + round
    s = socket.socket(); s.bind(('127.0.0.1', port)); s.listen(1)
    time.sleep(1.5)
    t0 = time.time()
    clients = []
    for _ in range(3):
        c = socket.socket(); c.setblocking(False)
        try: c.connect(('127.0.0.1', port))
        except BlockingIOError: pass
        clients.append(c)
    print(port, int(t0 * 1000), flush=True)
    time.sleep(2.5)
    for c in clients: c.close()
    s.close()
" > "/tmp/$P.fills"
sleep 1.5
kill "$STREAM" 2>/dev/null || true
python3 - "$P" <<'PY'
import json, sys
p = sys.argv[1]
fills = dict(line.split() for line in open(f"/tmp/{p}.fills"))
raised = {}
for line in open(f"/tmp/{p}.stream"):
    try: doc = json.loads(line)
    except ValueError: continue
    if doc.get("event") == "raised" and doc.get("kind") == "backlog_full" and f"{p}-target" in doc.get("namespace", ""):
        port = doc["subject"].split(":")[1].split()[0]
        raised.setdefault(port, doc["time_ms"])
lat = []
for port, t0 in fills.items():
    if port in raised:
        lat.append(raised[port] - int(t0))
        print(f"  port {port}: backlog_full raised {raised[port] - int(t0)} ms after the queue filled")
    else:
        print(f"  port {port}: NOT raised")
if lat:
    print(f"  detection latency: median {sorted(lat)[len(lat)//2]} ms, max {max(lat)} ms over {len(lat)} fills")
PY

echo "== 3. the dashboard's own CPU (30 s, after 5 s warm-up)"
tmux new-session -d -s "$P" -x 160 -y 50 "$BIN -A"
sleep 5
DASH=$(tmux display -p -t "$P" '#{pane_pid}')
if [ "$(cat "/proc/$DASH/comm")" != tcpwatch ]; then DASH=$(pgrep -P "$DASH" | head -1); fi
ticks() { awk '{print $14 + $15}' "/proc/$DASH/stat"; }
T1=$(ticks); sleep 30; T2=$(ticks)
HZ=$(getconf CLK_TCK)
echo "  dashboard CPU: $(python3 -c "print(f'{($T2 - $T1) / $HZ / 30 * 100:.1f}')")% of one core (pid $DASH)"
tmux capture-pane -t "$P" -p | head -8
echo "load at the end: $(ip netns exec "$P-load" grep TCP: /proc/net/sockstat)"
