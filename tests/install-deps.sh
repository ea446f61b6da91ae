#!/bin/sh
# Installs what building, testing and the demo need on a fresh Debian
# machine (run as root). Quiet unless something fails. With --bench, also
# what `make bench-real` runs that the tests do not (php, ruby, javac).
set -eu
pkgs="build-essential autoconf automake pkg-config libfuse3-dev fuse3
libelf-dev libdw-dev mandoc clang libclang-rt-14-dev util-linux procps binutils
coreutils strace python3 systemd libpython3.11-testsuite nodejs redis-server
redis-tools memcached libmemcached-tools default-jre-headless libjemalloc2
stress-ng sqlite3 python3-numpy python3-pytest python3-hypothesis
prometheus prometheus-node-exporter libseccomp-dev busybox-static curl
libcap2-bin"
[ "${1:-}" = --bench ] && pkgs="$pkgs php-cli ruby default-jdk-headless"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Services that packages would start (redis, memcached) are not wanted:
# the tests start their own instances on loopback.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/tmp/ksmp-apt.log 2>&1 || {
	tail -20 /tmp/ksmp-apt.log >&2
	exit 1
}
