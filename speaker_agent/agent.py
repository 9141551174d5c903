"""The speaker agent: wires guard, fetch, cache, timeline, player and health to MQTT.

An `Agent` is a plain object - no globals, no signal handling - so the CLI runs one per
process while a benchmark can run a hundred in one. `start()` connects with a
persistent session (QoS 1 commands sent while the node was offline arrive when it
returns) and a retained `offline` last will; every (re)connect re-announces `online`.
Commands are handled on paho's network thread only as far as checking and staging
them; downloads run in a small pool and plays on the timeline's threads, so a slow
server never delays the next command.

Programme commands: `play` (with an optional occurrence id: one play per occurrence per
node, see timeline.py), `cancel` (withdraws staged plays by announcement or occurrence,
stops a matching play on air; each is reported `cancelled`) and `stop` (stops the play
on air, reported `cancelled`; staged plays stay). After every (re)connect, and after a
cancel, the node publishes a `NodeTimeline` of its staged plays so the controller can
re-send what is missing and cancel what should not be there.

`control` commands (volume, test tone, restart) are carried out by `control.NodeControl`;
a restart calls the `on_restart` hook of the agent's runner (the CLI re-executes itself).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType

from protocol import topics
from protocol.base import MAX_PAYLOAD_BYTES
from protocol.commands import AudioRef, Command, CommandKind
from protocol.link import LinkOptions, MqttLink, Will
from protocol.reports import (
    TERMINAL_EVENTS,
    EventKind,
    NodeEvent,
    NodeState,
    NodeStatus,
    NodeTimeline,
    Telemetry,
)
from protocol.signing import Verifier
from speaker_agent import agent_version
from speaker_agent.cache import Cache
from speaker_agent.clock import Clock, SystemClock
from speaker_agent.config import AgentSettings, ConfigError
from speaker_agent.control import TONE_URL, NodeControl
from speaker_agent.fetch import FetchError, Fetcher
from speaker_agent.guard import Guard, Verdict
from speaker_agent.health import HealthReporter, HealthSources, collect
from speaker_agent.parts import load_verifier, make_player
from speaker_agent.player import Player
from speaker_agent.timeline import StagedPlay, StageOutcome, Timeline
from speaker_agent.workers import WorkerPool

log = logging.getLogger(__name__)

RELAY_PATH = Path("relay")
"""Placeholder path the timeline holds for a relay (the player uses its URL)."""


class Agent:
    """One speaker node. Build, `start()`, later `stop()` (idempotent, a few seconds at most)."""

    def __init__(
        self,
        settings: AgentSettings,
        *,
        clock: Clock | None = None,
        player: Player | None = None,
        verifier: Verifier | None = None,
        download_workers: int = 2,
        download_backoff_s: float = 1.0,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        """Raises ConfigError when keys or the password file cannot be used. `on_restart` (called
        on the MQTT thread, must not block) carries out a restart; without it restarts are refused."""
        self.settings = settings
        self.node_id = settings.node_id
        self.clock: Clock = clock or SystemClock()
        self.version = agent_version()
        state_dir = Path(settings.state_dir)
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create state_dir {state_dir}: {exc.strerror}") from None
        self.cache = Cache(state_dir / "cache", settings.cache_max_bytes)
        self.fetcher = Fetcher(
            state_dir / "partial", self.cache, timeout_s=settings.download_timeout_s,
            attempts=settings.download_attempts, backoff_s=download_backoff_s,
        )
        self.guard = Guard(
            self.node_id, settings.zones, verifier or load_verifier(settings), self.clock, state_dir,
            max_clock_skew_s=settings.max_clock_skew_s,
        )
        self.player: Player = player or make_player(settings, self.clock)
        self.timeline = Timeline(
            self.node_id, self.clock, self.player, self._on_timeline_event, store_path=state_dir / "timeline.json"
        )
        self.control = NodeControl(
            state_dir, settings.volume, self.clock, self.player,
            emit=lambda cmd, kind, detail: self._event(cmd, None, kind, detail), stage=self._stage, restart=on_restart,
        )
        self._state_topic = topics.node_state(self.node_id)
        self._events_topic = topics.node_events(self.node_id)
        self._timeline_topic = topics.node_timeline(self.node_id)
        self._pinned: set[str] = set()
        self._pin_lock = threading.Lock()
        self.link = MqttLink(
            LinkOptions(
                host=settings.mqtt.host,
                port=settings.mqtt.port,
                client_id=self.node_id,
                username=settings.mqtt_username(),
                password=settings.mqtt_password(),
                keepalive=settings.mqtt.keepalive,
                persistent_session=True,
                tls_ca_file=settings.mqtt.tls_ca_file or None,
                will=Will(self._state_topic, NodeState(state=NodeStatus.OFFLINE).to_json(), qos=1, retain=True),
                on_connected=[self._announce_online],
            )
        )
        self._download_workers = download_workers
        self._downloads: WorkerPool | None = None
        self._health: HealthReporter | None = None
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()
        self._running = False
        self._started_monotonic = time.monotonic()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        with self._lifecycle:
            if self._running:
                return
            self._running = True
            self._stopping.clear()
            self._started_monotonic = time.monotonic()
            self._downloads = WorkerPool(self._download_workers, f"loa-dl-{self.node_id}")
            restored = self.timeline.load()
            for play in restored:
                self._stage(play, restored=True)
            if restored:
                log.info("restored %d staged play(s) from the last run", len(restored))
            self.timeline.start()
            self.link.subscribe(topics.node_cmd(self.node_id), self._on_command, qos=topics.QOS_COMMAND)
            for zone in self.settings.zones:
                self.link.subscribe(topics.zone_cmd(zone), self._on_command, qos=topics.QOS_COMMAND)
            self.link.start()
            self._health = HealthReporter(
                self.settings.telemetry_interval_s, self._publish_telemetry, name=f"loa-health-{self.node_id}"
            )
            self._health.start()
            log.info("agent %s started (version %s, zones %s)", self.node_id, self.version, self.settings.zones)

    def stop(self) -> None:
        """Stop playing and downloading, say `offline` (retained) and disconnect."""
        with self._lifecycle:
            if not self._running:
                return
            self._running = False
            self._stopping.set()
            if self._health is not None:
                self._health.stop(timeout=1.0)
            if self._downloads is not None:
                self._downloads.stop(timeout=1.0)
            self.timeline.stop(timeout=1.0)
            offline = NodeState(state=NodeStatus.OFFLINE, at=self.clock.now(), agent_version=self.version)
            self.link.stop(final=(self._state_topic, offline.to_json(), True))
            log.info("agent %s stopped", self.node_id)

    def wait_connected(self, timeout: float) -> bool:
        return self.link.wait_connected(timeout)

    def __enter__(self) -> "Agent":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- status -------------------------------------------------------------------------

    @property
    def rejected_commands(self) -> int:
        return self.guard.rejected

    def telemetry(self) -> Telemetry:
        sources = HealthSources(
            cache=self._cache_figures,
            now_playing=self.timeline.now_playing,
            rejected=lambda: self.guard.rejected,
            volume=lambda: self.control.volume,
        )
        return collect(self.node_id, self.version, self.clock, self._started_monotonic, self.settings.state_dir, sources)

    def _cache_figures(self) -> tuple[int, int]:
        stats = self.cache.stats()
        return stats.bytes, stats.files

    # -- MQTT side ----------------------------------------------------------------------

    def _announce_online(self) -> None:
        """On every (re)connect: retained `online`, the staged timeline and a fresh health report.

        Runs from the link's on_connected hook, after the subscriptions were sent on the
        same connection: the broker handles them before these publishes, so whatever the
        controller re-sends in answer to the timeline report reaches this node.
        """
        state = NodeState(state=NodeStatus.ONLINE, at=self.clock.now(), agent_version=self.version)
        self.link.publish(self._state_topic, state.to_json(), qos=topics.QOS_STATE, retain=True)
        self.publish_timeline()
        self._publish_telemetry()

    def publish_timeline(self) -> None:
        """Report the staged (not started, unexpired) plays, QoS 1, not retained.

        The earliest ones only, at most 1000 and no more than fit in one payload the
        controller accepts (64 KiB, roughly 450 entries); the rest are reported once the
        earlier ones have played.
        """
        staged = self.timeline.report()
        relays = self.timeline.report_relays()
        payload = NodeTimeline(node=self.node_id, at=self.clock.now(), staged=staged, relays=relays).to_json()
        if len(payload) > MAX_PAYLOAD_BYTES:
            keep = int(len(staged) * MAX_PAYLOAD_BYTES * 0.95 / len(payload))
            while True:
                payload = NodeTimeline(node=self.node_id, at=self.clock.now(), staged=staged[:keep], relays=relays[:50]).to_json()
                if len(payload) <= MAX_PAYLOAD_BYTES or keep == 0:
                    break
                keep = int(keep * 0.9)
            log.warning("timeline report lists the earliest %d of %d staged plays", keep, len(staged))
        self.link.publish(self._timeline_topic, payload, qos=1)

    def _publish_telemetry(self) -> None:
        if self.link.connected.is_set():  # QoS 0: a report made offline is worthless later
            self.link.publish(topics.node_telemetry(self.node_id), self.telemetry().to_json(), qos=topics.QOS_TELEMETRY)

    def _event(
        self, cmd: str, announcement: int | None, kind: EventKind, detail: str | None = None, relay: str | None = None,
        at: datetime | None = None,
    ) -> None:
        event = NodeEvent(
            node=self.node_id, cmd=cmd, announcement=announcement, event=kind, at=at or self.clock.now(),
            detail=detail[:500] if detail else None, relay=relay,
        )
        self.link.publish(self._events_topic, event.to_json(), qos=topics.QOS_EVENT)

    def _on_command(self, topic: str, payload: bytes) -> None:
        decision = self.guard.check(topic, payload)
        cmd = decision.command
        if cmd is None or decision.verdict in (Verdict.REJECT, Verdict.IGNORE):
            return
        if decision.verdict is Verdict.EXPIRED:
            if cmd.play is not None:
                self._event(cmd.id, cmd.play.announcement, EventKind.EXPIRED, "arrived after expires_at")
            elif cmd.relay is not None or cmd.control is not None:  # a technician's command: say so too
                relay = cmd.relay.relay_id if cmd.relay is not None else None
                self._event(cmd.id, None, EventKind.EXPIRED, "arrived after expires_at", relay=relay)
            else:
                log.info("%s command %s arrived expired; not acting on it", cmd.kind.value, cmd.id)
            return
        self._accept(cmd)

    def _accept(self, cmd: Command) -> None:
        if cmd.kind is CommandKind.CONTROL and cmd.control is not None:
            self.control.handle(cmd)
            if self.link.connected.is_set():  # the dashboard shows the new volume at once
                self._publish_telemetry()
            return
        if cmd.kind is CommandKind.CANCEL and cmd.cancel is not None:
            self._cancel(cmd)
            return
        if cmd.kind is CommandKind.STOP and cmd.stop is not None:
            detail = cmd.stop.reason or "stopped by operator"
            stopped = self.timeline.stop_current(detail)
            if stopped is None:
                log.info("stop command %s: nothing is playing", cmd.id)
            else:
                log.info("stop command %s: stopping %s (%s)", cmd.id, stopped.cmd, stopped.label)
            return
        relay = cmd.kind is CommandKind.RELAY and cmd.relay is not None
        if not relay and (cmd.kind is not CommandKind.PLAY or cmd.play is None):
            log.warning("command %s of kind %s is not supported by this agent", cmd.id, cmd.kind)
            return
        play = StagedPlay.from_command(cmd)
        inline = play.audio if play.audio is not None and play.audio.data is not None else None
        if inline is not None:  # inline audio goes to the cache once, never into timeline.json
            play = play.model_copy(update={"audio": inline.without_data()})
        if play.occurrence is not None and self.timeline.occurrence_state(play.occurrence) in ("playing", "done"):
            log.info("ignoring %s: occurrence %s is playing or has played", cmd.id, play.occurrence)
            return
        log.info("accepted %s: %s at %s (%s)", cmd.id, play.label, play.play_at.isoformat(), play.priority)
        self._event(play.cmd, play.announcement, EventKind.RECEIVED, relay=play.relay)
        self._stage(play, inline=inline)

    def _cancel(self, cmd: Command) -> None:
        order = cmd.cancel
        assert order is not None
        affected = self.timeline.cancel(order.announcement, order.occurrences, f"cancelled by command {cmd.id}")
        if affected:
            log.info("cancel %s withdrew %s", cmd.id, ", ".join(p.cmd for p in affected))
        else:
            log.info(
                "cancel %s matched nothing (announcement %s, occurrences %s)", cmd.id, order.announcement, order.occurrences
            )
        if self.link.connected.is_set():  # offline, the next connect reports anyway
            self.publish_timeline()

    # -- staging and downloads ------------------------------------------------------------

    def _pin(self, play: StagedPlay) -> None:
        if play.audio is None:  # a relay: nothing cached
            return
        with self._pin_lock:
            if play.cmd not in self._pinned:
                self._pinned.add(play.cmd)
                self.cache.pin(play.audio.sha256)

    def _unpin(self, play: StagedPlay) -> None:
        if play.audio is None:
            return
        with self._pin_lock:
            if play.cmd in self._pinned:
                self._pinned.discard(play.cmd)
                self.cache.unpin(play.audio.sha256)

    def _stage(self, play: StagedPlay, restored: bool = False, inline: AudioRef | None = None) -> None:
        self._pin(play)  # before staging: the timeline may expire it (and unpin) at once
        result = self.timeline.stage(play, restored=restored)
        if not result:
            if result.outcome is not StageOutcome.DUPLICATE:
                # Only in a race with the play of the same occurrence starting just now.
                log.info("not staging %s: %s (occurrence %s)", play.cmd, result.outcome.value, play.occurrence)
                self._unpin(play)
                self._event(play.cmd, play.announcement, EventKind.CANCELLED, f"occurrence {play.occurrence} already played",
                            relay=play.relay)
            return
        if result.replaced is not None:
            old = result.replaced
            log.info("%s replaces staged %s (occurrence %s)", play.cmd, old.cmd, play.occurrence)
            self._unpin(old)
            self._event(old.cmd, old.announcement, EventKind.CANCELLED, f"replaced by command {play.cmd} (same occurrence)",
                        relay=old.relay)
        if play.audio is None:  # a relay: a live stream, nothing to fetch
            self.timeline.ready(play.cmd, RELAY_PATH)
            return
        if play.audio.url == TONE_URL:  # a test tone: generated here, nothing to fetch
            self.timeline.ready(play.cmd, self.control.tone_path())
            return
        path = self.cache.get(play.audio.sha256) or (self.fetcher.store_inline(inline) if inline else None)
        if path is not None:
            self.timeline.ready(play.cmd, path)
        elif self._downloads is None or not self._downloads.submit(lambda: self._download(play)):
            log.info("not downloading %s: agent stopping", play.cmd)

    def _download(self, play: StagedPlay) -> None:
        if not self.timeline.is_staged(play.cmd) or play.audio is None:
            return
        try:
            path = self.fetcher.fetch(play.audio, self._stopping)
        except FetchError as exc:
            if self._stopping.is_set():
                return  # stays staged in timeline.json; the next start tries again
            log.warning("play %s: %s", play.cmd, exc)
            self.timeline.fail(play.cmd, str(exc))
            return
        self.timeline.ready(play.cmd, path)

    def _on_timeline_event(
        self, play: StagedPlay, kind: EventKind, detail: str | None, at: datetime | None = None
    ) -> None:
        # A preempted play may be back on the timeline (restart policy): keep its pin.
        if kind in TERMINAL_EVENTS and not self.timeline.is_staged(play.cmd):
            self._unpin(play)
        self._event(play.cmd, play.announcement, kind, detail, relay=play.relay, at=at)


__all__ = ["Agent", "load_verifier", "make_player"]
