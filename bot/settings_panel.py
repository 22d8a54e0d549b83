"""The /settings panel: one message whose buttons change one owner's settings in place.

The owner is a user (private chat) or a group. Choices offered are those of the provider the
owner's videos go to first (the chosen one, or the operator's first), from its `Capabilities`;
choosing another provider drops the values it does not offer, and says so.

Callback data: `set:<code>` opens a list, `set:<code>=<value>` chooses (empty: default),
`set:f` switches video/file, `set:neg` asks for a negative prompt, `set:neg=` clears it,
`set:reset`, `set:done`, `set:main`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Messages, messages
from bot.keyboards import Screen, data
from bot.params import CHOICES, PARAM, PARAMS, Param, listed
from bot.preferences import Preferences, load
from bot.providers.base import Capabilities
from bot.store import PreferenceStore

PREFIX = "set"
_TEXT = next(p for p in PARAMS if p.panel == "text")  # the negative prompt: a question
_TOGGLE = next(p for p in PARAMS if p.panel == "toggle")  # video or file: a switch


@dataclass(frozen=True)
class Press:
    """The outcome of a button press: the panel's new look, a short answer, or a question."""

    screen: Screen | None
    toast: str | None = None
    ask_negative: bool = False


class SettingsPanel:
    def __init__(self, store: PreferenceStore, capabilities: Mapping[str, Capabilities]) -> None:
        self._store = store
        self._capabilities = dict(capabilities)

    async def show(self, owner: int, lang: str, *, group: str | None = None) -> Screen:
        """The panel for `owner`; `group` is the group's title when the owner is a group."""
        return self._main(await load(self._store, owner), messages(lang), group)

    async def press(
        self, owner: int, payload: str, lang: str, *, group: str | None = None
    ) -> Press:
        """Apply one button press (`payload` is the data after `set:`)."""
        m = messages(lang)
        prefs = await load(self._store, owner)
        code, has_value, value = payload.partition("=")
        if payload == "main":
            return Press(self._main(prefs, m, group))
        if payload == "done":
            return Press(Screen(f"{m.settings_closed}\n\n{self._summary(prefs, m)}", None))
        if payload == "reset":
            return Press(await self._save(owner, Preferences(), m, group), m.settings_saved)
        if payload == _TOGGLE.code:
            changed = replace(prefs, as_file=None if prefs.as_file else True)
            return Press(await self._save(owner, changed, m, group), m.settings_saved)
        if code == _TEXT.code:
            if not has_value:
                return Press(None, ask_negative=True)
            changed = replace(prefs, negative_prompt=None)
            return Press(await self._save(owner, changed, m, group), m.settings_saved)
        if code not in CHOICES or _not_offered(CHOICES[code], self._caps(prefs)[1]):
            return Press(self._main(prefs, m, group))  # unknown, or stale (nothing offered)
        if not has_value:
            return Press(self._choices(prefs, CHOICES[code], m, group))
        return await self._choose(owner, prefs, CHOICES[code].name, value, m, group)

    async def set_negative(self, owner: int, text: str, lang: str) -> str | None:
        """Save a negative prompt; returns why it was refused, or None once saved."""
        prefs = await load(self._store, owner)
        limit = self._caps(prefs)[1].max_negative_prompt_length
        text = text.strip()
        if len(text) > limit:
            return messages(lang).negative_too_long.format(limit=limit)
        await self._store.put_preferences(
            owner, replace(prefs, negative_prompt=text or None).to_dict()
        )
        return None

    # --- choosing ----------------------------------------------------------------------------

    async def _choose(
        self, owner: int, prefs: Preferences, name: str, value: str, m: Messages, group: str | None
    ) -> Press:
        if value == "":
            return Press(await self._save(owner, replace(prefs, **{name: None}), m, group))
        offered = {str(v): v for v in self._offered(prefs, name)}
        if value not in offered:  # a stale button: the provider changed since it was drawn
            return Press(self._main(prefs, m, group))
        changed = replace(prefs, **{name: offered[value]})
        note = None
        if name in ("provider", "model"):  # a model may take other durations (kling-v3)
            caps = self._capabilities[str(offered[value])] if name == "provider" else None
            changed, dropped = changed.fit(caps or self._caps(changed)[1])
            if dropped:
                labels = ", ".join(m.settings_labels[PARAM[field].label_key] for field in dropped)
                note = m.settings_dropped.format(values=labels, provider=offered[value])
        return Press(await self._save(owner, changed, m, group, note), m.settings_saved)

    async def _save(
        self,
        owner: int,
        prefs: Preferences,
        m: Messages,
        group: str | None,
        note: str | None = None,
    ) -> Screen:
        await self._store.put_preferences(owner, prefs.to_dict())
        return self._main(prefs, m, group, note)

    def _caps(self, prefs: Preferences) -> tuple[str, Capabilities]:
        """The provider whose offer the panel shows: the chosen one, or the operator's first."""
        name = prefs.provider if prefs.provider in self._capabilities else None
        name = name or next(iter(self._capabilities))
        return name, self._capabilities[name]

    def _offered(self, prefs: Preferences, name: str) -> list[Any]:
        """The choices for a setting: the provider's default first, then as it lists them."""
        if name == "provider":
            return list(self._capabilities)
        param, caps = PARAM[name], self._caps(prefs)[1]
        default = getattr(caps, param.default or "")
        model = prefs.model if prefs.model in caps.models else caps.default_model
        return sorted(listed(param, caps, model=model), key=lambda value: value != default)

    # --- drawing -----------------------------------------------------------------------------

    def _main(
        self, prefs: Preferences, m: Messages, group: str | None, note: str | None = None
    ) -> Screen:
        title = m.settings_title_group.format(title=group) if group else m.settings_title_user
        parts = [title, "", self._summary(prefs, m)]
        if note:
            parts += ["", note]
        if group:
            parts += ["", m.settings_group_hint]
        label, value = m.settings_labels, self._values(prefs, m)

        def button(param: Param, text: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(text, callback_data=data(PREFIX, param.code))

        choices = [
            button(p, f"{label[p.label_key]}: {value[p.label_key]}")
            for p in CHOICES.values()
            if p.label_key in value
        ]
        negative = [button(_TEXT, label[_TEXT.label_key])]
        if prefs.negative_prompt:
            negative.append(
                InlineKeyboardButton(m.settings_clear, callback_data=data(PREFIX, f"{_TEXT.code}="))
            )
        delivery = _TOGGLE.label_key
        rows = [
            *(choices[i : i + 2] for i in range(0, len(choices), 2)),
            negative,
            [button(_TOGGLE, f"{label[delivery]}: {value[delivery]}")],
            [
                InlineKeyboardButton(m.settings_reset, callback_data=data(PREFIX, "reset")),
                InlineKeyboardButton(m.settings_done, callback_data=data(PREFIX, "done")),
            ],
        ]
        return Screen("\n".join(parts), InlineKeyboardMarkup(rows))

    def _choices(self, prefs: Preferences, param: Param, m: Messages, group: str | None) -> Screen:
        name, code = param.name, param.code
        current = getattr(prefs, name)
        buttons = [
            InlineKeyboardButton(
                ("✓ " if value == current else "") + param.word(value, m),
                callback_data=data(PREFIX, f"{code}={value}"),
            )
            for value in self._offered(prefs, name)
        ]
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
        default = self._values(replace(prefs, **{name: None}), m)[name]
        rows.append(
            [
                InlineKeyboardButton(
                    ("✓ " if current is None else "") + default,
                    callback_data=data(PREFIX, f"{code}="),
                ),
                InlineKeyboardButton(m.button_back, callback_data=data(PREFIX, "main")),
            ]
        )
        return Screen(self._main(prefs, m, group).text, InlineKeyboardMarkup(rows))

    def _summary(self, prefs: Preferences, m: Messages) -> str:
        values = self._values(prefs, m)
        return "\n".join(f"{m.settings_labels[key]}: {values[key]}" for key in values)

    def _values(self, prefs: Preferences, m: Messages) -> dict[str, str]:
        """Each setting as shown, by label key in the table's order: the value chosen, or the
        provider's default marked as such."""
        name, caps = self._caps(prefs)
        provider = prefs.provider if prefs.provider in self._capabilities else None
        values = {
            "negative_prompt": _cut(prefs.negative_prompt or m.settings_none, 200),
            "provider": provider or m.settings_automatic.format(provider=name),
            "delivery": m.settings_delivery["file" if prefs.as_file else "video"],
        }
        for param in PARAMS:
            value = getattr(prefs, param.name) if param.default else None
            if param.default and value is None:
                default = param.word(getattr(caps, param.default), m)
                values[param.name] = m.settings_default_value.format(value=default)
            elif param.default:
                values[param.name] = param.word(value, m)
        return {
            p.label_key: values[p.label_key]
            for p in PARAMS
            if p.setting and not _not_offered(p, caps)
        }


def _not_offered(param: Param, caps: Capabilities) -> bool:
    """A setting this provider has no values for at all (camera moves, where none are
    documented): the panel leaves it out rather than offer an empty list."""
    return param.offered is not None and not listed(param, caps)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
