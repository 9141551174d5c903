"""Vietnamese cloud TTS services behind the SpeechEngine interface, and the fallback.

One module per service (FPT.AI, Viettel AI, Vbee, Zalo AI), each only describing
its protocol; the shared HTTP behaviour (deadline, retries, splitting, error
scrubbing) lives in :mod:`audio.engines.cloud.base`. Importing this package
constructs nothing and opens no connection; engines are built by the controller
from its settings.
"""

from audio.engines.cloud.base import CloudEngine, CloudPolicy
from audio.engines.cloud.fallback import FallbackEngine
from audio.engines.cloud.fpt import FptEngine
from audio.engines.cloud.vbee import VbeeEngine
from audio.engines.cloud.viettel import ViettelEngine
from audio.engines.cloud.zalo import ZaloEngine

__all__ = [
    "CloudEngine",
    "CloudPolicy",
    "FallbackEngine",
    "FptEngine",
    "VbeeEngine",
    "ViettelEngine",
    "ZaloEngine",
]
