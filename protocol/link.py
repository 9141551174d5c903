"""The MQTT link both sides use: connect, reconnect with bounded backoff, resubscribe.

It is the "small transport" of the design: callers only `subscribe`, `publish` and
`stop`, so nothing else in the code base touches paho. Subscriptions and the
"announce myself" hooks are replayed in `on_connect`, because a broker that restarted
(or a clean session) has forgotten them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

Handler = Callable[[str, bytes], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass
class LinkOptions:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    persistent_session: bool = True
    """Keep the session (and QoS 1 messages queued while offline) across disconnects."""
    session_expiry_s: int = 7 * 24 * 3600
    backoff_min_s: float = 1.0
    backoff_max_s: float = 30.0
    tls_ca_file: str | None = None
    will: Will | None = None
    on_connected: list[Callable[[], None]] = field(default_factory=list)
    on_disconnected: list[Callable[[], None]] = field(default_factory=list)


class MqttLink:
    def __init__(self, options: LinkOptions) -> None:
        self.options = options
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        """Set once the broker has answered the subscriptions made on the current connection."""
        self._sub_mid: int | None = None
        self._subs: dict[str, tuple[int, Handler]] = {}
        self._lock = threading.Lock()
        self._started = False
        self._stopping = False
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=True,
        )
        if options.username is not None:
            client.username_pw_set(options.username, options.password)
        if options.tls_ca_file:
            client.tls_set(ca_certs=options.tls_ca_file)
        if options.will is not None:
            w = options.will
            client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
        client.reconnect_delay_set(min_delay=max(1, int(options.backoff_min_s)), max_delay=int(options.backoff_max_s))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client

    # -- public -----------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Register a handler; it is (re)subscribed on every connect."""
        with self._lock:
            self._subs[topic_filter] = (qos, handler)
        if self.connected.is_set():
            self._client.subscribe(topic_filter, qos=qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Queue a message; QoS >= 1 messages published while offline go out on reconnect."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def start(self) -> None:
        props = None
        if self.options.persistent_session:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.options.session_expiry_s
        self._client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive,
            clean_start=not self.options.persistent_session,
            properties=props,
        )
        self._client.loop_start()
        self._started = True

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self, final: tuple[str, bytes, bool] | None = None) -> None:
        """Disconnect cleanly, optionally publishing one last retained message first."""
        if not self._started:
            return
        self._stopping = True
        if final is not None and self.connected.is_set():
            info = self._client.publish(final[0], final[1], qos=1, retain=final[2])
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False
        self._stopping = False
        self.connected.clear()

    # -- paho callbacks (run on paho's network thread) ----------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.options.host, self.options.port, reason_code)
            return
        with self._lock:
            subs = [(topic_filter, qos) for topic_filter, (qos, _) in self._subs.items()]
        self.subscribed.clear()
        if subs:
            _, self._sub_mid = client.subscribe(subs)
        else:
            self.subscribed.set()
        self.connected.set()
        log.info("MQTT connected to %s:%s as %s", self.options.host, self.options.port, self.options.client_id)
        for hook in self.options.on_connected:
            self._safely(hook)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if mid != self._sub_mid:
            return
        for code in reason_codes:
            if code.is_failure:
                # Typically the ACL: a node configured for a zone the broker does not grant.
                log.error("MQTT subscription refused by the broker: %s", code)
        self.subscribed.set()

    def wait_subscribed(self, timeout: float) -> bool:
        return self.subscribed.wait(timeout)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        self.subscribed.clear()
        if was and not self._stopping:
            log.warning("MQTT disconnected (%s); reconnecting with backoff", reason_code)
            for hook in self.options.on_disconnected:
                self._safely(hook)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            subs = list(self._subs.items())
        for topic_filter, (_, handler) in subs:
            if mqtt.topic_matches_sub(topic_filter, message.topic):
                self._safely(handler, message.topic, message.payload)

    @staticmethod
    def _safely(fn: Callable, *args) -> None:
        # A handler that raises must not kill paho's network thread.
        try:
            fn(*args)
        except Exception:
            log.exception("handler %r failed", getattr(fn, "__qualname__", fn))
