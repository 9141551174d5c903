"""`loa tts normalize | say | voices`: the controller's speech pipeline on the command line.

`main(argv)` takes the arguments after `loa tts`. It builds exactly what the
controller builds — the engine `LOA_TTS_ENGINE` selects (with the espeak-ng
fallback), the officials' lexicon, the normaliser for the voice's region, the same
`AudioPipeline` — so what it prints or writes is what a commune would hear.

* `normalize TEXT [--voice V] [--engine E] [--no-lexicon]` prints the spoken form:
  one line on stdout and nothing else.
* `say TEXT -o FILE [--voice V] [--engine E] [--rate R] [--chime] [--no-lexicon]`
  writes the audio: `.opus`/`.ogg` exactly as the store keeps it (mono Opus,
  ~24 kbit/s), `.wav` (16-bit PCM) or `.mp3` converted by ffmpeg. It prints a
  one-line JSON summary on stdout: file, format, bytes, duration_ms, sha256 (of the
  stored Opus), voice, engine, spoken_text, fallback_reason, lexicon.
* `voices [--engine E] [--json]` lists the voices: `id<TAB>region<TAB>engine<TAB>label`
  per line, or `{"items": [...]}` as `GET /api/v1/voices` answers.

TEXT `-` reads standard input. Settings come from `LOA_*` like the controller's, but
nothing is required: with no environment, espeak-ng speaks and no lexicon is used.
The lexicon is read when `LOA_DATABASE_URL` or `LOA_STATE_DIR` names the
controller's database (`--no-lexicon` skips it). Audio is rendered into a temporary
store, never the controller's. Any error prints one line on stderr and exits 2.
While working, stdout is pointed at stderr (also for child processes), so no
library or engine chatter can get mixed into the result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import SettingsConfigDict

from controller.tts_settings import ENGINE_NAMES, ENV_PREFIX, TtsSettings

EXIT_ERROR = 2
FORMATS = {".opus": "opus", ".ogg": "opus", ".wav": "wav", ".mp3": "mp3"}
_FFMPEG_ARGS = {
    "wav": ["-ac", "1", "-c:a", "pcm_s16le", "-f", "wav"],
    "mp3": ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
}


class TtsCliSettings(TtsSettings):
    """The controller's speech settings, plus where its lexicon lives (both optional)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", env_file=None)

    state_dir: Path | None = Field(default=None, description="The controller's state directory (its `loa.db`).")
    database_url: str | None = Field(default=None, description="The controller's database; wins over state_dir.")

    def lexicon_url(self) -> str | None:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'loa.db'}" if self.state_dir is not None else None


