"""bot.http: PTB's requests on aiohttp send what Telegram expects and fail as PTB's errors."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http import AiohttpRequest

TOKEN = "123456789:SECRET-token-that-must-not-leak"


@pytest.fixture
async def server():
    seen: list[dict] = []

    async def method(request: web.Request) -> web.Response:
        if request.match_info["name"] == "slow":
            await asyncio.sleep(2)
        form = await request.post()
        seen.append({"content_type": request.content_type,
                     "agent": request.headers.get("User-Agent", ""),
                     "fields": {k: (v if isinstance(v, str) else
                                    (v.filename, v.content_type, v.file.read()))
                                for k, v in form.items()}})
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot{token}/{name}", method)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/bot{TOKEN}", seen
    await runner.cleanup()


@pytest.fixture
async def request_():
    request = AiohttpRequest(connection_pool_size=4, read_timeout=0.3, connect_timeout=0.3)
    await request.initialize()
    yield request
    await request.shutdown()


async def test_parameters_are_form_encoded(server, request_):
    base, seen = server
    data = RequestData([RequestParameter.from_input("chat_id", 42),
                        RequestParameter.from_input("text", "你好 & =")])
    status, body = await request_.do_request(f"{base}/sendMessage", "POST", data)
    assert status == 200 and b'"ok": true' in body
    assert seen[0]["content_type"] == "application/x-www-form-urlencoded"
    assert seen[0]["fields"] == {"chat_id": "42", "text": "你好 & ="}
    assert seen[0]["agent"].startswith("python-telegram-bot")


async def test_files_go_as_multipart_beside_the_parameters(server, request_):
    base, seen = server
    document = InputFile(b"report,1\n", filename="report.csv")
    data = RequestData([RequestParameter.from_input("chat_id", 42),
                        RequestParameter.from_input("document", document)])
    status, _ = await request_.do_request(f"{base}/sendDocument", "POST", data)
    assert status == 200
    assert seen[0]["content_type"] == "multipart/form-data"
    fields = seen[0]["fields"]
    assert fields["chat_id"] == "42"
    (filename, _mimetype, content), = [v for k, v in fields.items() if k != "chat_id"]
    assert (filename, content) == ("report.csv", b"report,1\n")


async def test_a_slow_answer_is_timed_out(server, request_):
    base, _ = server
    with pytest.raises(TimedOut):
        await request_.do_request(f"{base}/slow", "POST")


async def test_an_explicit_timeout_overrides_the_default(server, request_):
    base, _ = server
    with pytest.raises(TimedOut):
        await request_.do_request(f"{base}/slow", "POST", read_timeout=0.05)


async def test_a_refused_connection_is_a_network_error_without_the_token(request_):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as caught:
        await request_.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
    assert not isinstance(caught.value, TimedOut)
    assert "SECRET" not in str(caught.value) and "aiohttp." in str(caught.value)


async def test_a_request_before_initialize_is_refused():
    with pytest.raises(RuntimeError):
        await AiohttpRequest().do_request("http://127.0.0.1:9/botx/getMe", "POST")


async def test_initialize_after_shutdown_works_again(server):
    base, _ = server
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    await request.initialize()
    try:
        status, _ = await request.do_request(f"{base}/getMe", "POST")
    finally:
        await request.shutdown()
    assert status == 200
