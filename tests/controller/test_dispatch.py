"""Fan-out by zone and signed commands, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.dispatch import TargetError, audio_ref, build_commands, plan_fanout, resolve_targets
from controller.topology import ZoneTree
from protocol.commands import Priority
from protocol.signing import Signer, Verifier, load_private_key, load_public_key
from tests.controller.factories import NODES, ZONES

TREE = ZoneTree.build(((z, p) for z, _, _, p in ZONES), ((n, z) for n, _, z in NODES))


def plan(zones=(), nodes=(), everything=False):
    return plan_fanout(TREE, resolve_targets(TREE, zones, nodes, everything))


@pytest.mark.parametrize(
    ("zones", "nodes", "everything", "zone_topics", "node_topics"),
    [
        (["xa-an-binh"], [], False, ["xa-an-binh"], []),
        (["thon-dong"], [], False, ["thon-dong"], []),
        ([], ["dong-1", "dong-2"], False, [], ["dong-1", "dong-2"]),
        ([], ["dong-1", "dong-2", "dong-3"], False, ["thon-dong"], []),
        (["thon-dong"], ["tay-1"], False, ["thon-dong"], ["tay-1"]),
        (["thon-dong"], ["tay-1", "tay-2"], False, ["xa-an-binh"], []),
        (["thon-dong", "xa-an-binh"], ["dong-1"], False, ["xa-an-binh"], []),
        # thon-bac is the only populated hamlet of xa-phu-my: the narrower topic is used
        (["xa-phu-my"], [], False, ["thon-bac"], []),
        ([], [], True, ["thon-bac", "xa-an-binh"], []),
    ],
)
def test_fanout(zones, nodes, everything, zone_topics, node_topics) -> None:
    p = plan(zones, nodes, everything)
    assert sorted(p.zones) == zone_topics
    assert list(p.nodes) == node_topics


def test_every_target_reached_exactly_once() -> None:
    for targets in (["dong-1", "tay-2", "bac-1"], ["dong-1", "dong-2", "dong-3", "tay-1"]):
        p = plan(nodes=targets)
        reach = p.reach()
        assert set(reach) == set(targets)
        assert sum(len(m) for m in p.zones.values()) + len(p.nodes) == len(targets)


@pytest.mark.parametrize(
    ("zones", "nodes", "everything", "reason"),
    [
        (["nowhere"], [], False, "unknown zone(s): 'nowhere'"),
        ([], ["ghost-1", "ghost-2"], False, "unknown node(s): 'ghost-1', 'ghost-2'"),
        ([], [], False, "no targets"),
        (["thon-nam"], [], False, "no nodes"),
    ],
)
def test_resolve_errors(zones, nodes, everything, reason) -> None:
    with pytest.raises(TargetError) as err:
        resolve_targets(TREE, zones, nodes, everything)
    assert reason in str(err.value)


def test_commands_are_signed_per_topic(keys: tuple[Path, Path]) -> None:
    signer = Signer(load_private_key(keys[0]))
    verifier = Verifier([load_public_key(keys[1])])
    now = datetime(2025, 7, 1, 8, tzinfo=UTC)
    audio = audio_ref("http://loa.test", "a" * 64, 1000, 2500)
    cmds = build_commands(
        plan(["thon-dong"], ["tay-1"]),
        signer=signer,
        announcement_id=7,
        audio=audio,
        play_at=now + timedelta(seconds=3),
        priority=Priority.EMERGENCY,
        issued_at=now,
        expires_at=now + timedelta(seconds=600),
    )
    assert [c.topic for c in cmds] == ["loa/v1/zones/thon-dong/cmd", "loa/v1/nodes/tay-1/cmd"]
    assert len({c.command.id for c in cmds}) == 2
    for c in cmds:
        cmd = verifier.open(c.topic, c.payload)
        assert cmd.id == c.command.id and cmd.play is not None
        assert cmd.play.announcement == 7 and cmd.play.priority is Priority.EMERGENCY
        assert cmd.play.audio.url == f"http://loa.test/audio/{'a' * 64}.opus"
        assert cmd.issued_at == now and cmd.expires_at == now + timedelta(seconds=600)
        assert cmd.nodes is None
    # a command sealed for one topic does not verify on another (no replay onto a zone)
    with pytest.raises(Exception, match="signature"):
        verifier.open("loa/v1/zones/xa-an-binh/cmd", cmds[1].payload)
