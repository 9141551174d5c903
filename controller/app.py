"""The FastAPI application: `create_app(settings)` wires everything inside its lifespan.

Nothing is created at import time or in `create_app` itself: the engine, the audio
pipeline (over the engine `LOA_TTS_ENGINE` selects, with the lexicon and normaliser
as its text filter), the signer, the MQTT link and the scheduler are built when the
app starts and closed, in reverse order, when it stops. Tests inject a fake pipeline
(or a fake speech engine under the real pipeline), publisher and clock; production
gets the real ones.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from controller.alerts import add_alert_job
from controller.announce import AnnouncementError, Announcer, Renderer
from controller.context import AppContext
from controller.db import SchemaError, init_db, make_engine
from controller.dispatch import Clock, Publisher
from controller.dispatcher import Dispatcher, add_dispatch_job
from controller.engines import build_engine, voice_catalogue
from controller.fleet import FleetIngest, make_scheduler
from controller.lexicon.compiled import LexiconCache
from controller.live import LiveHub
from controller.reconcile import Reconciler
from controller.lexicon.store import LexiconError
from controller.settings import ControllerSettings
from protocol.base import utcnow
from protocol.link import LinkOptions, MqttLink
from protocol.signing import Signer, load_private_key

if TYPE_CHECKING:
    from audio.engines.base import SpeechEngine

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


class ConfigError(RuntimeError):
    """The controller cannot start with this configuration; the message says how to fix it."""


def load_signer(settings: ControllerSettings) -> Signer:
    path = settings.signing_key_file
    if path is None or not path.is_file():
        raise ConfigError(
            f"signing key {path} not found: make one with `loa keys --private {path} --public controller.pub` "
            "and copy the public key to every node"
        )
    try:
        return Signer(load_private_key(path))
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"signing key {path} is unusable: {exc}") from None


def load_speech_engine(settings: ControllerSettings) -> SpeechEngine:
    """The configured speech engine, or ConfigError saying what to fix (a Piper file, a key)."""
    from audio.errors import EngineError

    try:
        return build_engine(settings)
    except EngineError as exc:
        raise ConfigError(f"speech engine {settings.tts_engine!r} cannot be used: {exc}") from None


def preflight(settings: ControllerSettings) -> None:
    """Fail fast (before binding a port) on what the lifespan would trip over."""
    load_signer(settings)
    load_speech_engine(settings).close()  # builds nothing heavy: workers start on first use
    if not settings.api_tokens:
        log.warning("no API tokens configured: the REST API is open (development mode only)")


def _start(
    settings: ControllerSettings,
    pipeline: Renderer | None,
    speech_engine: SpeechEngine | None,
    publisher: Publisher | None,
    clock: Clock,
) -> AppContext:
    from audio.store import AudioStore

    with ExitStack() as stack:
        signer = load_signer(settings)
        engine = make_engine(settings)
        stack.callback(engine.dispose)
        try:
            init_db(engine)
        except SchemaError as exc:
            raise ConfigError(str(exc)) from None
        lexicon = LexiconCache(engine)
        audio_dir = settings.audio_dir or settings.state_dir / "audio"
        audio_dir.mkdir(parents=True, exist_ok=True)
        if pipeline is None:
            from controller.speech import build_speech_pipeline

            speech = speech_engine if speech_engine is not None else load_speech_engine(settings)
            built = build_speech_pipeline(audio_dir, speech, lexicon.apply)
            stack.callback(built.close)
            pipeline = built
        voices = voice_catalogue(pipeline.voices, getattr(pipeline, "engine", None))
        hub = LiveHub()
        fleet = FleetIngest(
            engine, clock, hub=hub, queue_max=settings.ingest_queue_max, batch_max=settings.ingest_batch_max
        )
        if publisher is None:
            link = MqttLink(
                LinkOptions(
                    host=settings.mqtt_host,
                    port=settings.mqtt_port,
                    client_id=settings.mqtt_client_id,
                    username=settings.mqtt_username,
                    password=settings.mqtt_password.get_secret_value() or None,
                    keepalive=settings.mqtt_keepalive,
                    persistent_session=True,
                )
            )
            # The reconciler publishes through the link itself; paho queues until connected.
            fleet.reconciler = Reconciler(settings, engine, signer, link, clock)
            fleet.start()  # the ingest worker; stopped after the link (callbacks run in reverse)
            stack.callback(fleet.stop)
            fleet.attach(link)  # before start: subscriptions are (re)made on every connect
            link.start()
            stack.callback(link.stop)
            publisher = link
        else:
            fleet.reconciler = Reconciler(settings, engine, signer, publisher, clock)
        dispatcher = Dispatcher(settings=settings, engine=engine, signer=signer, publisher=publisher, clock=clock)
        stack.callback(dispatcher.close)  # releases the lease after the scheduler stopped
        scheduler = make_scheduler(settings, engine, clock)
        add_dispatch_job(scheduler, dispatcher, settings.dispatch_interval_s)
        stack.callback(add_alert_job(scheduler, settings, engine, clock).close)  # offline alerts (issue 5)
        scheduler.start()
        stack.callback(scheduler.shutdown)
        announcer = Announcer(
            settings=settings,
            engine=engine,
            renderer=pipeline,
            signer=signer,
            publisher=publisher,
            clock=clock,
            voices=voices,
            dispatcher=dispatcher,
        )
        ctx = AppContext(
            settings=settings,
            engine=engine,
            announcer=announcer,
            fleet=fleet,
            publisher=publisher,
            audio_store=AudioStore(audio_dir),
            clock=clock,
            lexicon=lexicon,
            voices=voices,
            dispatcher=dispatcher,
            resources=stack.pop_all(),
            hub=hub,
        )
    log.info("controller started (%s mode, signing key %s, %d voice(s))", settings.mode, signer.kid, len(voices))
    return ctx


def create_app(
    settings: ControllerSettings,
    *,
    pipeline: Any | None = None,
    speech_engine: SpeechEngine | None = None,
    publisher: Publisher | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The controller app. `pipeline`, `publisher` and `clock` replace the real ones in tests.

    `speech_engine` replaces only the engine the settings select: the real pipeline,
    lexicon and normaliser still run (and the pipeline closes the engine at shutdown).

    Without `publisher` the app connects its own MQTT link (and ingests node reports
    through it); with one, it only publishes there and node reports can be fed to
    `app.state.ctx.fleet` directly.
    """
    now = clock or utcnow
    from controller.accounts.users import warn_if_no_admin

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await run_in_threadpool(_start, settings, pipeline, speech_engine, publisher, now)
        app.state.ctx = ctx
        await run_in_threadpool(warn_if_no_admin, ctx.engine)  # the web app's first-admin hint
        try:
            yield
        finally:
            app.state.ctx = None
            await run_in_threadpool(ctx.close)

    from controller.api import alerts, announcements, audio, health, lexicon, nodes, recordings, relays, voices, zones
    from controller.api.deps import require_token

    app = FastAPI(
        title="Loa controller",
        summary="Commune smart radio: announcements, zones, speaker nodes.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_exception_handler(AnnouncementError, _domain_error)
    app.add_exception_handler(LexiconError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for module in (alerts, announcements, lexicon, nodes, recordings, relays, voices, zones):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=[Depends(require_token)])
    app.include_router(audio.router)
    app.include_router(health.router)
    from controller.web import install_web

    install_web(app)  # the web app for officials and technicians (pages, /static, /login)
    return app


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    """`{"detail": "reason"}` with the status the domain chose (404, 409, 422, 503), plus the
    machine `code` when the error has one (what the web pages translate)."""
    if not isinstance(exc, AnnouncementError | LexiconError):  # registered for these types only
        raise exc
    code = getattr(exc, "code", None)
    return JSONResponse({"detail": exc.detail, **({"code": code} if code else {})}, status_code=exc.status_code)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 without echoing the input back (it may be megabytes of text)."""
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"), "type": e.get("type", "value_error")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


__all__ = ["API_PREFIX", "ConfigError", "create_app", "load_signer", "load_speech_engine", "preflight"]
