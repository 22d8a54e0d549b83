# ruff: noqa: E501 - each snippet is a line of production code, as long as that line is
"""The mutants `make mutate` applies: for each promise of README's Guarantees table, the
smallest plausible ways to break the code behind it, and the tests that must notice.

Each mutant replaces one exact snippet (found exactly once in its file) in a scratch copy of
the repository; `tests` are pytest node ids or paths, run with `-x -q`. A mutant must be
killed: if one survives, the promise can break silently, so strengthen or add a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    guarantee: str  # the Guarantees row, in a few words
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    why: str  # what the break does, in a few words


CRASH = "tests/faults/test_crash.py"
STORE = "tests/unit/test_store.py"
RESTART = "tests/e2e/test_delivery_and_restart.py"
WEBHOOKS = "tests/e2e/test_webhooks.py"
LINKS = "tests/faults/test_hostile_video_links.py"
TG_FAULTS = "tests/faults/test_telegram_and_provider_faults.py"
LIMITS = "tests/e2e/test_telegram_limits.py"
PACING = "tests/unit/test_pacing.py"
ACCESS = "tests/e2e/test_access_and_input.py"
OUTAGE = "tests/faults/test_database_outage.py"
HARDENING = "tests/e2e/test_web_hardening.py"
IMAGES = "tests/e2e/test_image_files.py"
FLOOD = "tests/e2e/test_concurrent_updates.py"
MASKING = "tests/faults/test_log_masking.py"
CREDITS = "tests/unit/test_credits.py"
E2E_CREDITS = "tests/e2e/test_credits.py"
CREDIT_CRASH = "tests/faults/test_credit_crash.py"
SHARING = "tests/e2e/test_sharing.py"
SHARING_UNIT = "tests/unit/test_sharing.py"
SHARED = "tests/unit/test_shared_state.py"
SHARED_PACING = "tests/unit/test_shared_pacing.py"
REPLICAS = "tests/faults/test_replicas.py"
ALBUMS = "tests/unit/test_albums_and_mp4.py"
ACCESS_UNIT = "tests/unit/test_access.py"
CHAT_STATUS = "tests/unit/test_chat_status.py"

MUTANTS: tuple[Mutant, ...] = (
    # --- killed after the provider accepted a job -------------------------------------------
    Mutant(
        "resume-skips-queued-with-task",
        "killed after accept: resumed by task id",
        "bot/store/base.py",
        "\"(state IN ('queued', 'running') OR stopping) AND provider_task_id IS NOT NULL\"",
        "\"(state IN ('running') OR stopping) AND provider_task_id IS NOT NULL\"",
        (f"{CRASH}::test_kill_after_task_recorded_delivers_once_after_restart",),
        "a job whose task id is recorded but not yet running is never polled",
    ),
    Mutant(
        "task-id-not-recorded",
        "killed after accept: resumed by task id",
        "bot/lifecycle.py",
        "await self._store.record_submission(job.id, submitted.provider, submitted.task_id)",
        "pass",
        (
            f"{CRASH}::test_kill_after_task_recorded_delivers_once_after_restart",
            f"{RESTART}::test_restart_with_unfinished_job_delivers_once",
        ),
        "the provider's task id is never stored",
    ),
    # --- killed while the provider answers the submit ---------------------------------------
    Mutant(
        "interrupted-submit-sent-again",
        "killed mid-submit: never resubmitted",
        "bot/submission.py",
        "        if job.submit_started_at is not None:\n",
        "        if False:\n",
        (
            f"{CRASH}::test_kill_while_provider_accepts_is_never_resubmitted",
            f"{CRASH}::test_kill_while_kling_accepts_is_reconciled_and_delivered_once",
        ),
        "a job interrupted mid-submit is sent again after the restart",
    ),
    Mutant(
        "kling-never-looked-up",
        "killed mid-submit: reconciled",
        "bot/tracker.py",
        "        if isinstance(provider, FindsTasks):\n",
        "        if False:\n",
        (f"{CRASH}::test_kill_while_kling_accepts_is_reconciled_and_delivered_once",),
        "the reconcile pass never asks Kling for the task by our id",
    ),
    # --- killed before any provider ---------------------------------------------------------
    Mutant(
        "startup-waits-for-orphans",
        "killed before submit: submitted after restart",
        "bot/lifecycle.py",
        "submit_before = now if startup else now - ORPHAN_AFTER",
        "submit_before = now - ORPHAN_AFTER",
        (f"{CRASH}::test_kill_before_submit_sends_it_after_restart",),
        "at start, unsubmitted jobs wait 5 minutes like orphans",
    ),
    Mutant(
        "startup-resume-not-called",
        "killed before submit: submitted after restart",
        "bot/tracker.py",
        "await self._lifecycle.resume(now, startup=startup)",
        "await self._lifecycle.resume(now)",
        (f"{CRASH}::test_kill_before_submit_sends_it_after_restart",),
        "the first cycle after a start is not treated as a start",
    ),
    # --- a delivery fails or is cut off -----------------------------------------------------
    Mutant(
        "postponed-delivery-waits-after-restart",
        "delivery retried, at once after restart",
        "bot/lifecycle.py",
        "due = math.inf if startup else now",
        "due = now",
        (f"{RESTART}::test_restart_resumes_pending_delivery",),
        "a postponed delivery waits out its backoff after a restart",
    ),
    Mutant(
        "delivery-not-resumed-after-crash",
        "delivery retried, at once after restart",
        "bot/store/base.py",
        "\"state = 'succeeded' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)\"",
        "\"state = 'succeeded' AND next_attempt_at <= ?\"",
        (
            f"{CRASH}::test_kill_during_upload_completes_the_delivery_once_after_restart",
            f"{RESTART}::test_restart_resumes_pending_delivery",
        ),
        "a delivery never attempted yet is not picked up after a restart",
    ),
    # --- SIGTERM during an upload -----------------------------------------------------------
    Mutant(
        "stop-cancels-uploads",
        "SIGTERM: the upload completes",
        "bot/lifecycle.py",
        "        await self._background.aclose(grace)\n",
        "        await self._background.aclose(0)\n",
        (f"{WEBHOOKS}::test_stop_during_delivery_completes_it",),
        "a stop cancels uploads in flight",
    ),
    Mutant(
        "stop-without-waiting",
        "SIGTERM: the upload completes",
        "bot/background.py",
        "_, pending = await asyncio.wait(self._tasks, timeout=grace)",
        "_, pending = set(), set(self._tasks)",
        (f"{WEBHOOKS}::test_stop_during_delivery_completes_it",),
        "background work is cancelled at stop without a grace",
    ),
    # --- several replicas -------------------------------------------------------------------
    Mutant(
        "lease-ignored-when-claiming",
        "replicas: no job polled by two at once",
        "bot/store/base.py",
        '        lease = f"lease_until <= {self.NOW}"\n',
        '        lease = "TRUE"\n',
        (STORE,),
        "a replica claims jobs another replica holds",
    ),
    Mutant(
        "claim-job-ignores-lease",
        "replicas: no job polled by two at once",
        "bot/store/base.py",
        'f" WHERE id = ? AND {UNFINISHED} AND (lease_owner = ? OR lease_until <= {self.NOW})"',
        'f" WHERE id = ? AND {UNFINISHED} AND (lease_owner = ? OR TRUE)"',
        (STORE,),
        "one job claimed by two replicas (delivered twice)",
    ),
    Mutant(
        "leases-never-lapse",
        "replicas: a dead replica's jobs taken over",
        "bot/store/base.py",
        '            f"UPDATE jobs SET lease_owner = ?, lease_until = {self.NOW} + ?"  # noqa: S608'
        " - fixed SQL fragments only\n"
        '            f" WHERE {self._claimable(candidates)} RETURNING {JOB_COLUMNS}",',
        '            f"UPDATE jobs SET lease_owner = ?, lease_until = {self.NOW} + ? * 1000"'
        "  # noqa: S608\n"
        '            f" WHERE {self._claimable(candidates)} RETURNING {JOB_COLUMNS}",',
        (f"{STORE}::test_a_poll_lease_lapses_after_its_length_and_not_before",),
        "leases taken by a poll last 1000 times too long",
    ),
    # --- long uploads keep their lease ------------------------------------------------------
    Mutant(
        "lease-not-renewed",
        "a long upload keeps its lease",
        "bot/leases.py",
        "                    if await self.claim(job_id) is None:\n",
        "                    if True:\n",
        ("tests/e2e/test_leases.py",),
        "the lease is never renewed during an upload",
    ),
    Mutant(
        "lease-renewed-too-late",
        "a long upload keeps its lease",
        "bot/leases.py",
        "await self._sleep(self.seconds / 3)",
        "await self._sleep(self.seconds * 3)",
        ("tests/e2e/test_leases.py",),
        "the lease is renewed after it lapsed",
    ),
    # --- finished twice, late, after a cancel -----------------------------------------------
    Mutant(
        "delivered-job-resurrected",
        "finished twice or late: one video",
        "bot/jobs.py",
        "    JobState.DELIVERED: frozenset(),\n",
        "    JobState.DELIVERED: frozenset({JobState.SUCCEEDED}),\n",
        (
            f"{RESTART}::test_repeated_finished_reports_deliver_once",
            f"{WEBHOOKS}::test_duplicate_and_out_of_order_callbacks_deliver_once",
        ),
        "a second 'finished' after delivery makes a second video",
    ),
    Mutant(
        "cancelled-job-resurrected",
        "finished after a cancel: never delivered",
        "bot/jobs.py",
        "    JobState.CANCELLED: frozenset(),\n",
        "    JobState.CANCELLED: frozenset({JobState.SUCCEEDED}),\n",
        (
            "tests/e2e/test_groups_and_commands.py::test_cancel_latest_and_cancelled_job_is_never_delivered",
        ),
        "a cancelled job is delivered when its provider finishes",
    ),
    # --- a submit times out or gets a 500 ---------------------------------------------------
    Mutant(
        "ambiguous-submit-fails-over",
        "submit timeout/500: never resent",
        "bot/submission.py",
        "                if exc.maybe_accepted:  # moving on could pay for the same video twice\n",
        "                if False:\n",
        (
            "tests/unit/test_submission.py::test_maybe_accepted_is_never_sent_again",
            "tests/e2e/test_failover_and_check.py::test_ambiguous_500_is_not_sent_again",
        ),
        "a submit that may have been accepted moves on to the next provider",
    ),
    Mutant(
        "reconcile-never-gives-up",
        "submit timeout/500: told within RECONCILE_TIMEOUT",
        "bot/tracker.py",
        "        elif now - (job.reconcile_since or now) >= self._reconcile_timeout:\n",
        "        elif False:\n",
        ("tests/e2e/test_reconcile.py",),
        "an unconfirmed job waits forever",
    ),
    # --- 429 / 503 / refused connection -----------------------------------------------------
    Mutant(
        "429-is-a-refusal",
        "submit 429/503/refused: retried, then failed over",
        "bot/providers/base.py",
        "    429: HttpMeaning(RateLimited),\n",
        "    429: HttpMeaning(InvalidRequest),\n",
        ("tests/e2e/test_http_semantics.py::test_not_processed_is_retried_then_failed_over",),
        "a 429 ends the job as a refusal",
    ),
    Mutant(
        "refused-connection-ambiguous",
        "submit 429/503/refused: retried, then failed over",
        "bot/providers/base.py",
        "_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)",
        "_NOT_SENT = (httpx.ConnectTimeout, httpx.PoolTimeout)",
        ("tests/e2e/test_http_semantics.py::test_not_processed_is_retried_then_failed_over",),
        "a refused connection is taken as maybe accepted",
    ),
    # --- 500 / 502 / 504 / timeout / unreadable ---------------------------------------------
    Mutant(
        "500-not-ambiguous",
        "submit 500/502/504/unreadable: never resent",
        "bot/providers/base.py",
        "    500: HttpMeaning(Unavailable, maybe_accepted=True),\n",
        "    500: HttpMeaning(Unavailable),\n",
        ("tests/e2e/test_http_semantics.py::test_ambiguous_answer_is_never_sent_again",),
        "a 500 is retried and failed over",
    ),
    Mutant(
        "unreadable-2xx-not-ambiguous",
        "submit 500/502/504/unreadable: never resent",
        "bot/providers/base.py",
        'return Unavailable(f"{provider} sent an unreadable answer", maybe_accepted=creating)',
        'return Unavailable(f"{provider} sent an unreadable answer", maybe_accepted=False)',
        ("tests/e2e/test_http_semantics.py::test_ambiguous_answer_is_never_sent_again",),
        "an unreadable 2xx is sent again",
    ),
    # --- out of credits, rate limited, down -------------------------------------------------
    Mutant(
        "empty-balance-retried",
        "out of credits: next provider at once",
        "bot/providers/base.py",
        '    """The operator\'s balance with this provider is empty."""\n',
        '    """The operator\'s balance with this provider is empty."""\n\n    retryable = True\n',
        (
            "tests/e2e/test_providers.py::test_failover_from_empty_balance_delivers_one_video",
            "tests/unit/test_submission.py::test_no_credits_fails_over_without_retrying",
        ),
        "an empty balance is retried before moving on",
    ),
    Mutant(
        "outage-not-retried",
        "rate limited or down: retried with backoff",
        "bot/submission.py",
        "            stop=stop_after_attempt(policy.attempts),\n",
        "            stop=stop_after_attempt(1),\n",
        ("tests/e2e/test_failover_and_check.py",),
        "a provider outage moves on without a retry",
    ),
    Mutant(
        "no-failover-after-credits",
        "out of credits: next provider",
        "bot/submission.py",
        "            except (InvalidRequest, ContentPolicy) as exc:\n",
        "            except (InvalidRequest, ContentPolicy, NoCredits) as exc:\n",
        ("tests/e2e/test_providers.py::test_failover_from_empty_balance_delivers_one_video",),
        "an empty balance ends the job instead of moving it on",
    ),
    Mutant(
        "outage-never-retried",
        "rate limited or down: retried with backoff",
        "bot/submission.py",
        "                lambda e: isinstance(e, ProviderError) and e.retryable and not e.maybe_accepted\n",
        "                lambda e: False\n",
        (
            "tests/e2e/test_failover_and_check.py::test_outage_is_retried_with_backoff_before_failover",
            "tests/e2e/test_http_semantics.py::test_not_processed_is_retried_then_failed_over",
        ),
        "no submit error is ever retried",
    ),
    # --- garbage or unknown status ----------------------------------------------------------
    Mutant(
        "unknown-status-fails-job",
        "garbage or unknown status: keeps waiting",
        "bot/providers/aimlapi.py",
        "        state = _STATES.get(str(status).lower()) if isinstance(status, str) else None\n",
        "        state = _STATES.get(str(status).lower(), JobState.FAILED) if isinstance(status, str)"
        " else None\n",
        (f"{TG_FAULTS}::test_unknown_status_is_waited_out",),
        "an unknown status fails the job",
    ),
    Mutant(
        "job-timeout-too-early",
        "garbage or unknown status: only JOB_TIMEOUT fails it",
        "bot/tracker.py",
        "            if age > self._job_timeout:\n",
        "            if age > 0.2:\n",
        (
            f"{TG_FAULTS}::test_unreadable_poll_answer_keeps_the_job_waiting",
            f"{TG_FAULTS}::test_unknown_status_is_waited_out",
        ),
        "a job is failed as timed out long before JOB_TIMEOUT",
    ),
    # --- Telegram 5xx on upload -------------------------------------------------------------
    Mutant(
        "telegram-5xx-final",
        "Telegram 5xx on upload: retried",
        "bot/lifecycle.py",
        "        if exc.permanent or attempts >= MAX_DELIVERY_ATTEMPTS:\n",
        "        if True:\n",
        (
            "tests/faults/test_delivery_faults.py::test_telegram_5xx_on_send_is_retried_and_delivers_once",
        ),
        "a failed delivery is never retried",
    ),
    Mutant(
        "telegram-error-permanent",
        "Telegram 5xx on upload: retried",
        "bot/delivery.py",
        "        except (Forbidden, BadRequest) as exc:\n",
        "        except TelegramError as exc:\n",
        (
            "tests/faults/test_delivery_faults.py::test_telegram_5xx_on_send_is_retried_and_delivers_once",
        ),
        "a Telegram 5xx is taken as a permanent refusal",
    ),
    # --- a link the bot must not open -------------------------------------------------------
    Mutant(
        "plain-http-links-allowed",
        "file://, http or private links: refused",
        "bot/downloads.py",
        '    if origin is None or not origin.startswith("https://"):\n',
        "    if origin is None:\n",
        (f"{LINKS}::test_a_link_the_bot_must_not_open_fails_the_job_with_the_reason",),
        "plain http links are fetched",
    ),
    Mutant(
        "private-literal-allowed",
        "file://, http or private links: refused",
        "bot/downloads.py",
        "    if literal is not None and not is_public(literal):\n",
        "    if False:\n",
        (f"{LINKS}::test_a_link_the_bot_must_not_open_fails_the_job_with_the_reason",),
        "links to private or metadata addresses pass the first check",
    ),
    Mutant(
        "embedded-ipv4-unchecked",
        "file://, http or private links: refused",
        "bot/downloads.py",
        "        if embedded is not None and not is_public(embedded):\n",
        "        if False:\n",
        (
            "tests/unit/test_downloads.py",
            f"{LINKS}::test_a_link_the_bot_must_not_open_fails_the_job_with_the_reason",
        ),
        "a loopback or private IPv4 address inside an IPv6 one passes",
    ),
    # --- redirects into the network ---------------------------------------------------------
    Mutant(
        "resolved-private-allowed",
        "redirect into the network: refused on every hop",
        "bot/downloads.py",
        "        if not addresses or not all(is_public(address) for address in addresses):\n",
        "        if not addresses:\n",
        (
            f"{LINKS}::test_a_redirect_out_of_the_trusted_origin_into_the_network_is_refused",
            "tests/unit/test_downloads.py",
        ),
        "a name resolving to a private address is fetched",
    ),
    Mutant(
        "dns-rebinding",
        "redirect into the network: no DNS rebinding",
        "bot/downloads.py",
        "                url.copy_with(host=str(address)),\n",
        "                url,\n",
        ("tests/unit/test_downloads.py",),
        "the request resolves the name again instead of using the checked address",
    ),
    # --- not a video ------------------------------------------------------------------------
    Mutant(
        "any-content-type",
        "not a video: nothing uploaded",
        "bot/downloads.py",
        '        if not content_type.startswith("video/"):\n',
        "        if False:\n",
        (
            f"{LINKS}::test_an_answer_that_is_no_video_is_never_uploaded",
            "tests/unit/test_downloads.py",
        ),
        "an answer without a video type is uploaded",
    ),
    Mutant(
        "no-mp4-signature",
        "not a video: nothing uploaded",
        "bot/downloads.py",
        "    return len(head) >= 8 and head[4:8] in _MP4_FIRST_BOXES\n",
        "    return len(head) >= 8\n",
        (
            f"{LINKS}::test_an_answer_that_is_no_video_is_never_uploaded",
            "tests/unit/test_downloads.py",
        ),
        "any bytes labelled video/* are uploaded",
    ),
    # --- trickling links --------------------------------------------------------------------
    Mutant(
        "no-minimum-rate",
        "trickling link: cut below the minimum rate",
        "bot/downloads.py",
        "            cutoff = min(cutoff, start + self.policy.rate_grace + received / self.policy.min_rate)\n",
        "            cutoff = cutoff\n",
        (
            f"{LINKS}::test_a_trickling_link_below_the_minimum_rate_frees_its_delivery_slot",
            "tests/unit/test_downloads.py::test_a_download_below_the_minimum_rate_is_cut_after_the_grace",
        ),
        "a link sending a byte now and then holds a delivery slot until the deadline",
    ),
    Mutant(
        "no-deadline",
        "trickling link: cut at VIDEO_DOWNLOAD_TIMEOUT",
        "bot/downloads.py",
        "        cutoff = start + self.policy.deadline\n",
        "        cutoff = start + self.policy.deadline * 1000\n",
        (
            f"{LINKS}::test_a_trickling_link_hits_the_download_deadline",
            "tests/unit/test_downloads.py::test_a_download_has_a_total_deadline",
        ),
        "a download may take 1000 times the deadline",
    ),
    # --- malformed MP4, unexpected errors ---------------------------------------------------
    Mutant(
        "unexpected-error-not-counted",
        "unexpected delivery error: a counted attempt",
        "bot/lifecycle.py",
        "        except Exception:  # a bug or a file nobody foresaw: still an attempt, never a loop\n",
        "        except DeliveryError:\n",
        (
            f"{LINKS}::test_an_unexpected_error_in_a_delivery_is_counted_and_ends_in_a_worded_failure",
        ),
        "an unexpected error escapes: the delivery is tried again and again",
    ),
    Mutant(
        "damaged-mp4-not-caught",
        "malformed MP4: a counted attempt",
        "bot/delivery.py",
        '            raise DeliveryError(Reason.of("video_damaged"), permanent=False) from exc\n',
        '            raise DeliveryError(Reason.of("video_damaged"), permanent=True) from exc\n',
        (f"{LINKS}::test_a_malformed_mp4_is_a_counted_attempt_and_ends_in_a_worded_failure",),
        "a damaged MP4 fails the delivery at once, though a cut download may come whole",
    ),
    # --- 404 or HTML link -------------------------------------------------------------------
    Mutant(
        "link-status-permanent",
        "404 link: the bot's own download is retried",
        "bot/downloads.py",
        '            status = Reason.of("video_link_status", status=response.status_code)\n'
        "            raise DownloadFailed(status, permanent=False)\n",
        '            status = Reason.of("video_link_status", status=response.status_code)\n'
        "            raise DownloadFailed(status, permanent=True)\n",
        ("tests/faults/test_delivery_faults.py",),
        "a 404 from the video link is never retried",
    ),
    Mutant(
        "html-page-not-named",
        "HTML link: the user is told why",
        "bot/downloads.py",
        '        if content_type.startswith("text/"):\n',
        "        if False:\n",
        ("tests/faults/test_delivery_faults.py", "tests/unit/test_downloads.py"),
        "a web page instead of a video is reported as a wrong type, not as a page",
    ),
    # --- Telegram 429 -----------------------------------------------------------------------
    Mutant(
        "retry-after-ignored",
        "Telegram 429: retry_after waited out",
        "bot/pacing.py",
        "        chat.paused_until = max(chat.paused_until, now + max(0.0, after))\n",
        "        chat.paused_until = chat.paused_until\n",
        (f"{TG_FAULTS}::test_telegram_429_on_send_is_waited_out_and_nothing_dropped", PACING),
        "a 429's retry_after is not waited out",
    ),
    Mutant(
        "429-message-dropped",
        "Telegram 429: nothing dropped",
        "bot/pacing.py",
        "        chat.paused_until = max(chat.paused_until, now + max(0.0, after))\n"
        "        ticket.state = TicketState.QUEUED\n"
        "        chat.queues[ticket.priority].appendleft(ticket)\n",
        "        chat.paused_until = max(chat.paused_until, now + max(0.0, after))\n"
        "        ticket.state = TicketState.QUEUED\n",
        (f"{TG_FAULTS}::test_telegram_429_on_send_is_waited_out_and_nothing_dropped", PACING),
        "a message answered 429 is not put back in line",
    ),
    # --- status message fails ---------------------------------------------------------------
    Mutant(
        "status-failure-stops-job",
        "status message fails: the video still comes",
        "bot/intake.py",
        "        except TelegramError as exc:  # the video still comes; only its status message is"
        " lost\n",
        "        except TelegramError as exc:  # the video still comes; only its status message is"
        " lost\n            return False\n",
        (f"{TG_FAULTS}::test_failed_status_message_does_not_hold_up_the_video",),
        "a job whose status message failed is never submitted",
    ),
    Mutant(
        "blocked-chat-gets-paid-job",
        "a chat the bot may not write to gets no paid job",
        "bot/intake.py",
        "        except Forbidden as exc:\n",
        "        except ValueError as exc:\n",
        (f"{TG_FAULTS}::test_chat_that_blocked_the_bot_gets_no_paid_job",),
        "a 403 on the status message is taken as any failure: the job is submitted",
    ),
    # --- the user blocked the bot -----------------------------------------------------------
    Mutant(
        "blocked-user-retried",
        "user blocked the bot: no retries",
        "bot/lifecycle.py",
        "        if exc.permanent or attempts >= MAX_DELIVERY_ATTEMPTS:\n",
        "        if attempts >= MAX_DELIVERY_ATTEMPTS:\n",
        (f"{TG_FAULTS}::test_user_who_blocked_the_bot_is_not_retried",),
        "a delivery to a user who blocked the bot is retried",
    ),
    Mutant(
        "forbidden-not-permanent",
        "user blocked the bot: no retries",
        "bot/delivery.py",
        "            raise DeliveryError(refused, permanent=True) from exc\n",
        "            raise DeliveryError(refused, permanent=False) from exc\n",
        (f"{TG_FAULTS}::test_user_who_blocked_the_bot_is_not_retried",),
        "a 403 from Telegram is taken as worth retrying",
    ),
    # --- forged updates and callbacks -------------------------------------------------------
    Mutant(
        "webhook-secret-unchecked",
        "forged updates: 403",
        "bot/web.py",
        "        if deps.webhook_secret is None or not _secret_matches(given, deps.webhook_secret):\n",
        "        if deps.webhook_secret is None:\n",
        (f"{WEBHOOKS}::test_forged_telegram_updates_are_refused",),
        "a Telegram update without the webhook secret is processed",
    ),
    Mutant(
        "callback-provider-unchecked",
        "forged callbacks: another provider's route refused",
        "bot/web.py",
        "        if provider is None or job is None or job.provider != name:\n",
        "        if provider is None or job is None:\n",
        (
            f"{WEBHOOKS}::test_forged_callbacks_are_refused_and_change_nothing",
            f"{WEBHOOKS}::test_with_two_providers_a_callback_must_match_the_jobs_provider_and_task",
        ),
        "a job's callback URL is accepted on another provider's route",
    ),
    Mutant(
        "callback-task-unchecked",
        "forged callbacks: another job's task ignored",
        "bot/web.py",
        "        if job.state in FINISHED or update is None or update.task_id !="
        " job.provider_task_id:\n",
        "        if job.state in FINISHED or update is None:\n",
        (
            f"{WEBHOOKS}::test_forged_callbacks_are_refused_and_change_nothing",
            f"{WEBHOOKS}::test_with_two_providers_a_callback_must_match_the_jobs_provider_and_task",
        ),
        "a callback naming another task finishes this job",
    ),
    # --- APIFRAME's callback secret ---------------------------------------------------------
    Mutant(
        "apiframe-secret-unchecked",
        "APIFRAME callback: its own secret",
        "bot/web.py",
        '            secret is None or not _secret_matches(request.headers.get("x-webhook-secret"),'
        " secret)\n",
        "            secret is None\n",
        (f"{WEBHOOKS}::test_apiframe_callbacks_need_their_own_secret_not_just_the_url",),
        "an APIFRAME callback is taken without its secret header",
    ),
    Mutant(
        "apiframe-secret-is-url-token",
        "APIFRAME callback: the secret is never in a URL",
        "bot/submission.py",
        "            callback_secret = secret if caps.callback_secret_header else None\n",
        "            callback_secret = job.callback_token if caps.callback_secret_header else None\n",
        (f"{WEBHOOKS}::test_apiframe_callbacks_need_their_own_secret_not_just_the_url",),
        "the callback URL's token doubles as the secret",
    ),
    # --- /video + /cancel -------------------------------------------------------------------
    Mutant(
        "cancelled-task-not-counted",
        "cancelled jobs count until the provider stops",
        "bot/store/base.py",
        "ACTIVE = \"(state IN ('queued', 'running', 'succeeded') OR stopping)\"",
        "ACTIVE = \"(state IN ('queued', 'running', 'succeeded'))\"",
        (
            f"{STORE}::test_cancel_after_sending_keeps_tracking_the_task_and_counting_it",
            "tests/e2e/test_cancelled_jobs.py",
        ),
        "a cancelled job its provider still makes no longer counts against the limit",
    ),
    Mutant(
        "cancel-forgets-the-task",
        "cancelled jobs: the provider's task tracked",
        "bot/store/base.py",
        "\" stopping = (CAST(? AS BOOLEAN) AND state IN ('queued', 'running')\"",
        "\" stopping = (CAST(? AS BOOLEAN) AND FALSE AND state IN ('queued', 'running')\"",
        (
            f"{STORE}::test_cancel_after_sending_keeps_tracking_the_task_and_counting_it",
            "tests/e2e/test_cancelled_jobs.py",
        ),
        "a cancel stops tracking a task the provider still makes",
    ),
    # --- forged buttons ---------------------------------------------------------------------
    Mutant(
        "any-button-data-trusted",
        "forged buttons: only what the message carries",
        "bot/keyboards.py",
        "    return any(button.callback_data == data for row in markup.inline_keyboard for button"
        " in row)\n",
        "    return True\n",
        (
            "tests/e2e/test_buttons_and_progress.py::test_forged_buttons_never_edit_a_message_or_leak_a_prompt",
            "tests/unit/test_keyboards.py",
        ),
        "callback data the pressed message does not carry is acted on",
    ),
    Mutant(
        "someone-elses-list",
        "forged buttons: for the presser only",
        "handlers/jobs.py",
        "        if owner != query.from_user.id:\n",
        "        if False:\n",
        (
            "tests/e2e/test_buttons_and_progress.py::test_forged_buttons_never_edit_a_message_or_leak_a_prompt",
        ),
        "anyone may page through someone else's /jobs list",
    ),
    Mutant(
        "group-jobs-show-all",
        "a group's /cancel shows only that group's videos",
        "handlers/jobs.py",
        "    return None if is_private(message) else message.chat.id\n",
        "    return None\n",
        (
            "tests/e2e/test_buttons_and_progress.py::test_cancel_in_a_group_offers_only_that_groups_videos",
        ),
        "a group's lists show the user's private videos",
    ),
    # --- button presses answered -----------------------------------------------------------
    Mutant(
        "again-answered-after-the-job",
        "a pressed button is answered in time",
        "handlers/jobs.py",
        "            await query.answer()  # now: making the job (a photo to fetch) may take a while\n"
        "            await self._intake.again(repeated, requester)\n",
        "            await self._intake.again(repeated, requester)\n"
        "            await query.answer()\n",
        (
            "tests/e2e/test_buttons_and_progress.py::test_again_makes_a_new_job_with_the_same_request",
        ),
        "'Again' is answered only once the new job is made",
    ),
    Mutant(
        "unknown-button-unanswered",
        "a pressed button is answered in time",
        "handlers/__init__.py",
        "        await query.answer(messages(lang_of(query.from_user)).button_stale)\n",
        "        pass\n",
        (
            "tests/e2e/test_buttons_and_progress.py::test_forged_buttons_never_edit_a_message_or_leak_a_prompt",
        ),
        "a button the bot does not know is never answered",
    ),
    Mutant(
        "page-press-unanswered",
        "a pressed button is answered in time",
        "handlers/jobs.py",
        "        await query.answer()\n        await _edit(message, screen)\n",
        "        await _edit(message, screen)\n",
        ("tests/e2e/test_buttons_and_progress.py::test_jobs_pages_and_details",),
        "paging through /jobs leaves the press unanswered (the client spins)",
    ),
    # --- another member answers a photo question --------------------------------------------
    Mutant(
        "anyone-answers-photo-question",
        "only the photo's sender answers its question",
        "bot/store/base.py",
        '            "DELETE FROM photo_prompts WHERE chat_id = ? AND prompt_message_id = ?"\n'
        '            " AND user_id = ? RETURNING file_id",\n',
        '            "DELETE FROM photo_prompts WHERE chat_id = ? AND prompt_message_id = ?"\n'
        '            " AND (user_id = ? OR TRUE) RETURNING file_id",\n',
        (
            f"{STORE}::test_photo_prompt_is_taken_once_and_only_by_its_sender",
            "tests/e2e/test_photos.py::test_only_the_photos_sender_answers_its_question_in_a_group",
        ),
        "another group member's answer starts a job from someone's photo",
    ),
    Mutant(
        "photo-question-taken-twice",
        "only the photo's sender answers its question",
        "bot/store/base.py",
        '            "DELETE FROM photo_prompts WHERE chat_id = ? AND prompt_message_id = ?"\n'
        '            " AND user_id = ? RETURNING file_id",\n',
        '            "SELECT file_id FROM photo_prompts WHERE chat_id = ? AND prompt_message_id = ?"\n'
        '            " AND user_id = ?",\n',
        (f"{STORE}::test_photo_prompt_is_taken_once_and_only_by_its_sender",),
        "one question answered twice makes two jobs",
    ),
    # --- purging ----------------------------------------------------------------------------
    Mutant(
        "expired-media-served",
        "expired /media/ links answer 404",
        "bot/store/base.py",
        '            " WHERE m.token = ? AND m.expires_at > ? LIMIT 1",\n',
        '            " WHERE m.token = ? AND m.expires_at > ? - 3600 LIMIT 1",\n',
        (
            "tests/e2e/test_photos.py::test_media_link_expires",
            "tests/e2e/test_photos.py::test_expired_media_links_and_unanswered_questions_are_purged",
        ),
        "a media link keeps serving for an hour after it expired",
    ),
    Mutant(
        "questions-never-purged",
        "unanswered questions deleted",
        "bot/store/base.py",
        '            ("DELETE FROM photo_prompts WHERE created_at < ?", questions_before),\n',
        '            ("DELETE FROM photo_prompts WHERE created_at < ? AND FALSE", questions_before),\n',
        (
            f"{STORE}::test_purge_removes_expired_links_and_unanswered_questions_only",
            "tests/e2e/test_photos.py::test_expired_media_links_and_unanswered_questions_are_purged",
        ),
        "unanswered photo questions are kept forever",
    ),
    # --- reasons in the reader's language ---------------------------------------------------
    Mutant(
        "reason-always-english",
        "reasons rendered in the reader's language",
        "bot/i18n/reason.py",
        "        return str(getattr(m, self.key)).format(**values)\n",
        "        return str(getattr(EN, self.key)).format(**values)\n",
        (
            "tests/e2e/test_languages_and_groups.py::test_provider_refusals_reach_russian_users_in_russian",
            "tests/e2e/test_languages_and_groups.py::test_failures_read_in_the_readers_language_now_and_in_jobs",
        ),
        "failure reasons always read in English",
    ),
    Mutant(
        "inner-reason-english",
        "reasons rendered in the reader's language",
        "bot/i18n/reason.py",
        "            name: value.text(m) if isinstance(value, Reason) else value\n",
        "            name: value.text(EN) if isinstance(value, Reason) else value\n",
        (
            "tests/e2e/test_languages_and_groups.py::test_provider_refusals_reach_russian_users_in_russian",
            "tests/e2e/test_languages_and_groups.py::test_failures_read_in_the_readers_language_now_and_in_jobs",
        ),
        "a reason inside a reason reads in English",
    ),
    # --- limits ------------------------------------------------------------------------------
    Mutant(
        "quota-plain-create",
        "limits: checked in the statement that creates the job",
        "bot/intake.py",
        "        created = await self._store.create_job_within(new, quota)\n",
        "        created = await self._store.create_job(new)\n",
        (
            "tests/e2e/test_quota_across_bots.py",
            ACCESS,
            f"{STORE}::test_concurrent_requests_never_overshoot_the_quota",
        ),
        "the job is created without the limits in the same statement",
    ),
    Mutant(
        "quota-advisory-lock-removed",
        "limits: hold across replicas",
        "bot/store/postgres.py",
        '        await db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", _QUOTA_LOCK, str(user_id))\n',
        '        await db.execute("SELECT CAST(? AS BIGINT), hashtext(?)", _QUOTA_LOCK, str(user_id))\n',
        (
            f"{STORE}::test_a_users_second_request_waits_for_the_first_to_commit_on_postgres",
            "tests/e2e/test_quota_across_bots.py",
            f"{STORE}::test_concurrent_requests_never_overshoot_the_quota",
        ),
        "PostgreSQL's count-and-insert is not serialised per user",
    ),
    Mutant(
        "active-limit-off-by-one",
        "limits: each refusal says why",
        "bot/access.py",
        "        if active >= policy.max_active_jobs:\n",
        "        if active > policy.max_active_jobs:\n",
        (f"{ACCESS}::test_open_jobs_limit_says_how_many_and_what_to_do",),
        "the refusal at the limit says 'sorry' instead of the limit",
    ),
    Mutant(
        "daily-limit-not-in-statement",
        "limits: daily limit in the statement",
        "bot/store/base.py",
        '                " AND (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created_at >= ?) < ?"\n',
        '                " AND (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created_at >= ?) < ? + 1"\n',
        (STORE, f"{ACCESS}::test_daily_limit_says_when_to_come_back"),
        "the daily limit lets one more through",
    ),
    # --- bans and allowlists ----------------------------------------------------------------
    Mutant(
        "bans-ignored",
        "banned users: nothing processed",
        "bot/access.py",
        "        return self.is_admin(user_id) or not await self._store.is_banned(user_id)\n",
        "        return True\n",
        (f"{ACCESS}::test_admin_bans_and_unbans_and_banned_users_get_silence",),
        "a banned user is served",
    ),
    Mutant(
        "user-allowlist-ignored",
        "outside the allowlist: 'this bot is private'",
        "bot/access.py",
        "        if policy.allowed_user_ids and user_id not in policy.allowed_user_ids:\n",
        "        if False:\n",
        (f"{ACCESS}::test_allowlist_answers_outsiders_once_and_makes_no_job",),
        "users outside ALLOWED_USER_IDS are served",
    ),
    # --- bad prompt, option, image ----------------------------------------------------------
    Mutant(
        "control-chars-pass",
        "a bad prompt: its own answer, no job",
        "bot/intake.py",
        "    codes = control_characters(prompt)\n",
        '    codes = ""\n',
        (f"{ACCESS}::test_control_characters_in_prompts_are_named",),
        "prompts with control characters make jobs",
    ),
    Mutant(
        "small-photo-passes",
        "a bad image: its own answer, no job",
        "bot/providers/base.py",
        "    image_min_side: int = 300\n",
        "    image_min_side: int = 30\n",
        (f"{ACCESS}::test_too_small_photo_is_refused_before_any_job",),
        "photos under 300x300 pixels make jobs",
    ),
    # --- images sent to APIFRAME by link ----------------------------------------------------
    Mutant(
        "media-link-wrong-type",
        "APIFRAME gets exactly the checked JPEG",
        "bot/web.py",
        '            data, media_type=mime_type, headers={"Cache-Control": "private, max-age=300"}\n',
        '            data, media_type="image/webp", headers={"Cache-Control": "private, max-age=300"}\n',
        (f"{IMAGES}::test_webp_and_heic_files_reach_apiframe_as_the_checked_jpeg",),
        "the link serves the JPEG labelled as the WebP it came as",
    ),
    Mutant(
        "image-downloaded-per-provider",
        "the image is downloaded from Telegram once",
        "bot/submission.py",
        "        kept = await self._store.job_image(job.id, frame)\n",
        "        kept = None\n",
        (
            f"{IMAGES}::test_webp_and_heic_files_reach_apiframe_as_the_checked_jpeg",
            f"{IMAGES}::test_failover_sends_the_image_checked_for_the_first_provider",
        ),
        "the photo is downloaded from Telegram again for every submit",
    ),
    # --- decompression bombs ----------------------------------------------------------------
    Mutant(
        "bomb-decoded",
        "decompression bombs refused from the header",
        "bot/images.py",
        "            if width * height > MAX_PIXELS:  # read from the header: nothing decoded yet\n",
        "            if False:\n",
        (
            f"{IMAGES}::test_decompression_bombs_are_refused_without_decoding",
            "tests/unit/test_images.py",
        ),
        "an image's declared size is not checked before decoding",
    ),
    Mutant(
        "conversions-unbounded",
        "conversions run at most two at a time",
        "bot/images.py",
        '_CONVERSIONS = ThreadPoolExecutor(CONCURRENT_CONVERSIONS, thread_name_prefix="image")\n',
        '_CONVERSIONS = ThreadPoolExecutor(8, thread_name_prefix="image")\n',
        ("tests/unit/test_images.py",),
        "any number of image conversions at once",
    ),
    # --- files declared too big -------------------------------------------------------------
    Mutant(
        "declared-size-ignored",
        "a file declared over 10 MB: refused before any download",
        "bot/intake.py",
        "        if any(size is not None and size > limit for size in declared_sizes):\n",
        "        if False:\n",
        (f"{IMAGES}::test_a_file_declared_too_big_is_refused_before_any_download",),
        "a file declared too big is downloaded",
    ),
    Mutant(
        "declared-size-over-telegram-limit",
        "a file declared over 10 MB: refused before any download",
        "bot/intake.py",
        "        limit = min(TELEGRAM_DOWNLOAD_LIMIT, largest)\n",
        "        limit = TELEGRAM_DOWNLOAD_LIMIT\n",
        (f"{IMAGES}::test_a_file_declared_too_big_is_refused_before_any_download",),
        "a file larger than any provider takes is downloaded",
    ),
    # --- pacing -----------------------------------------------------------------------------
    Mutant(
        "chat-burst",
        "paced: 1/s per chat, no burst",
        "bot/pacing.py",
        "        chat.tat = max(chat.tat, now) + self._interval(chat, now)\n",
        "        chat.tat = max(chat.tat, now)\n",
        (PACING, LIMITS),
        "a chat gets messages back to back",
    ),
    Mutant(
        "group-window-off",
        "paced: 20/min per group",
        "bot/pacing.py",
        "        if chat.sent is not None and len(chat.sent) >= limits.group_limit:\n",
        "        if False:\n",
        (PACING, LIMITS),
        "groups get more than 20 messages a minute",
    ),
    Mutant(
        "overall-window-off",
        "paced: 30/s overall",
        "bot/pacing.py",
        "        if must_expire <= 0:\n            return now\n",
        "        if True:\n            return now\n",
        (PACING, LIMITS),
        "more than 30 messages a second across chats",
    ),
    # --- videos before status edits ---------------------------------------------------------
    Mutant(
        "edits-same-priority",
        "videos go before status edits",
        "bot/pacing.py",
        '    return Priority.EDIT if endpoint.startswith("edit") else Priority.CONTENT\n',
        "    return Priority.CONTENT\n",
        (
            f"{LIMITS}::test_ten_videos_finishing_at_once_go_before_status_edits_without_a_429",
            PACING,
        ),
        "status edits queue with videos in order",
    ),
    Mutant(
        "edits-first",
        "videos go before status edits",
        "bot/pacing.py",
        '    return Priority.EDIT if endpoint.startswith("edit") else Priority.CONTENT\n',
        '    return Priority.CONTENT if endpoint.startswith("edit") else Priority.EDIT\n',
        (
            f"{LIMITS}::test_ten_videos_finishing_at_once_go_before_status_edits_without_a_429",
            PACING,
        ),
        "status edits go before videos",
    ),
    # --- slowdown after a 429 ---------------------------------------------------------------
    Mutant(
        "no-slowdown",
        "after a 429 the chat slows down",
        "bot/pacing.py",
        "        chat.slowdown = min(chat.slowdown * 2, self.limits.max_slowdown)\n",
        "        chat.slowdown = chat.slowdown\n",
        (f"{LIMITS}::test_after_a_429_the_chat_slows_down_and_provokes_no_second", PACING),
        "a chat that got a 429 keeps its pace and hits the limit again",
    ),
    Mutant(
        "slowdown-decays-at-once",
        "after a 429 the chat slows down",
        "bot/pacing.py",
        "        while chat.slowdown > 1 and now >= chat.slowed_at + limits.slowdown_decay:\n",
        "        while chat.slowdown > 1:\n",
        (f"{LIMITS}::test_after_a_429_the_chat_slows_down_and_provokes_no_second", PACING),
        "the slowdown after a 429 is gone at once",
    ),
    # --- one user floods the bot ------------------------------------------------------------
    Mutant(
        "one-lane",
        "a flood does not hold up other chats",
        "bot/updates.py",
        "        key = lane_of(update)\n",
        '        key = "all"\n',
        (
            f"{FLOOD}::test_one_users_flood_does_not_hold_up_another_user",
            "tests/unit/test_updates.py",
        ),
        "every update waits for every earlier one",
    ),
    Mutant(
        "lanes-unordered",
        "each chat's updates keep their order",
        "bot/updates.py",
        "        if backlog is not None:  # the lane is running: its runner takes this one in turn\n",
        "        if False:\n",
        (f"{FLOOD}::test_each_chats_updates_keep_their_order", "tests/unit/test_updates.py"),
        "a chat's updates run side by side, out of order",
    ),
    # --- one answer per user and kind -------------------------------------------------------
    Mutant(
        "every-refusal-answered",
        "a flood of refusals: one answer a minute",
        "bot/access.py",
        "        return started\n",
        "        return True\n",
        (
            f"{FLOOD}::test_an_outsider_flooding_the_bot_is_told_once",
            f"{FLOOD}::test_chatter_gets_one_hint_and_a_flood_of_requests_one_refusal",
        ),
        "every refused message gets its own answer",
    ),
    Mutant(
        "cooldown-off",
        "a command flood: the cooldown holds",
        "bot/access.py",
        "            if not started:\n",
        "            if False:\n",
        (f"{ACCESS}::test_cooldown_stops_a_command_flood",),
        "REQUEST_COOLDOWN is not applied",
    ),
    # --- secrets ----------------------------------------------------------------------------
    Mutant(
        "masking-off-in-cli",
        "secrets never in a log line",
        "bot/cli.py",
        "    setup_logging(settings.log_level, settings.secrets(), settings.log_format)\n",
        "    setup_logging(settings.log_level, (), settings.log_format)\n",
        ("tests/e2e/test_text_to_video.py", "tests/unit/test_logs.py", MASKING),
        "the real bot masks no secret",
    ),
    Mutant(
        "kling-secret-not-masked",
        "secrets never in a log line",
        "bot/providers/spec.py",
        "        values = (getattr(self, name) for name in type(self).model_fields)\n",
        '        values = (getattr(self, n) for n in type(self).model_fields if n != "secret_key")\n',
        ("tests/unit/test_logs.py", "tests/unit/test_config.py", MASKING),
        "KLING_SECRET_KEY is dropped from the masked values",
    ),
    Mutant(
        "kling-secret-plain-str",
        "secrets never in a log line",
        "bot/providers/kling.py",
        "    secret_key: Credential = None\n",
        "    secret_key: Credential | str = None\n",
        ("tests/unit/test_logs.py", "tests/unit/test_config.py"),
        "KLING_SECRET_KEY is declared as a plain string",
    ),
    Mutant(
        "access-log-unmasked",
        "secrets never in a log line: callback and media tokens",
        "bot/web.py",
        '            path = _SECRET_PATHS.sub(lambda m: f"/{m.group(1)}/***", scope["path"])\n',
        '            path = scope["path"]\n',
        (MASKING,),
        "the access log writes callback and media tokens",
    ),
    Mutant(
        "token-half-not-masked",
        "secrets never in a log line",
        "bot/config.py",
        '        found.append(self.telegram_bot_token.get_secret_value().split(":", 1)[1])\n',
        "",
        ("tests/unit/test_config.py", "tests/unit/test_logs.py"),
        "the token's secret half alone is not masked",
    ),
    # --- DEBUG logs -------------------------------------------------------------------------
    Mutant(
        "driver-debug-on",
        "DEBUG: no library line carries a secret",
        "bot/logs.py",
        '    for driver in ("aiosqlite", "asyncpg"):\n',
        "    for driver in ():\n",
        (MASKING,),
        "aiosqlite logs callback tokens at DEBUG",
    ),
    Mutant(
        "short-secrets-only",
        "DEBUG: no line carries a secret",
        "bot/logs.py",
        "        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)\n",
        "        self._secrets = sorted({s for s in secrets if len(s) >= 60}, key=len, reverse=True)\n",
        ("tests/unit/test_logs.py", MASKING),
        "secrets shorter than 60 characters are not masked",
    ),
    # --- PostgreSQL down at start -----------------------------------------------------------
    Mutant(
        "database-not-waited-for",
        "PostgreSQL not up at start: waited for",
        "bot/store/opening.py",
        "            stop=stop_before_delay(wait),\n",
        "            stop=stop_before_delay(0),\n",
        (f"{OUTAGE}::test_unreachable_database_at_start_is_waited_for_then_exits_3",),
        "the bot gives up at the first refused connection",
    ),
    Mutant(
        "database-down-exit-code",
        "PostgreSQL not up at start: exits 3",
        "bot/cli.py",
        "EXIT_DATABASE = 3",
        "EXIT_DATABASE = 1",
        (f"{OUTAGE}::test_unreachable_database_at_start_is_waited_for_then_exits_3",),
        "the wrong exit status",
    ),
    # --- PostgreSQL restarts ----------------------------------------------------------------
    Mutant(
        "outage-answers-500",
        "PostgreSQL restarts: 503 meanwhile",
        "bot/web.py",
        "                if deps.watch is None or not await deps.watch.failed():\n",
        "                if True:\n",
        (f"{OUTAGE}::test_database_outage_in_webhook_mode_loses_no_job_and_no_update",),
        "callbacks during an outage get a 500",
    ),
    Mutant(
        "outage-update-accepted",
        "PostgreSQL restarts: updates not lost",
        "bot/app.py",
        "        watch.after_outage(context.application.update_queue.put(update))\n",
        "        watch.after_outage(asyncio.sleep(0))\n",
        (
            f"{OUTAGE}::test_update_that_failed_on_a_database_outage_is_handled_once_it_is_back",
            f"{OUTAGE}::test_database_outage_in_webhook_mode_loses_no_job_and_no_update",
        ),
        "an update whose handling the outage cut off is dropped, not handled once it is back",
    ),
    # --- PostgreSQL goes away after the job row ---------------------------------------------
    Mutant(
        "status-record-failure-fails-request",
        "outage after the job row: made once",
        "bot/intake.py",
        "            except Exception as exc:  # the job exists: failing here would make it twice\n",
        "            except ValueError as exc:\n",
        (f"{OUTAGE}::test_request_caught_by_an_outage_after_its_job_was_made_is_made_once",),
        "a lost status-message id fails the request after its job was made",
    ),
    Mutant(
        "job-not-resumed-after-outage",
        "outage after the job row: submitted once back",
        "bot/background.py",
        "                if again is not None:\n",
        "                if False:\n",
        (f"{OUTAGE}::test_request_caught_by_an_outage_after_its_job_was_made_is_made_once",),
        "work cut off by the outage is not started again when the database is back",
    ),
    # --- JSON that is not an object ---------------------------------------------------------
    Mutant(
        "json-list-accepted",
        "JSON that is not an object: 400",
        "bot/web.py",
        "    if not isinstance(data, dict):\n",
        "    if False:\n",
        (f"{HARDENING}::test_json_that_is_not_an_object_answers_400",),
        "a JSON list reaches the handlers",
    ),
    Mutant(
        "deep-json-500",
        "JSON that is not an object: 400",
        "bot/web.py",
        "    except RecursionError:\n",
        "    except ZeroDivisionError:\n",
        (f"{HARDENING}::test_json_that_is_not_an_object_answers_400",),
        "10,000-deep JSON is a 500",
    ),
    # --- slowloris ---------------------------------------------------------------------------
    Mutant(
        "header-timeout-off",
        "slowloris: closed after HTTP_HEADER_TIMEOUT",
        "bot/web.py",
        "        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():\n",
        "        if False:\n",
        (f"{HARDENING}::test_half_sent_and_idle_connections_are_closed_after_the_header_timeout",),
        "connections that never finish their head stay open",
    ),
    Mutant(
        "connection-limit-off",
        "slowloris: over HTTP_MAX_CONNECTIONS, 503",
        "bot/web.py",
        "        limit_concurrency=settings.http_max_connections,\n",
        "        limit_concurrency=None,\n",
        (f"{HARDENING}::test_connections_over_the_limit_get_503_until_some_close",),
        "any number of connections are taken",
    ),
    # --- credits: concurrent requests against a balance ------------------------------------
    Mutant(
        "debit-not-refused",
        "credits: the balance covers the jobs, never below zero",
        "bot/store/credits.py",
        "    if changed != 1:\n        raise NotEnough(key)\n",
        "    if False:\n        raise NotEnough(key)\n",
        (
            f"{CREDITS}::test_twenty_concurrent_requests_against_three_videos_make_three_jobs",
            f"{CREDITS}::test_concurrent_requests_across_two_connections_never_overdraw",
        ),
        "a debit the account cannot cover is written to the ledger and the job made",
    ),
    Mutant(
        "reservation-left-out",
        "credits: the balance covers the jobs, never below zero",
        "bot/store/base.py",
        "                if job is not None and new.price > 0:\n",
        "                if job is not None and new.price > 0 and False:\n",
        (
            f"{CREDITS}::test_twenty_concurrent_requests_against_three_videos_make_three_jobs",
            f"{CREDITS}::test_concurrent_requests_across_two_connections_never_overdraw",
        ),
        "a priced job is made without reserving its price",
    ),
    # --- credits: charged once on delivery, released otherwise ------------------------------
    Mutant(
        "release-keeps-credits",
        "credits: charged on delivery, released otherwise",
        "bot/store/credits.py",
        "        0 if charge else amount,\n",
        "        0,\n",
        (f"{CREDITS}::test_failed_or_cancelled_jobs_release_their_credits",),
        "a failed or cancelled job's credits are never given back",
    ),
    Mutant(
        "settled-twice",
        "credits: charged on delivery, released otherwise",
        "bot/store/credits.py",
        '        f"settle:{job_id}",\n',
        '        f"settle:{job_id}:{charge}",\n',
        (f"{CREDITS}::test_concurrent_finishes_settle_once",),
        "a job can be both charged and released",
    ),
    Mutant(
        "charged-on-failure",
        "credits: charged on delivery, released otherwise",
        "bot/store/base.py",
        'await credits.settle(db, int(row["id"]), charge=new_state is JobState.DELIVERED)',
        'await credits.settle(db, int(row["id"]), charge=new_state is not JobState.CANCELLED)',
        (
            f"{CREDITS}::test_failed_or_cancelled_jobs_release_their_credits",
            f"{E2E_CREDITS}::test_a_failed_video_gives_the_credits_back",
        ),
        "a failed video is charged",
    ),
    # --- credits: a payment reported twice ---------------------------------------------------
    Mutant(
        "payment-key-not-the-charge",
        "credits: a payment credited once",
        "bot/store/base.py",
        '                f"purchase:{charge_id}",\n',
        '                f"purchase:{charge_id}:{time.time()}",\n',
        (f"{CREDITS}::test_a_payment_is_credited_once",),
        "each report of a payment gets its own ledger key",
    ),
    Mutant(
        "repeat-touches-account",
        "credits: a payment credited once",
        "bot/store/credits.py",
        "    if not added:\n        return False\n",
        "    if False:\n        return False\n",
        (f"{CREDITS}::test_a_payment_is_credited_once",),
        "an operation whose key is taken still changes the account",
    ),
    # --- credits: pre-checkout of a pack no longer sold ----------------------------------------
    Mutant(
        "gone-pack-accepted",
        "credits: a pack no longer sold is refused at pre-checkout",
        "bot/billing.py",
        "        if pack is None or pack not in self.packs:\n",
        "        if pack is None:\n",
        (f"{E2E_CREDITS}::test_a_pre_checkout_for_a_pack_no_longer_sold_is_refused",),
        "any well-formed payload is accepted, on sale or not",
    ),
    Mutant(
        "refused-checkout-answered-ok",
        "credits: a pack no longer sold is refused at pre-checkout",
        "handlers/billing.py",
        "            await query.answer(ok=False, error_message=refusal)\n",
        "            await query.answer(ok=True)\n",
        (f"{E2E_CREDITS}::test_a_pre_checkout_for_a_pack_no_longer_sold_is_refused",),
        "a refusal is logged but the payment let through",
    ),
    # --- credits: refund of spent credits ----------------------------------------------------
    Mutant(
        "refund-takes-nothing-back",
        "credits: a refund of spent credits is refused",
        "bot/store/credits.py",
        '        "refund",\n        -bought.credits,\n',
        '        "refund",\n        0,\n',
        (
            f"{E2E_CREDITS}::test_a_refund_of_spent_credits_is_refused_with_words_and_unspent_ones_refunded",
        ),
        "the Stars are refunded without taking the credits back",
    ),
    Mutant(
        "spent-refund-goes-ahead",
        "credits: a refund of spent credits is refused",
        "bot/store/base.py",
        '            return "spent", bought, (await credits.balance(self._db, user_id)).available\n',
        '            return "done", bought, (await credits.balance(self._db, user_id)).available\n',
        (
            f"{E2E_CREDITS}::test_a_refund_of_spent_credits_is_refused_with_words_and_unspent_ones_refunded",
        ),
        "a refund whose credits are spent goes to Telegram anyway",
    ),
    # --- credits: killed between reservation and submit, or delivery and charge ---------------
    Mutant(
        "priced-jobs-not-resumed",
        "credits: killed mid-way, submitted or delivered and charged once",
        "bot/store/base.py",
        "\"WHERE state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NULL\"",
        "\"WHERE state = 'queued' AND provider_task_id IS NULL AND reconcile_since IS NULL AND price = 0\"",
        (
            f"{CREDITS}::test_sigkill_after_the_reservation_leaves_a_consistent_ledger_and_a_job_to_submit",
            f"{CREDIT_CRASH}::test_kill_between_reservation_and_submit",
        ),
        "a reserved job is never submitted after a restart",
    ),
    Mutant(
        "delivery-not-charged",
        "credits: killed mid-way, submitted or delivered and charged once",
        "bot/store/base.py",
        "        if new_state not in FINISHED or not priced:\n",
        "        if new_state not in FINISHED or not priced or new_state is JobState.DELIVERED:\n",
        (f"{CREDIT_CRASH}::test_kill_between_delivery_and_its_charge",),
        "a delivery is recorded without its charge",
    ),
    # --- credits: the ledger is append-only ------------------------------------------------
    Mutant(
        "sqlite-ledger-deletable",
        "credits: the ledger is append-only",
        "bot/store/migrations.py",
        "    CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger\n",
        "    CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger WHEN 0\n",
        (f"{CREDITS}::test_the_ledger_is_append_only",),
        "SQLite lets a ledger row be deleted",
    ),
    Mutant(
        "postgres-ledger-deletable",
        "credits: the ledger is append-only",
        "bot/store/migrations.py",
        "    CREATE TRIGGER credit_ledger_no_change BEFORE UPDATE OR DELETE ON credit_ledger\n",
        "    CREATE TRIGGER credit_ledger_no_change BEFORE UPDATE ON credit_ledger\n",
        (f"{CREDITS}::test_the_ledger_is_append_only",),
        "PostgreSQL lets a ledger row be deleted",
    ),
    # --- credits: the audit ----------------------------------------------------------------
    Mutant(
        "audit-skips-accounts",
        "credits: the ledger audit",
        "bot/store/credits.py",
        "        if (available, reserved) != (ledger_available, ledger_reserved):\n",
        "        if False:\n",
        (f"{CREDITS}::test_the_audit_finds_a_ledger_that_disagrees",),
        "an account changed behind the ledger's back passes the audit",
    ),
    Mutant(
        "audit-open-reservation-passes",
        "credits: the ledger audit",
        "bot/store/credits.py",
        "    if settled != expected:\n",
        "    if settled and settled != expected:\n",
        (f"{CREDITS}::test_the_audit_finds_a_ledger_that_disagrees",),
        "a finished job with an unsettled reservation passes the audit",
    ),
    # --- sharing: only the owner's videos --------------------------------------------------
    Mutant(
        "send-again-anyones",
        "sharing: only the owner's videos",
        "bot/sharing.py",
        "        if job.requester.user_id != user_id:\n            return m.video_not_yours\n",
        "        if False:\n            return m.video_not_yours\n",
        (
            f"{SHARING_UNIT}::test_only_the_owners_delivered_file_can_be_sent_again",
            f"{SHARING}::test_deep_link_sends_a_video_to_its_owner_only",
        ),
        "Send again or a deep link sends someone else's video",
    ),
    Mutant(
        "inline-lists-everyones",
        "sharing: only the owner's videos",
        "bot/store/base.py",
        "\"WHERE user_id = ? AND video_file_id IS NOT NULL AND state = 'delivered'\"",
        "\"WHERE (user_id = ? OR TRUE) AND video_file_id IS NOT NULL AND state = 'delivered'\"",
        (f"{SHARING}::test_inline_lists_only_the_askers_videos_filtered_and_paged",),
        "inline mode lists everyone's videos",
    ),
    Mutant(
        "inline-reference-anyones",
        "sharing: only the owner's videos",
        "bot/sharing.py",
        "                and job.requester.user_id == user_id\n",
        "",
        (f"{SHARING}::test_inline_lists_only_the_askers_videos_filtered_and_paged",),
        "a number typed inline finds someone else's video",
    ),
    # --- replicas: an update sent again -----------------------------------------------------
    Mutant(
        "update-claimed-by-all",
        "replicas: an update handled once",
        "bot/store/base.py",
        '            " WHERE updates_seen.owner = excluded.owner RETURNING update_id",\n',
        '            " RETURNING update_id",\n',
        (f"{SHARED}::test_an_update_is_claimed_by_one_replica",),
        "every replica's claim of an update succeeds",
    ),
    Mutant(
        "update-claim-owner-inverted",
        "replicas: an update handled once",
        "bot/store/base.py",
        '            " WHERE updates_seen.owner = excluded.owner RETURNING update_id",\n',
        '            " WHERE updates_seen.owner <> excluded.owner RETURNING update_id",\n',
        (f"{SHARED}::test_an_update_is_claimed_by_one_replica",),
        "another replica's claim of an update succeeds, the claimer's own does not",
    ),
    Mutant(
        "update-claim-ignored",
        "replicas: an update handled once",
        "bot/web.py",
        "            if not claimed or not seen.add(update.update_id):\n",
        "            if not seen.add(update.update_id):\n",
        (f"{REPLICAS}::test_three_replicas_answer_like_one_bot",),
        "a replica handles an update another replica claimed",
    ),
    # --- replicas: albums --------------------------------------------------------------------
    Mutant(
        "album-taken-twice",
        "replicas: an album taken once",
        "bot/store/base.py",
        '            f" AND NOT taken AND last_part_at <= {self.NOW} - ? RETURNING chat_id",\n',
        '            f" AND last_part_at <= {self.NOW} - ? RETURNING chat_id",\n',
        (f"{ALBUMS}::test_an_album_split_between_replicas_is_handed_over_once",),
        "two replicas both take a complete album",
    ),
    # (A late part reopening a taken album is no mutant: `take_album` checks `NOT taken`
    # again, so the part's "fresh" answer only starts a watch that finds nothing.)
    Mutant(
        "album-never-marked-taken",
        "replicas: an album taken once",
        "bot/store/base.py",
        '            "UPDATE albums SET taken = TRUE WHERE chat_id = ? AND media_group_id = ?"',
        '            "UPDATE albums SET taken = taken WHERE chat_id = ? AND media_group_id = ?"',
        (f"{ALBUMS}::test_an_album_split_between_replicas_is_handed_over_once",),
        "the replica that takes an album never marks it taken: the others take it too",
    ),
    # --- replicas: cooldown and one answer between them --------------------------------------
    Mutant(
        "quiet-always-taken",
        "replicas: the cooldown holds across them",
        "bot/store/base.py",
        '            " until = excluded.until WHERE quiet.until <= ? RETURNING until",\n',
        '            " until = excluded.until WHERE quiet.until <= ? + 1e12 RETURNING until",\n',
        (
            f"{ACCESS_UNIT}::test_the_cooldown_holds_across_replicas",
            f"{ACCESS_UNIT}::test_replicas_answer_a_flood_once_between_them",
        ),
        "a quiet time another replica took is taken again",
    ),
    Mutant(
        "quiet-refusal-passes",
        "replicas: the cooldown holds across them",
        "bot/store/base.py",
        "        return False, float(current if current is not None else now)\n",
        "        return True, float(current if current is not None else now)\n",
        (
            f"{ACCESS_UNIT}::test_the_cooldown_holds_across_replicas",
            f"{ACCESS_UNIT}::test_replicas_answer_a_flood_once_between_them",
        ),
        "a request inside another replica's cooldown passes",
    ),
    # --- replicas: the default REPLICA_ID comes back ----------------------------------------
    Mutant(
        "default-id-not-reused",
        "replicas: a default REPLICA_ID resumes at once",
        "bot/replicas.py",
        '        name = f"{host}-{n}"\n',
        '        name = f"{host}-{n}-{time.time()}"\n',
        (f"{SHARED}::test_a_default_replica_id_comes_back_after_a_kill",),
        "a restarted bot takes a new id, its old jobs wait for their leases",
    ),
    Mutant(
        "default-id-lock-ignored",
        "replicas: a default REPLICA_ID resumes at once",
        "bot/replicas.py",
        "        if await store.lock_identity(name):\n",
        "        if await store.lock_identity(name) or True:\n",
        (f"{SHARED}::test_a_default_replica_id_comes_back_after_a_kill",),
        "a default id is taken though a live process holds it",
    ),
    # --- replicas: a killed replica's jobs, faster by its lock -------------------------------
    Mutant(
        "gone-lock-not-asked",
        "replicas: a dead replica's jobs taken over",
        "bot/store/base.py",
        '            f" AND {holder_gone}) OR replica_id = ? RETURNING replica_id",\n',
        '            f" AND FALSE) OR replica_id = ? RETURNING replica_id",\n',
        (f"{SHARED}::test_a_killed_replicas_jobs_are_released_once_its_lock_session_ends",),
        "a killed replica's jobs wait for its whole lease",
    ),
    # --- replicas: Telegram's limits between three -------------------------------------------
    Mutant(
        "replica-takes-whole-limit",
        "replicas: Telegram's limits kept together",
        "bot/pacing.py",
        "        share = limit if shared else max(1, limit // self._replicas)\n",
        "        share = limit\n",
        (
            f"{SHARED_PACING}::test_each_replica_takes_its_share_of_the_overall_limit_without_a_shared_budget",
            f"{SHARED_PACING}::test_the_shared_budget_keeps_replicas_under_the_limit_until_it_fails",
        ),
        "without the shared budget each replica sends at the whole overall limit",
    ),
    Mutant(
        "overall-turn-unshared",
        "replicas: Telegram's limits kept together",
        "bot/store/postgres.py",
        "                spacing[key] = overall_spacing\n",
        "                spacing[key] = 0.0\n",
        (
            f"{SHARED_PACING}::test_a_message_waiting_for_its_chat_reserves_nothing_until_the_chat_is_free",
            f"{REPLICAS}::test_three_replicas_keep_together_to_telegrams_limits",
        ),
        "the replicas' messages take no turns of the overall limit between them",
    ),
    Mutant(
        "waiting-message-holds-turn",
        "replicas: Telegram's limits kept together",
        "bot/pacing.py",
        "            self._schedule.defer(ticket, now, now + wait)\n"
        "            self._dispatch()\n"
        "            await self._turn(ticket)\n",
        "            await asyncio.sleep(wait)\n",
        (
            f"{SHARED_PACING}::test_a_message_waiting_for_another_replica_gives_its_turn_to_other_chats",
            f"{REPLICAS}::test_three_replicas_keep_together_to_telegrams_limits",
        ),
        "a message waiting for another replica's chat holds its replica's turn meanwhile",
    ),
    Mutant(
        "waiting-message-takes-a-place",
        "replicas: Telegram's limits kept together",
        "bot/store/postgres.py",
        "            if at - now > within:\n                return at - now, {}\n",
        "",
        (
            f"{SHARED_PACING}::test_a_message_waiting_for_its_chat_reserves_nothing_until_the_chat_is_free",
        ),
        "a message told to wait for its chat takes the overall turn and the chat's next moment",
    ),
    Mutant(
        "upload-hold-not-renewed",
        "replicas: Telegram's limits kept together",
        "bot/pacing.py",
        '                        reserved = await self._shared.hold(f"chat:{key}", 2 * interval, reserved)\n',
        "                        pass\n",
        (f"{SHARED_PACING}::test_a_message_in_flight_keeps_its_chat_held_until_answered",),
        "another replica writes to a chat while a long upload to it is still in flight",
    ),
    Mutant(
        "group-window-ignored",
        "replicas: Telegram's limits kept together",
        "bot/store/postgres.py",
        "                    allowed.append(rows[key][1][-limit] + period)\n",
        "                    pass\n",
        (
            f"{SHARED_PACING}::test_a_group_may_take_several_moments_at_once_but_never_more_than_its_window",
        ),
        "replicas together send a group more than 20 messages a minute",
    ),
    Mutant(
        "chat-turn-unlocked",
        "replicas: Telegram's limits kept together",
        "bot/store/postgres.py",
        '            " ORDER BY key FOR UPDATE",\n',
        '            " ORDER BY key",\n',
        (
            f"{SHARED_PACING}::test_replicas_reserving_one_chat_get_moments_a_spacing_apart",
            f"{REPLICAS}::test_three_replicas_keep_together_to_telegrams_limits",
        ),
        "two replicas take the same turn of a chat",
    ),
    # --- replicas: PostgreSQL restarts under them ------------------------------------------
    Mutant(
        "identity-not-taken-again",
        "replicas: a PostgreSQL restart ridden out",
        "bot/store/postgres.py",
        "        return await self.lock_identity(self._identity_name)\n",
        "        return False\n",
        (f"{REPLICAS}::test_replicas_ride_out_a_database_restart",),
        "after a restart a replica runs without its identity lock",
    ),
    # (Calling replicas gone right after the restart, before their lock sessions are back, is
    # no mutant: it only releases leases, and a delivery is claimed once besides.)
    # (Nor is skipping `keep_identity`'s "SELECT 1": a restart closes the lock's connection,
    # which `is_closed()` already sees.)
    Mutant(
        "heartbeat-outage-not-waited",
        "replicas: a PostgreSQL restart ridden out",
        "bot/replicas.py",
        "                if self._watch is not None and await self._watch.failed():\n",
        "                if False:\n",
        (f"{REPLICAS}::test_replicas_ride_out_a_database_restart",),
        "the heartbeat does not wait for the database: a traceback every beat of the outage",
    ),
    # --- busy chats: progress gives way, the status is deleted --------------------------------
    Mutant(
        "progress-never-gives-way",
        "busy chats: progress gives way, status deleted",
        "bot/chat_status.py",
        "        return self._busy is not None and self._busy(job.requester.chat_id)\n",
        "        return False\n",
        (
            f"{CHAT_STATUS}::test_progress_gives_way_while_the_chat_is_busy_final_states_and_notes_do_not",
        ),
        "progress edits are sent into a busy chat",
    ),
    Mutant(
        "status-never-deleted",
        "busy chats: progress gives way, status deleted",
        "bot/chat_status.py",
        "            and job.state is JobState.DELIVERED\n",
        "            and job.state is JobState.CANCELLED\n",
        (
            f"{CHAT_STATUS}::test_a_delivered_jobs_status_message_is_deleted_in_a_busy_chat_edited_in_a_quiet_one",
            f"{LIMITS}::test_a_busy_chat_gets_three_calls_per_job_while_a_quiet_chat_sees_progress",
        ),
        "a delivered job's status is edited, not deleted, in a busy chat",
    ),
    # --- twenty and twenty videos first ------------------------------------------------------
    # (Giving status edits the videos' priority, or never calling a chat busy, is no mutant
    # here: each alone is covered by the other, edits after videos or statuses deleted. Nor is
    # the group window off: twenty videos are within a group's 20 a minute.)
    Mutant(
        "twenty-status-left-unsettled",
        "twenty and twenty: videos first",
        "bot/chat_status.py",
        "                if self._clears(job, note) and await self._delete_message(job):\n",
        "                if self._clears(job, note):\n",
        (
            f"{LIMITS}::test_twenty_videos_in_a_private_chat_and_a_group_go_videos_first_without_a_429",
        ),
        "a delivered job's status in a busy chat is neither deleted nor edited",
    ),
    Mutant(
        "twenty-ready-edit-sent",
        "twenty and twenty: videos first",
        "bot/chat_status.py",
        "        if job.state is JobState.SUCCEEDED:\n            return True  # the delivery has started; its own edit follows\n",
        "        if job.state is JobState.SUCCEEDED:\n            return False  # the delivery has started; its own edit follows\n",
        (
            f"{LIMITS}::test_twenty_videos_in_a_private_chat_and_a_group_go_videos_first_without_a_429",
        ),
        "a 'ready, sending' edit takes a turn before each video",
    ),
)
