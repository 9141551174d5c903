"""docs/api.md keeps up with the code: every setting and every route is described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.app import create_app
from controller.settings import ControllerSettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(ControllerSettings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"| `LOA_{name.upper()}` |" in DOC


def test_every_route_is_documented(settings: ControllerSettings) -> None:
    schema = create_app(settings).openapi()  # routes only; the lifespan does not run
    paths = {_shape(path.replace("{name}", "{name}.opus")) for path in schema["paths"]}
    documented = _shape(DOC)
    assert len(paths) >= 10
    assert [p for p in sorted(paths) if f"`{p}`" not in documented] == []


def _shape(text: str) -> str:
    """Path parameters compared by position, not name: `/lexicon/{entry_id}` is `/lexicon/{id}`."""
    return re.sub(r"\{[^{}/`]+\}", "{}", text)
