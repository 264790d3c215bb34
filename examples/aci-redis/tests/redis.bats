#!/usr/bin/env bats

redis() {
  exec 3<> /dev/tcp/127.0.0.1/6379
  printf '%s\r\n' "$*" >&3
  read -r -t 2 reply <&3
  echo "$reply"
}

@test "redis answers PING" {
  [[ "$(redis PING)" == +PONG* ]]
}

@test "redis.conf comes from the attributes" {
  grep -q '^databases 16' /etc/redis/redis.conf
  ! grep -q '^maxmemory' /etc/redis/redis.conf
}
