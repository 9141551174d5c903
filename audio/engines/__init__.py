"""Speech engines behind one small interface (see :mod:`audio.engines.base`).

Only the espeak-ng engine exists today; Piper and the cloud services will be added
as further modules implementing :class:`~audio.engines.base.SpeechEngine`.
"""

from audio.engines.base import Region, SpeechEngine, Voice

__all__ = ["Region", "SpeechEngine", "Voice"]
