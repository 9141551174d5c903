"""The Loa controller: REST API, SQLModel store, dispatch of signed commands, fleet view.

Nothing is built at import time. `controller.app.create_app(settings)` builds the
engine, the MQTT link, the scheduler and the audio pipeline inside the app's lifespan,
so importing any module here (tests, `loa demo`, Alembic later) has no side effects.
"""
