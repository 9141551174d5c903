"""`loa controller serve | init-db`: run the controller or prepare its database.

`main(argv)` takes the arguments after `loa controller`. Settings come from `LOA_*`
environment variables; a configuration problem prints one line and exits with 2.

`serve` runs exactly one uvicorn worker in this process, on purpose: the worker owns
the dispatcher's MQTT session (one client id) and the expiry scheduler, and two of
either would duplicate sweeps and fight over the broker session. Scale by giving a
province its own controller, not by adding workers.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loa controller", description="Run or set up the Loa controller.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API, dispatcher and fleet ingestion (settings from LOA_*)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help="default info"
    )
    sub.add_parser("init-db", help="create or upgrade the database schema (migrations; idempotent) and exit")
    return parser


def _load_settings():  # -> ControllerSettings, imported lazily with the controller's dependencies
    from controller.settings import ControllerSettings

    return ControllerSettings()  # type: ignore[call-arg]  # state_dir comes from LOA_STATE_DIR


def _fail(message: str) -> int:
    print(f"loa controller: {message}", file=sys.stderr)
    return EXIT_CONFIG


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from controller.settings import describe_error

    try:
        settings = _load_settings()
    except ValidationError as exc:
        return _fail(f"configuration error: {describe_error(exc)}")
    if args.command == "init-db":
        return _init_db(settings)
    return _serve(settings, args.host, args.port, args.log_level)


def _init_db(settings) -> int:
    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from controller.db import init_db, make_engine

    try:
        engine = make_engine(settings)
        try:
            init_db(engine)
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"cannot initialise the database: {exc}".splitlines()[0])
    print(f"database ready: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    return 0


def _serve(settings, host: str, port: int, log_level: str) -> int:
    import uvicorn

    from controller.app import ConfigError, create_app, preflight

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every sweep run at INFO (every few seconds); keep its warnings only.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        preflight(settings)
    except ConfigError as exc:
        return _fail(str(exc))
    # The app object (not an import string) and no `workers`: one process, see module docstring.
    # Open live streams (the fleet dashboard's server-sent events) would otherwise hold
    # shutdown until they end on their own; 5 s lets normal requests finish.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
