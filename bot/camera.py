"""Camera moves (`--camera down_back`, `--camera pan=5,zoom=-3`), in the bot's own words.

Kling documents two forms of `camera_control` (KLING-SURFACE.md section 1): a named move
(`down_back`, `forward_up`, `right_turn_forward`, `left_turn_forward`) or `simple` with six
axes (`horizontal`, `vertical`, `pan`, `tilt`, `roll`, `zoom`, each -10..10). A move is kept
as one canonical string, so it is a plain job parameter and setting: the preset's name, or the
non-zero axes in that order (`pan=5,zoom=-3`). Each provider module spells it its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The named moves every provider that documents camera control lists.
PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
#: The six axes of the `simple` form, in the order they are written back.
AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
AXIS_LIMIT = 10  # each axis takes -10..10

_AXIS = re.compile(r"^([a-z]+)\s*=\s*([+-]?\d{1,2})$")


@dataclass(frozen=True)
class CameraMove:
    """A parsed move: a preset's name, or the non-zero axes."""

    preset: str | None = None
    axes: tuple[tuple[str, int], ...] = ()

    @property
    def config(self) -> dict[str, int]:
        """All six axes, zeros included, as Kling's `config` object lists them."""
        chosen = dict(self.axes)
        return {axis: chosen.get(axis, 0) for axis in AXES}


def parse_camera(value: str) -> str | None:
    """The canonical form of a written move ("Down_Back", "pan=5, zoom=-3"); None if it is
    not one: an unknown name or axis, a value outside -10..10 or not whole, an axis given
    twice, or every axis zero."""
    text = value.strip().lower().replace("-", "_") if "=" not in value else value.lower()
    if text in PRESETS:
        return text
    axes: dict[str, int] = {}
    for part in (piece.strip() for piece in value.lower().split(",")):
        match = _AXIS.match(part)
        if match is None or match.group(1) not in AXES or match.group(1) in axes:
            return None
        number = int(match.group(2))
        if abs(number) > AXIS_LIMIT:
            return None
        axes[match.group(1)] = number
    chosen = [(axis, axes[axis]) for axis in AXES if axes.get(axis)]
    if not chosen:
        return None
    return ",".join(f"{axis}={number}" for axis, number in chosen)


def camera_move(value: str) -> CameraMove:
    """A canonical string (as `parse_camera` made it) as a move; ValueError for anything else."""
    canonical = parse_camera(value)
    if canonical is None:
        raise ValueError(f"not a camera move: {value!r}")
    if canonical in PRESETS:
        return CameraMove(preset=canonical)
    pairs = (part.partition("=") for part in canonical.split(","))
    return CameraMove(axes=tuple((axis, int(number)) for axis, _, number in pairs))
