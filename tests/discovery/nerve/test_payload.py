"""Payloads exactly as Airbnb nerve and go-nerve write them parse, and ours match theirs."""

from __future__ import annotations

import base64

import pytest

from carpool.discovery.payload import (
    PayloadError,
    airbnb_node_prefix,
    airbnb_path_encoded_prefix,
    encode_airbnb,
    encode_go_nerve,
    go_nerve_guid,
    go_nerve_node_prefix,
    node_format,
    node_sequence,
    parse_payload,
)

# reference §1.3, verbatim
GO_NERVE_PAYLOAD = (
    b'{"available":true,"host":"127.0.0.1","port":4242,"name":"tot42",'
    b'"haproxy_server_options":"backup","weight":255,"labels":{"service":"superApi"}}'
)
AIRBNB_PAYLOAD = (
    b'{"host":"10.0.0.5","port":3000,"name":"i-0abc","weight":2,'
    b'"haproxy_server_options":"backup","labels":{"az":"us-east-1a"}}'
)
GO_NODE = "127.0.0.1:4242_127.0.0.1_c_9f0e1a2b3c4d5e6f708192a3b4c5d6e70000000007"
AIRBNB_NODE = "i-0abc_0000000042"


def test_go_nerve_payload_parses() -> None:
    b = parse_payload(GO_NODE, GO_NERVE_PAYLOAD)
    assert (b.host, b.port, b.name, b.weight) == ("127.0.0.1", 4242, "tot42", 255)
    assert b.available is True
    assert b.haproxy_server_options == "backup"
    assert b.labels == {"service": "superApi"}
    assert b.sequence == 7
    assert node_format(GO_NODE) == "go-nerve"
    assert go_nerve_guid(GO_NODE) == "9f0e1a2b3c4d5e6f708192a3b4c5d6e7"


def test_airbnb_payload_parses() -> None:
    b = parse_payload(AIRBNB_NODE, AIRBNB_PAYLOAD)
    assert (b.host, b.port, b.name, b.weight) == ("10.0.0.5", 3000, "i-0abc", 2)
    assert b.available is True  # no "available": the node exists only while up
    assert b.labels == {"az": "us-east-1a"}
    assert b.sequence == 42
    assert node_format(AIRBNB_NODE) == "airbnb"


def test_minimal_airbnb_payload_and_string_port() -> None:
    b = parse_payload("i-1_0000000001", b'{"host":"10.0.0.6","port":"3001","name":"i-1"}')
    assert (b.port, b.weight, b.labels, b.haproxy_server_options) == (3001, None, {}, "")


def test_unavailable_forces_weight_zero_and_keeps_reason() -> None:
    data = encode_go_nerve(
        host="10.0.0.7", port=80, name="x", weight=200, available=False, unavailable_reason="down"
    )
    assert data == (
        b'{"available":false,"unavailable_reason":"down","host":"10.0.0.7",'
        b'"port":80,"name":"x","weight":200}'
    )
    b = parse_payload("n", data)
    assert b.available is False and b.weight == 0 and b.effective_weight == 0
    assert b.unavailable_reason == "down"


def test_encoders_reproduce_both_formats_byte_for_byte() -> None:
    assert (
        encode_go_nerve(
            host="127.0.0.1",
            port=4242,
            name="tot42",
            haproxy_server_options="backup",
            labels={"service": "superApi"},
        )
        == GO_NERVE_PAYLOAD
    )
    assert (
        encode_airbnb(
            host="10.0.0.5",
            port=3000,
            name="i-0abc",
            weight=2,
            haproxy_server_options="backup",
            labels={"az": "us-east-1a"},
        )
        == AIRBNB_PAYLOAD
    )
    # Go escapes HTML characters, Ruby does not
    assert b"\\u003c" in encode_go_nerve(host="h", port=1, name="a<b")
    assert b"a<b" in encode_airbnb(host="h", port=1, name="a<b")


def test_node_names() -> None:
    prefix = go_nerve_node_prefix("127.0.0.1:4242", "127.0.0.1")
    assert prefix.startswith("127.0.0.1:4242_127.0.0.1_c_")
    assert len(prefix.rsplit("_c_", 1)[1]) == 32
    assert go_nerve_guid(prefix + "0000000003") == prefix.rsplit("_c_", 1)[1]
    assert airbnb_node_prefix("i-0abc") == "i-0abc_"
    assert node_sequence("i-0abc_0000000042") == 42
    with pytest.raises(PayloadError):
        go_nerve_node_prefix("a/b", "h")


def test_path_encoded_names_decode_without_data() -> None:
    name = airbnb_path_encoded_prefix(AIRBNB_PAYLOAD) + "0000000003"
    encoded = base64.urlsafe_b64encode(AIRBNB_PAYLOAD).decode()
    assert name == f"base64_{len(encoded)}_{encoded}_0000000003"
    b = parse_payload(name, b"")
    assert (b.host, b.port, b.name, b.sequence) == ("10.0.0.5", 3000, "i-0abc", 3)


def test_extra_fields_are_kept() -> None:
    b = parse_payload("n", b'{"host":"h","port":1,"zone":"z","id":7}')
    assert b.extra == {"zone": "z", "id": 7}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"not json", "JSON"),
        (b"[]", "object"),
        (b'{"port":1}', "host"),
        (b'{"host":"h"}', "port"),
        (b'{"host":"h","port":70000}', "port"),
        (b'{"host":"h","port":1,"weight":-1}', "weight"),
        (b'{"host":"h","port":1,"available":"yes"}', "available"),
        (b'{"host":"h","port":1,"labels":[]}', "labels"),
    ],
)
def test_bad_payloads_name_the_node_and_field(data: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_payload("node_0000000001", data)
    assert str(err.value).startswith("node_0000000001: ")
    assert field in str(err.value)
