"""The video parameters, each declared once: one `Param` row per parameter, in display order.

A row says everything the bot knows about a parameter: the option flags that set it in a
request, how a written value is read, which `Capabilities` field lists the values a provider
takes and which holds its default, its code on the settings panel, whether it is kept as a
setting and sent in the `VideoRequest`, and how the status line shows it. Options parsing,
settings, the settings panel, the status and caption lines, the submission request and the
provider check derive from `PARAMS`; adding a parameter is one row here, its `VideoRequest`
field and provider mappings, and its labels in `bot.i18n` (see the README's design section).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot.camera import PRESETS, parse_camera
from bot.i18n import Messages
from bot.jobs import JobKind

if TYPE_CHECKING:  # providers.base checks requests through this table
    from bot.providers.base import Capabilities

#: `OptionError.allowed` for `--cfg` (a range) and `--neg` (any text), worded by a message.
CFG_ALLOWED = ("0…1",)
TEXT_ALLOWED: tuple[str, ...] = ()
#: `OptionError.allowed` for `--camera`: the named moves and the six-axis form.
CAMERA_ALLOWED = (*PRESETS, "pan=5,zoom=-3")

_RATIO = re.compile(r"^(\d{1,2})\s*[:x×]\s*(\d{1,2})$")

#: Where a parameter shows: in the caption and status lines, or only in the status and details.
Shown = Literal["caption", "status"]
#: How the settings panel offers it: a list of choices, a question for text, an on/off switch.
Panel = Literal["choice", "text", "toggle"]


def _plain(value: Any, m: Messages) -> str:
    return str(value)


def _seconds(value: Any, m: Messages) -> str:
    return m.seconds.format(n=value)


@dataclass(frozen=True)
class Param:
    """One video parameter; `name` is its key in job params and settings, its `VideoRequest`
    field when `request`, and its key in `Messages.settings_labels` unless `label` says."""

    name: str
    type: type  # the type of a stored or parsed value
    flags: tuple[str, ...] = ()  # option flags in a request, the long form first
    # A written value in the form it is offered in ("1.6" -> "kling-v1-6"); for choices.
    normalise: Callable[[str], str] = str.lower
    # For free values (not a list of choices): the value read, or None when it will not do;
    # `allowed` is then what `OptionError` reports as the choices, `wording` the message key
    # that words them for the user.
    convert: Callable[[str], Any] | None = None
    allowed: tuple[str, ...] = ()
    wording: str = ""
    offered: str | None = None  # the `Capabilities` field listing the values a provider takes
    default: str | None = None  # the `Capabilities` field with what it makes when left unset
    refusal: str = ""  # the message key ({choices}) when a provider does not offer the value
    only_for: tuple[JobKind, ...] | None = None  # providers read it for these kinds only
    limit: str | None = None  # the `Capabilities` field limiting a text's length
    too_long: str = ""  # the message key ({limit}) when the text is longer than that
    setting: bool = True  # kept in /settings
    job: bool = True  # kept in the job's params (the preferred provider is passed apart)
    request: bool = True  # a `VideoRequest` field
    code: str = ""  # the settings panel's callback code: keep it, old buttons carry it
    panel: Panel | None = None
    label: str = ""
    word: Callable[[Any, Messages], str] = _plain  # a value as the panel and status show it
    shown: Shown | None = None
    line: Callable[[Any, Messages], str] | None = None  # in the status line, if not `word`
    # A switch written alone (`--sound`) means this value; a value after it is read only when
    # `convert` reads it (`--sound off`), so a prompt word after the switch stays prompt.
    bare: Any = None

    @property
    def label_key(self) -> str:
        return self.label or self.name

    def in_line(self, value: Any, m: Messages) -> str:
        """The value as the status and caption lines show it."""
        return (self.line or self.word)(value, m)


def _model_name(value: str) -> str:
    """Our model name from shorthand: "1.6", "v1-6", "kling-v1.6" -> "kling-v1-6"; "3.0",
    "kling-3.0" (APIFRAME's name) -> "kling-v3"."""
    name = value.strip().lower().replace(".", "-").replace("_", "-")
    name = name.removeprefix("kling-").removeprefix("kling")
    if not name.startswith("v"):
        name = "v" + name
    name = re.sub(r"^(v\d+)-0$", r"\1", name)  # a whole version: "v3-0" is "v3"
    return "kling-" + name


def ratio(value: str) -> str:
    """ "9x16", "9 : 16" -> "9:16"; anything else as written."""
    match = _RATIO.match(value)
    return f"{match.group(1)}:{match.group(2)}" if match else value


def _duration(value: str) -> str:
    """ "10s", "10 sec", "10 с" -> "10"."""
    return re.sub(r"\s*(s|sec|seconds|с|сек)$", "", value.lower())


def _cfg(value: str) -> float | None:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return None
    return number if 0 <= number <= 1 else None


def _on_off(value: str) -> bool | None:
    """`--sound on|off` (yes/no, true/false, 1/0 too); None for any other word."""
    return {"on": True, "yes": True, "true": True, "1": True}.get(
        value.lower(), False if value.lower() in ("off", "no", "false", "0") else None
    )


def _text(value: str) -> str | None:
    return value or None


def _cfg_line(value: Any, m: Messages) -> str:
    return f"cfg {value}"


def _camera_word(value: Any, m: Messages) -> str:
    """A named move in words ("down and back"); the six-axis form as written."""
    return m.camera_moves.get(str(value), str(value))


def _camera_line(value: Any, m: Messages) -> str:
    return m.camera_line.format(move=_camera_word(value, m))


def _without(value: Any, m: Messages) -> str:
    text = str(value)
    return m.without.format(negative=text if len(text) <= 40 else text[:39] + "…")


def _limited(name: str, kind: type, flags: tuple[str, ...], code: str, **row: Any) -> Param:
    """A setting chosen from the values each provider offers, by convention: `Capabilities`
    lists them in `<name>s`, holds its default in `default_<name>`, and the refusal is the
    message `choose_<name>`; a unit test checks all three exist. Shown in the caption unless
    `row` says otherwise."""
    row = {"shown": "caption", **row}
    return Param(
        name,
        kind,
        flags,
        offered=f"{name}s",
        default=f"default_{name}",
        refusal=f"choose_{name}",
        code=code,
        panel="choice",
        **row,
    )


def _free(
    name: str,
    kind: type,
    flags: tuple[str, ...],
    convert: Callable[[str], Any],
    allowed: tuple[str, ...],
    wording: str,
    **row: Any,
) -> Param:
    """A value not chosen from a list (a number in a range, any text): `convert` reads it;
    `allowed` is what `OptionError` reports and the message `wording` says what will do.
    Shown in the status line only."""
    return Param(
        name, kind, flags, convert=convert, allowed=allowed, wording=wording, shown="status", **row
    )


PARAMS: tuple[Param, ...] = (
    _limited("model", str, ("--model", "-m"), "m", normalise=_model_name),
    _limited("duration", int, ("--duration", "-d"), "d", normalise=_duration, word=_seconds),
    _limited(
        "aspect_ratio",
        str,
        ("--ar", "--aspect", "--ratio", "-a"),
        "ar",
        normalise=ratio,
        only_for=(JobKind.TEXT, JobKind.REFS),
    ),
    _limited("mode", str, ("--mode",), "mo", shown="status"),
    # A move is a free value (a preset or axes, `bot.camera`); the panel offers the presets
    # of providers with `Capabilities.camera`, and `unsupported` checks it on those terms.
    Param(
        "camera",
        str,
        ("--camera", "--cam"),
        convert=parse_camera,
        allowed=CAMERA_ALLOWED,
        wording="camera_values",
        offered="camera_presets",
        default="default_camera",
        code="cam",
        panel="choice",
        word=_camera_word,
        shown="status",
        line=_camera_line,
    ),
    _free(
        "cfg_scale",
        float,
        ("--cfg", "-c"),
        _cfg,
        CFG_ALLOWED,
        "cfg_range",
        setting=False,
        line=_cfg_line,
    ),
    _free(
        "negative_prompt",
        str,
        ("--neg", "--negative", "-n"),
        _text,
        TEXT_ALLOWED,
        "any_text",
        limit="max_negative_prompt_length",
        too_long="negative_prompt_too_long",
        code="neg",
        panel="text",
        line=_without,
    ),
    # The scene of an effect job (`/effect hug`): chosen by the command, not by an option.
    Param(
        "effect",
        str,
        offered="effect_names",
        refusal="choose_effect",
        only_for=(JobKind.EFFECT,),
        setting=False,
        shown="status",
        line=lambda value, m: m.effect_line.format(name=value),
    ),
    # The task whose video an extend job makes longer (the provider's task id, ours to poll).
    Param("extend_of", str, only_for=(JobKind.EXTEND,), setting=False),
    _free(
        "sound",
        bool,
        ("--sound",),
        _on_off,
        ("on", "off"),
        "switch_values",
        setting=False,
        bare=True,
        line=lambda value, m: m.sound_on if value else m.sound_off,
    ),
    # An album of two photos as references rather than start and end frames (three or four
    # photos are references anyway); decides the kind of job, not sent as a field.
    _free(
        "refs",
        bool,
        ("--refs",),
        _on_off,
        ("on", "off"),
        "switch_values",
        setting=False,
        request=False,
        bare=True,
    ),
    Param(
        "provider",
        str,
        flags=("--provider", "-p"),
        job=False,
        request=False,
        code="p",
        panel="choice",
    ),
    Param(
        "as_file",
        bool,
        request=False,
        code="f",
        panel="toggle",
        label="delivery",
        shown="status",
        line=lambda value, m: m.as_file,
    ),
)

PARAM: Mapping[str, Param] = {param.name: param for param in PARAMS}
#: The parameters the settings panel offers as a list of choices, by their callback code.
CHOICES: Mapping[str, Param] = {p.code: p for p in PARAMS if p.panel == "choice"}
#: Option flag -> parameter (the preferred provider is one, kept apart from job params).
FLAGS: Mapping[str, Param] = {flag: param for param in PARAMS for flag in param.flags}
#: The long form of each option, for "options: ..." answers, in the order users have always
#: seen (a unit test holds it to the rows' flags).
OPTION_NAMES = (
    "--ar",
    "--duration",
    "--model",
    "--mode",
    "--neg",
    "--cfg",
    "--camera",
    "--sound",
    "--refs",
    "--provider",
)


def listed(param: Param, *caps: Capabilities, model: str | None = None) -> tuple[Any, ...]:
    """The values any of `caps` offers for `param` (with `model`, where given and a provider
    declares the values per model): in the order listed, or sorted where the field is a set."""
    groups = [c.offered(param.offered or "", model) for c in caps]
    union = tuple(dict.fromkeys(value for group in groups for value in group))
    return union if all(isinstance(group, tuple) for group in groups) else tuple(sorted(union))


def request_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    """The job parameters that are `VideoRequest` fields."""
    return {p.name: params[p.name] for p in PARAMS if p.request and p.name in params}
