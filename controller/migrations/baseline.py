"""The schema as it stood when migrations began (revision 0001), frozen.

Why a frozen copy instead of `SQLModel.metadata`: revision 0001 must create the same
tables in five years as today, whatever the models say by then, and databases made by
`create_all` before migrations (see `legacy`) are brought to exactly this shape before
they are stamped 0001 — later revisions then apply to them as to any other database.
Never edit this file; change the schema with a new revision.

Types are the plain SQLAlchemy types the models' columns create (`UtcDateTime` stores
`DateTime(timezone=True)`, SQLModel's `AutoString` is a `String`).
"""

from __future__ import annotations

import sqlalchemy as sa


def baseline_metadata() -> sa.MetaData:
    """A fresh MetaData holding every table of revision 0001."""
    metadata = sa.MetaData()
    sa.Table(
        "alert",
        metadata,
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("offline_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notify_opened", sa.String(length=300), nullable=True),
        sa.Column("notify_closed", sa.String(length=300), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_alert_closed_at", "closed_at"),
        sa.Index("ix_alert_node_id", "node_id"),
        sa.Index("ix_alert_opened_at", "opened_at"),
    )
    sa.Table(
        "announcement",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("voice", sa.String(length=64), nullable=False),
        sa.Column("rate", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("chime", sa.Boolean(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("play_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audio_sha256", sa.String(length=64), nullable=False),
        sa.Column("audio_size", sa.Integer(), nullable=False),
        sa.Column("audio_duration_ms", sa.Integer(), nullable=False),
        sa.Column("fallback_reason", sa.String(length=500), nullable=True),
        sa.Column("command_ids", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("revision_of", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.String(length=1000), nullable=True),
        sa.Column("skipped_approval", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column("source", sa.String(length=16), server_default="text", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_announcement_revision_of", "revision_of"),
    )
    sa.Table(
        "audit_entry",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_audit_entry_action", "action"),
        sa.Index("ix_audit_entry_actor", "actor"),
    )
    sa.Table(
        "lease",
        metadata,
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    sa.Table(
        "lexicon_entry",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("term_key", sa.String(length=100), nullable=False),
        sa.Column("spoken", sa.String(length=300), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_lexicon_entry_term_key", "term_key", unique=True),
    )
    sa.Table(
        "lexicon_state",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    sa.Table(
        "login_failure",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_login_failure_at", "at"),
        sa.Index("ix_login_failure_ip", "ip"),
        sa.Index("ix_login_failure_username", "username"),
    )
    sa.Table(
        "node_event",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("cmd", sa.String(length=64), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_node_event_announcement_id", "announcement_id"),
        sa.Index("ix_node_event_node_id", "node_id"),
    )
    sa.Table(
        "relay",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("command_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_relay_start_at", "start_at"),
        sa.Index("ix_relay_status", "status"),
    )
    sa.Table(
        "telemetry_sample",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_telemetry_sample_at", "at"),
        sa.Index("ix_telemetry_sample_node_at", "node_id", "at"),
    )
    sa.Table(
        "web_user",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_web_user_username", "username", unique=True),
    )
    sa.Table(
        "zone",
        metadata,
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=63), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["zone.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_zone_parent_id", "parent_id"),
    )
    sa.Table(
        "dispatched_occurrence",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_key", sa.String(length=100), nullable=False),
        sa.Column("play_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcement.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("announcement_id", "occurrence_key", name="uq_dispatched_occurrence"),
        sa.Index("ix_dispatched_occurrence_announcement_id", "announcement_id"),
        sa.Index("ix_dispatched_occurrence_play_at", "play_at"),
    )
    sa.Table(
        "node",
        metadata,
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("zone_id", sa.String(length=63), nullable=False),
        sa.Column("mqtt_password_hash", sa.String(length=255), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_state_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("last_telemetry", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["zone_id"], ["zone.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_node_zone_id", "zone_id"),
    )
    sa.Table(
        "web_session",
        metadata,
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("flash", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["web_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_web_session_user_id", "user_id"),
    )
    sa.Table(
        "delivery",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("occurrence", sa.String(length=100), nullable=True),
        sa.Column("play_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcement.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "announcement_id", "occurrence", "node_id", name="uq_delivery_announcement_occurrence_node"
        ),
        sa.Index("ix_delivery_announcement_id", "announcement_id"),
        sa.Index("ix_delivery_command_id", "command_id"),
        sa.Index("ix_delivery_node_id", "node_id"),
        sa.Index("ix_delivery_occurrence", "occurrence"),
        sa.Index("ix_delivery_state", "state"),
    )
    sa.Table(
        "relay_delivery",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relay_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["relay_id"], ["relay.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("relay_id", "node_id", name="uq_relay_delivery_relay_node"),
        sa.Index("ix_relay_delivery_command_id", "command_id"),
        sa.Index("ix_relay_delivery_node_id", "node_id"),
        sa.Index("ix_relay_delivery_relay_id", "relay_id"),
    )
    return metadata


__all__ = ["baseline_metadata"]
