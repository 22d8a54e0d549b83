"""Sending a finished video into the chat it was asked in.

Order of attempts: by the provider's URL (Telegram fetches it, up to 20 MB), then by upload,
streamed from a temporary file so memory stays flat whatever the size; above Telegram's 50 MB
upload limit the user gets the link instead. People who chose files get a document, always
uploaded (Telegram fetches documents by URL only for PDF, ZIP and GIF). The result carries a
caption with the prompt and key settings, the size and length when the file says them, and
Again and Settings buttons (and Share, when the bot's inline mode is on).

A link goes nowhere (not to Telegram, not to our download, not to the user) unless
`link_refusal` accepts it; our downloads follow the rules in `bot.downloads`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import IO, TYPE_CHECKING

import httpx
from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import texts
from bot.background import alongside
from bot.downloads import Downloader, DownloadFailed
from bot.i18n import Reason
from bot.jobs import DOCUMENT, VIDEO, DeliveredFile, Job
from bot.keyboards import result_keyboard
from bot.mp4info import DamagedVideo, VideoInfo, read_info
from bot.preferences import AS_FILE
from bot.providers.sandbox import CLIP_PATH, CLIP_REF, SandboxProvider
from bot.sharing import inline_mode

if TYPE_CHECKING:
    from bot.pacing import PacingRateLimiter

log = logging.getLogger(__name__)

UPLOAD_LIMIT = 50 * 1024 * 1024  # Telegram's limit for bot uploads
_CHAT_ACTION_EVERY = 4.0  # an upload_video action shows for about 5 s
# Seconds a delivery is on its way (not counting waits for its chat's turn) before the action
# is worth showing: longer than a video by URL usually takes.
_CHAT_ACTION_AFTER = 2.0


class DeliveryError(Exception):
    """A delivery attempt failed. `permanent`: retrying cannot help (blocked, chat gone)."""

    def __init__(self, reason: Reason, *, permanent: bool) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.permanent = permanent


class Delivery:
    """Sends videos with one Telegram bot and one guarded downloader."""

    def __init__(
        self,
        bot: Bot,
        downloader: Downloader,
        *,
        upload_timeout: float = 600.0,
        pacer: PacingRateLimiter | None = None,
        extendable: Callable[[Job], bool] | None = None,
    ) -> None:
        """`pacer`: tells when the delivery's video is on its way rather than waiting for its
        turn, for "sending video…" (None: the action goes by the delivery's time alone).
        `extendable`: whether a job's video gets an Extend button (its provider makes videos
        longer); None: never."""
        self._extendable = extendable or (lambda job: False)
        self._bot = bot
        self._downloader = downloader
        self._upload_timeout = upload_timeout
        self._pacer = pacer

    def link_refusal(self, provider: str, url: str) -> Reason | None:
        """Why a video link reported by `provider` will not be used (None: it will). Checked
        when the provider reports the video and again before each delivery."""
        if url == CLIP_REF:
            return None if provider == SandboxProvider.name else Reason.of("video_link_not_https")
        return self._downloader.refusal(url)

    async def send(self, job: Job) -> DeliveredFile | None:
        """Deliver the job's video; returns the file Telegram keeps of it (None if sent as a
        link): re-sends and shares use it, never the provider's link again."""
        if not job.result_url:
            raise DeliveryError(Reason.of("no_video_sent"), permanent=True)
        refusal = self.link_refusal(job.provider, job.result_url)
        if refusal is not None:
            raise DeliveryError(refusal, permanent=True)
        try:
            async with self._uploading(job):
                message = await self._send(job, job.result_url)
        except (Forbidden, BadRequest) as exc:
            refused = Reason.of("telegram_refused", message=exc.message)
            raise DeliveryError(refused, permanent=True) from exc
        except TelegramError as exc:
            failed = Reason.of("telegram_error", message=exc.message)
            raise DeliveryError(failed, permanent=False) from exc
        if message is None:
            return None
        if message.video:
            return DeliveredFile(message.video.file_id, VIDEO)
        if message.document:
            return DeliveredFile(message.document.file_id, DOCUMENT)
        return None

    async def _send(self, job: Job, url: str) -> Message | None:
        if url == CLIP_REF:
            # The sandbox's clip, shipped in the package: opening it does not block for long.
            with CLIP_PATH.open("rb") as handle:
                return await self._upload(job, handle)
        if not job.params.get(AS_FILE):
            try:
                return await self._send_media(job, url)
            except BadRequest as exc:
                log.info(
                    "job %s: Telegram could not fetch the video by URL (%s); uploading", job.id, exc
                )
        with tempfile.TemporaryFile() as handle:
            size = await self._download(job, url, handle)
            if size is None:
                await self._send_link(job, url)
                return None
            handle.seek(0)
            return await self._upload(job, handle)

    async def _download(self, job: Job, url: str, handle: IO[bytes]) -> int | None:
        """Stream the video into `handle`; None when it is too large to upload."""
        try:
            size = await self._downloader.fetch(url, handle, UPLOAD_LIMIT)
        except DownloadFailed as exc:
            raise DeliveryError(exc.reason, permanent=exc.permanent) from exc
        except httpx.HTTPError as exc:
            failed = Reason.of("video_download_failed", error=type(exc).__name__)
            raise DeliveryError(failed, permanent=False) from exc
        if size is not None:
            log.info("job %s: downloaded %d bytes for upload", job.id, size)
        return size

    async def _upload(self, job: Job, handle: IO[bytes]) -> Message:
        try:
            info = await asyncio.to_thread(read_info, handle)
        except DamagedVideo as exc:  # a cut download may come whole next time
            raise DeliveryError(Reason.of("video_damaged"), permanent=False) from exc
        media = InputFile(handle, filename=f"video-{job.id}.mp4", read_file_handle=False)
        return await self._send_media(job, media, info)

    async def _send_media(
        self, job: Job, media: str | InputFile, info: VideoInfo | None = None
    ) -> Message:
        """The video, or a document if the requester chose files, with caption and buttons."""
        r = job.requester
        if job.params.get(AS_FILE):
            return await self._bot.send_document(
                chat_id=r.chat_id,
                document=media,
                caption=texts.caption(job),
                message_thread_id=r.thread_id,
                reply_parameters=_reply_to(job),
                reply_markup=result_keyboard(
                    job, share=inline_mode(self._bot), extendable=self._extendable(job)
                ),
                write_timeout=self._upload_timeout,
                read_timeout=self._upload_timeout,
            )
        info = info or VideoInfo()
        return await self._bot.send_video(
            chat_id=r.chat_id,
            video=media,
            caption=texts.caption(job),
            supports_streaming=True,
            width=info.width,
            height=info.height,
            duration=info.duration,
            message_thread_id=r.thread_id,
            reply_parameters=_reply_to(job),
            reply_markup=result_keyboard(
                job, share=inline_mode(self._bot), extendable=self._extendable(job)
            ),
            write_timeout=self._upload_timeout,
            read_timeout=self._upload_timeout,
        )

    async def _send_link(self, job: Job, url: str) -> None:
        r = job.requester
        await self._bot.send_message(
            chat_id=r.chat_id,
            text=texts.too_large(job, url),
            message_thread_id=r.thread_id,
            reply_parameters=_reply_to(job),
        )

    @contextlib.asynccontextmanager
    async def _uploading(self, job: Job) -> AsyncIterator[None]:
        """Show "sending video…" (or "sending file…") in the chat while the video is on its way.

        Only once it has been on its way a while (the pacer's `on_wire`): most videos go by URL
        in well under a second, and the action would then cost a Bot API call for nobody to
        see. Time spent waiting for the chat's turn does not count (the video is not being sent
        then, and the action would cost a call while the chat is busy), nor does a moment when
        Telegram's overall budget is busy.
        """
        action = ChatAction.UPLOAD_DOCUMENT if job.params.get(AS_FILE) else ChatAction.UPLOAD_VIDEO
        pacer, clock = self._pacer, asyncio.get_running_loop().time
        started = clock()
        with pacer.watch() if pacer is not None else contextlib.nullcontext() as watch:

            def on_wire() -> float:
                if pacer is None or watch is None:  # not paced: the delivery's time alone
                    return clock() - started
                return pacer.on_wire(watch)

            async def keep_showing() -> None:
                while True:
                    wait = _CHAT_ACTION_AFTER - on_wire()
                    if wait > 0:  # waiting for a turn, or not on its way for long yet
                        await asyncio.sleep(wait)
                        continue
                    with contextlib.suppress(TelegramError):
                        await self._bot.send_chat_action(
                            job.requester.chat_id,
                            action,
                            message_thread_id=job.requester.thread_id,
                        )
                    await asyncio.sleep(_CHAT_ACTION_EVERY)

            async with alongside(keep_showing()):
                yield


def _reply_to(job: Job) -> ReplyParameters:
    """Answer the request message, or just the chat if the user deleted it."""
    return ReplyParameters(message_id=job.requester.message_id, allow_sending_without_reply=True)
