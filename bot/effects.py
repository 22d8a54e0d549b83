"""Video effects (`/effect hug` with two photos, `/effect squish` with one), in the bot's words.

Kling's effects endpoint and AI/ML API's effects models take a scene name and one or two
photos (KLING-SURFACE.md section 2). AI/ML API's spec says which scenes take how many photos
for five of its 80 scenes: `hug`, `kiss` and `heart_gesture` take exactly two (the first on the
left), `squish` and `expansion` one. Those five are the ones Kling's legacy effect lists also
name, so they are what the bot offers; a scene whose photo count no provider states is left out
rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Scene -> photos it takes, where a provider's docs say.
PHOTOS: Mapping[str, int] = {
    "hug": 2,
    "kiss": 2,
    "heart_gesture": 2,
    "squish": 1,
    "expansion": 1,
}
EFFECTS = tuple(PHOTOS)


def effect_name(written: str) -> str:
    """A written name as the scene is spelt: "Heart-Gesture" -> "heart_gesture"."""
    return written.strip().lower().replace("-", "_")
