"""Generated Mosquitto config: per-node accounts and ACL, with a real broker."""

import threading
import time

import pytest

from loa.broker import BrokerConfig, Mosquitto, controller_user, free_port, hash_password, node_user
from protocol.link import LinkOptions, MqttLink


@pytest.fixture
def broker(tmp_path):
    users = [
        controller_user("ctl", hash_password("ctl-pw")),
        node_user("n1", hash_password("n1-pw"), ["hamlet-a", "commune"]),
        node_user("n2", hash_password("n2-pw"), ["hamlet-b", "commune"]),
    ]
    m = Mosquitto(BrokerConfig(port=free_port(), directory=tmp_path, users=users))
    m.start()
    yield m
    m.stop()


def link(broker, user, pw, client_id=None):
    lk = MqttLink(LinkOptions("127.0.0.1", broker.port, client_id or user, user, pw, persistent_session=False, keepalive=5))
    return lk


def test_password_hash_format_matches_mosquitto():
    h = hash_password("x", salt=b"0" * 12)
    assert h.startswith("$7$101$") and h.count("$") == 4


@pytest.mark.integration
def test_wrong_password_is_refused(broker):
    lk = link(broker, "n1", "nope")
    lk.start()
    try:
        assert not lk.wait_connected(1.5)
    finally:
        lk.stop()


@pytest.mark.integration
def test_acl_keeps_nodes_to_their_own_topics(broker):
    got: dict[str, list[str]] = {"n1": [], "ctl": []}
    lock = threading.Lock()

    def rec(name):
        def h(topic, payload):
            with lock:
                got[name].append(topic)
        return h

    ctl, n1, n2 = link(broker, "ctl", "ctl-pw"), link(broker, "n1", "n1-pw"), link(broker, "n2", "n2-pw")
    n1.subscribe("loa/v1/zones/commune/cmd", rec("n1"))
    n1.subscribe("loa/v1/zones/hamlet-a/cmd", rec("n1"))
    n1.subscribe("loa/v1/nodes/n2/cmd", rec("n1"))  # not granted: must receive nothing
    ctl.subscribe("loa/v1/nodes/+/events", rec("ctl"))
    for lk in (ctl, n1, n2):
        lk.start()
    try:
        for lk in (ctl, n1, n2):
            assert lk.wait_connected(5) and lk.wait_subscribed(5)
        for topic in ("loa/v1/zones/commune/cmd", "loa/v1/zones/hamlet-a/cmd", "loa/v1/zones/hamlet-b/cmd", "loa/v1/nodes/n2/cmd"):
            ctl.publish(topic, b"x").wait_for_publish(5)
        n2.publish("loa/v1/nodes/n1/events", b"forged").wait_for_publish(5)  # silently dropped by the ACL
        n2.publish("loa/v1/nodes/n2/events", b"real").wait_for_publish(5)
        time.sleep(0.5)
        assert sorted(got["n1"]) == ["loa/v1/zones/commune/cmd", "loa/v1/zones/hamlet-a/cmd"]
        assert got["ctl"] == ["loa/v1/nodes/n2/events"]
    finally:
        for lk in (ctl, n1, n2):
            lk.stop()


@pytest.mark.integration
def test_link_resubscribes_after_broker_restart(broker):
    got = []
    ctl, n1 = link(broker, "ctl", "ctl-pw"), link(broker, "n1", "n1-pw")
    n1.subscribe("loa/v1/nodes/n1/cmd", lambda t, p: got.append(p))
    for lk in (ctl, n1):
        lk.start()
    try:
        assert n1.wait_subscribed(5)
        broker.restart()
        deadline = time.monotonic() + 20
        while not (n1.subscribed.is_set() and ctl.connected.is_set()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert n1.subscribed.is_set()
        ctl.publish("loa/v1/nodes/n1/cmd", b"after").wait_for_publish(5)
        time.sleep(0.5)
        assert got == [b"after"]
    finally:
        for lk in (ctl, n1):
            lk.stop()
