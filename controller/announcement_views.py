"""How an announcement is shown: the API's `AnnouncementPublic`, shared by the REST
routers, the approval queue and the web pages.

Apart from `controller.announce` so reading an announcement does not pull in the
creation machinery, and so the approval and recording modules can render views
without importing the Announcer (which imports them).
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from controller.dispatch import audio_ref
from controller.models import Announcement, AnnouncementPublic, AudioPublic, Delivery, DeliveryPublic


def announcement_view(
    session: Session, ann: Announcement, public_url: str, *, with_deliveries: bool
) -> AnnouncementPublic:
    if ann.id is None:
        raise ValueError("announcement has not been stored yet")
    counts = session.exec(
        select(Delivery.state, func.count()).where(Delivery.announcement_id == ann.id).group_by(Delivery.state)
    ).all()
    deliveries = None
    if with_deliveries:
        rows = session.exec(
            select(Delivery)
            .where(Delivery.announcement_id == ann.id)
            .order_by(col(Delivery.play_at), col(Delivery.occurrence), col(Delivery.node_id))
        ).all()
        deliveries = [DeliveryPublic.model_validate(d) for d in rows]
    return AnnouncementPublic(
        id=ann.id,
        text=ann.text,
        voice=ann.voice,
        rate=ann.rate,
        priority=ann.priority,
        chime=ann.chime,
        targets=ann.targets,
        status=ann.status,
        created_at=ann.created_at,
        play_at=ann.play_at,
        expires_at=ann.expires_at,
        audio=audio_view(public_url, ann.audio_sha256, ann.audio_size, ann.audio_duration_ms),
        fallback_reason=ann.fallback_reason,
        summary={state: n for state, n in counts},
        deliveries=deliveries,
        schedule=ann.schedule,
        revision_of=ann.revision_of,
        source=ann.source or "text",
        created_by=ann.created_by,
        approved_by=ann.approved_by,
        approved_at=ann.approved_at,
        review_comment=ann.review_comment,
        skipped_approval=ann.skipped_approval,
    )


def audio_view(public_url: str, sha256: str, size: int, duration_ms: int) -> AudioPublic:
    url = audio_ref(public_url, sha256, size, duration_ms).url
    return AudioPublic(url=url, sha256=sha256, duration_ms=duration_ms, size=size)


__all__ = ["announcement_view", "audio_view"]