class CliError(Exception):
    """A problem the user can fix; the message is the whole story."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loa tts", description="Vietnamese speech as the controller makes it.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, *, lexicon: bool = True) -> None:
        p.add_argument("--engine", choices=ENGINE_NAMES, help="engine to use instead of LOA_TTS_ENGINE")
        if lexicon:
            p.add_argument("--voice", help="voice id (see `loa tts voices`); default the engine's first voice")
            p.add_argument("--no-lexicon", action="store_true", help="do not apply the controller's lexicon")

    norm = sub.add_parser("normalize", help="print the text as it will be spoken (one line)")
    norm.add_argument("text", help="the announcement text, or - to read standard input")
    common(norm)
    say = sub.add_parser("say", help="write the spoken text as an audio file")
    say.add_argument("text", help="the announcement text, or - to read standard input")
    say.add_argument("-o", "--output", type=Path, required=True, help="file to write: .opus, .ogg, .wav or .mp3")
    say.add_argument("--rate", type=int, default=150, help="words per minute, 80..300 (default 150)")
    say.add_argument("--chime", action="store_true", help="start with the attention chime")
    common(say)
    voices = sub.add_parser("voices", help="list the voices of the configured engine(s)")
    voices.add_argument("--json", action="store_true", help='print {"items": [...]} like GET /api/v1/voices')
    common(voices, lexicon=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already explained on stderr)
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    from audio.errors import AudioError
    from controller.settings import describe_error

    try:
        settings = TtsCliSettings()
    except ValidationError as exc:
        return _fail(f"configuration error: {describe_error(exc)}")
    try:
        with _stdout_to_stderr():
            lines = _COMMANDS[args.command](args, settings)
    except (CliError, AudioError, OSError) as exc:
        return _fail(str(exc) or type(exc).__name__)
    for line in lines:
        print(line)
    return 0


def _fail(message: str) -> int:
    print(f"loa tts: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ERROR


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout meanwhile (Python or C, this process or its
    children) to stderr, so the command's result is the only thing on stdout."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 at all: nothing to protect
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


# --- commands -------------------------------------------------------------------------


def _normalize(args: argparse.Namespace, settings: TtsCliSettings) -> list[str]:
    with _pipeline(args, settings) as (pipeline, voice, _lexicon):
        spoken = pipeline.spoken_text(_text(args.text), voice)
    if not any(ch.isalnum() for ch in spoken):
        raise CliError("text is empty: there is nothing to say")
    return [spoken]


def _say(args: argparse.Namespace, settings: TtsCliSettings) -> list[str]:
    from audio.pipeline import RenderRequest

    out: Path = args.output
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise CliError(f"cannot write {out.suffix or 'files without an extension'}; use one of {', '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise CliError(f"directory {out.parent} does not exist")
    text = _text(args.text)
    with _pipeline(args, settings) as (pipeline, voice, lexicon):
        rendered = pipeline.render(RenderRequest(text=text, voice=voice, rate=args.rate, chime=args.chime))
        _write(rendered.path, out, fmt)
        engine_name = pipeline.engine.name
    summary: dict[str, Any] = {
        "file": str(out),
        "format": fmt,
        "bytes": out.stat().st_size,
        "duration_ms": rendered.duration_ms,
        "sha256": rendered.sha256,
        "voice": voice,
        "engine": engine_name,
        "spoken_text": rendered.spoken_text,
        "fallback_reason": getattr(rendered, "fallback_reason", None),
        "lexicon": lexicon,
    }
    return [json.dumps(summary, ensure_ascii=False)]


def _voices(args: argparse.Namespace, settings: TtsCliSettings) -> list[str]:
    from controller.engines import build_engine, voice_catalogue

    engine = build_engine(settings, engine=args.engine)
    try:
        catalogue = voice_catalogue(engine.voices, engine)
    finally:
        engine.close()
    if args.json:
        items = [{"id": v.id, "label": v.label, "region": v.region, "engine": v.engine} for v in catalogue]
        return [json.dumps({"items": items}, ensure_ascii=False)]
    return [f"{v.id}\t{v.region}\t{v.engine}\t{v.label}" for v in catalogue]


_COMMANDS = {"normalize": _normalize, "say": _say, "voices": _voices}


# --- helpers --------------------------------------------------------------------------


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


@contextlib.contextmanager
def _pipeline(args: argparse.Namespace, settings: TtsCliSettings) -> Iterator[tuple[Any, str, bool]]:
    """(pipeline over a temporary store, the voice to use, whether a lexicon is applied)."""
    from controller.engines import build_engine
    from controller.speech import build_speech_pipeline

    rewrite = None if args.no_lexicon else _load_lexicon(settings)
    engine = build_engine(settings, engine=args.engine)
    with tempfile.TemporaryDirectory(prefix="loa-tts-") as tmp:
        pipeline = build_speech_pipeline(Path(tmp) / "store", engine, rewrite)
        try:
            yield pipeline, _pick_voice(pipeline.voices, args.voice), rewrite is not None
        finally:
            pipeline.close()


def _pick_voice(voices: Any, wanted: str | None) -> str:
    ids = [v.id for v in voices]
    if not ids:
        raise CliError("the speech engine offers no voices")
    if wanted is None:
        return ids[0]
    if wanted not in ids:
        raise CliError(f"unknown voice {wanted!r}; choose one of: {', '.join(ids)}")
    return wanted


def _load_lexicon(settings: TtsCliSettings) -> Any:
    """The compiled lexicon's `apply`, or None when no database is configured.

    Read-only: a SQLite file is opened with `mode=ro` and without the controller's
    write-lock tuning, so this works for a user who may only read the database and
    can never create or change it.
    """
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlmodel import Session, create_engine

    from controller.lexicon.compiled import load_compiled

    url = settings.lexicon_url()
    if url is None:
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CliError(f"{ENV_PREFIX}DATABASE_URL is not a database URL") from None
    shown = parsed.render_as_string(hide_password=True)
    hint = "; pass --no-lexicon to go without it"
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.is_file():
            raise CliError(f"no database at {path} (for the lexicon){hint}")
        parsed = parsed.set(database=f"file:{path.resolve()}?mode=ro", query={"uri": "true"})
    try:
        engine = create_engine(parsed)
        try:
            with Session(engine) as session:
                return load_compiled(session).apply
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CliError(f"cannot read the lexicon from {shown}: {first}{hint}") from None


def _write(source: Path, out: Path, fmt: str) -> None:
    """Write `out` whole or not at all (a temp file beside it, then rename)."""
    from audio.ffmpeg import run_ffmpeg

    part = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        if fmt == "opus":
            shutil.copyfile(source, part)
        else:
            run_ffmpeg(["-y", "-i", str(source), *_FFMPEG_ARGS[fmt], str(part)], timeout_s=120)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
