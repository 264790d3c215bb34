#!/dgr/bin/busybox sh
. /dgr/bin/functions.sh
isLevelEnabled "debug" && set -x
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends redis-server
apt-get clean
rm -rf /var/lib/apt/lists/*_* /etc/redis/redis.conf
mkdir -p /var/lib/redis
chown redis:redis /var/lib/redis
