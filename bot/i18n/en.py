"""English: the default language, and the fallback for every language we do not speak."""

from __future__ import annotations

from bot.i18n.catalogue import Messages

EN = Messages(
    help=(
        "I turn your words and photos into short AI videos (Kling).\n"
        "\n"
        "• /video <what should happen> makes a video from text,\n"
        "  e.g. /video a corgi surfing at sunset\n"
        "• Send a photo with a caption to animate it,\n"
        '  e.g. a photo captioned "she turns and smiles"\n'
        "• Send two photos as one album: the video goes from the first to the second\n"
        "• Reply to a photo with /video <prompt> to animate that photo\n"
        "• Options for one video go before the prompt:\n"
        '  /video --ar 9:16 -d 10 --mode pro --neg "blurry, text" a fox in the snow\n'
        "• --camera down_back (or pan=5, zoom=-3, ...) moves the camera, where the service can\n"
        "• /settings: your usual model, duration, aspect ratio, mode, negative prompt, "
        "provider, and video or file\n"
        "• /effect lists video effects (hug, kiss, ...) for your photos\n"
        "• /jobs lists your recent videos, /cancel stops the latest one\n"
        "  (/cancel 12 stops job #12)\n"
        "• Share a finished video into any chat with the Share button under it, or\n"
        "  send it here again from /jobs\n"
        "\n"
        "A video takes a minute or a few; I reply with it here when it is ready."
    ),
    commands={
        "video": "Make a video: /video <prompt>",
        "effect": "A video effect on your photos: /effect hug",
        "settings": "Model, duration, ratio and more",
        "jobs": "Your recent videos",
        "cancel": "Stop your latest video (or /cancel <number>)",
        "help": "How to use this bot",
    },
    description=(
        "I turn your words and photos into short AI videos made with Kling.\n\n"
        "Press Start, then send /video and what should happen (e.g. /video a corgi surfing at "
        "sunset), or send a photo with a caption to animate it. The video comes back here, "
        "in a minute or a few."
    ),
    short_description="Text and photos into short AI videos (Kling). /video <what should happen>",
    video_usage=(
        "Tell me what the video should show, e.g.\n/video a corgi surfing at sunset\n"
        "Or reply to a photo with /video <what should happen> to animate it."
    ),
    video_usage_short="Add a prompt: /video a corgi surfing at sunset",
    private_hint="Send /video <prompt> to make a video, or send me a photo with a caption.",
    sorry="Sorry, something went wrong on my side. Please try again in a minute.",
    photo_question=(
        "What should happen in this video? Reply to this message with a short description."
    ),
    photo_placeholder="What should happen?",
    album_too_many=(
        "Send one photo, or two in one album: the video goes from the first to the second. "
        "Three or four photos in one album are references for one video, where a video "
        "service can."
    ),
    end_frame_elsewhere=(
        "{provider} can't use an end frame (the second photo). {others} can: choose it in "
        "/settings, or send one photo."
    ),
    end_frame_nowhere=(
        "None of this bot's video services can use an end frame (a second photo). "
        "Send one photo instead."
    ),
    unsupported_media=(
        "I can't make a video from {kind}. Send a photo (or an image file) with a caption, "
        "or /video <prompt>."
    ),
    media_kinds={
        "sticker": "a sticker",
        "video": "a video",
        "voice": "a voice message",
        "video_note": "a video message",
        "audio": "audio",
        "animation": "a GIF",
        "document": "this file",
    },
    no_provider_for_images=(
        "Animating photos is not available on this bot right now: its video service needs the "
        "bot to have a public web address, and none is configured. Text videos work: "
        "/video <prompt>."
    ),
    photo_download_failed="I could not download your photo from Telegram; please send it again",
    interrupted_submit=(
        "The bot restarted while sending your request, so I can't tell whether the video "
        "service got it. To avoid charging twice I did not send it again. Please try again."
    ),
    no_answer=(
        "The video service did not answer in time. It may still be working on it, so I did not "
        "send the request again. Please try again in a few minutes."
    ),
    unavailable="The video service is temporarily unavailable. Please try again later.",
    cannot_make="I can't make that video: {reason}.",
    not_allowed="This bot is private. Ask its owner to give you access.",
    admins_only="This command is for the bot's admins.",
    cooldown="Please wait {wait} before asking for the next video.",
    too_many_active=(
        "You already have {active} videos in progress (the limit is {limit}). "
        "Try again when one is done, or /cancel one."
    ),
    too_many_active_stopping=(
        "You already have {active} videos in progress (the limit is {limit}); {stopping} of "
        "them you cancelled, but the video service is still making them. "
        "Try again when the service finishes."
    ),
    daily_limit=(
        "You have made {limit} videos in the last 24 hours, the daily limit. Try again in {wait}."
    ),
    prompt_control_chars=(
        "The prompt contains invisible control characters ({codes}); please retype it."
    ),
    negative_control_chars=(
        "The negative prompt contains invisible control characters ({codes}); please retype it."
    ),
    image_too_small=(
        "The photo is {width}x{height} pixels; a video needs at least {side}x{side}. "
        "Send a larger photo."
    ),
    image_too_big="The image is larger than {limit} MB; send a smaller one.",
    image_too_many_pixels="The image has more than {limit} megapixels; send a smaller one.",
    image_unreadable=(
        "I can't read that file as an image. Send a photo, or a JPEG, PNG, WebP or HEIC file."
    ),
    durations={"seconds": "{n} s", "minutes": "{n} min", "hours": "{n} h {m} min"},
    timed_out="it did not finish within {minutes} minutes",
    could_not_send="could not send the video ({reason})",
    no_reason="the video service gave no reason",
    provider_said="{message}",
    provider_failed="{message}. Please try again later.",
    chat_unwritable="I can't write to this chat",
    no_text_to_video="this provider does not make text-to-video",
    no_image_to_video="this provider does not make image-to-video",
    prompt_too_long="the prompt is too long: keep it under {limit} characters",
    negative_prompt_too_long="the negative prompt is too long: keep it under {limit} characters",
    choose_model="choose a model among {choices}",
    choose_mode="choose a mode among {choices}",
    choose_duration="choose a duration among {choices} seconds",
    choose_aspect_ratio="choose an aspect ratio among {choices}",
    choose_mode_for_model="{model} comes in {choices} mode only here",
    choose_duration_for_model="{model} makes videos of {choices} seconds only",
    choose_aspect_ratio_for_model="{model} takes the aspect ratios {choices} only",
    no_end_frame="this provider cannot use an end frame",
    no_camera_text="this provider cannot move the camera in text videos",
    no_camera_image="this provider cannot move the camera in photo videos",
    camera_one_axis="this provider moves the camera along one axis at a time, e.g. --camera zoom=5",
    camera_needs="this provider moves the camera only with {needs}",
    no_sound="this provider does not make videos with sound",
    no_effects="this provider does not make video effects",
    no_refs="this provider does not make videos from several reference photos",
    not_offered_here="{model} in {mode} mode is not offered for this here; choose among {choices}",
    end_frame_models="this provider uses an end frame (the second photo) only with {models}",
    no_extend="this provider cannot make a video longer",
    cannot_extend="This video cannot be made longer here.",
    extend_prompt="⏩ video #{job_id}, made longer",
    refs_needs="this provider makes videos from reference photos only with {needs}",
    refs_photos=(
        "A video from reference photos takes 2 to 4 photos in one album, captioned with what "
        "should happen (two photos need --refs, or they are a start and an end frame)."
    ),
    choose_effect="choose an effect among {choices}",
    sound_needs="this provider makes sound only with {needs}",
    feature_elsewhere=(
        "I can't make that video: {reason}. {others} can: add --provider {first}, "
        "or choose it in /settings."
    ),
    feature_nowhere=(
        "I can't make that video: {reason}, and no video service of this bot can. "
        "Services that can: {able}. Send it without {option}."
    ),
    no_video_sent="the provider sent no video",
    pro_needs_model="pro mode needs the model {model} here",
    option_needs_model="{option} works here only with {models}",
    telegram_refused="Telegram refused: {message}",
    telegram_error="Telegram error: {message}",
    video_link_status="the video link answered HTTP {status}",
    video_link_web_page="the video link served a web page",
    video_download_failed="downloading the video failed ({error})",
    too_large_for_telegram=(
        "Your video #{job_id} is larger than Telegram lets bots upload (50 MB). "
        "Download it here:\n{url}"
    ),
    video_link_not_https="the video service gave a link that is not https",
    video_link_private="the video link leads to a private network address",
    video_link_redirects="the video link redirected too many times",
    video_link_not_video="the video link did not serve an MP4 video",
    video_link_too_slow="the video link was too slow",
    video_damaged="the video file is damaged",
    delivery_crashed="something unexpected went wrong",
    bad_option_value="{option}: “{value}” is not a choice here. Choose {allowed}.",
    missing_option_value="{option} needs a value: {allowed}.",
    unknown_option="I don't know the option {option}. Options: {known}.",
    cfg_range="a number from 0 to 1",
    any_text='some text, in quotes if it has spaces: --neg "blurry, text"',
    camera_values=(
        "a move (down_back, forward_up, right_turn_forward, left_turn_forward), or axes "
        "from -10 to 10 among horizontal, vertical, pan, tilt, roll and zoom: "
        "--camera pan=5,zoom=-3"
    ),
    camera_moves={
        "none": "no move",
        "down_back": "down and back",
        "forward_up": "forward and up",
        "right_turn_forward": "turn right, forward",
        "left_turn_forward": "turn left, forward",
    },
    camera_line="camera: {move}",
    switch_values="on or off (the option alone means on)",
    effect_line="effect: {name}",
    effect_prompt="✨ {name}",
    effect_list="Choose an effect to see what to send:",
    effect_how_one=(
        "{name} takes one photo: send it captioned /effect {name}, "
        "or reply to a photo with /effect {name}."
    ),
    effect_how_two=(
        "{name} takes two photos, one person each: send them as one album captioned "
        "/effect {name} (the first goes on the left)."
    ),
    effect_unknown="I don't know the effect “{name}”. Effects: {names}.",
    effects_nowhere=(
        "None of this bot's video services makes video effects. Services that can: {able}."
    ),
    sound_on="with sound",
    sound_off="no sound",
    states={
        "queued": "⏳ Queued",
        "running": "⚙️ Generating",
        "succeeded": "📤 Ready, sending the video…",
        "delivered": "✅ Done",
        "failed": "❌ Failed",
        "cancelled": "🚫 Cancelled",
    },
    state_words={
        "queued": "queued",
        "running": "running",
        "succeeded": "sending",
        "delivered": "delivered",
        "failed": "failed",
        "cancelled": "cancelled",
    },
    status_header="🎬 Video #{job_id} · {provider}",
    elapsed="⏱ {time}",
    usually_ready="⌛ usually ready in {time}",
    longer_than_usual="⌛ taking longer than usual ({time})",
    minutes_about="about {n} min",
    under_a_minute="under a minute",
    place_in_line="🔢 {place} of your {waiting} videos in progress",
    moved="{from_provider} is unavailable, trying {to_provider}",
    confirming="{provider} did not answer; checking whether it got your request",
    failed="❌ Video #{job_id} failed: {reason}",
    seconds="{n} s",
    without="without: {negative}",
    as_file="as a file",
    no_jobs="You have no videos yet. Try /video a corgi surfing at sunset",
    jobs_header="Your recent videos:",
    jobs_page="Page {page} of {pages}",
    job_details=("🎬 Video #{job_id}\n{state} · {provider} · {age}\n\n{prompt}{settings}"),
    job_error="\n\nWhy it failed: {reason}",
    job_link="\n\n🔗 Your link to this video: {link}",
    nothing_to_cancel="You have no video in progress.",
    cancel_usage="Use /cancel, or /cancel <video number> (see /jobs).",
    cancel_which="Several of your videos are in progress. Which one should I stop?",
    cancelled="🚫 Video #{job_id} cancelled. It will not be sent.",
    cancelled_stopping=(
        "🚫 Video #{job_id} cancelled. It will not be sent. The video service cannot be "
        "stopped and may still be making it, so it counts toward your videos in progress "
        "until the service finishes (at most {wait})."
    ),
    cannot_cancel="Video #{job_id} is not one of your videos in progress.",
    not_yours="Only the person who asked for this video can do that.",
    not_your_list="This list belongs to someone else: send /jobs for yours.",
    job_gone="That video is no longer there.",
    button_stale="This button does not work here. Send the command again.",
    again_started="Making it again: video #{job_id}",
    ages={
        "now": "just now",
        "minutes": "{n} min ago",
        "hours": "{n} h ago",
        "days": "{n} d ago",
    },
    button_cancel="🚫 Cancel",
    button_again="🔁 Again",
    button_extend="⏩ Extend",
    button_settings="⚙️ Settings",
    button_older="Older ›",
    button_newer="‹ Newer",
    button_back="‹ Back",
    button_share="📤 Share",
    button_send_again="📨 Send again",
    button_same_prompt="🔁 Same prompt again",
    inline_description="Video #{job_id} · {age}",
    inline_make_one="🎬 Make a video",
    made_with="made with @{bot}",
    video_not_found="There is no finished video #{job_id} to send.",
    video_not_yours="That video belongs to someone else: only the person who made it can open it.",
    resend_no_file=(
        "Video #{job_id} was too large for Telegram and went out as a link, so there is no "
        "copy to send again."
    ),
    resend_refused="Telegram would not send that video again. Try once more later.",
    settings_title_user="⚙️ Your settings, used for every new video",
    settings_title_group="⚙️ Settings for {title}, set by its admins",
    settings_group_hint="Your own settings: send /settings to me in a private chat.",
    settings_labels={
        "model": "Model",
        "duration": "Duration",
        "aspect_ratio": "Aspect ratio",
        "mode": "Mode",
        "camera": "Camera",
        "negative_prompt": "Negative prompt",
        "provider": "Provider",
        "delivery": "Results as",
    },
    settings_default_value="{value} (default)",
    settings_automatic="automatic ({provider})",
    settings_delivery={"video": "playable video", "file": "file"},
    settings_none="none",
    settings_reset="Reset all",
    settings_done="✓ Done",
    settings_clear="Clear",
    settings_saved="Saved",
    settings_closed="Settings saved.",
    settings_admins_only="Only this group's admins can change its settings.",
    settings_dropped="{values}: not offered by {provider}, back to default.",
    negative_question=(
        "{who}Reply to this message with what the videos should avoid, "
        'e.g. "blurry, text, watermark".'
    ),
    negative_placeholder="blurry, text, watermark",
    negative_saved="Negative prompt saved: {negative}",
    negative_too_long="That is too long: keep it under {limit} characters.",
    credits={
        "command_buy": "Buy credits for videos",
        "command_balance": "Your credits",
        "command_paysupport": "Help with a payment",
        "command_terms": "Terms of sale",
        "price_line": "💳 {price} credits, charged when the video arrives",
        "charged_line": "💳 Charged: {price} credits",
        "released_line": "💳 Your {price} credits are back.",
        "insufficient": (
            "This video costs {price} credits and you have {available}. "
            "Buy credits and send it again."
        ),
        "buy_button": "Buy credits",
        "buy_title": (
            "💳 Your balance: {available} credits. Choose a pack (paid in Telegram Stars):"
        ),
        "pack_button": "{credits} credits for {stars} ⭐",
        "invoice_title": "{credits} credits",
        "invoice_description": (
            "{credits} credits for AI videos. A video is charged only when it arrives; "
            "one that fails or is cancelled costs nothing."
        ),
        "invoice_label": "{credits} credits",
        "buy_in_private": "Credits are bought in a private chat with me: {link}",
        "paid": "✅ {credits} credits added. Your balance: {available} credits.",
        "paid_problem": (
            "Your payment arrived but does not match its invoice, so nothing was added yet. "
            "Send /paysupport and we will sort it out."
        ),
        "checkout_off": "Credits are not sold right now. You were not charged.",
        "checkout_gone": (
            "This pack is no longer offered. You were not charged; send /buy for the current ones."
        ),
        "pack_gone": "This pack is no longer offered; send /buy.",
        "billing_off": "Videos are free here: there is nothing to buy.",
        "balance": "💳 Balance: {available} credits\nReserved for videos in progress: {reserved}",
        "balance_latest": "Latest:",
        "balance_none": "No credit movements yet. Send /buy to buy credits.",
        "entry": "{sign}{amount} {what}",
        "purchase": "bought",
        "reserve": "reserved for video #{job}",
        "charge": "charged for video #{job}",
        "release": "back from video #{job}",
        "grant": "from the operator",
        "welcome": "welcome gift",
        "daily": "free credits of the day",
        "refund": "refunded",
        "unrefund": "refund undone",
        "paysupport": (
            "Trouble with a payment? Send /paysupport followed by what happened (the date and "
            "the pack); the bot's operator reads it and answers here. Credits you have not "
            "spent can be refunded in Stars."
        ),
        "paysupport_sent": "Thanks, the operator has your message and will answer here.",
        "terms": (
            "Terms: credits are bought with Telegram Stars and used for videos in this bot "
            "only. A video's price is shown before it starts and charged only when the video "
            "arrives; a failed or cancelled video costs nothing. Unspent credits can be "
            "refunded through /paysupport; spent ones cannot. Videos are made by an AI "
            "service and may not match your prompt exactly. Credits cannot be exchanged "
            "for money or moved to another account."
        ),
    },
)
