"""The speaker agent: wires guard, fetch, cache, timeline, player and health to MQTT.

An `Agent` is a plain object - no globals, no signal handling - so the CLI runs one per
process while a benchmark can run a hundred in one. `start()` connects with a
persistent session (QoS 1 commands sent while the node was offline arrive when it
returns) and a retained `offline` last will; every (re)connect re-announces `online`.
Commands are handled on paho's network thread only as far as checking and staging
them; downloads run in a small pool and plays on the timeline's threads, so a slow
server never delays the next command.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import TracebackType

from protocol import topics
from protocol.commands import Command, CommandKind
from protocol.link import LinkOptions, MqttLink, Will
from protocol.reports import TERMINAL_EVENTS, EventKind, NodeEvent, NodeState, NodeStatus, Telemetry
from protocol.signing import Verifier, load_public_key
from speaker_agent import agent_version
from speaker_agent.cache import Cache
from speaker_agent.clock import Clock, SystemClock
from speaker_agent.config import AgentSettings, ConfigError
from speaker_agent.fetch import FetchError, Fetcher
from speaker_agent.guard import Guard, Verdict
from speaker_agent.health import HealthReporter, HealthSources, collect
from speaker_agent.player import AlsaPlayer, FileSinkPlayer, Player
from speaker_agent.timeline import StagedPlay, Timeline
from speaker_agent.workers import WorkerPool

log = logging.getLogger(__name__)


def load_verifier(settings: AgentSettings) -> Verifier:
    """A verifier trusting the controller keys in settings.public_key_files."""
    if not settings.public_key_files:
        raise ConfigError("public_key_files is empty: the agent needs the controller's public key")
    keys = []
    for path in settings.public_key_files:
        try:
            keys.append(load_public_key(Path(path)))
        except OSError as exc:
            raise ConfigError(f"cannot read public key {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"public key {path} is unusable: {exc}") from None
    return Verifier(keys)


def make_player(settings: AgentSettings, clock: Clock) -> Player:
    if settings.player.backend == "alsa":
        return AlsaPlayer(device=settings.player.alsa_device, volume=settings.volume)
    return FileSinkPlayer(settings.state_dir, node_id=settings.node_id, realtime=settings.player.realtime, clock=clock)


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
    ) -> None:
        """Raises ConfigError when keys or the password file cannot be used."""
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
        self._state_topic = topics.node_state(self.node_id)
        self._events_topic = topics.node_events(self.node_id)
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
                self._stage(play)
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
            volume=lambda: self.settings.volume,
        )
        return collect(self.node_id, self.version, self.clock, self._started_monotonic, self.settings.state_dir, sources)

    def _cache_figures(self) -> tuple[int, int]:
        stats = self.cache.stats()
        return stats.bytes, stats.files

    # -- MQTT side ----------------------------------------------------------------------

    def _announce_online(self) -> None:
        """On every (re)connect: retained `online`, and a fresh health report right away."""
        state = NodeState(state=NodeStatus.ONLINE, at=self.clock.now(), agent_version=self.version)
        self.link.publish(self._state_topic, state.to_json(), qos=topics.QOS_STATE, retain=True)
        self._publish_telemetry()

    def _publish_telemetry(self) -> None:
        if self.link.connected.is_set():  # QoS 0: a report made offline is worthless later
            self.link.publish(topics.node_telemetry(self.node_id), self.telemetry().to_json(), qos=topics.QOS_TELEMETRY)

    def _event(self, cmd: str, announcement: int | None, kind: EventKind, detail: str | None = None) -> None:
        event = NodeEvent(
            node=self.node_id, cmd=cmd, announcement=announcement, event=kind, at=self.clock.now(),
            detail=detail[:500] if detail else None,
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
            return
        self._accept(cmd)

    def _accept(self, cmd: Command) -> None:
        if cmd.kind is not CommandKind.PLAY or cmd.play is None:
            log.warning("command %s of kind %s is not supported by this agent", cmd.id, cmd.kind)
            return
        play = StagedPlay.from_command(cmd)
        log.info(
            "accepted %s: announcement %d at %s (%s)", cmd.id, play.announcement, play.play_at.isoformat(), play.priority
        )
        self._event(play.cmd, play.announcement, EventKind.RECEIVED)
        self._stage(play)

    # -- staging and downloads ------------------------------------------------------------

    def _stage(self, play: StagedPlay) -> None:
        sha = play.audio.sha256
        self.cache.pin(sha)  # before staging: the timeline may expire it (and unpin) at once
        if not self.timeline.stage(play):
            self.cache.unpin(sha)
            return
        path = self.cache.get(sha)
        if path is not None:
            self.timeline.ready(play.cmd, path)
        elif self._downloads is None or not self._downloads.submit(lambda: self._download(play)):
            log.info("not downloading %s: agent stopping", play.cmd)

    def _download(self, play: StagedPlay) -> None:
        if not self.timeline.is_staged(play.cmd):
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

    def _on_timeline_event(self, play: StagedPlay, kind: EventKind, detail: str | None) -> None:
        if kind in TERMINAL_EVENTS:
            self.cache.unpin(play.audio.sha256)
        self._event(play.cmd, play.announcement, kind, detail)


__all__ = ["Agent", "load_verifier", "make_player"]
