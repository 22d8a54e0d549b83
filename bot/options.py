"""Options written in a request, e.g. `/video --ar 9:16 -d 10 --neg "blurry" a fox`.

They override the chat's settings for one video. Flags may stand anywhere (phones turn `--`
into a dash, so `—ar` counts too); a bare ratio such as `9:16` counts as the first or the last
word. Values are checked against what the configured providers offer, so a typo gets an answer
naming the option, the value and the choices instead of a failed job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.providers.base import Capabilities

#: Every flag and the job parameter it sets (`provider` is the preferred provider, not a param).
FLAGS: dict[str, str] = {
    "--ar": "aspect_ratio",
    "--aspect": "aspect_ratio",
    "--ratio": "aspect_ratio",
    "-a": "aspect_ratio",
    "--duration": "duration",
    "-d": "duration",
    "--model": "model",
    "-m": "model",
    "--mode": "mode",
    "--neg": "negative_prompt",
    "--negative": "negative_prompt",
    "-n": "negative_prompt",
    "--cfg": "cfg_scale",
    "-c": "cfg_scale",
    "--provider": "provider",
    "-p": "provider",
}
#: `OptionError.allowed` for `--cfg` (a range) and `--neg` (any text): texts word them.
CFG_ALLOWED = ("0…1",)
TEXT_ALLOWED: tuple[str, ...] = ()
#: The long form of each option, for "options: ..." answers.
OPTION_NAMES = ("--ar", "--duration", "--model", "--mode", "--neg", "--cfg", "--provider")

_QUOTED = r"(?:\"[^\"]*\"|“[^”]*”|«[^»]*»|'[^']*')"
_TOKEN = re.compile(rf"(?<!\S)(?:[-—–]+[A-Za-z]\w*=)?{_QUOTED}(?!\S)|\S+")
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}
_RATIO = re.compile(r"^(\d{1,2})\s*[:x×]\s*(\d{1,2})$")
#: Shapes a bare word is read as a ratio for; "10:30" in a prompt stays a time of day.
_BARE_RATIOS = frozenset({"16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21", "3:2", "2:3"})
_DASHES = ("—", "–")  # what phones make of "--"
_MARK = "\x00"


@dataclass(frozen=True)
class OptionSpace:
    """The values options may take: the union of what the configured providers offer."""

    models: tuple[str, ...]
    durations: tuple[int, ...]
    aspect_ratios: tuple[str, ...]
    modes: tuple[str, ...]
    providers: tuple[str, ...]

    @classmethod
    def of(cls, capabilities: Mapping[str, Capabilities]) -> OptionSpace:
        caps = list(capabilities.values())
        return cls(
            models=_union(c.models for c in caps),
            durations=tuple(sorted(set().union(*(c.durations for c in caps)))),
            aspect_ratios=_union(c.aspect_ratios for c in caps),
            modes=tuple(sorted(set().union(*(c.modes for c in caps)))),
            providers=tuple(capabilities),
        )


@dataclass(frozen=True)
class ParsedRequest:
    """The prompt without its options, the job parameters they set, and any provider asked."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None


class OptionError(ValueError):
    """An option the user got wrong. `value` is None when it is missing; `allowed` the choices.

    `unknown` marks a flag we do not have (then `allowed` lists the options).
    """

    def __init__(
        self, option: str, value: str | None, allowed: tuple[str, ...], *, unknown: bool = False
    ) -> None:
        super().__init__(f"{option}: {value!r} not in {allowed}")
        self.option = option
        self.value = value
        self.allowed = allowed
        self.unknown = unknown


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
        if flag in FLAGS:
            value: str | None = _unquote(inline) if has_inline else None
            if not has_inline:
                value, end, index = _value_after(tokens, index)
            name = FLAGS[flag]
            params[name] = _check(name, written, value, space)
            cut.append((start, end))
        elif flag is not None and re.fullmatch(r"--[a-z][\w-]*", flag):
            raise OptionError(written, None, OPTION_NAMES, unknown=True)
        elif _is_bare_ratio(token, words_seen, index, tokens):
            params["aspect_ratio"] = _check("aspect_ratio", "--ar", token, space)
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


def _value_after(tokens: list[tuple[int, int, str]], index: int) -> tuple[str | None, int, int]:
    """The value token following a flag: (value or None, end of the cut, index of the value)."""
    if index + 1 >= len(tokens):
        return None, tokens[index][1], index
    _, end, token = tokens[index + 1]
    flag = _flag(token.partition("=")[0])
    if flag is not None and (flag in FLAGS or flag == "--"):
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
    match = _RATIO.match(token)
    if not match or f"{match.group(1)}:{match.group(2)}" not in _BARE_RATIOS:
        return False
    return words_seen == 0 or index == len(tokens) - 1


def _check(name: str, option: str, value: str | None, space: OptionSpace) -> Any:
    """The value converted and checked, or `OptionError`."""
    allowed: tuple[str, ...]
    if name == "duration":
        allowed = tuple(str(d) for d in space.durations)
        digits = re.sub(r"\s*(s|sec|seconds|с|сек)$", "", (value or "").lower())
        if value is not None and digits in allowed:
            return int(digits)
    elif name == "aspect_ratio":
        allowed = space.aspect_ratios
        match = _RATIO.match(value or "")
        ratio = f"{match.group(1)}:{match.group(2)}" if match else value
        if ratio in allowed:
            return ratio
    elif name == "model":
        allowed = space.models
        model = _model_name(value or "")
        if model in allowed:
            return model
    elif name == "mode":
        allowed = space.modes
        if value is not None and value.lower() in allowed:
            return value.lower()
    elif name == "provider":
        allowed = space.providers
        if value is not None and value.lower() in allowed:
            return value.lower()
    elif name == "cfg_scale":
        allowed = CFG_ALLOWED
        try:
            number = float((value or "").replace(",", "."))
        except ValueError:
            number = -1.0
        if value is not None and 0 <= number <= 1:
            return number
    else:  # negative_prompt: any text
        allowed = TEXT_ALLOWED
        if value:
            return value
    raise OptionError(option, value, allowed)


def _model_name(value: str) -> str:
    """Our model name from shorthand: "1.6", "v1-6", "kling-v1.6" -> "kling-v1-6"."""
    name = value.strip().lower().replace(".", "-").replace("_", "-")
    name = name.removeprefix("kling-").removeprefix("kling")
    if not name.startswith("v"):
        name = "v" + name
    return "kling-" + name


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


def _union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Every value once, in first-seen order."""
    seen: dict[str, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    return tuple(seen)
