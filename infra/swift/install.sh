#!/bin/sh
# Installs OpenStack Swift (with its s3api middleware) and memcached from Debian,
# only when the binaries are missing, so repeated CI runs stay fast.
set -eu

missing=0
for bin in swift-proxy-server swift-account-server swift-container-server swift-object-server swift-ring-builder memcached; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done

if [ "$missing" = 1 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y swift swift-proxy swift-account swift-container swift-object python3-swift memcached
fi

# Every Swift server reads this file whatever swift_dir says; the Debian package
# ships one, but a stripped image may not have it.
if [ ! -f /etc/swift/swift.conf ]; then
  mkdir -p /etc/swift
  cat > /etc/swift/swift.conf <<'CONF'
[swift-hash]
swift_hash_path_suffix = catalog-test-suffix
swift_hash_path_prefix = catalog-test-prefix

[storage-policy:0]
name = Policy-0
default = yes
CONF
fi
echo "swift: installed ($(dpkg-query -W -f='${Version}' swift-proxy 2>/dev/null || echo unknown version))"
