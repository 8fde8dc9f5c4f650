"""`python -m containers.voice_bridge`: serve `/media` and `/health` on VOICE_BRIDGE_PORT (8080),
draining live calls on SIGTERM."""

from __future__ import annotations

import gc

import uvloop

from containers.voice_bridge.app import Bridge
from containers.voice_bridge.settings import get_bridge_settings, require_runtime_config
from shared.core.observability import install_log_masking


def main() -> None:
    install_log_masking()  # before uvicorn configures its loggers: their lines are masked too
    require_runtime_config()  # fail at start, naming what is missing, not on the first call
    bridge = Bridge(get_bridge_settings())
    # What start-up loaded lives as long as the process: kept out of the collector's full passes,
    # which would otherwise walk it while calls are relayed (pauses of tens of ms).
    gc.collect()
    gc.freeze()
    # libuv's loop: the relay's cost is per websocket message (a read, a write), and its transports
    # do that work in C.
    uvloop.run(bridge.serve())


if __name__ == "__main__":
    main()
