"""The playback log as CSV (`GET /announcements/export.csv`): one row per delivery.

Why these choices: officials open it in Excel, which reads a UTF-8 file as the local code
page unless it starts with a byte-order mark (Vietnamese would come out garbled), so the
stream starts with one. Announcement text is typed by users: a cell that starts with
`=`, `+`, `-` or `@` (or a tab or carriage return) would be run by a spreadsheet as a
formula (CSV injection), so such cells get a leading `'`. Times are Vietnam's wall clock.
The rows are streamed in batches (`controller.history.export`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from controller import history
from controller.web.pages import LOCAL_TZ

HEADER = ("announcement_id", "created", "priority", "text", "node", "zone", "play_at", "state", "updated_at")
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FLUSH_ROWS = 500


def safe_cell(value: Any) -> str:
    """The cell as text, defused if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def csv_rows(engine: Any, filters: history.Filters) -> Iterator[str]:
    """The file in pieces: BOM and header, then rows, a few hundred at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(HEADER)
    count = 0
    for ann, row in history.export(engine, filters):
        writer.writerow([safe_cell(v) for v in (
            ann.id, _local(ann.created_at), ann.priority, ann.text, row.node_id, row.zone_id,
            _local(row.play_at or ann.play_at), row.state, _local(row.updated_at),
        )])  # fmt: skip
        count += 1
        if count % FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_filename(now: datetime) -> str:
    return f"loa-nhat-ky-phat-{now.astimezone(LOCAL_TZ):%Y%m%d-%H%M}.csv"


__all__ = ["BOM", "HEADER", "csv_filename", "csv_rows", "safe_cell"]
