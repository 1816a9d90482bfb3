#!/usr/bin/env bash
# Churn soak: tcpwatch under sustained connection churn in a private network
# namespace, for MINUTES minutes (default 60). Inside the namespace:
#   - benches/soak/churn.c: CLIENTS processes connect()+close() to port 10000
#     as fast as they can (target >= 10,000 connections a second);
#   - tcp_max_tw_buckets lowered to 4096, so the TIME_WAIT cap is reached
#     (TCPTimeWaitOverflow climbs);
#   - a CLOSE_WAIT leak (port 10001: a server that never close()s, 200
#     leaked sockets recycled) and a listener that overflows (port 10002:
#     listen(1), never accept()s, clients keep knocking);
# and, side by side, watching it: the dashboard (in tmux), --stream (to a
# file) and, once it exists, `serve` (scraped every 30 s).
# Every 30 s it samples each tcpwatch process's RSS, CPU, fds and threads,
# and the namespace's connection rate and socket counts; at the end it
# checks the gates and exits 1 if one is missed:
#   - RSS < 100 MiB at every sample, and within +-10% of its 5-minute value
#     after the first 5 minutes (runs shorter than 10 minutes use the value
#     at half time);
#   - fds and threads constant after the first minute;
#   - every process still running, and every --stream line valid JSON with
#     no "sample failed" on its stderr;
#   - the churn averaged >= MIN_RATE connections a second (default 10000);
#     below that the run measured too little load to count.
# Needs root (namespace), tmux, gcc, python3, iproute2. Cleans up the
# namespace and every process it started (by pid), even on Ctrl-C.
#
#   sudo benches/soak.sh [MINUTES] [BINARY]      (CLIENTS=3 SERVERS=2 RATE=12000 MIN_RATE=10000)
# RATE paces the churn (0: as fast as it can), so the rest of the 2 cores
# stays with the processes measured.
set -euo pipefail
minutes=${1:-60}
binary=${2:-target/release/tcpwatch}
clients=${CLIENTS:-3}
servers=${SERVERS:-2}
min_rate=${MIN_RATE:-10000}
rate=${RATE:-12000}
here=$(cd "$(dirname "$0")" && pwd)
ns="tcpwatch-soak-$$"
session="tcpwatch-soak-$$"
work=$(mktemp -d /tmp/tcpwatch-soak.XXXXXX)
pids=()

cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM HUP

if [ "$(id -u)" != 0 ]; then
  echo "needs root for a private network namespace" >&2
  [ "${CI:-}" = true ] && exit 1 || exit 0
fi
[ -x "$binary" ] || cargo build --release
gcc -O2 -o "$work/churn" "$here/soak/churn.c"

ip netns add "$ns"
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns sh -c 'echo 4096 > /proc/sys/net/ipv4/tcp_max_tw_buckets;
            echo "20000 65535" > /proc/sys/net/ipv4/ip_local_port_range'

ip netns exec "$ns" "$work/churn" 10000 "$clients" "$servers" "$rate" & pids+=($!)
ip netns exec "$ns" python3 - 2>"$work/workload.err" <<'PY' & pids+=($!); workload_pid=$!
import socket, time
# CLOSE_WAIT leak on 10001: accept, see EOF, never close (200 kept, recycled).
leak = socket.socket(); leak.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
leak.bind(("127.0.0.1", 10001)); leak.listen(64)
# Overflowing listener on 10002: listen(1), never accept.
full = socket.socket(); full.bind(("127.0.0.1", 10002)); full.listen(1)
leaked, knocking = [], []
while True:
    for _ in range(5):
        c = socket.create_connection(("127.0.0.1", 10001)); s, _ = leak.accept()
        c.close(); s.recv(1); leaked.append(s)
    del leaked[:-200]
    for _ in range(5):
        k = socket.socket(); k.setblocking(False)
        try: k.connect(("127.0.0.1", 10002))
        except BlockingIOError: pass
        knocking.append(k)
    del knocking[:-50]
    time.sleep(1)
