#!/usr/bin/env bats

@test "the page greets the world" {
  run wget -q -O - http://127.0.0.1:8080/
  [ "$status" -eq 0 ]
  echo "$output" | grep -q "Hello world!"
}

@test "files/ were copied" {
  [ "$(cat /etc/hello/motd)" = "carpool example" ]
}
