#!/usr/bin/env bash
# Installs the Debian packages sealcam needs on the host, only if something is missing.
#   libmbedtls-dev  the native crypto module is compiled against Mbed TLS (PSA) for the XS host
#   socat           pseudo-terminals for the flasher / console / UART simulators
#   openssl         tests check PKCS#12 backups and certificates with the real OpenSSL CLI
#   ffmpeg          `phone open --video x.mp4` encodes H.264 with it; tests check videos with ffprobe
#   postgresql      the cloud's PostgreSQL body: tests start a throw-away cluster (initdb, pg_ctl) as an unprivileged user
#   chromium        the web viewer's tests (`phone view`) drive Debian's /usr/bin/chromium with playwright-core
#   gcc-multilib, libmbedtls-dev:i386
#                   the 32-bit, board-limited XS host (build/xs-host/xs-host-board32, gcc -m32): slots and
#                   pointers at the ESP32-S3's sizes. Needs Debian/Ubuntu multiarch (dpkg --add-architecture i386).
#   radosgw, ceph-mon, ceph-osd
#                   the S3 blob store's tests run against Ceph's RADOS Gateway over a one-node in-memory cluster
#                   (test/helpers/radosgw.ts); installed without recommends (no time daemon, no MDS)
set -euo pipefail
need=()
ceph=()
{ command -v radosgw && command -v ceph-mon && command -v ceph-osd; } >/dev/null 2>&1 || ceph=(radosgw ceph-mon ceph-osd)
add_i386=0
[ -f /usr/include/mbedtls/version.h ] || need+=(libmbedtls-dev)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || need+=(ffmpeg)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
[ -x /usr/bin/chromium ] || need+=(chromium)
{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; } || need+=(postgresql)
# The i386 part: a 32-bit libc/libgcc for gcc -m32 and the i386 Mbed TLS (headers are shared with amd64).
echo 'int main(void) { return 0; }' | cc -m32 -x c - -o /dev/null >/dev/null 2>&1 || need+=(gcc-multilib)
if [ ! -f /usr/lib/i386-linux-gnu/libmbedcrypto.so ]; then
  need+=(libmbedtls-dev:i386)
  command -v dpkg >/dev/null 2>&1 || { echo "setup: the 32-bit XS host needs Debian/Ubuntu multiarch (dpkg); not found" >&2; exit 1; }
  [ "$(dpkg --print-architecture)" = amd64 ] || {
    echo "setup: the 32-bit XS host is built with gcc -m32 on an amd64 Debian/Ubuntu; this machine is $(dpkg --print-architecture)" >&2; exit 1; }
  dpkg --print-foreign-architectures | grep -qx i386 || add_i386=1
fi
[ ${#need[@]} -eq 0 ] && [ ${#ceph[@]} -eq 0 ] && exit 0
echo "setup: installing ${need[*]} ${ceph[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "setup: missing ${need[*]} ${ceph[*]}; run as root: apt-get install -y ${need[*]} ${ceph[*]}" >&2; exit 1
  fi
else SUDO=""; fi
[ $add_i386 -eq 1 ] && { echo "setup: adding the i386 architecture (dpkg --add-architecture i386)"; $SUDO dpkg --add-architecture i386; }
# A mirror mid-sync can fail one index (apt-get update exits 100 and keeps the rest): go on, the install
# below still fails loudly if a package really cannot be had.
$SUDO apt-get update -qq || echo "setup: apt-get update reported errors (above); installing from the indexes it has" >&2
[ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
[ ${#ceph[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${ceph[@]}" >/dev/null