PY

tmux new-session -d -s "$session" -x 160 -y 45 "$binary --netns $ns --interval 1s"
inns true
"$binary" --netns "$ns" --stream --interval 1s >"$work/stream.jsonl" 2>"$work/stream.err" & pids+=($!)
stream_pid=$!
serve_pid=""
if "$binary" serve --help >/dev/null 2>&1; then
  serve_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$binary" serve --netns "$ns" --listen "127.0.0.1:$serve_port" >"$work/serve.out" 2>"$work/serve.err" & pids+=($!)
  serve_pid=$!
fi
sleep 3
kill -0 "$workload_pid" 2>/dev/null || { echo "the CLOSE_WAIT/overflow workload died: $(tail -1 "$work/workload.err")" >&2; exit 1; }
dash_pid=$(pgrep -n -f "^$binary --netns $ns --interval 1s" || true)
[ -n "$dash_pid" ] || { echo "the dashboard did not start" >&2; exit 1; }

watched=("dashboard:$dash_pid" "stream:$stream_pid")
[ -n "$serve_pid" ] && watched+=("serve:$serve_pid") || echo "serve: not in this build; soaking the dashboard and --stream"
echo "soak: $minutes min in $ns, $clients clients/$servers servers; samples in $work/samples.tsv"

snmp_active_opens() { inns awk '/^Tcp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }
netstat_field() { inns awk -v f="$1" '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == f) c = i; h = 1 } else { print $c; exit } }' /proc/net/netstat; }
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Descriptors held: open in each of five readings 100 ms apart, so a leak
# counts and a descriptor open for a moment (a /proc directory being
# scanned, a file being read) does not.
held_fds() {
  for _ in 1 2 3 4 5; do
    find "/proc/$1/fd" -mindepth 1 -maxdepth 1 ! -lname '/proc/*' -printf '%f\n' 2>/dev/null
    sleep 0.1
  done | sort | uniq -c | awk '$1 == 5' | wc -l
}

header="elapsed_s conn_per_s tcp_inuse tw tw_overflow"
for w in "${watched[@]}"; do n=${w%%:*}; header+=" ${n}_rss_kib ${n}_cpu_pct ${n}_fds ${n}_threads"; done
echo "$header" | tee "$work/samples.tsv"

scrapes=0; scrape_failures=0
declare -A last_cpu
for w in "${watched[@]}"; do last_cpu[${w%%:*}]=$(cpu_ticks "${w#*:}"); done
start=$(date +%s); end=$(( start + minutes * 60 ))
last_t=$start; last_opens=$(snmp_active_opens); first_opens=$last_opens
while :; do
  sleep 30
  now=$(date +%s); dt=$(( now - last_t )); [ "$dt" -gt 0 ] || dt=1
  opens=$(snmp_active_opens)
  read -r inuse tw < <(inns awk '/^TCP:/ { print $3, $7 }' /proc/net/sockstat)
  row="$(( now - start )) $(( (opens - last_opens) / dt )) $inuse $tw $(netstat_field TCPTimeWaitOverflow)"
  for w in "${watched[@]}"; do
    n=${w%%:*}; pid=${w#*:}
    if [ ! -d "/proc/$pid" ]; then row+=" gone gone gone gone"; continue; fi
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    threads=$(awk '/^Threads/ { print $2 }' "/proc/$pid/status")
    fds=$(held_fds "$pid")
    cpu=$(cpu_ticks "$pid")
    pct=$(( (cpu - ${last_cpu[$n]}) * 100 / ticks / dt ))
    last_cpu[$n]=$cpu
    row+=" $rss $pct $fds $threads"
  done
  echo "$row" | tee -a "$work/samples.tsv"
  if [ -n "$serve_pid" ]; then
    scrapes=$(( scrapes + 1 ))
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).read()' \
      "http://127.0.0.1:$serve_port/metrics" 2>>"$work/scrape.err" || scrape_failures=$(( scrape_failures + 1 ))
  fi
  last_t=$now; last_opens=$opens
  [ "$now" -lt "$end" ] || break
done
elapsed=$(( $(date +%s) - start ))
avg_rate=$(( (last_opens - first_opens) / elapsed ))

# ---- gates -----------------------------------------------------------------
failed=0
fail() { echo "GATE MISSED: $*"; failed=1; }
ref_s=300; [ $(( minutes * 60 )) -lt 600 ] && ref_s=$(( minutes * 30 ))
col=6
for w in "${watched[@]}"; do
  n=${w%%:*}; pid=${w#*:}
  [ -d "/proc/$pid" ] || fail "$n (pid $pid) is no longer running"
  awk -v c=$col -v n="$n" -v ref_s=$ref_s '
    NR == 1 { next }
    $c == "gone" { next }
    { rss = $c; fds = $(c + 2); thr = $(c + 3)
      if (rss > max) max = rss
      if (rss >= 102400) printf "GATE MISSED: %s RSS %d KiB >= 100 MiB at %d s\n", n, rss, $1
      if (!ref && $1 >= ref_s) ref = rss
      if (ref && (rss > ref * 1.1 || rss < ref * 0.9)) printf "GATE MISSED: %s RSS %d KiB outside +-10%% of %d KiB (its value at %d s) at %d s\n", n, rss, ref, ref_s, $1
      if ($1 >= 60) { if (!f0) { f0 = fds; t0 = thr }
        if (fds != f0) printf "GATE MISSED: %s fds %d at %d s, %d at 60 s\n", n, fds, $1, f0
        if (thr != t0) printf "GATE MISSED: %s threads %d at %d s, %d at 60 s\n", n, thr, $1, t0 } }
    END { printf "%s: peak RSS %d KiB (%.1f MiB), RSS at %d s %d KiB, fds %d, threads %d\n", n, max, max / 1024, ref_s, ref, f0, t0 }
  ' "$work/samples.tsv" | tee -a "$work/gates.txt"
  col=$(( col + 4 ))
done
[ -d "/proc/$workload_pid" ] || fail "the CLOSE_WAIT/overflow workload died: $(tail -1 "$work/workload.err")"
grep -q "GATE MISSED" "$work/gates.txt" 2>/dev/null && failed=1
# The namespace's last TIME_WAIT overflow count, read before it goes.
tw_overflow=$(netstat_field TCPTimeWaitOverflow)
# Stop the load and the watchers before reading --stream's output, which
# would otherwise keep growing (about 2 MB/s at 10k connections/s) under
# the reader. Its last line may be cut by the stop: it is left out.
cleanup
sleep 1
lines=$(wc -l < "$work/stream.jsonl")
bad=$(python3 -c '
import json, sys
bad = 0
for line in open(sys.argv[1]):
    if not line.endswith("\n"): break
    try: json.loads(line)
    except ValueError: bad += 1
print(bad)' "$work/stream.jsonl")
echo "--stream: $lines lines, $bad not valid JSON, stderr: $(wc -l < "$work/stream.err") lines"
[ "$bad" = 0 ] || fail "--stream wrote $bad lines that are not JSON"
grep -q "sample failed" "$work/stream.err" && fail "--stream reported failed samples: $(head -3 "$work/stream.err")"
if [ -n "$serve_pid" ]; then
  echo "serve: $scrapes scrapes, $scrape_failures failed"
  [ "$scrape_failures" = 0 ] || fail "serve failed $scrape_failures of $scrapes scrapes: $(tail -1 "$work/scrape.err")"
fi
echo "churn: $avg_rate connections/s on average over $elapsed s; TCPTimeWaitOverflow $tw_overflow"
[ "$avg_rate" -ge "$min_rate" ] || fail "churn averaged $avg_rate/s, below $min_rate/s: too little load for this soak to count"
[ "$failed" = 0 ] && echo "soak: all gates met" || { echo "soak: gates missed (samples in $work)"; exit 1; }
