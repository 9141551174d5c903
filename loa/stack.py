"""A whole Loa system on one machine: Mosquitto, the controller and speaker agents.

`loa demo`, the integration tests and the benchmarks all bring the system up through
this one class, so what the tests exercise is exactly what a new user runs.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from subprocess import Popen
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protocol.link import MqttLink

from loa import procs
from loa.broker import BrokerConfig, Mosquitto, free_port, hash_password, wait_port

log = logging.getLogger(__name__)

CONTROLLER_MQTT_USER = "loa-controller"


@dataclass(frozen=True)
class ZoneSpec:
    id: str
    name: str
    kind: str
    parent_id: str | None = None


@dataclass(frozen=True)
class NodeSpec:
    id: str
    name: str
    zone_id: str


DEMO_ZONES = (
    ZoneSpec("xa-an-binh", "Xã An Bình", "commune"),
    ZoneSpec("thon-dong", "Thôn Đông", "hamlet", "xa-an-binh"),
    ZoneSpec("thon-tay", "Thôn Tây", "hamlet", "xa-an-binh"),
)
DEMO_WEB_USERS = (
    ("admin", "admin", "Quản trị viên (demo)"),
    ("lanh-dao", "leader", "Chủ tịch xã (demo)"),
    ("bien-tap", "editor", "Cán bộ văn hóa – thông tin (demo)"),
    ("ky-thuat", "technician", "Kỹ thuật viên (demo)"),
    ("xem", "viewer", "Người xem (demo)"),
)
"""(username, role, display name) of the demo's web logins, one per role."""
DEMO_NODES = (
    NodeSpec("thon-dong-1", "Cụm loa nhà văn hóa thôn Đông", "thon-dong"),
    NodeSpec("thon-dong-2", "Cụm loa chợ thôn Đông", "thon-dong"),
    NodeSpec("thon-tay-1", "Cụm loa nhà văn hóa thôn Tây", "thon-tay"),
)


@dataclass
class StackOptions:
    state_dir: Path
    http_port: int = 0
    """0 picks a free loopback port."""
    mqtt_port: int = 0
    token: str | None = None
    zones: tuple[ZoneSpec, ...] = DEMO_ZONES
    nodes: tuple[NodeSpec, ...] = DEMO_NODES
    keepalive_s: int = 10
    telemetry_interval_s: float = 30
    realtime_playback: bool = True
    play_lead_s: float = 3.0
    controller_env: dict[str, str] = field(default_factory=dict)
    agent_overrides: dict[str, object] = field(default_factory=dict)


