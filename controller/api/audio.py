"""`/audio/{sha256}.opus`: the content-addressed audio nodes download.

No authentication: the name is the file's sha256, which nodes verify anyway, and a
node's SIM link should not need a second secret. Files never change under a name,
so caches may keep them forever. Starlette's FileResponse answers `Range` requests
(206), which lets a node resume a download cut off by a flaky 3G link.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from controller.api.deps import CtxDep

router = APIRouter(tags=["audio"])

_NAME = re.compile(r"([0-9a-f]{64})\.opus")
CACHE_FOREVER = "public, max-age=31536000, immutable"


@router.head("/audio/{name}", response_class=FileResponse, include_in_schema=False)
@router.get("/audio/{name}", response_class=FileResponse)
def get_audio(name: str, ctx: CtxDep) -> FileResponse:
    match = _NAME.fullmatch(name)
    if match is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such audio")
    path = ctx.audio_store.path_for(match.group(1))
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such audio")
    return FileResponse(path, media_type="audio/ogg", headers={"Cache-Control": CACHE_FOREVER})
