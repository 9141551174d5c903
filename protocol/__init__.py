"""The Loa wire protocol: the only module the controller and the speaker agent share.

Topics, payload models, signing and the MQTT link live here so that both sides (and
anyone building a compatible node from docs/protocol.md) agree on one definition.
This package must stay importable on a Raspberry Pi with only the core dependencies.
"""

PROTOCOL_VERSION = 1
