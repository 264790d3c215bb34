#!/dgr/bin/busybox sh
. /dgr/bin/functions.sh
isLevelEnabled "debug" && set -x
# the directory httpd serves, created at build time
mkdir -p /www
echo "built $ACI_NAME:$ACI_VERSION"
