#!/bin/sh
# Install the Debian 12 packages vigil needs to build, run its demo and its
# tests. Idempotent: packages already installed are skipped, and apt is not
# touched at all when nothing is missing. Run as root (or with sudo).
set -eu

PKGS="
build-essential
pkg-config
ffmpeg
libavformat-dev
libavcodec-dev
libavutil-dev
libzmq3-dev
libconfig-dev
libsqlite3-dev
libsystemd-dev
systemd
libjson-c-dev
libmicrohttpd-dev
libsodium-dev
libcurl4-openssl-dev
libzookeeper-mt-dev
zookeeper
default-jre-headless
chromium
chromium-driver
python3-selenium
libgstreamer1.0-dev
libgstrtspserver-1.0-dev
gstreamer1.0-plugins-base
gstreamer1.0-plugins-good
gstreamer1.0-plugins-bad
python3
python3-zmq
python3-pytest
clang
libclang-rt-14-dev
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: missing packages and not root; install them:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
