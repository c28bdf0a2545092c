#!/bin/sh
# Starts a single-node OpenStack Swift with the s3api middleware on loopback:
#   infra/swift/start.sh BASE_DIR [PROXY_PORT]
# BASE_DIR holds config, rings, objects, logs and PIDs (ext4/xfs: Swift keeps
# object metadata in user xattrs). Installs nothing (see install.sh).
# stdout: the `export` lines for the S3 client (eval-able); progress goes to stderr.
# Ports (env overrides): SWIFT_PROXY_PORT (default 18480, or the 2nd argument),
# SWIFT_ACCOUNT_PORT/SWIFT_CONTAINER_PORT/SWIFT_OBJECT_PORT (proxy+1..+3),
# SWIFT_MEMCACHED_PORT (proxy+9). Bucket created: S3_BUCKET (default catalog-test).
# Readiness wait: SWIFT_START_TIMEOUT seconds (default 30).
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 BASE_DIR [PROXY_PORT]" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
# The servers chdir('/'), so every path they see must be absolute.
BASE=$(cd "$1" && pwd)
PROXY_PORT=${2:-${SWIFT_PROXY_PORT:-18480}}
ACCOUNT_PORT=${SWIFT_ACCOUNT_PORT:-$((PROXY_PORT + 1))}
CONTAINER_PORT=${SWIFT_CONTAINER_PORT:-$((PROXY_PORT + 2))}
OBJECT_PORT=${SWIFT_OBJECT_PORT:-$((PROXY_PORT + 3))}
MEMCACHED_PORT=${SWIFT_MEMCACHED_PORT:-$((PROXY_PORT + 9))}
BUCKET=${S3_BUCKET:-catalog-test}
PY=/usr/bin/python3
SERVERS="account container object proxy"

for bin in swift-proxy-server swift-account-server swift-container-server swift-object-server swift-ring-builder; do
  command -v "$bin" >/dev/null 2>&1 || { echo "swift: $bin not found; run infra/swift/install.sh first" >&2; exit 1; }
done
if [ ! -f /etc/swift/swift.conf ]; then
  echo "swift: /etc/swift/swift.conf is missing (every Swift server reads it); run infra/swift/install.sh" >&2
  exit 1
fi

print_env() {
  cat <<ENV
export S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT
export S3_BUCKET=$BUCKET
export S3_REGION=us-east-1
export S3_FORCE_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=test:tester
export AWS_SECRET_ACCESS_KEY=testing
ENV
}

healthy() {
  $PY - "$PROXY_PORT" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen('http://127.0.0.1:%s/healthcheck' % sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.read().strip() == b'OK' else 1)
PYEOF
}

# Alive and ours: the PID still runs a command that names this BASE (guards against PID reuse).
alive() {
  pid=$(cat "$BASE/run/$1.pid" 2>/dev/null) || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$BASE"
}

all_alive=1
for s in $SERVERS memcached; do alive "$s" || all_alive=0; done
if [ "$all_alive" = 1 ] && healthy; then
  echo "swift: already running in $BASE" >&2
  print_env | tee "$BASE/env"
  exit 0
fi
"$here/stop.sh" "$BASE" >&2 || true

# A port already served (another Swift, another base dir) would answer our
# healthcheck in place of the servers that cannot bind: refuse it up front.
busy=$($PY - 127.0.0.1 "$PROXY_PORT" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" "$MEMCACHED_PORT" <<'PYEOF'
import socket, sys
host = sys.argv[1]
for port in sys.argv[2:]:
    s = socket.socket()
    s.settimeout(0.5)
    try:
        if s.connect_ex((host, int(port))) == 0:
            print(port, end=' ')
    finally:
        s.close()
PYEOF
)
if [ -n "$busy" ]; then
  echo "swift: port(s) ${busy}already in use on 127.0.0.1; stop what runs there (infra/swift/stop.sh <its dir>) or choose another proxy port (2nd argument / SWIFT_*_PORT)" >&2
  exit 1
fi

mkdir -p "$BASE/etc" "$BASE/srv/node/d1" "$BASE/log" "$BASE/run"
for s in $SERVERS; do
  sed -e "s#@BASE@#$BASE#g" \
      -e "s#@PROXY_PORT@#$PROXY_PORT#g" \
      -e "s#@ACCOUNT_PORT@#$ACCOUNT_PORT#g" \
      -e "s#@CONTAINER_PORT@#$CONTAINER_PORT#g" \
      -e "s#@OBJECT_PORT@#$OBJECT_PORT#g" \
      -e "s#@MEMCACHED_PORT@#$MEMCACHED_PORT#g" \
      "$here/$s-server.conf.in" > "$BASE/etc/$s-server.conf"
done

