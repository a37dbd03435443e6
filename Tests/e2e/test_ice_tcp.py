"""A network that lets out only TCP: two Chromiums whose UDP to Sabha's media port is dropped (nftables) meet over
ICE-TCP (RFC 6544 passive candidates on the same port number) and decode each other; with UDP open the same
meeting runs over UDP, which the candidates' priorities prefer."""

from __future__ import annotations

import subprocess

import pytest

from e2ekit.browser import SELECTED_PAIR_JS
from e2ekit.netns import unavailable_reason
from e2ekit.wait import wait_for
from test_meeting_chromium import join, wait_receiving

pytestmark = pytest.mark.server

NFT_TABLE = "sabha_e2e_no_udp"


def nft(*args: str) -> None:
    subprocess.run(["nft", *args], check=True, timeout=10, capture_output=True)


@pytest.fixture
def udp_blocked(server):
    """Drops every UDP datagram to or from the server's media port in this (the test's own) namespace."""
    reason = unavailable_reason(need_nft=True)
    if reason:
        pytest.skip(reason)
    port = server.udp_port
    nft("add", "table", "inet", NFT_TABLE)
    try:
        nft("add", "chain", "inet", NFT_TABLE, "out", "{ type filter hook output priority 0 ; policy accept ; }")
        nft("add", "rule", "inet", NFT_TABLE, "out", "udp", "dport", str(port), "counter", "drop")
        nft("add", "rule", "inet", NFT_TABLE, "out", "udp", "sport", str(port), "counter", "drop")
        yield port
    finally:
        subprocess.run(["nft", "delete", "table", "inet", NFT_TABLE], timeout=10, capture_output=True)


def selected_pair(driver) -> dict:
    def succeeded():
        s = driver.execute_async_script(SELECTED_PAIR_JS)
        return s if s and s.get("pair") == "succeeded" else None
    return wait_for(succeeded, 30, "a selected candidate pair")


@pytest.mark.timeout(150)
def test_chromiums_without_udp_meet_over_ice_tcp_and_decode(server, udp_blocked, browsers, metrics):
    asha, asha_id = join(browsers, server, "ice-tcp", "asha", "Asha")
    ravi, ravi_id = join(browsers, server, "ice-tcp", "ravi", "Ravi")
    wait_receiving(asha, "Asha", {"Ravi": ravi_id}, 45)
    wait_receiving(ravi, "Ravi", {"Asha": asha_id}, 45)
    for driver in (asha, ravi):
        pair = selected_pair(driver)
        assert pair["local"]["protocol"] == "tcp" and pair["remote"]["protocol"] == "tcp", pair
        assert pair["remote"]["port"] == udp_blocked and pair["remote"]["tcpType"] == "passive", pair
    m = metrics(server.base_url)
    assert m.value("sabha_ice_tcp_connections") >= 2
    assert m.value("sabha_transports") == 2


@pytest.mark.timeout(120)
def test_with_udp_open_the_meeting_prefers_udp(server, browsers, metrics):
    asha, asha_id = join(browsers, server, "ice-udp", "asha", "Asha")
    ravi, ravi_id = join(browsers, server, "ice-udp", "ravi", "Ravi")
    wait_receiving(asha, "Asha", {"Ravi": ravi_id}, 45)
    for driver in (asha, ravi):
        pair = selected_pair(driver)
        assert pair["local"]["protocol"] == "udp" and pair["remote"]["protocol"] == "udp", pair
