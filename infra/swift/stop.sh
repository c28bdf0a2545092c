#!/bin/sh
# Stops what infra/swift/start.sh BASE_DIR started, by the recorded PIDs:
# TERM, wait until gone (so a restart finds the ports free), KILL after 10 s.
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 BASE_DIR" >&2
  exit 2
fi
[ -d "$1" ] || exit 0
BASE=$(cd "$1" && pwd)

# Only signal a PID that still runs a command naming this BASE: a recycled PID
# belongs to someone else.
ours() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q -- "$BASE"
}

pids=""
for f in "$BASE"/run/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    pids="$pids $pid"
  fi
  rm -f "$f"
done

waited=0
for pid in $pids; do
  while ours "$pid"; do
    if [ "$waited" -ge 100 ]; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.1
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
done
rm -f "$BASE/run/memcached.pidfile"
[ -z "$pids" ] || echo "swift: stopped$pids" >&2