# Rings depend only on IP, port and device: build them once per port set (~5 s). The three
# are independent, so they are built side by side (each is three Python starts).
ring_stamp="127.0.0.1 $ACCOUNT_PORT $CONTAINER_PORT $OBJECT_PORT d1"
if [ "$(cat "$BASE/etc/rings.stamp" 2>/dev/null)" != "$ring_stamp" ]; then
  echo "swift: building rings" >&2
  ring_pids=""
  for pair in account:$ACCOUNT_PORT container:$CONTAINER_PORT object:$OBJECT_PORT; do
    ring=${pair%%:*}
    port=${pair#*:}
    rm -f "$BASE/etc/$ring.builder" "$BASE/etc/$ring.ring.gz"
    (
      cd "$BASE/etc"
      swift-ring-builder "$ring.builder" create 6 1 1
      swift-ring-builder "$ring.builder" add "r1z1-127.0.0.1:$port/d1" 100
      swift-ring-builder "$ring.builder" rebalance
    ) > "$BASE/log/ring-$ring.log" 2>&1 &
    ring_pids="$ring_pids $ring:$!"
  done
  for entry in $ring_pids; do
    wait "${entry#*:}" || { cat "$BASE/log/ring-${entry%%:*}.log" >&2; exit 1; }
  done
  echo "$ring_stamp" > "$BASE/etc/rings.stamp"
fi

# memcached is optional for Swift but halves small-request latency. It does not
# daemonize here, so setsid keeps it out of the caller's process group like the
# Swift servers (which call setsid() themselves); $! stays its PID.
if command -v memcached >/dev/null 2>&1; then
  setsid memcached -u root -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 \
    -P "$BASE/run/memcached.pidfile" < /dev/null > "$BASE/log/memcached.log" 2>&1 &
  echo $! > "$BASE/run/memcached.pid"
fi
# The memcached -P pidfile is only for our alive() check to see BASE in the command line.

for s in account container object proxy; do
  # -v sends the log to stderr: there is no /dev/log to syslog to.
  "swift-$s-server" "$BASE/etc/$s-server.conf" -v < /dev/null > "$BASE/log/$s.log" 2>&1 &
  echo $! > "$BASE/run/$s.pid"
done

deadline=$(( $(date +%s) + ${SWIFT_START_TIMEOUT:-30} ))
until healthy; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "swift: no OK from http://127.0.0.1:$PROXY_PORT/healthcheck within ${SWIFT_START_TIMEOUT:-30} s; logs:" >&2
    for f in "$BASE"/log/*.log; do echo "==> $f <==" >&2; tail -n 50 "$f" >&2; done
    "$here/stop.sh" "$BASE" >&2 || true
    exit 1
  fi
  for s in $SERVERS; do
    if ! alive "$s"; then
      echo "swift: $s server exited during start; log:" >&2
      cat "$BASE/log/$s.log" >&2
      "$here/stop.sh" "$BASE" >&2 || true
      exit 1
    fi
  done
  sleep 0.2
done

# The proxy answers /healthcheck before the account, container and object servers
# accept requests (seconds apart on a busy machine). Ready means: the test bucket
# exists and a probe object can be written and removed, through the native Swift API
# (a bucket is a container of the test account); retried until the deadline.
if ! $PY - "$PROXY_PORT" "$BUCKET" "$deadline" <<'PYEOF' >&2
import sys, time, urllib.request, urllib.error
port, bucket, deadline = sys.argv[1], sys.argv[2], int(sys.argv[3])

def call(method, url, headers):
    with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers), timeout=10) as r:
        return r

last = None
while time.time() < deadline:
    try:
        r = call('GET', 'http://127.0.0.1:%s/auth/v1.0' % port, {'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
        token, url = r.headers['X-Auth-Token'], r.headers['X-Storage-Url']
        auth = {'X-Auth-Token': token}
        status = call('PUT', '%s/%s' % (url, bucket), auth).status
        call('PUT', '%s/%s/.start-probe' % (url, bucket), dict(auth, **{'Content-Length': '0'}))
        call('DELETE', '%s/%s/.start-probe' % (url, bucket), auth)
        print('swift: bucket %s ready (HTTP %d)' % (bucket, status))
        sys.exit(0)
    except (urllib.error.URLError, OSError) as err:
        last = err
        time.sleep(0.3)
print('swift: the servers did not accept a bucket and an object in time: %s' % last)
sys.exit(1)
PYEOF
then
  for f in "$BASE"/log/*.log; do echo "==> $f <==" >&2; tail -n 50 "$f" >&2; done
  "$here/stop.sh" "$BASE" >&2 || true
  exit 1
fi

echo "swift: running in $BASE (proxy 127.0.0.1:$PROXY_PORT)" >&2
print_env | tee "$BASE/env"
