"""The message catalogue: every key in both languages, same placeholders, templates covered."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from controller.web import i18n
from controller.web.pages import NAV, TEMPLATES_DIR

PY_DIR = Path(i18n.__file__).parent


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    catalogue = i18n.catalogue()
    assert len(catalogue) > 50
    for key, (vi, en) in catalogue.items():
        assert vi.strip() and en.strip(), key
        assert _fields(vi) == _fields(en), key


def test_keys_are_namespaced() -> None:
    assert all(re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", key) for key in i18n.catalogue())


def _used_keys() -> set[str]:
    pattern = re.compile(r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
    found: set[str] = set()
    for path in [*TEMPLATES_DIR.rglob("*.html"), *PY_DIR.rglob("*.py")]:
        found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_key_used_in_templates_and_code_exists() -> None:
    missing = sorted(_used_keys() - set(i18n.catalogue()))
    assert missing == []


def test_nav_and_roles_are_translated() -> None:
    catalogue = i18n.catalogue()
    assert all(key in catalogue for _, key, _ in NAV)
    from controller.accounts.roles import Role

    assert all(f"role.{r.value}" in catalogue for r in Role)


def test_vietnamese_is_the_default_and_english_the_switch() -> None:
    assert i18n.t("login.title") == "Đăng nhập"
    assert i18n.t("login.title", "en") == "Log in"
    assert i18n.t("login.title", "fr") == "Đăng nhập"
    assert i18n.translator("en")("users.added", username="lan") == "User lan added."


def test_missing_key_or_parameter_never_fails_the_page() -> None:
    assert i18n.t("no.such.key") == "no.such.key"
    assert i18n.t("users.added") == "Đã thêm người dùng {username}."


def test_duplicate_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from controller.web.catalogue import accounts, common

    clash = types.SimpleNamespace(MESSAGES={"login.title": ("x", "y")}, __name__="zz_clash")
    modules = {"accounts": accounts, "common": common, "zz_clash": clash}
    monkeypatch.setattr(i18n.importlib, "import_module", lambda name: modules[name.rsplit(".", 1)[1]])
    monkeypatch.setattr(
        i18n.pkgutil, "iter_modules", lambda _path: [types.SimpleNamespace(name=n) for n in modules]
    )
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(i18n.CatalogueError, match="login.title"):
            i18n.catalogue()
    finally:
        i18n.catalogue.cache_clear()
