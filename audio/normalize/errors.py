"""Exception type of the normaliser, kept in its own module so that every stage
can raise it without importing the package ``__init__`` (no import cycles)."""


class NormalizationError(ValueError):
    """Raised for input the normaliser refuses rather than guesses at.

    Only three things raise it, because a loudspeaker that stays silent is worse
    than one that reads an odd word: a non-``str`` input (bytes must be decoded by
    the caller, who knows the encoding), an unknown ``region``, and text longer
    than :data:`audio.normalize.MAX_INPUT_CHARS` (a runaway paste, not a bulletin).
    Everything else -- HTML, emoji, control characters, foreign scripts, absurd
    numbers -- is cleaned up and never raises.
    """
