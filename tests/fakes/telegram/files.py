"""Files in the fake: what users send (photos in several sizes, documents), what the bot
uploads or has Telegram fetch from a URL (with Telegram's size and type rules), getFile and
the download route."""

from __future__ import annotations

import copy
import hashlib
import io
import mimetypes
import re
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError
from starlette.requests import Request
from starlette.responses import Response

from tests.fakes.telegram.api import (
    BAD_FILE_ID,
    JSON,
    MAX_DOWNLOAD_BYTES,
    MAX_URL_BYTES,
    MAX_URL_PHOTO_BYTES,
    URL_FAILED,
    URL_WRONG_TYPE,
    ApiError,
    StoredFile,
    UploadedFile,
    bad_request,
    json_error,
)
from tests.fakes.telegram.state import TelegramState


class FilesMixin(TelegramState):
    """Storing, resolving and serving files."""

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        width: int = 0,
        height: int = 0,
        duration: int = 0,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        default_ext = {"photo": "jpg", "video": "mp4", "animation": "mp4", "sticker": "webp"}
        ext = _extension(mime_type, file_name, default_ext.get(kind, "bin"))
        stored = StoredFile(
            file_id=f"{kind.upper()}-{n:06d}-{hashlib.sha256(data).hexdigest()[:12]}",
            file_unique_id=f"U{n:06d}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}.{ext}",
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
            duration=duration,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _store_photo(self, data: bytes, width: int | None, height: int | None) -> list[JSON]:
        """Store a photo as Telegram does: downscaled copies (s/m/x/y boxes) plus the original."""
        variants = _photo_variants(data, width, height)
        sizes: list[JSON] = []
        members: list[StoredFile] = []
        for blob, w, h in variants:
            stored = self._store_file("photo", blob, mime_type="image/jpeg", width=w, height=h)
            members.append(stored)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": w,
                    "height": h,
                    "file_size": len(blob),
                }
            )
        for stored in members:
            stored.photo_sizes = sizes
        return copy.deepcopy(sizes)

    def _media_object(self, stored: StoredFile) -> JSON:
        """The Video/Animation/Document object of a stored file."""
        media: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.kind in {"video", "animation"}:
            media.update(width=stored.width, height=stored.height, duration=stored.duration)
        if stored.file_name:
            media["file_name"] = stored.file_name
        if stored.mime_type:
            media["mime_type"] = stored.mime_type
        media["file_size"] = len(stored.data)
        return media

    async def _input_media(
        self, kind: str, params: JSON, files: dict[str, UploadedFile]
    ) -> StoredFile:
        """Resolve the media field: an upload, ``attach://name``, a known file_id or a URL."""
        value = params.get(kind)
        upload = files.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, BAD_FILE_ID)
        if upload is not None:
            return self._store_upload(kind, upload, params)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        value = str(value)
        if re.match(r"https?://", value, re.IGNORECASE):
            return await self._fetch(kind, value, params)
        stored = self._files.get(value)
        if stored is None:
            raise ApiError(400, BAD_FILE_ID)
        if (kind == "photo") != (stored.kind == "photo") or stored.kind == "sticker":
            raise bad_request("type of file mismatch")
        return stored

    def _store_upload(self, kind: str, upload: UploadedFile, params: JSON) -> StoredFile:
        if not upload.size:
            raise bad_request("file must be non-empty")
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename or "")[0] or mime
        return self._store_media(kind, upload.data, mime, upload.filename, params)

    def _store_media(
        self, kind: str, data: bytes, mime: str | None, file_name: str | None, params: JSON
    ) -> StoredFile:
        if kind == "photo":
            try:
                sizes = self._store_photo(data, None, None)
            except ValueError:
                raise bad_request("IMAGE_PROCESS_FAILED") from None
            return self._files[sizes[-1]["file_id"]]
        if kind in {"video", "animation"} and (not mime or mime == "application/octet-stream"):
            mime = "video/mp4"
        return self._store_file(
            kind,
            data,
            mime_type=mime,
            file_name=file_name,
            width=params.get("width") or 0,
            height=params.get("height") or 0,
            duration=params.get("duration") or 0,
        )

    async def _fetch(self, kind: str, url: str, params: JSON) -> StoredFile:
        """Download media from a URL like Telegram's servers do, with their size limits."""
        if self.refuse_urls:
            raise ApiError(400, URL_FAILED)
        limit = MAX_URL_PHOTO_BYTES if kind == "photo" else MAX_URL_BYTES
        try:
            async with self._client().stream("GET", url, follow_redirects=True) as response:
                if not response.is_success:
                    raise ApiError(400, URL_FAILED)
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if mime.startswith("text/html") or (
                    kind == "photo" and not mime.startswith("image/")
                ):
                    raise ApiError(400, URL_WRONG_TYPE)
                if kind == "document" and mime not in {
                    "application/pdf",
                    "application/zip",
                    "image/gif",
                }:
                    raise ApiError(400, URL_WRONG_TYPE)  # documented: only GIF, PDF and ZIP
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise ApiError(400, URL_FAILED)
        except httpx.HTTPError:
            raise ApiError(400, URL_FAILED) from None
        if not data:
            raise ApiError(400, URL_FAILED)
        name = urlsplit(url).path.rsplit("/", 1)[-1] or None
        try:
            return self._store_media(kind, bytes(data), mime or None, name, params)
        except ApiError:
            raise ApiError(400, URL_WRONG_TYPE) from None

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return json_error(ApiError(401, "Unauthorized"))
        stored = self._files_by_path.get(request.path_params["file_path"])
        if stored is None:
            return json_error(ApiError(404, "Not Found"))
        self.downloads.append(stored.file_path)
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")


def _extension(mime_type: str | None, file_name: str | None, default: str) -> str:
    if file_name and "." in file_name:
        return file_name.rsplit(".", 1)[1].lower()
    guessed = mimetypes.guess_extension(mime_type or "") if mime_type else None
    return guessed.lstrip(".") if guessed else default


def _photo_variants(
    data: bytes, width: int | None, height: int | None
) -> list[tuple[bytes, int, int]]:
    """(bytes, width, height) per PhotoSize, smallest first; the original bytes come last.

    Raises ValueError when the bytes are no image and no dimensions were given.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            real_width, real_height = image.size
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        if not (width and height):
            raise ValueError("not an image; pass width and height") from exc
        thumb_scale = min(1.0, 90 / max(width, height))
        thumb = (max(1, round(width * thumb_scale)), max(1, round(height * thumb_scale)))
        return [(data, *thumb), (data, width, height)]
    variants: list[tuple[bytes, int, int]] = []
    for box in (90, 320, 800, 1280):
        if box < max(real_width, real_height) or not variants:
            copy_ = rgb.copy()
            copy_.thumbnail((box, box))
            buffer = io.BytesIO()
            copy_.save(buffer, "JPEG", quality=80)
            variants.append((buffer.getvalue(), *copy_.size))
    variants.append((data, width or real_width, height or real_height))
    return variants
