#!/bin/sh
# Installs OpenStack Swift (with its s3api middleware) and memcached from Debian,
# only when the binaries are missing, so repeated CI runs stay fast.
#   infra/swift/install.sh             installs what is missing, writes /etc/swift/swift.conf
#   infra/swift/install.sh --missing   only prints the Debian packages it would install (none
#                                      when every binary is there), so a caller can install them
#                                      with its own packages in one apt-get
set -eu

PACKAGES="swift swift-proxy swift-account swift-container swift-object python3-swift memcached"
missing=0
for bin in swift-proxy-server swift-account-server swift-container-server swift-object-server swift-ring-builder memcached; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done

if [ "${1:-}" = "--missing" ]; then
  if [ "$missing" = 1 ]; then echo "$PACKAGES"; fi
  exit 0
fi

if [ "$missing" = 1 ]; then
  apt-get update
  # shellcheck disable=SC2086 # a list of package names
  # --force-confold keeps a swift.conf written below by an earlier run instead of prompting.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confold \
    -o Dpkg::Options::=--force-confdef $PACKAGES
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
