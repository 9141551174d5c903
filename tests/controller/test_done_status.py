"""`done`: a scheduled announcement with nothing left to play leaves `scheduled`
(controller/dispatcher.py `_finish`), and is then never dispatched, edited or warned about.

Every instant comes from the app's injected FakeClock (2025-07-01 08:00 UTC = 15:00 in
Vietnam); the dispatcher is ticked by hand. Settings are the defaults: stage ahead 600 s,
occurrence ttl 300 s.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from controller.models import Announcement, AnnouncementStatus, Delivery
from controller.programme import conflict_details
from controller.topology import ZoneTree
from controller.web import i18n
from protocol.reports import EventKind, NodeEvent
from protocol.topics import node_events
from tests.controller.conftest import Env
from tests.controller.programme_helpers import URL, minutes, once, schedule

TTL = timedelta(seconds=300)


def status(env: Env, ann_id: int) -> str:
    with env.session() as s:
        ann = s.get(Announcement, ann_id)
        assert ann is not None
        return ann.status


def report(env: Env, ann_id: int, event: EventKind, nodes: tuple[str, ...] | None = None) -> None:
    """The nodes (all that hold a delivery, or `nodes`) report `event` for their command."""
    with env.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.announcement_id == ann_id)).all()
    for d in rows:
        if nodes is None or d.node_id in nodes:
            msg = NodeEvent(node=d.node_id, cmd=d.command_id, announcement=ann_id, event=event, at=env.clock())
            env.ctx.fleet.on_event(node_events(d.node_id), msg.to_json())


def delivery_states(env: Env, ann_id: int) -> list[str]:
    with env.session() as s:
        return sorted(d.state for d in s.exec(select(Delivery).where(Delivery.announcement_id == ann_id)).all())


def test_one_off_is_done_once_every_speaker_finished(env: Env) -> None:
    play_at = env.clock() + minutes(30)
    ann = once(env, play_at)["id"]
    env.clock.advance(21 * 60)  # 9 min before: dispatched
    tick = env.ctx.dispatcher.tick()
    assert len(tick.dispatched) == 1 and tick.done == []
    assert status(env, ann) == "scheduled"

    env.clock.advance(10 * 60)  # 1 min after play_at; nodes have not answered yet
    assert env.ctx.dispatcher.tick().done == [] and status(env, ann) == "scheduled"
    report(env, ann, EventKind.FINISHED, ("dong-1", "dong-2"))
    assert env.ctx.dispatcher.tick().done == []  # dong-3 is still open and unexpired
    report(env, ann, EventKind.FAILED, ("dong-3",))  # any final state will do

    published = len(env.publisher.published)
    assert env.ctx.dispatcher.tick().done == [ann]
    assert status(env, ann) == AnnouncementStatus.DONE == "done"
    assert env.client.get(f"{URL}/{ann}").json()["status"] == "done"
    # idempotent: later ticks change and publish nothing
    for _ in range(3):
        env.clock.advance(60)
        again = env.ctx.dispatcher.tick()
        assert again.done == [] and again.dispatched == []
    assert status(env, ann) == "done" and len(env.publisher.published) == published
    assert delivery_states(env, ann) == ["failed", "finished", "finished"]


def test_one_off_with_silent_nodes_is_done_when_its_occurrence_expires(env: Env) -> None:
    play_at = env.clock() + minutes(5)
    ann = once(env, play_at)["id"]  # inside the horizon: dispatched at creation
    assert delivery_states(env, ann) == ["sent", "sent", "sent"]
    env.clock.now = play_at + TTL - timedelta(seconds=1)
    assert env.ctx.dispatcher.tick().done == [] and status(env, ann) == "scheduled"
    env.clock.now = play_at + TTL  # the commands' expires_at: no node may play it any more
    assert env.ctx.dispatcher.tick().done == [ann]
    assert status(env, ann) == "done"
    assert delivery_states(env, ann) == ["sent", "sent", "sent"]  # the sweep, not the dispatcher, expires them


def test_one_off_missed_while_the_controller_was_down_is_done_without_deliveries(env: Env) -> None:
    ann = once(env, env.clock() + minutes(12))["id"]
    env.clock.advance(30 * 60)  # down until long after it expired
    tick = env.ctx.dispatcher.tick()
    assert tick.dispatched == [] and tick.done == [ann]
    assert status(env, ann) == "done" and delivery_states(env, ann) == []
    assert env.publisher.published == []


def test_recurring_rule_is_done_only_after_its_last_day(env: Env) -> None:
    # 15:10 in Vietnam on 1 and 2 July 2025; the clock starts at 15:00 on 1 July
    ended = schedule(env, {"kind": "daily", "times": ["15:10"], "start_date": "2025-07-01", "end_date": "2025-07-02"})
    endless = schedule(env, {"kind": "daily", "times": ["15:10"], "start_date": "2025-07-01"}, text="Mỗi ngày")
    first_play = env.clock() + minutes(10)
    env.clock.now = first_play + TTL + minutes(1)  # day 1 over
    assert env.ctx.dispatcher.tick().done == []
    assert status(env, ended["id"]) == status(env, endless["id"]) == "scheduled"  # day 2 is still to come

    env.clock.now = first_play + timedelta(days=1) - minutes(5)
    tick = env.ctx.dispatcher.tick()
    assert sorted(d.split(":", 1)[0] for d in tick.dispatched) == sorted([str(ended["id"]), str(endless["id"])])
    assert tick.done == []
    env.clock.now = first_play + timedelta(days=1) + TTL
    assert env.ctx.dispatcher.tick().done == [ended["id"]]
    assert status(env, ended["id"]) == "done"
    assert status(env, endless["id"]) == "scheduled"  # a rule without end_date is never done


def test_done_cannot_be_edited(env: Env) -> None:
    play_at = env.clock() + minutes(5)
    ann = once(env, play_at)["id"]
    env.clock.now = play_at + TTL
    assert env.ctx.dispatcher.tick().done == [ann]
    res = env.client.patch(f"{URL}/{ann}", json={"text": "Sửa lại"})
    assert res.status_code == 409
    assert "done" in res.json()["detail"] and "can no longer be edited" in res.json()["detail"]
    assert status(env, ann) == "done"
    with env.session() as s:
        assert s.exec(select(Announcement).where(Announcement.revision_of == ann)).all() == []


def test_done_is_not_counted_in_overlap_warnings(env: Env) -> None:
    at = env.clock() + minutes(20)
    first = once(env, at, text="Bản tin thứ nhất")
    second = once(env, at, text="Bản tin thứ hai")
    assert second["warnings"] and str(first["id"]) in second["warnings"][0]
    planned_at = env.clock()

    def warnings_for_second() -> list[str]:
        with env.session() as s:
            ann = s.get(Announcement, second["id"])
            assert ann is not None
            found = conflict_details(s, ann, ZoneTree.load(s), planned_at)  # the same instant each time
            return [w.params["existing"] for w in found]

    assert warnings_for_second() == [f"{first['id']}:2025-07-01T15:20+07:00#1"]
    env.clock.now = at - minutes(5)
    env.ctx.dispatcher.tick()
    env.clock.now = at + TTL
    assert sorted(env.ctx.dispatcher.tick().done) == sorted([first["id"], second["id"]])
    assert warnings_for_second() == []  # only the status changed


def test_cancel_and_done_do_not_overwrite_each_other(env: Env) -> None:
    play_at = env.clock() + minutes(5)
    cancelled = once(env, play_at, text="Hủy")["id"]
    assert env.client.post(f"{URL}/{cancelled}/cancel").status_code == 200
    env.clock.now = play_at + TTL
    assert env.ctx.dispatcher.tick().done == []
    assert status(env, cancelled) == "cancelled"


def test_a_done_announcement_cannot_be_cancelled(env: Env) -> None:
    play_at = env.clock() + minutes(5)
    ann_id = once(env, play_at, text="Đã phát")["id"]
    env.clock.now = play_at + TTL
    assert env.ctx.dispatcher.tick().done == [ann_id]
    response = env.client.post(f"{URL}/{ann_id}/cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "not_cancellable"
    assert status(env, ann_id) == "done"  # what aired is not rewritten as cancelled


def test_every_status_has_a_history_label() -> None:
    catalogue = i18n.catalogue()
    assert [s.value for s in AnnouncementStatus if f"history.status.{s.value}" not in catalogue] == []
    assert catalogue["history.status.done"] == ("Đã phát xong", "Done")
