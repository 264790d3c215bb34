#!/dgr/bin/busybox sh
echo "page rendered: $(/dgr/bin/busybox head -n 2 /www/index.html | /dgr/bin/busybox tail -n 1)"
