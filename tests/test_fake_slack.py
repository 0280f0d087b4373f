"""The fake Slack answers the real slack_sdk and slack_bolt clients the way Slack does.

No mocks: every test drives `AsyncWebClient`, `AsyncWebhookClient`, Bolt's `AsyncApp` (Socket Mode
and HTTP mode) or `SignatureVerifier` against `tests.fakes.slack.FakeSlack` on loopback.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    FakeSlack,
    event_body,
    post_signed,
    sign_request,
    slash_command_body,
)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TS_RE = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.add_channel("C0NEWS", "news")
        yield server


def web_client(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **kwargs)


def digest_blocks(sections: int = 2) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Daily digest"}}
    ]
    for i in range(sections):
        blocks.append(
            {"type": "section", "block_id": f"leader-{i}", "text": {"type": "mrkdwn", "text": f"*L{i}*"}}
        )
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "<https://example.org|src>"}]}
        )
        blocks.append({"type": "divider"})
    return blocks


async def api_error(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


# ------------------------------------------------------------------------------------ Web API


async def test_auth_test_identifies_the_bot(fake: FakeSlack) -> None:
    resp = await web_client(fake).auth_test()
    assert resp["ok"] is True
    assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == ("UBOT", fake.bot_id, fake.team_id)
    assert resp["url"].startswith("https://")
    assert "chat:write" in resp.headers["x-oauth-scopes"]


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xoxb-wrong", "invalid_auth"),
        ("", "not_authed"),
        ("xapp-1-A0FAKEAPP1-fake-app-token", "not_allowed_token_type"),
    ],
)
async def test_bad_tokens_are_refused(fake: FakeSlack, token: str, error: str) -> None:
    client = AsyncWebClient(token=token or None, base_url=fake.api_url)
    err = await api_error(client.chat_postMessage(channel=fake.default_channel, text="hi"))
    assert err.response.status_code == 200
    assert err.response["error"] == error
    assert fake.messages == []


async def test_post_message_with_blocks_is_delivered(fake: FakeSlack) -> None:
    client = web_client(fake)
    first = await client.chat_postMessage(channel="C0NEWS", text="Daily digest", blocks=digest_blocks())
    # Form-encoded body with the token as a form field, as older clients send it.
    second = await AsyncWebClient(base_url=fake.api_url).api_call(
        "chat.postMessage",
        data={"token": fake.bot_token, "channel": "#general", "text": "x", "blocks": '[{"type":"divider"}]'},
    )
    assert first["channel"] == "C0NEWS" and second["channel"] == fake.default_channel
    assert TS_RE.match(first["ts"]) and TS_RE.match(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    [msg] = await fake.wait_for_messages("C0NEWS", 1)
    assert msg.text == "Daily digest" and msg.blocks == digest_blocks() and msg.ts == first["ts"]
    assert fake.messages_to(fake.default_channel)[0].blocks == [{"type": "divider"}]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "divider"}] * 51, "/blocks]"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "/blocks/0/text/text"),
        ([{"type": "carousel", "text": "?"}], "/blocks/0/type"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "/blocks/0/text/type"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/blocks/0/fields"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "/blocks/0/elements"),
        ([{"type": "divider", "block_id": "b" * 256}], "/blocks/0/block_id"),
    ],
    ids=[
        "51-blocks",
        "3001-section",
        "unknown-type",
        "long-header",
        "mrkdwn-header",
        "11-fields",
        "11-context",
        "block-id",
    ],
)
async def test_invalid_blocks_are_rejected_like_slack(
    fake: FakeSlack, blocks: list[dict[str, Any]], pointer: str
) -> None:
    err = await api_error(web_client(fake).chat_postMessage(channel="C0NEWS", text="t", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"
    assert any(pointer in e for e in err.response["errors"]), err.response["errors"]
    assert fake.messages == []


async def test_text_limits(fake: FakeSlack) -> None:
    client = web_client(fake)
    too_long = await api_error(client.chat_postMessage(channel="C0NEWS", text="x" * 40_001))
    no_text = await api_error(client.api_call("chat.postMessage", json={"channel": "C0NEWS"}))
    assert (too_long.response["error"], no_text.response["error"]) == ("msg_too_long", "no_text")
    await client.chat_postMessage(channel="C0NEWS", text="x" * 40_000)
    assert len(fake.messages) == 1


@pytest.mark.parametrize(
    ("make_state", "error"),
    [
        (FakeSlack.archive, "is_archived"),
        (FakeSlack.remove_bot, "not_in_channel"),
        (FakeSlack.delete, "channel_not_found"),
        (FakeSlack.deactivate_account, "account_inactive"),
    ],
)
async def test_gone_channels_give_slacks_errors(
    fake: FakeSlack, make_state: Callable[[FakeSlack, str], None], error: str
) -> None:
    client = web_client(fake)
    make_state(fake, "C0NEWS")
    err = await api_error(client.chat_postMessage(channel="C0NEWS", text="digest"))
    assert err.response.status_code == 200 and err.response["error"] == error
    fake.restore("C0NEWS")
    await client.chat_postMessage(channel="C0NEWS", text="digest")
    assert len(fake.messages_to("C0NEWS")) == 1


async def test_unknown_channel_is_not_found(fake: FakeSlack) -> None:
    err = await api_error(web_client(fake).chat_postMessage(channel="C0NOPE", text="hi"))
    assert err.response["error"] == "channel_not_found"


async def test_ephemeral_dm_and_info(fake: FakeSlack) -> None:
    client = web_client(fake)
    eph = await client.chat_postEphemeral(channel="C0NEWS", user="U0ALICE", text="only you")
    opened = await client.conversations_open(users="U0BOB")
    dm = opened["channel"]["id"]
    await client.chat_postMessage(channel=dm, text="hello Bob")
    info = await client.conversations_info(channel="C0NEWS")
    assert TS_RE.match(eph["message_ts"]) and fake.ephemeral[0].user == "U0ALICE"
    assert dm.startswith("D") and dm == fake.dm_channel_for("U0BOB")
    assert fake.messages_to(dm)[0].text == "hello Bob"
    assert info["channel"]["name"] == "news" and info["channel"]["is_member"] is True


# ------------------------------------------------------------------------------------ rate limits


async def test_forced_429_carries_retry_after(fake: FakeSlack) -> None:
    fake.flood(1, retry_after=7)
    err = await api_error(web_client(fake).chat_postMessage(channel="C0NEWS", text="hi"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "7"
    assert err.response["error"] == "ratelimited"
    assert fake.rate_limited == 1 and fake.rate_limited_by_channel["C0NEWS"] == 1
    assert fake.messages == []


async def test_rate_limit_retry_handler_waits_and_succeeds(fake: FakeSlack) -> None:
    # slack_sdk retries no 429 by default; with the handler it sleeps Retry-After (+ <1 s jitter).
    client = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    fake.flood(1, retry_after=1)
    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C0NEWS", text="eventually")
    assert resp["ok"] is True and time.monotonic() - started >= 1.0
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages) == 1


async def test_two_quick_messages_to_one_channel_get_429(fake: FakeSlack) -> None:
    client = web_client(fake)
    await client.chat_postMessage(channel="C0NEWS", text="one")
    err = await api_error(client.chat_postMessage(channel="C0NEWS", text="two"))
    await client.chat_postMessage(channel=fake.default_channel, text="other channel is fine")
    assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "1"
    assert [m.text for m in fake.messages_to("C0NEWS")] == ["one"]
    assert fake.rate_limited_by_channel == Counter({"C0NEWS": 1})


async def test_rate_limit_window_slides() -> None:
    async with FakeSlack(channel_window=0.2, limit_tolerance=0.0) as fake:
        client = web_client(fake)
        await client.chat_postMessage(channel=fake.default_channel, text="one")
        await asyncio.sleep(0.25)
        await client.chat_postMessage(channel=fake.default_channel, text="two")
        assert fake.rate_limited == 0 and len(fake.messages) == 2


# ------------------------------------------------------------------------------------ faults


async def test_500_with_html_body_and_what_the_client_raises(fake: FakeSlack) -> None:
    """How slack_sdk 3.48 surfaces a 5xx with a non-JSON body depends on its Content-Type.

    text/html: SlackApiError, response.status_code 500, response.data == {} (get() -> None).
    text/plain: SlackApiError, response.data is the page (a str): response.get() raises
    AttributeError. application/json that is not JSON: SlackApiError whose .response is the raw
    aiohttp ClientResponse (.status, no .status_code, no .get()). Classify by status first.
    """
    client = web_client(fake, retry_handlers=[])
    fake.fail_next(1, "500")
    html = await api_error(client.chat_postMessage(channel="C0NEWS", text="hi"))
    assert (
        html.response.status_code == 500 and html.response.data == {} and html.response.get("error") is None
    )

    fake.error_body = "text"
    fake.fail_next(1, "503")
    text = await api_error(client.chat_postMessage(channel="C0NEWS", text="hi"))
    assert text.response.status_code == 503 and "<html>" in text.response.data
    with pytest.raises(AttributeError):
        text.response.get("error")

    fake.error_body = "bad_json"
    fake.fail_next(1, "500")
    bad = await api_error(client.chat_postMessage(channel="C0NEWS", text="hi"))
    assert isinstance(bad.response, aiohttp.ClientResponse) and bad.response.status == 500
    assert "non-JSON" in str(bad)
    assert fake.messages == [] and fake.faults_injected == Counter({"500": 2, "503": 1})


async def test_reset_before_and_after_delivery(fake: FakeSlack) -> None:
    bare = web_client(fake, retry_handlers=[])
    fake.fail_next(1, "reset")
    with pytest.raises(aiohttp.ClientOSError):
        await bare.chat_postMessage(channel="C0NEWS", text="lost")
    assert fake.messages == []
    fake.enforce_limits = False
    # slack_sdk's default handlers retry a reset once, silently: after "reset_after" (the
    # message was delivered) that retry is a duplicate the caller never hears about.
    fake.fail_next(1, "reset_after")
    await web_client(fake).chat_postMessage(channel="C0NEWS", text="twice")
    assert [m.text for m in fake.messages] == ["twice", "twice"]


async def test_slow_reply_times_out_but_delivers(fake: FakeSlack) -> None:
    fake.slow_delay = 1.3
    fake.fail_next(1, "slow")
    with pytest.raises(TimeoutError):
        await web_client(fake, timeout=1).chat_postMessage(channel="C0NEWS", text="ambiguous")
    assert [m.text for m in fake.messages] == ["ambiguous"]


async def test_random_faults_at_least_once_delivery() -> None:
    async with FakeSlack(enforce_limits=False) as fake:
        fake.faults(rate=0.4, kinds=("429", "500", "503", "reset", "reset_after"), seed=7)
        client = web_client(fake, retry_handlers=[])
        failures = 0
        for i in range(30):
            while True:
                try:
                    await client.chat_postMessage(channel=fake.default_channel, text=f"digest {i}")
                    break
                except (SlackApiError, aiohttp.ClientError):
                    failures += 1
        counts = Counter(m.text for m in fake.messages)
        assert set(counts) == {f"digest {i}" for i in range(30)}
        assert sum(counts.values()) - 30 == fake.faults_injected["reset_after"]
        assert failures == sum(fake.faults_injected.values()) > 0
        assert len(fake.faults_injected) >= 3
        fake.no_faults()
        await client.chat_postMessage(channel=fake.default_channel, text="calm")


async def test_wait_for_messages_times_out_clearly(fake: FakeSlack) -> None:
    with pytest.raises(TimeoutError, match="1 message"):
        await fake.wait_for_messages("C0NEWS", 1, timeout=0.1)


# ------------------------------------------------------------------------------------ response URLs


async def test_response_url_records_and_limits_uses(fake: FakeSlack) -> None:
    url = fake.response_url("cmd-1")
    hook = AsyncWebhookClient(url)
    first = await hook.send(text="working on it", response_type="ephemeral")
    for _ in range(4):
        await hook.send(text="again")
    sixth = await hook.send(text="too many")
    unknown = await AsyncWebhookClient(f"{fake.base_url}/response/nope").send(text="x")
    assert (first.status_code, first.body) == (200, "ok")
    assert (sixth.status_code, unknown.status_code) == (404, 404)
    assert fake.responses[0].response_type == "ephemeral" and len(fake.responses) == 5


# ------------------------------------------------------------------------------------ Socket Mode


def bolt_app(fake: FakeSlack, **kwargs: Any) -> AsyncApp:
    # AsyncSocketModeHandler's SocketModeClient calls apps.connections.open through
    # app.client (its web_client), so the client's base_url is all that points it at the fake.
    app = AsyncApp(client=web_client(fake), **kwargs)

    @app.command("/latest")
    async def latest(ack: Any, command: dict[str, Any], respond: Any, say: Any) -> None:
        await ack()
        await respond(f"Latest from {command['text']}", response_type="ephemeral")
        await say(f"{command['user_id']} asked for {command['text']}")

    @app.command("/help")
    async def help_(ack: Any) -> None:
        await ack("Commands: /latest <leader>")

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        await say(f"mention: {event['text']}")

    @app.event("message")
    async def dm(event: dict[str, Any], say: Any) -> None:
        await say(f"dm: {event['text']}")

    return app


async def test_socket_mode_bolt_app_end_to_end(fake: FakeSlack) -> None:
    handler = AsyncSocketModeHandler(bolt_app(fake), fake.app_token)
    try:
        await handler.connect_async()
        await fake.wait_connected(timeout=5)
        assert fake.socket_messages == [] and fake.connections_total == 1

        push = await fake.send_slash_command("/latest", "putin", channel_id=fake.default_channel)
        ack = await fake.wait_for_ack(push.envelope_id, timeout=3)
        assert ack.latency is not None and ack.latency < 3.0
        [resp] = await fake.wait_for_responses(1)
        assert resp.text == "Latest from putin" and resp.response_type == "ephemeral"
        assert push.payload["response_url"].endswith(f"/response/{resp.response_id}")
        [said] = await fake.wait_for_messages(fake.default_channel, 1)
        assert said.text == "U0ALICE asked for putin"

        help_push = await fake.send_slash_command("/help")
        assert (await fake.wait_for_ack(help_push.envelope_id)).payload == {
            "text": "Commands: /latest <leader>"
        }

        mention = await fake.send_app_mention("<@UBOT> latest putin", channel="C0NEWS")
        [reply] = await fake.wait_for_messages("C0NEWS", 1)
        assert reply.text == "mention: <@UBOT> latest putin"
        assert (await fake.wait_for_ack(mention.envelope_id)).payload is None

        await fake.send_dm("latest macron", user="U0BOB")
        [dm_reply] = await fake.wait_for_messages(fake.dm_channel_for("U0BOB"), 1)
        assert dm_reply.text == "dm: latest macron"
    finally:
        await handler.close_async()


@pytest.mark.parametrize("mode", ["close", "disconnect", "drop"])
async def test_socket_mode_reconnects(fake: FakeSlack, mode: Any) -> None:
    # "drop" (no close frame) is noticed at the client's next ping: keep ping_interval short.
    handler = AsyncSocketModeHandler(bolt_app(fake), fake.app_token, ping_interval=1)
    try:
        await handler.connect_async()
        await fake.wait_connected()
        await fake.disconnect_all(mode)
        await fake.wait_until(
            lambda: fake.connections_total >= 2 and fake.live_connections == 1, 5, "reconnect"
        )
        mention = await fake.send_app_mention(channel="C0NEWS")
        await fake.wait_for_ack(mention.envelope_id)
        await fake.wait_for_messages("C0NEWS", 1)
        assert len(fake.calls_to("apps.connections.open")) == 2
    finally:
        await handler.close_async()


async def test_apps_connections_open_needs_the_app_token(fake: FakeSlack) -> None:
    client = web_client(fake)
    err = await api_error(client.apps_connections_open(app_token=fake.bot_token))
    ok = await client.apps_connections_open(app_token=fake.app_token)
    assert err.response["error"] == "not_allowed_token_type"
    assert ok["url"].startswith(f"ws://127.0.0.1:{fake.port}/socket?ticket=")


# ------------------------------------------------------------------------------------ HTTP mode


def test_signature_is_accepted_by_slack_sdk_and_tamper_fails() -> None:
    body = b"command=%2Flatest&text=putin"
    headers = sign_request(body, SIGNING_SECRET)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"x", headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    stale = sign_request(body, SIGNING_SECRET, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)


async def test_http_mode_bolt_app_accepts_signed_requests(fake: FakeSlack) -> None:
    app = bolt_app(fake, signing_secret=SIGNING_SECRET)
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        command = slash_command_body(fake.slash_command_payload("/latest", "xi"))
        status, _ = await post_signed(url, command, SIGNING_SECRET, content_type=FORM_CONTENT_TYPE)
        forged, _ = await post_signed(url, command, "wrong-secret", content_type=FORM_CONTENT_TYPE)
        stale, _ = await post_signed(
            url, command, SIGNING_SECRET, content_type=FORM_CONTENT_TYPE, timestamp=int(time.time()) - 600
        )
        assert (status, forged, stale) == (200, 401, 401)
        [resp] = await fake.wait_for_responses(1)
        assert resp.text == "Latest from xi"

        event = event_body(fake.event_callback(fake.app_mention_event("<@UBOT> hi", channel="C0NEWS")))
        status, _ = await post_signed(url, event, SIGNING_SECRET, content_type=JSON_CONTENT_TYPE)
        assert status == 200
        [reply] = await fake.wait_for_messages("C0NEWS", 1)
        assert reply.text == "mention: <@UBOT> hi"
    finally:
        await runner.cleanup()
