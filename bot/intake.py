"""Requests for videos from chats, up to a created job: options over the chat's settings,
the checks, which provider first, the user's limits, the input images, the job row and its
status message. The job is then handed to the lifecycle to be submitted.

Every refusal is answered in the chat, in the requester's language, before anything is made.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from telegram.error import Forbidden, TelegramError

from bot import routing, texts
from bot.access import Gatekeeper
from bot.billing import Billing
from bot.chat_status import ChatStatus
from bot.effects import EFFECTS, PHOTOS, effect_name
from bot.i18n import Messages, Reason, messages
from bot.images import TELEGRAM_DOWNLOAD_LIMIT, ImageRejected, PreparedImage
from bot.jobs import Job, JobKind, JobState, NewJob, Requester
from bot.keyboards import Screen, buy_keyboard, effect_keyboard, status_keyboard
from bot.lifecycle import JobLifecycle
from bot.options import OptionError, OptionSpace, parse_request
from bot.preferences import LANG, PROVIDER, Preferences, effective
from bot.providers import REGISTRY
from bot.providers.base import MB
from bot.store import JobStore, PreferenceStore
from bot.submission import Submitter
from bot.validation import control_characters

log = logging.getLogger(__name__)

MAX_FRAMES = 2  # a start and an end frame
MIN_REFS, MAX_REFS = 2, 4  # reference photos (AI/ML API's `image_list`: 2-4)


class Intake:
    def __init__(
        self,
        *,
        store: JobStore,
        preferences: PreferenceStore,
        submitter: Submitter,
        status: ChatStatus,
        lifecycle: JobLifecycle,
        gatekeeper: Gatekeeper | None = None,
        billing: Billing | None = None,
    ) -> None:
        """`gatekeeper`: per-user limits and cooldown for new jobs; None means no limits.
        `billing`: the price of each video; None means free."""
        self._billing = billing
        self._store = store
        self._preferences = preferences
        self._submitter = submitter
        self._status = status
        self._lifecycle = lifecycle
        self._gate = gatekeeper

    async def request_from_text(
        self,
        requester: Requester,
        text: str,
        image_file_ids: Sequence[str] = (),
        *,
        lang: str = "en",
    ) -> Job | None:
        """A request as the user wrote it: options in `text` over the chat's settings."""
        try:
            parsed = parse_request(text, OptionSpace.of(self._submitter.capabilities()))
        except OptionError as exc:
            await self._status.reply(requester, texts.bad_option(exc, lang))
            return None
        prefs = await self._preferences_of(requester)
        params = {**prefs.job_params(), **parsed.params}
        refs = bool(params.pop("refs", False))
        kind = None
        if refs or len(image_file_ids) > MAX_FRAMES:  # two photos are frames unless --refs
            if not MIN_REFS <= len(image_file_ids) <= MAX_REFS:
                await self._status.reply(requester, messages(lang).refs_photos)
                return None
            kind = JobKind.REFS
        return await self.request_video(
            requester,
            parsed.prompt,
            image_file_ids,
            params,
            lang=lang,
            preferred_provider=parsed.provider or prefs.provider,
            kind=kind,
        )

    def effects(self) -> tuple[str, ...]:
        """The effect scenes the configured providers make, in `bot.effects` order."""
        offered = {name for c in self._submitter.capabilities().values() for name in c.effect_names}
        return tuple(name for name in EFFECTS if name in offered)

    def effect_menu(self, lang: str) -> Screen:
        """/effect alone: the effects as buttons, or why there are none."""
        m = messages(lang)
        names = self.effects()
        if not names:
            able = [name for name, spec in REGISTRY.items() if spec.capabilities.effect_names]
            return Screen(m.effects_nowhere.format(able=", ".join(able)))
        return Screen(m.effect_list, effect_keyboard(names))

    def effect_how(self, written: str, lang: str) -> str:
        """What to send for an effect (its button's answer), or the effects there are."""
        m = messages(lang)
        name = effect_name(written)
        if name not in self.effects():
            return m.effect_unknown.format(name=written, names=", ".join(self.effects()))
        return (m.effect_how_two if PHOTOS[name] == 2 else m.effect_how_one).format(name=name)

    async def request_effect(
        self,
        requester: Requester,
        written: str,
        image_file_ids: Sequence[str],
        *,
        lang: str = "en",
    ) -> Job | None:
        """`/effect <name>` with its photos (one, or an album of two people); None if refused
        (the user told what to send instead)."""
        name = effect_name(written)
        if not name or not self.effects():
            menu = self.effect_menu(lang)
            await self._status.reply(requester, menu.text, menu.markup)
            return None
        if name not in self.effects() or len(image_file_ids) != PHOTOS[name]:
            await self._status.reply(requester, self.effect_how(written, lang))
            return None
        prefs = await self._preferences_of(requester)
        params: dict[str, Any] = {"effect": name}
        if prefs.as_file:
            params["as_file"] = True
        return await self.request_video(
            requester,
            messages(lang).effect_prompt.format(name=name),
            image_file_ids,
            params,
            lang=lang,
            preferred_provider=prefs.provider,
            kind=JobKind.EFFECT,
        )

    async def extend(self, job_id: int, user_id: int, requester: Requester) -> str | None:
        """A delivered video made longer by the provider that made it, as a new job; returns
        why not (for the button's answer) or None."""
        job = await self._store.get_job(job_id)
        lang = str(job.params.get(LANG) or "en") if job else "en"
        m = messages(lang)
        if job is None:
            return m.job_gone
        if job.requester.user_id != user_id:
            return m.not_yours
        if job.requester.chat_id != requester.chat_id:
            return m.button_stale
        if job.state is not JobState.DELIVERED or not self._submitter.extendable(job):
            return m.cannot_extend
        params: dict[str, Any] = {"extend_of": job.provider_task_id}
        if job.params.get("as_file"):
            params["as_file"] = True
        await self.request_video(
            requester,
            m.extend_prompt.format(job_id=job.id),
            (),
            params,
            lang=lang,
            preferred_provider=job.provider,
            kind=JobKind.EXTEND,
        )
        return None

    async def repeatable(self, job_id: int, user_id: int, requester: Requester) -> Job | str:
        """The job an "Again" press may repeat, or why not (for the button's answer). Quick (one
        read), so the press is answered before the new job is made (`again`)."""
        job = await self._store.get_job(job_id)
        lang = str(job.params.get(LANG) or "en") if job else "en"
        if job is None:
            return messages(lang).job_gone
        if job.requester.user_id != user_id:
            return messages(lang).not_yours
        # Never repost a prompt in another group; the owner's private chat is theirs.
        if requester.chat_id not in (job.requester.chat_id, user_id):
            return messages(lang).button_stale
        return job

    async def again(self, job: Job, requester: Requester) -> None:
        """The same request as `job` (see `repeatable`) as a new job; refusals are answered
        in the chat like any request's."""
        provider = job.params.get(PROVIDER)
        await self.request_video(
            requester,
            job.prompt,
            job.input_file_ids,
            job.params,
            lang=str(job.params.get(LANG) or "en"),
            preferred_provider=provider if isinstance(provider, str) else None,
            kind=job.kind,
        )

    async def _preferences_of(self, requester: Requester) -> Preferences:
        """The settings that apply to this request: the group's choices over the user's own
        (see `bot.preferences.effective`)."""
        return await effective(
            self._preferences,
            user_id=requester.user_id,
            chat_id=requester.chat_id,
            private=_is_private(requester),
        )

    async def request_video(
        self,
        requester: Requester,
        prompt: str,
        image_file_ids: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        *,
        lang: str = "en",
        preferred_provider: str | None = None,
        kind: JobKind | None = None,
    ) -> Job | None:
        """Create a job and answer with its status message; None if refused (user told why).

        Two images are a start and an end frame (in an effect, two people). `preferred_provider`
        goes first when it can serve the request; the operator's order decides the rest.
        `kind`: an effect, or the kind the images make (image-to-video, else text-to-video).
        """
        if kind is None:
            kind = JobKind.IMAGE if image_file_ids else JobKind.TEXT
        prompt = prompt.strip()
        params = {**dict(params or {}), LANG: lang}
        if preferred_provider:
            params[PROVIDER] = preferred_provider
        m = messages(lang)
        refusal = self._refusal(requester, kind, prompt, params, m, len(image_file_ids))
        if refusal is not None:
            await self._status.reply(requester, refusal)
            return None
        route = routing.order(
            self._submitter.candidates(kind, params, prompt, frames=len(image_file_ids)),
            self._submitter.capabilities(),
            preferred=preferred_provider,
            end_frame=kind is JobKind.IMAGE and len(image_file_ids) > 1,
        )
        if isinstance(route, routing.NoEndFrame):
            text = texts.end_frame_refusal(route.provider, route.others, lang)
            await self._status.reply(requester, text)
            return None
        if self._gate is not None:
            refused = await self._gate.refuse_new_job(requester.user_id, lang)
            if refused is not None:
                if refused.answer:  # else the user was told the same a moment ago
                    await self._status.reply(requester, refused.text)
                return None
        price = 0
        if self._billing is not None:
            caps = self._submitter.capabilities()[route[0]]
            price = self._billing.price_for(requester.user_id, params, caps)
        if price > 0 and self._billing is not None:
            have = await self._billing.prepare(requester.user_id)
            if have.available < price:  # said before any image is fetched
                await self._insufficient(requester, price, have.available, lang)
                return None
        prepared: list[PreparedImage] = []
        if image_file_ids:
            checked = await self._prepare_images(image_file_ids, route[0], m)
            if isinstance(checked, str):
                await self._status.reply(requester, checked)
                return None
            prepared = checked
        new = NewJob(
            requester=requester,
            kind=kind,
            prompt=prompt,
            provider=route[0],
            params=params,
            input_file_ids=tuple(image_file_ids),
            callback_token=secrets.token_urlsafe(24),
            price=price,
        )
        job = await self._create(new, lang, m)
        if job is None:
            return None
        for frame, image in enumerate(prepared):  # before the submit, which sends these bytes
            await self._store.put_job_image(
                job.id, frame, image.file_id, image.data, image.mime_type
            )
        log.info("job %s: created (%s on %s)", job.id, kind.value, job.provider)
        if await self._announce(job):
            self._lifecycle.submit(job.id)
            return job
        return None

    def oversized_image(self, declared_sizes: Sequence[int | None], lang: str) -> str | None:
        """The answer when Telegram declares an image file larger than any provider takes (or
        than bots may download), so it is refused before any download; None otherwise."""
        capabilities = self._submitter.capabilities().values()
        largest = max(caps.image_max_bytes for caps in capabilities)
        limit = min(TELEGRAM_DOWNLOAD_LIMIT, largest)
        if any(size is not None and size > limit for size in declared_sizes):
            return messages(lang).image_too_big.format(limit=limit // MB)
        return None

    def _refusal(
        self,
        requester: Requester,
        kind: JobKind,
        prompt: str,
        params: Mapping[str, Any],
        m: Messages,
        frames: int = 0,
    ) -> str | None:
        """Why no provider could make this request as written, or None."""
        if not prompt:
            return m.video_usage if _is_private(requester) else m.video_usage_short
        problem = _typing_problem(prompt, params, m)
        if problem is not None:
            return problem
        unservable = self._submitter.refusal(kind, params, prompt, frames=frames)
        return None if unservable is None else unservable.text(m)

    async def _prepare_images(
        self, file_ids: Sequence[str], provider: str, m: Messages
    ) -> list[PreparedImage] | str:
        """The request's images as its job will send them (downloaded and converted once), or
        the answer when one cannot be used or fetched."""
        try:
            return await self._submitter.prepare_images(file_ids, provider)
        except ImageRejected as exc:
            return exc.text(m)
        except TelegramError as exc:
            log.warning("could not download a photo to check it: %s", exc)
            return m.photo_download_failed

    async def _create(self, new: NewJob, lang: str, m: Messages) -> Job | None:
        """The job row, within the user's limits when there are any, with its price reserved
        (both checked in the same transaction, so concurrent requests, on other replicas too,
        cannot pass them)."""
        gate = self._gate
        user_id = new.requester.user_id
        quota = gate.quota(user_id) if gate is not None else None
        if quota is None and new.price == 0:
            return await self._store.create_job(new)
        created = await self._store.create_job_within(new, quota)
        if created is not None:
            return created
        # A concurrent request (maybe on another replica) came first: say which limit it hit.
        if new.price > 0:
            have = await self._store.credit_balance(user_id)
            if have.available < new.price:
                await self._insufficient(new.requester, new.price, have.available, lang)
                return None
        refusal = await gate.over_limit(user_id, lang) if gate is not None else None
        await self._status.reply(new.requester, refusal or m.sorry)
        return None

    async def _insufficient(
        self, requester: Requester, price: int, available: int, lang: str
    ) -> None:
        """No job: the price, the balance, and a button to buy credits."""
        text = messages(lang).credits["insufficient"].format(price=price, available=available)
        link = None if _is_private(requester) else self._status.start_link("buy")
        await self._status.reply(requester, text, buy_keyboard(lang, link))

    async def _announce(self, job: Job) -> bool:
        """Answer with the job's status message; False if the chat cannot be written to
        (blocked, or removed from the group): the job is failed, nobody to make it for."""
        try:
            message_id = await self._status.reply(
                job.requester, await self._status.status_text(job), status_keyboard(job)
            )
        except Forbidden as exc:
            log.warning("job %s: cannot write to the chat (%s); not submitting it", job.id, exc)
            await self._store.transition(
                job.id, JobState.FAILED, error=Reason.of("chat_unwritable")
            )
            return False
        except TelegramError as exc:  # the video still comes; only its status message is lost
            log.warning("job %s: status message failed (%s); submitting anyway", job.id, exc)
        else:
            try:
                await self._store.set_status_message(job.id, message_id)
            except Exception as exc:  # the job exists: failing here would make it twice
                log.warning("job %s: could not record its status message: %r", job.id, exc)
        return True


def _typing_problem(prompt: str, params: Mapping[str, Any], m: Messages) -> str | None:
    """Invisible control characters in the prompt or negative prompt (lengths are checked
    against each provider's limits by the submitter)."""
    codes = control_characters(prompt)
    if codes:
        return m.prompt_control_chars.format(codes=codes)
    codes = control_characters(str(params.get("negative_prompt") or ""))
    if codes:
        return m.negative_control_chars.format(codes=codes)
    return None


def _is_private(requester: Requester) -> bool:
    """A private chat's id is the user's id; groups have their own (negative) ids."""
    return requester.chat_id == requester.user_id
