#!/usr/bin/env bash
# Installs the Debian packages sealcam needs on the host, only if something is missing.
#   libmbedtls-dev  the native crypto module is compiled against Mbed TLS (PSA) for the XS host
#   socat           pseudo-terminals for the flasher / console / UART simulators
#   openssl         tests check PKCS#12 backups and certificates with the real OpenSSL CLI
#   ffmpeg          `phone open --video x.mp4` encodes H.264 with it; tests check videos with ffprobe
set -euo pipefail
need=()
[ -f /usr/include/mbedtls/version.h ] || need+=(libmbedtls-dev)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || need+=(ffmpeg)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
[ ${#need[@]} -eq 0 ] && exit 0
echo "setup: installing ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "setup: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2; exit 1
  fi
else SUDO=""; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
