"""Image-understanding presets: a named prompt the client can send instead of typing one."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot_common.errors import InvalidInput


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    prompt: str


IMAGE_PRESETS: tuple[Preset, ...] = (
    Preset("caption", "Caption", "Write a one-sentence caption for this image."),
    Preset(
        "description",
        "Detailed description",
        "Describe this image in detail: the setting, the main subjects, colours, and any notable details.",
    ),
    Preset(
        "classification",
        "Classify",
        "Classify this image: say what kind of image it is (photo, diagram, screenshot, document, "
        "artwork, ...) and its main subject category. Answer with the category and a short reason.",
    ),
    Preset(
        "objects",
        "List objects",
        "List the distinct objects visible in this image, one per line, with a count where more "
        "than one is present.",
    ),
    Preset(
        "transcribe",
        "Transcribe text",
        "Transcribe all the text visible in this image exactly as written, preserving line breaks. "
        "If there is no text, say so.",
    ),
    Preset(
        "translate",
        "Translate text",
        "Transcribe the text visible in this image and translate it into English. Give the original "
        "and the translation.",
    ),
)

_BY_NAME = {preset.name: preset for preset in IMAGE_PRESETS}


def preset_prompt(name: str) -> str:
    preset = _BY_NAME.get(name)
    if preset is None:
        known = ", ".join(_BY_NAME)
        raise InvalidInput(f"Unknown preset '{name}'. Known presets: {known}")
    return preset.prompt
