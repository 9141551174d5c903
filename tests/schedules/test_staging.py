from datetime import UTC, datetime, timedelta

import pytest

from schedules.staging import MAX_TTL_S, stage_now

NOW = datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC)


def test_play_is_staged_one_lead_ahead_and_expires_after_ttl():
    s = stage_now(NOW, lead_s=3, ttl_s=600)
    assert s.issued_at == NOW
    assert s.play_at == NOW + timedelta(seconds=3)
    assert s.expires_at == NOW + timedelta(seconds=600)


def test_expiry_never_precedes_air_time():
    with pytest.raises(ValueError, match="expire before air"):
        stage_now(NOW, lead_s=30, ttl_s=10)


@pytest.mark.parametrize(
    "kwargs",
    [{"lead_s": -1, "ttl_s": 60}, {"lead_s": 1, "ttl_s": 5}, {"lead_s": 1, "ttl_s": MAX_TTL_S + 1}],
)
def test_out_of_range_values_are_refused(kwargs):
    with pytest.raises(ValueError):
        stage_now(NOW, **kwargs)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        stage_now(NOW.replace(tzinfo=None), lead_s=1, ttl_s=60)
