"""``digestbot send-due``: plan what is due and send it, without starting the chat listeners.

Builds a sender for every configured platform (none: the terminal), plans the due digests into
the outbox and delivers the pending ones. Safe beside a running ``digestbot run``: the outbox
admits one digest per subscription and day, and each item is claimed before it is sent, so two
processes never send the same digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.delivery import Delivery, Pacer, Sender, slack_pacer, telegram_pacer
from bot.settings import Settings
from digests.leaders import Registry
from digests.outbox import plan_due
from digests.storage import Storage


@dataclass(frozen=True)
class SendDueReport:
    planned: int
    sent: int
    pending: int
    gone: int
    failed: int


async def send_due(settings: Settings, registry: Registry, *, force: bool = False) -> SendDueReport:
    from bot.app import terminal_output

    storage = Storage(settings.db_path)
    senders: dict[str, Sender] = {}
    pacers: dict[str, Pacer] = {}
    closers = []
    try:
        if settings.telegram_enabled:
            from telegram import Bot

            from bot.telegram_chat import TelegramSender, make_bot

            assert settings.telegram_token is not None
            bot: Bot = make_bot(settings.telegram_token, settings.telegram_api_url)
            await bot.initialize()
            closers.append(bot.shutdown)
            senders["telegram"] = TelegramSender(bot)
            pacers["telegram"] = telegram_pacer()
        if settings.slack_enabled:
            from bot.slack_chat import SlackSender

            assert settings.slack_bot_token is not None
            senders["slack"] = SlackSender(settings.slack_bot_token, api_url=settings.slack_api_url)
            pacers["slack"] = slack_pacer()
        if not senders:
            senders["terminal"], pacers["terminal"] = terminal_output(storage, settings, datetime.now(UTC))
        planned = await plan_due(storage, registry, datetime.now(UTC), force=force, platforms=list(senders))
        delivery = Delivery(storage, senders, pacers, clock=lambda: datetime.now(UTC))
        report = await delivery.deliver_pending()
        return SendDueReport(len(planned), report.sent, report.pending, report.gone, report.failed)
    finally:
        for close in closers:
            await close()
        storage.close()
