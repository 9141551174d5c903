"""Which announcements a zone's programme and the overlap warnings count (docs/schedules.md §5):
rejected and done ones never; awaiting-approval scheduled ones in the programme, marked,
but not in others' warnings; play-now ones awaiting approval not at all.

The clock is the app's FakeClock (2025-07-01 15:00 in Vietnam); bulletins play at 18:00.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from controller.accounts.actor import Actor
from controller.accounts.roles import Role
from controller.models import AnnouncementCreate
from tests.controller.conftest import Env
from tests.controller.programme_helpers import minutes, once

EDITOR = Actor("lan", Role.EDITOR)
LEADER = Actor("hung", Role.LEADER)
AT = "2025-07-01T18:00:00+07:00"
KEY = "2025-07-01T18:00+07:00#1"
PROGRAMME = "/api/v1/zones/thon-dong/programme?from=2025-07-01&days=1"


def req(text: str, **fields: Any) -> AnnouncementCreate:
    fields.setdefault("targets", {"zones": ["thon-dong"]})
    return AnnouncementCreate.model_validate({"text": text, **fields})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def programme(env: Env) -> list[tuple[int | None, str, bool]]:
    res = env.client.get(PROGRAMME)
    assert res.status_code == 200, res.text
    return [(i["announcement"], i["occurrence"], i["awaiting_approval"]) for i in res.json()["items"]]


def test_rejected_scheduled_bulletin_leaves_the_programme(env: Env) -> None:
    draft = run(env.ctx.announcer.submit(req("Bản tin của cán bộ", schedule={"at": AT}), EDITOR))
    assert draft.status == "awaiting_approval"
    assert programme(env) == [(draft.id, f"{draft.id}:{KEY}", True)]  # shown, marked: plays only if approved

    rejected = run(env.ctx.announcer.reject(draft.id, LEADER, "Sai ngày họp"))
    assert rejected.status == "rejected"
    assert programme(env) == []
    leader = run(env.ctx.announcer.submit(req("Bản tin của chủ tịch", schedule={"at": AT}), LEADER))
    assert leader.status == "scheduled" and leader.warnings is None  # the rejected one is not a conflict
    assert programme(env) == [(leader.id, f"{leader.id}:{KEY}", False)]
    assert env.publisher.published == []


def test_awaiting_bulletin_is_not_a_conflict_for_others_but_is_warned_when_approved(env: Env) -> None:
    draft = run(env.ctx.announcer.submit(req("Bản tin chờ duyệt", schedule={"at": AT}), EDITOR))
    leader = run(env.ctx.announcer.submit(req("Bản tin đã duyệt", schedule={"at": AT}), LEADER))
    assert leader.warnings is None  # the draft may never air
    assert sorted(programme(env)) == sorted(
        [(draft.id, f"{draft.id}:{KEY}", True), (leader.id, f"{leader.id}:{KEY}", False)]
    )

    approved = run(env.ctx.announcer.approve(draft.id, LEADER))
    assert approved.status == "scheduled"
    assert approved.warnings and f"{leader.id}:{KEY}" in approved.warnings[0]  # the approver hears of the overlap
    assert sorted(programme(env)) == sorted(
        [(draft.id, f"{draft.id}:{KEY}", False), (leader.id, f"{leader.id}:{KEY}", False)]
    )
    assert env.publisher.published == []  # 3 h ahead: nothing staged yet


def test_play_now_awaiting_approval_is_not_in_the_programme(env: Env) -> None:
    draft = run(env.ctx.announcer.submit(req("Thông báo khẩn của cán bộ"), EDITOR))
    assert draft.status == "awaiting_approval"
    assert programme(env) == []  # no time until a leader approves it
    approved = run(env.ctx.announcer.approve(draft.id, LEADER))
    assert approved.status == "sent"
    assert programme(env) == [(draft.id, f"{draft.id}:now", False)]


def test_done_bulletin_leaves_the_programme(env: Env) -> None:
    play_at = env.clock() + minutes(5)
    ann = once(env, play_at)["id"]
    assert [a for a, _, _ in programme(env)] == [ann]
    env.clock.now = play_at + timedelta(seconds=env.ctx.settings.occurrence_ttl_s)
    assert env.ctx.dispatcher.tick().done == [ann]
    assert programme(env) == []