class Stack:
    def __init__(self, options: StackOptions) -> None:
        self.opt = options
        self.dir = options.state_dir.resolve()
        self.broker: Mosquitto | None = None
        self.controller: Popen | None = None
        self.agents: dict[str, Popen] = {}
        self.secrets: dict = {}

    # -- set-up -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.secrets['http_port']}"

    @property
    def token(self) -> str:
        return self.secrets["token"]

    @property
    def mqtt_port(self) -> int:
        return self.secrets["mqtt_port"]

    def controller_link(self, name: str, *, keepalive: int = 5) -> "MqttLink":
        """A non-persistent MQTT link under the controller's broker account (not started):
        what benchmarks and tests use to watch or publish as the controller does."""
        import uuid

        from protocol.link import LinkOptions, MqttLink

        return MqttLink(
            LinkOptions(
                host="127.0.0.1",
                port=self.mqtt_port,
                client_id=f"{name}-{uuid.uuid4().hex[:8]}",
                username=CONTROLLER_MQTT_USER,
                password=self.secrets["controller_mqtt_password"],
                persistent_session=False,
                keepalive=keepalive,
            )
        )

    def prepare(self) -> None:
        """Make keys, credentials, the database, broker and agent configs (reused if present)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        secrets_path = self.dir / "secrets.json"
        if secrets_path.exists():
            self.secrets = json.loads(secrets_path.read_text())
        else:
            self.secrets = {"token": None, "controller_mqtt_password": secrets.token_urlsafe(24), "nodes": {}}
        if self.opt.token:
            self.secrets["token"] = self.opt.token
        self.secrets["token"] = self.secrets.get("token") or secrets.token_urlsafe(24)
        self.secrets["http_port"] = self.opt.http_port or self.secrets.get("http_port") or free_port()
        self.secrets["mqtt_port"] = self.opt.mqtt_port or self.secrets.get("mqtt_port") or free_port()
        keys = self.dir / "keys"
        if not (keys / "controller.key").exists():
            from protocol.signing import generate_keypair

            generate_keypair(keys / "controller.key", keys / "controller.pub")
        self._seed_database()
        _write_private_json(secrets_path, self.secrets)
        for node in self.opt.nodes:
            self._write_agent_config(node)

    def controller_env(self) -> dict[str, str]:
        env = {
            "LOA_MODE": "development",
            "LOA_STATE_DIR": str(self.dir / "controller"),
            "LOA_PUBLIC_URL": self.url,
            "LOA_API_TOKENS": json.dumps([self.token]),
            "LOA_MQTT_HOST": "127.0.0.1",
            "LOA_MQTT_PORT": str(self.mqtt_port),
            "LOA_MQTT_USERNAME": CONTROLLER_MQTT_USER,
            "LOA_MQTT_PASSWORD": self.secrets["controller_mqtt_password"],
            "LOA_MQTT_KEEPALIVE": str(self.opt.keepalive_s),
            "LOA_SIGNING_KEY_FILE": str(self.dir / "keys" / "controller.key"),
            "LOA_PLAY_LEAD_S": str(self.opt.play_lead_s),
        }
        env.update(self.opt.controller_env)
        return env

    def _controller_settings(self):
        from controller.settings import ControllerSettings

        env = self.controller_env()
        return ControllerSettings(
            **{k.removeprefix("LOA_").lower(): (json.loads(v) if k == "LOA_API_TOKENS" else v) for k, v in env.items()}
        )

    def _seed_database(self) -> None:
        from sqlmodel import Session

        from controller import db, provision
        from controller.models import Node, Zone

        settings = self._controller_settings()
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        engine = db.make_engine(settings)
        try:
            db.init_db(engine)
            with Session(engine) as session:
                for z in self.opt.zones:
                    if session.get(Zone, z.id) is None:
                        provision.create_zone(session, z.id, z.name, z.kind, z.parent_id)
                for n in self.opt.nodes:
                    if session.get(Node, n.id) is None or n.id not in self.secrets["nodes"]:
                        if (old := session.get(Node, n.id)) is not None:
                            session.delete(old)
                            session.commit()
                        _, password = provision.create_node(session, n.id, n.name, n.zone_id)
                        self.secrets["nodes"][n.id] = {"password": password}
                    self.secrets["nodes"][n.id]["zones"] = provision.zone_chain(session, n.zone_id)
                users = provision.broker_users(
                    session, CONTROLLER_MQTT_USER, hash_password(self.secrets["controller_mqtt_password"])
                )
            if settings.is_development:
                self._seed_web_users(engine)
        finally:
            engine.dispose()
        self.broker = Mosquitto(BrokerConfig(port=self.mqtt_port, directory=self.dir / "broker", users=users))

    def _seed_web_users(self, engine) -> None:
        """One web login per role with a random password (kept in secrets.json, printed by
        `loa demo`). Development mode only: a production controller has no built-in logins."""
        from sqlmodel import Session

        from controller.accounts import users

        known: dict[str, str] = self.secrets.setdefault("web_users", {})
        now = datetime.now(UTC)
        with Session(engine) as session:
            for username, role, display_name in DEMO_WEB_USERS:
                if username in known and users.get_user(session, username) is not None:
                    continue
                known[username] = secrets.token_urlsafe(12)
                if users.get_user(session, username) is None:
                    users.add_user(session, username=username, display_name=display_name, role=role,
                                   password=known[username], now=now, actor="loa-demo")
                else:
                    users.set_password(session, username, known[username], now=now, actor="loa-demo")

    @property
    def web_users(self) -> dict[str, str]:
        """Demo logins, username -> password (empty outside development mode)."""
        return dict(self.secrets.get("web_users", {}))

    def agent_config_path(self, node_id: str) -> Path:
        return self.dir / "nodes" / node_id / "agent.toml"

    def agent_settings(self, node_id: str, **overrides):
        """AgentSettings for a node, for running agents inside this process (benchmarks)."""
        from speaker_agent.config import AgentSettings

        node = self.secrets["nodes"][node_id]
        values = {
            "node_id": node_id,
            "zones": node["zones"],
            "state_dir": self.dir / "nodes" / node_id / "state",
            "public_key_files": [self.dir / "keys" / "controller.pub"],
            "telemetry_interval_s": self.opt.telemetry_interval_s,
            "mqtt": {
                "host": "127.0.0.1",
                "port": self.mqtt_port,
                "username": node_id,
                "password": node["password"],
                "keepalive": self.opt.keepalive_s,
            },
            "player": {"backend": "file", "realtime": self.opt.realtime_playback},
        }
        values.update(self.opt.agent_overrides)
        values.update(overrides)
        return AgentSettings(**values)

    def _write_agent_config(self, node: NodeSpec) -> None:
        from speaker_agent.config import write_settings

        write_settings(self.agent_settings(node.id), self.agent_config_path(node.id))

    # -- processes ----------------------------------------------------------------------

    def start_broker(self) -> None:
        if self.broker is None:
            raise RuntimeError("Stack.prepare() must run before the broker starts")
        self.broker.start()

    def start_controller(self, timeout: float = 60.0) -> None:
        argv = [sys.executable, "-m", "loa.cli", "controller", "serve", "--host", "127.0.0.1",
                "--port", str(self.secrets["http_port"])]
        self.controller = procs.spawn(argv, self.dir / "logs" / "controller.log", self.controller_env())
        if not wait_port("127.0.0.1", self.secrets["http_port"], timeout) or self.controller.poll() is not None:
            raise RuntimeError(f"controller did not start; see {self.dir / 'logs' / 'controller.log'}")

    def start_agent(self, node_id: str) -> Popen:
        argv = [sys.executable, "-m", "loa.cli", "agent", "run", "--config", str(self.agent_config_path(node_id))]
        proc = procs.spawn(argv, self.dir / "logs" / f"agent-{node_id}.log")
        self.agents[node_id] = proc
        return proc

    def stop_agent(self, node_id: str, *, kill: bool = False) -> None:
        procs.stop(self.agents.pop(node_id, None), kill=kill)

    def start(self, *, agents: bool = True) -> None:
        self.prepare()
        self.start_broker()
        self.start_controller()
        if agents:
            for node in self.opt.nodes:
                self.start_agent(node.id)

    def stop(self) -> None:
        for node_id in list(self.agents):
            self.stop_agent(node_id)
        procs.stop(self.controller)
        self.controller = None
        if self.broker is not None:
            self.broker.stop()

    def __enter__(self) -> "Stack":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- convenience --------------------------------------------------------------------

    def api(self):
        import httpx

        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)

    def wait_nodes_online(self, node_ids: list[str] | None = None, timeout: float = 30.0, online: bool = True) -> float:
        """Poll the controller until the nodes show the wanted state; return seconds waited."""
        wanted = set(node_ids or [n.id for n in self.opt.nodes])
        start = time.monotonic()
        with self.api() as api:
            while time.monotonic() - start < timeout:
                items = api.get("/api/v1/nodes").json()["items"]
                if all(n["online"] is online for n in items if n["id"] in wanted) and wanted <= {n["id"] for n in items}:
                    return time.monotonic() - start
                time.sleep(0.1)
        raise TimeoutError(f"nodes {sorted(wanted)} not {'online' if online else 'offline'} after {timeout}s")

    def plays(self, node_id: str) -> list[dict]:
        path = self.dir / "nodes" / node_id / "state" / "plays.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_private_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


__all__ = ["DEMO_NODES", "DEMO_WEB_USERS", "DEMO_ZONES", "NodeSpec", "Stack", "StackOptions", "ZoneSpec", "wait_port"]
