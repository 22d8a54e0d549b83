"""The shape of the message catalogue: one field per user-facing text, so every language
must provide every message (mypy and a unit test check that).

Templates use `str.format` fields; each language keeps the same field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Messages:
    """Every user-facing text in one language."""

    # Commands and help
    help: str
    commands: Mapping[str, str]  # command -> description for setMyCommands
    description: str  # setMyDescription: the empty chat's "What can this bot do?", <= 512
    short_description: str  # setMyShortDescription: profile page and shared links, <= 120
    video_usage: str
    video_usage_short: str
    private_hint: str
    sorry: str

    # Photos, albums and other media
    photo_question: str
    photo_placeholder: str
    album_too_many: str
    end_frame_elsewhere: str  # {provider} {others}
    end_frame_nowhere: str
    unsupported_media: str  # {kind}
    media_kinds: Mapping[str, str]  # sticker, video, voice, ... -> "a sticker", ...

    # Refusals and failures (the English ones are also `bot.texts` constants)
    no_provider_for_images: str
    photo_download_failed: str
    interrupted_submit: str
    no_answer: str
    unavailable: str
    cannot_make: str  # {reason}
    timed_out: str  # {minutes}
    could_not_send: str  # {reason}
    no_reason: str
    provider_said: str  # {message}: the provider's own words, which we cannot translate
    provider_failed: str  # {message}
    chat_unwritable: str
    no_text_to_video: str
    no_image_to_video: str
    prompt_too_long: str  # {limit}
    negative_prompt_too_long: str  # {limit}
    choose_model: str  # {choices}
    choose_mode: str  # {choices}
    choose_duration: str  # {choices}
    choose_aspect_ratio: str  # {choices}
    # A value offered here, but not with the request's model (`Capabilities.model_<field>`).
    choose_mode_for_model: str  # {model}, {choices}
    choose_duration_for_model: str  # {model}, {choices}
    choose_aspect_ratio_for_model: str  # {model}, {choices}
    no_end_frame: str
    no_camera_text: str
    no_camera_image: str
    camera_one_axis: str
    camera_needs: str  # {needs}
    no_sound: str
    no_effects: str
    no_refs: str
    not_offered_here: str  # {model} {mode} {choices}
    end_frame_models: str  # {models}
    no_extend: str
    cannot_extend: str
    extend_prompt: str  # {job_id}: an extend job's prompt, as its caption and /jobs show it
    refs_needs: str  # {needs}
    refs_photos: str
    choose_effect: str  # {choices}
    sound_needs: str  # {needs}
    feature_elsewhere: str  # {reason} {others} {first}: this bot's providers that offer it
    feature_nowhere: str  # {reason} {able} {option}: providers (of any bot) documenting it
    no_video_sent: str
    pro_needs_model: str  # {model}
    option_needs_model: str  # {option}, {models}
    telegram_refused: str  # {message}: Telegram's own words
    telegram_error: str  # {message}
    video_link_status: str  # {status}
    video_link_web_page: str
    video_download_failed: str  # {error}
    too_large_for_telegram: str  # {job_id} {url}

    # Why a finished video could not be fetched or sent (the {reason} of could_not_send)
    video_link_not_https: str
    video_link_private: str
    video_link_redirects: str
    video_link_not_video: str
    video_link_too_slow: str
    video_damaged: str
    delivery_crashed: str

    # Access, limits and input checks (each refusal creates no job)
    not_allowed: str
    admins_only: str
    cooldown: str  # {wait}
    too_many_active: str  # {active} {limit}
    too_many_active_stopping: str  # {active} {limit} {stopping}: some are cancelled, still made
    daily_limit: str  # {limit} {wait}
    prompt_control_chars: str  # {codes}
    negative_control_chars: str  # {codes}
    image_too_small: str  # {width} {height} {side}
    image_too_big: str  # {limit}
    image_too_many_pixels: str  # {limit}
    image_unreadable: str
    durations: Mapping[str, str]  # seconds, minutes, hours -> template with {n} (and {m})

    # Options in the command
    bad_option_value: str  # {option} {value} {allowed}
    missing_option_value: str  # {option} {allowed}
    unknown_option: str  # {option} {known}
    cfg_range: str
    any_text: str
    camera_values: str
    camera_moves: Mapping[str, str]  # preset (and "none") -> words
    camera_line: str  # {move}
    switch_values: str
    effect_line: str  # {name}
    effect_prompt: str  # {name}: an effect job's prompt, as its caption and /jobs show it
    effect_list: str
    effect_how_one: str  # {name}
    effect_how_two: str  # {name}
    effect_unknown: str  # {name} {names}
    effects_nowhere: str  # {able}
    sound_on: str
    sound_off: str

    # The status message
    states: Mapping[str, str]  # JobState value -> line
    state_words: Mapping[str, str]  # JobState value -> word for lists
    status_header: str  # {job_id} {provider}
    elapsed: str  # {time}
    usually_ready: str  # {time}: the median of recent videos, less the time taken so far
    longer_than_usual: str  # {time}: the median, when this one is past it
    minutes_about: str  # {n}
    under_a_minute: str
    place_in_line: str  # {place} {waiting}: this job among the user's unfinished ones
    moved: str  # {from_provider} {to_provider}
    confirming: str  # {provider}
    failed: str  # {job_id} {reason}
    seconds: str  # {n}
    without: str  # {negative}
    as_file: str

    # Jobs and cancelling
    no_jobs: str
    jobs_header: str
    jobs_page: str  # {page} {pages}
    job_details: str  # {job_id} {state} {provider} {age} {prompt} {settings}
    job_error: str  # {reason}
    job_link: str  # {link}: t.me/<bot>?start=v<number>, under a delivered video's details
    nothing_to_cancel: str
    cancel_usage: str
    cancel_which: str
    cancelled: str  # {job_id}
    cancelled_stopping: str  # {job_id} {wait}: the provider may still be making it
    cannot_cancel: str  # {job_id}
    not_yours: str
    not_your_list: str
    job_gone: str
    button_stale: str  # a press under a message that does not carry that button
    again_started: str  # {job_id}
    ages: Mapping[str, str]  # now, minutes, hours, days -> template with {n}

    # Buttons
    button_cancel: str
    button_again: str
    button_extend: str
    button_settings: str
    button_older: str
    button_newer: str
    button_back: str
    button_share: str
    button_send_again: str
    button_same_prompt: str

    # Sharing (inline mode, Send again, deep links)
    inline_description: str  # {job_id} {age}: the line under a video in the inline list
    inline_make_one: str  # the button above an empty inline list (opens the private chat)
    made_with: str  # {bot}: the credit under a shared video, when SHARE_CREDIT is on
    video_not_found: str  # {job_id}
    video_not_yours: str
    resend_no_file: str  # {job_id}: it went out as a link, no file is kept
    resend_refused: str

    # Settings
    settings_title_user: str
    settings_title_group: str  # {title}
    settings_group_hint: str
    settings_labels: Mapping[str, str]  # field -> label
    settings_default_value: str  # {value}: the provider's default, in force while none is chosen
    settings_automatic: str  # {provider}
    settings_delivery: Mapping[str, str]  # video, file
    settings_none: str
    settings_reset: str
    settings_done: str
    settings_clear: str
    settings_saved: str
    settings_closed: str
    settings_admins_only: str
    settings_dropped: str  # {values} {provider}
    negative_question: str  # {who}
    negative_placeholder: str
    negative_saved: str  # {negative}
    negative_too_long: str  # {limit}

    # Credits and Telegram Stars (`bot.billing`), one key per text
    credits: Mapping[str, str]
