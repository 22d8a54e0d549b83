"""Options written in a request, e.g. `/video --ar 9:16 -d 10 --neg "blurry" a fox`.

They override the chat's settings for one video. Flags may stand anywhere (phones turn `--`
into a dash, so `—ar` counts too); a bare ratio such as `9:16` counts as the first or the last
word. Values are checked against what the configured providers offer, so a typo gets an answer
naming the option, the value and the choices instead of a failed job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.params import (
    CFG_ALLOWED,
    FLAGS,
    OPTION_NAMES,
    PARAM,
    PARAMS,
    TEXT_ALLOWED,
    Param,
    listed,
    ratio,
)
from bot.providers.base import Capabilities

__all__ = ["CFG_ALLOWED", "OPTION_NAMES", "TEXT_ALLOWED", "OptionError", "OptionSpace"]

_QUOTED = r"(?:\"[^\"]*\"|“[^”]*”|«[^»]*»|'[^']*')"
_TOKEN = re.compile(rf"(?<!\S)(?:[-—–]+[A-Za-z]\w*=)?{_QUOTED}(?!\S)|\S+")
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}
#: Shapes a bare word is read as a ratio for; "10:30" in a prompt stays a time of day.
_BARE_RATIOS = frozenset({"16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21", "3:2", "2:3"})
_DASHES = ("—", "–")  # what phones make of "--"
_MARK = "\x00"


@dataclass(frozen=True)
class OptionSpace:
    """The values options may take: the union of what the configured providers offer, by
    parameter name (`provider`: the providers' names)."""

    values: Mapping[str, tuple[Any, ...]]

    @classmethod
    def of(cls, capabilities: Mapping[str, Capabilities]) -> OptionSpace:
        caps = capabilities.values()
        values = {p.name: listed(p, *caps) for p in PARAMS if p.offered}
        return cls({**values, "provider": tuple(capabilities)})


@dataclass(frozen=True)
class ParsedRequest:
    """The prompt without its options, the job parameters they set, and any provider asked."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None


class OptionError(ValueError):
    """An option the user got wrong. `value` is None when it is missing; `allowed` the choices.

    `unknown` marks a flag we do not have (then `allowed` lists the options); `wording` is the
    message key that words the choices when they are no list (a range, any text).
    """

    def __init__(
        self,
        option: str,
        value: str | None,
        allowed: tuple[str, ...],
        *,
        unknown: bool = False,
        wording: str = "",
    ) -> None:
        super().__init__(f"{option}: {value!r} not in {allowed}")
        self.option = option
        self.value = value
        self.allowed = allowed
        self.unknown = unknown
        self.wording = wording


def parse_request(text: str, space: OptionSpace) -> ParsedRequest:
    """Split `text` into options and prompt; raises `OptionError` for a bad option."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    params: dict[str, Any] = {}
    cut: list[tuple[int, int]] = []
    words_seen = 0
    index = 0
    while index < len(tokens):
        start, end, token = tokens[index]
        written, has_inline, inline = token.partition("=")
        flag = _flag(written)
        if flag == "--" and not has_inline:  # everything after a bare "--" is prompt
            cut.append((start, end))
            break
        param = FLAGS.get(flag) if flag else None
        if param is not None:
            value: str | None = _unquote(inline) if has_inline else None
            if not has_inline:
                value, end, index = _value_after(tokens, index, param)
            if value is None and param.bare is not None:
                params[param.name] = param.bare
            else:
                params[param.name] = _check(param, written, value, space)
            cut.append((start, end))
        elif flag is not None and re.fullmatch(r"--[a-z][\w-]*", flag):
            raise OptionError(written, None, OPTION_NAMES, unknown=True)
        elif _is_bare_ratio(token, words_seen, index, tokens):
            aspect = PARAM["aspect_ratio"]
            params[aspect.name] = _check(aspect, aspect.flags[0], token, space)
            cut.append((start, end))
        else:
            words_seen += 1
        index += 1
    provider = params.pop("provider", None)
    return ParsedRequest(prompt=_without(text, cut), params=params, provider=provider)


def _flag(word: str) -> str | None:
    """The word as a lower-case flag ("--ar", "-d", "--"), or None if it is no flag."""
    for dash in _DASHES:
        if word.startswith(dash):
            word = "--" + word[len(dash) :]
    if word == "--" or re.match(r"^--?[A-Za-z]", word):
        return word.lower()
    return None


def _value_after(
    tokens: list[tuple[int, int, str]], index: int, param: Param
) -> tuple[str | None, int, int]:
    """The value token following a flag: (value or None, end of the cut, index of the value).
    A switch (`bare`) takes the next word only when it reads it (`--sound off`)."""
    if index + 1 >= len(tokens):
        return None, tokens[index][1], index
    _, end, token = tokens[index + 1]
    flag = _flag(token.partition("=")[0])
    if flag is not None and (flag in FLAGS or flag == "--"):
        return None, tokens[index][1], index
    if param.bare is not None and param.convert is not None and param.convert(token) is None:
        return None, tokens[index][1], index
    return _unquote(token), end, index + 1


def _unquote(token: str) -> str:
    closing = _QUOTES.get(token[:1])
    if closing and len(token) >= 2 and token.endswith(closing):
        return token[1:-1].strip()
    return token


def _is_bare_ratio(
    token: str, words_seen: int, index: int, tokens: list[tuple[int, int, str]]
) -> bool:
    """A ratio such as 9:16 as the first or the last word counts as `--ar`."""
    if ratio(token) not in _BARE_RATIOS:
        return False
    return words_seen == 0 or index == len(tokens) - 1


def _check(param: Param, option: str, value: str | None, space: OptionSpace) -> Any:
    """The value converted and checked, or `OptionError`."""
    if param.convert is not None:  # a free value: a number in range, any text
        converted = None if value is None else param.convert(value)
        if converted is None:
            raise OptionError(option, value, param.allowed, wording=param.wording)
        return converted
    offered = {str(choice): choice for choice in space.values.get(param.name, ())}
    if value is not None and param.normalise(value) in offered:
        return offered[param.normalise(value)]
    raise OptionError(option, value, tuple(offered))


def _without(text: str, cut: list[tuple[int, int]]) -> str:
    """`text` with the option spans removed, keeping the user's line breaks elsewhere."""
    if not cut:
        return text.strip()
    pieces, position = [], 0
    for start, end in sorted(cut):
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    lines = []
    for line in _MARK.join(pieces).split("\n"):
        if _MARK in line:
            line = re.sub(rf"\s*{_MARK}\s*", " ", line).strip()
            if not line:
                continue
        lines.append(line)
    return "\n".join(lines).strip()
