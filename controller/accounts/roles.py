"""Roles and what each may do: one table that every page, form and endpoint checks.

Why a permission table and not role checks scattered through handlers: the tests walk
this table to prove each endpoint refuses every role it does not list, and a commune
that wants, say, editors to send emergencies changes one line here.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    """Runs the station: users, zones, everything below."""
    LEADER = "leader"
    """Commune leader: approves or rejects bulletins; may broadcast emergencies directly."""
    EDITOR = "editor"
    """Drafts bulletins and submits them for approval."""
    TECHNICIAN = "technician"
    """Watches and commands the fleet; manages zones and nodes; cannot broadcast."""
    VIEWER = "viewer"
    """Reads history and the fleet view; changes nothing."""


class Perm(StrEnum):
    ANNOUNCE_DRAFT = "announce.draft"
    """Compose, preview, upload recordings and submit bulletins for approval."""
    ANNOUNCE_APPROVE = "announce.approve"
    """Approve or reject submitted bulletins (and publish without a second approval)."""
    ANNOUNCE_EMERGENCY = "announce.emergency"
    """Send an emergency that skips approval (flagged and logged)."""
    ANNOUNCE_CANCEL = "announce.cancel"
    """Cancel scheduled bulletins and stop zones now."""
    HISTORY_VIEW = "history.view"
    """Read announcements, per-node results and export playback logs."""
    FLEET_VIEW = "fleet.view"
    """The technician dashboard and node pages."""
    FLEET_COMMAND = "fleet.command"
    """Remote node commands: volume, test tone, stop, restart agent."""
    ZONES_MANAGE = "zones.manage"
    """Create and edit zones and nodes."""
    LEXICON_MANAGE = "lexicon.manage"
    """Edit the pronunciation lexicon."""
    USERS_MANAGE = "users.manage"
    """Create, disable and change the role of accounts."""


PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.LEADER: frozenset(
        {
            Perm.ANNOUNCE_DRAFT,
            Perm.ANNOUNCE_APPROVE,
            Perm.ANNOUNCE_EMERGENCY,
            Perm.ANNOUNCE_CANCEL,
            Perm.HISTORY_VIEW,
            Perm.FLEET_VIEW,
            Perm.LEXICON_MANAGE,
        }
    ),
    Role.EDITOR: frozenset({Perm.ANNOUNCE_DRAFT, Perm.HISTORY_VIEW, Perm.FLEET_VIEW, Perm.LEXICON_MANAGE}),
    Role.TECHNICIAN: frozenset({Perm.HISTORY_VIEW, Perm.FLEET_VIEW, Perm.FLEET_COMMAND, Perm.ZONES_MANAGE}),
    Role.VIEWER: frozenset({Perm.HISTORY_VIEW, Perm.FLEET_VIEW}),
}


def allowed(role: Role | str, perm: Perm) -> bool:
    """Whether `role` holds `perm`; an unknown role string holds nothing."""
    try:
        return perm in PERMISSIONS[Role(role)]
    except ValueError:
        return False


ROLE_LABELS_VI: dict[Role, str] = {
    Role.ADMIN: "Quản trị",
    Role.LEADER: "Lãnh đạo (duyệt tin)",
    Role.EDITOR: "Biên tập viên",
    Role.TECHNICIAN: "Kỹ thuật viên",
    Role.VIEWER: "Người xem",
}

__all__ = ["PERMISSIONS", "ROLE_LABELS_VI", "Perm", "Role", "allowed"]
