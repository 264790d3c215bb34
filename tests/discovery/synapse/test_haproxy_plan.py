"""The HAProxy router's pure parts: slot planning, rendering, runtime API parsing."""

from __future__ import annotations

import hashlib

from carpool.discovery.payload import Backend
from carpool.discovery.registry import RegistrySpec
from carpool.discovery.synapse.config import ServiceConfig
from carpool.discovery.synapse.haproxy.render import (
    BackendPlan,
    render_config,
    server_options,
)
from carpool.discovery.synapse.haproxy.router import HaproxyRouter, SlotTable
from carpool.discovery.synapse.haproxy.runtime import (
    ServerState,
    parse_servers_state,
    parse_show_proc,
)


def service(**kw: object) -> ServiceConfig:
    return ServiceConfig(
        name="web",
        registry=RegistrySpec("embedded"),
        path="/s",
        slots=2,
        **kw,  # type: ignore[arg-type]
    )


def be(port: int, name: str = "", **kw: object) -> Backend:
    return Backend(host="127.0.0.1", port=port, name=name or f"n{port}", **kw)  # type: ignore[arg-type]


def rendered(table: SlotTable) -> SlotTable:
    table.prepare_render()
    table.mark_rendered()
    return table


def test_instances_take_free_slots_without_reload_until_slots_run_out() -> None:
    table = rendered(SlotTable(service(server_options="check inter 200")))
    assert table.plan([be(1)], now=0) is False
    assert table.plan([be(1), be(2)], now=0) is False
    assert table.plan([be(1), be(2), be(3)], now=0) is True  # no free slot: reload
    table = rendered(table)
    assert table.capacity == 4 and len(table.slots) == 3


def test_a_removed_instance_drains_and_its_slot_is_reused_only_once_freed() -> None:
    table = rendered(SlotTable(service()))
    table.plan([be(1), be(2)], now=0)
    assert table.plan([be(2)], now=1) is False
    draining = [s for s in table.slots.values() if s.draining_since is not None]
    assert [s.backend.port for s in draining] == [1]
    # the slot still drains: a newcomer does not fit without a reload
    assert table.plan([be(2), be(3)], now=2) is True
    # the same instance coming back stops draining
    table = rendered(SlotTable(service()))
    table.plan([be(1)], now=0)
    table.plan([], now=1)
    table.plan([be(1)], now=2)
    assert all(s.draining_since is None for s in table.slots.values())


def test_per_instance_options_need_a_reload_shared_ones_do_not() -> None:
    table = rendered(SlotTable(service(server_options="check cookie {{sha1String .Name}}")))
    assert table.plan([be(1, "a")], now=0) is True
    table = rendered(SlotTable(service(server_options="check")))
    assert table.plan([be(1, haproxy_server_options="backup")], now=0) is True
    table = rendered(table)
    # a changed haproxy_server_options on a placed instance: reload as well
    assert table.plan([be(1, haproxy_server_options="maxconn 5")], now=1) is True


def test_server_options_templates() -> None:
    backend = be(80, "i-1", haproxy_server_options="backup")
    assert server_options("cookie %{name} check port %{port}", backend) == (
        "cookie i-1 check port 80 backup"
    )
    sha1 = hashlib.sha1(b"i-1").hexdigest()
    assert server_options("cookie {{ sha1String .Name }}", backend) == f"cookie {sha1} backup"
    assert server_options("check", None) == "check"


def test_rendered_config_has_every_section_and_ipv6_addresses() -> None:
    table = rendered(SlotTable(service(server_options="check")))
    table.plan([be(1, weight=3), Backend(host="::1", port=8080, name="six")], now=0)
    plan = BackendPlan(
        service="web",
        backend_name="web_be",
        frontend=["mode http"],
        backend=["balance roundrobin"],
        port=3000,
        bind_address="::1",
        slots=table.lines(),
    )
    text = render_config(["maxconn 10"], ["mode http"], {"listen stats": ["bind :9000"]}, [plan])
    assert "global\n  maxconn 10\n" in text
    assert "listen stats\n  bind :9000\n" in text
    assert "frontend web\n  mode http\n  bind [::1]:3000\n  default_backend web_be\n" in text
    assert "server srv1 127.0.0.1:1 id 1 check weight 3" in text
    assert "server srv2 [::1]:8080 id 2 check weight 255" in text


def test_runtime_commands_follow_what_haproxy_reports() -> None:
    table = rendered(SlotTable(service()))
    table.plan([be(1, weight=10)], now=0)
    slot = table.slots[1]
    fresh = ServerState("web", "srv1", 1, "127.0.0.1", 1, 0, 0x05, 1)
    assert HaproxyRouter._commands(slot, fresh) == ["weight 10", "state ready"]
    moved = ServerState("web", "srv1", 1, "10.0.0.9", 80, 2, 0, 10)
    assert HaproxyRouter._commands(slot, moved) == ["addr 127.0.0.1 port 1"]
    assert HaproxyRouter._commands(None, moved) == ["state maint"]
    slot.draining_since = 5.0
    assert HaproxyRouter._commands(slot, moved) == ["state drain"]


def test_parsers() -> None:
    state = parse_servers_state(
        "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
        "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
        "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
        "srv_fqdn srv_port\n"
        "3 b 1 s1 127.0.0.1 2 12 10 1 0 1 0 2 6 0 0 1 - 8000\n"
    )
    assert state == [ServerState("b", "s1", 1, "127.0.0.1", 8000, 2, 12, 10)]
    assert state[0].admin == "drain" and state[0].health == "up"
    proc = parse_show_proc(
        "#<PID>          <type>          <reloads>       <uptime>        <version>\n"
        "18258           master          2 [failed: 1]   0d00h10m54s     2.6.12\n"
        "# workers\n15076           worker          0               0d00h00m01s     2.6.12\n"
        "# old workers\n14877           worker          1               0d00h00m09s     2.6.12\n"
        "# programs\n"
    )
    assert (proc.master_pid, proc.reloads, proc.failed_reloads, proc.workers) == (
        18258,
        2,
        1,
        [15076],
    )
