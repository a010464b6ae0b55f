"""A small Bot-API-compatible HTTP server on 127.0.0.1 with fake people.

The real ``Application`` talks to it over HTTP exactly as it would to api.telegram.org:
people send text, press inline buttons, share contacts and open deep links; the end-to-end
tests and ``daihuan demo`` read what the bot sent, edited and answered (``listeners`` hear
each as it happens). Only the methods Daihuan uses are implemented; anything else answers
404 like Telegram does, so a test notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

BOT_ID = 777000111
BOT_USERNAME = "daihuan_test_bot"

# Parameters PTB sends as plain strings; every other parameter arrives JSON-encoded.
_STRING_PARAMS = {
    "text", "caption", "parse_mode", "callback_query_id", "inline_query_id", "url",
    "secret_token", "description", "title", "payload", "provider_token", "currency",
    "start_parameter", "next_offset", "language_code", "name", "short_description",
    "pre_checkout_query_id", "error_message", "shipping_query_id", "action", "emoji",
    "button_text", "message_effect_id", "business_connection_id",
}


@dataclass
class Output:
    """One thing the bot did that a person can see."""

    kind: str  # "message", "edit", "answer" (callback answer), "document", ...
    chat_id: int | None
    message_id: int | None
    text: str | None
    reply_markup: dict | None
    params: dict[str, Any]
    seq: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[dict]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for b in self.buttons]

    @property
    def keyboard(self) -> list[dict]:
        """Buttons of a reply keyboard (the one under the text field)."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [button if isinstance(button, dict) else {"text": button}
                for row in rows for button in row]


@dataclass
class ChatMessage:
    message_id: int
    chat_id: int
    from_bot: bool
    text: str | None
    reply_markup: dict | None = None
    date: int = field(default_factory=lambda: int(time.time()))


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict] = []
        self.outputs: list[Output] = []
        self.calls: list[tuple[str, dict]] = []
        self.commands: dict[str | None, list[dict]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], ChatMessage] = {}
        self._chats: dict[int, dict] = {}
        self._changed = asyncio.Condition()
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.fault: Callable[[str, dict], web.Response | None] | None = None
        self.confirmed_offset = 0  # getUpdates' offset: every update below it was fetched
        self.deleted: list[ChatMessage] = []
        self.pushed_at: dict[int, float] = {}  # update id → when it was offered to the bot
        self._answered: set[str] = set()
        self.blocked: set[int] = set()  # users who blocked the bot: sendMessage answers 403
        self.rate_limit: int | None = None  # messages per second; above it: 429 retry_after
        self.rate_limited = 0
        self._tokens: float | None = None
        self._refilled = time.monotonic()
        self.closing = False  # long polls return at once, so the bot can stop promptly
        # Webhook mode: after setWebhook, updates are POSTed to the bot, as Telegram does,
        # at webhook_target (standing in for the reverse proxy) + the webhook URL's path.
        self.webhook: dict | None = None
        self.webhook_target: str | None = None
        # Several workers behind a load balancer: each delivery (and each retry) goes to
        # the next, round robin, as nginx's upstream would send them.
        self.webhook_targets: list[str] = []
        self._next_target = itertools.count()
        self.webhook_answers: list[int] = []
        self.listeners: list[Callable[[Output], None]] = []  # told of every output

    # -- life cycle ----------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def _take_token(self) -> bool:
        """A token bucket of one second's worth of messages, as Telegram roughly does."""
        now = time.monotonic()
        if self._tokens is None:  # a fresh bucket starts full
            self._tokens = float(self.rate_limit)
        self._tokens = min(float(self.rate_limit), self._tokens
                           + (now - self._refilled) * self.rate_limit)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def release_polls(self) -> None:
        async with self._changed:
            self.closing = True
            self._changed.notify_all()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- people --------------------------------------------------------------------------
    def person(self, user_id: int, first_name: str, language_code: str | None = "en",
               last_name: str | None = None, username: str | None = None) -> FakePerson:
        return FakePerson(self, user_id, first_name, language_code, last_name, username)

    async def push_update(self, update: dict) -> int:
        async with self._changed:
            update = {"update_id": next(self._update_ids), **update}
            self.pushed_at[update["update_id"]] = time.monotonic()
            if self.webhook is None:
                self.updates.append(update)
                self._changed.notify_all()
                return update["update_id"]
        await self._deliver(update)
        return update["update_id"]

    async def _deliver(self, update: dict) -> None:
        """Telegram's side of a webhook: POST until the bot answers 200. The caller waits
        for it: Telegram sends one chat's updates one at a time, each once the last is
        taken."""
        assert self.webhook is not None
        assert self.webhook_target is not None or self.webhook_targets
        path = urlsplit(self.webhook["url"]).path
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                targets = self.webhook_targets or [self.webhook_target]
                url = targets[next(self._next_target) % len(targets)] + path
                try:
                    async with session.post(url, json=update, headers=headers) as answer:
                        self.webhook_answers.append(answer.status)
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:  # the worker is down: the next one, later
                    self.webhook_answers.append(0)
                await asyncio.sleep(0.1)
        raise AssertionError(f"the bot never took update {update['update_id']}")

    def new_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def remember_chat(self, chat: dict) -> None:
        self._chats[chat["id"]] = chat

    def store(self, message: ChatMessage) -> None:
        self._messages[(message.chat_id, message.message_id)] = message

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        return self._messages.get((chat_id, message_id))

    async def wait_output(self, predicate: Callable[[Output], bool], after: int = 0,
                          timeout: float = 5.0) -> Output:
        """The first output after sequence number ``after`` that matches."""
        async def find() -> Output:
            async with self._changed:
                while True:
                    for output in self.outputs:
                        if output.seq > after and predicate(output):
                            return output
                    await self._changed.wait()
        return await asyncio.wait_for(find(), timeout)

    @property
    def pending_updates(self) -> int:
        return sum(1 for u in self.updates if u["update_id"] >= self.confirmed_offset)

    @property
    def last_seq(self) -> int:
        return self.outputs[-1].seq if self.outputs else 0

    # -- the Bot API ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append((method, params))
        if (self.rate_limit is not None and method in ("sendMessage", "sendDocument")
                and not self._take_token()):
            self.rate_limited += 1
            return too_many_requests(1)
        if self.fault is not None:
            injected = self.fault(method, params)
            if injected in ("drop", "done-drop"):  # the connection dies before the answer
                if injected == "done-drop":  # ...after Telegram did the work
                    await self._dispatch(method, params)
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=500)
            if isinstance(injected, tuple) and injected[0] == "delay":  # nothing done, late
                await asyncio.sleep(injected[1])
                return _error(500, "Internal Server Error: answered after a delay")
            if isinstance(injected, tuple) and injected[0] == "slow":  # done late, answered
                await asyncio.sleep(injected[1])
                return await self._dispatch(method, params)
            if isinstance(injected, tuple) and injected[0] == "late":  # done, answer late
                answer = await self._dispatch(method, params)
                await asyncio.sleep(injected[1])
                return answer
            if injected is not None:
                return injected
        return await self._dispatch(method, params)

    async def _dispatch(self, method: str, params: dict) -> web.Response:
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params)
        except ApiError as error:
            return _error(error.code, error.description)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict) -> dict:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Daihuan", "username": BOT_USERNAME,
                "can_join_groups": False, "can_read_all_group_messages": False,
                "supports_inline_queries": True}

    async def _api_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _api_setMyCommands(self, params: dict) -> bool:
        self.commands[params.get("language_code")] = params["commands"]
        return True

    async def _api_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout > 0 and not self.closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
            return self.updates[:limit]

    async def _api_sendMessage(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        _check_text(text)
        _check_markup(params.get("reply_markup"))
        message = ChatMessage(self.new_message_id(chat_id), chat_id, True, text,
                              params.get("reply_markup"))
        self.store(message)
        await self._output("message", chat_id, message.message_id, text,
                           params.get("reply_markup"), params)
        return self._message_json(message)

    async def _api_editMessageText(self, params: dict) -> dict:
        message = self._editable(params)
        text = params.get("text") or ""
        markup = params.get("reply_markup")
        _check_text(text)
        _check_markup(markup)
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.text, message.reply_markup = text, markup
        await self._output("edit", message.chat_id, message.message_id, text, markup, params)
        return self._message_json(message)

    async def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        message = self._editable(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        message.reply_markup = markup
        await self._output("edit", message.chat_id, message.message_id, message.text, markup,
                           params)
        return self._message_json(message)

    async def _api_answerCallbackQuery(self, params: dict) -> bool:
        query_id = params["callback_query_id"]
        if _units(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if query_id in self._answered:  # Telegram accepts one answer per press
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        self._answered.add(query_id)
        await self._output("answer", None, None, params.get("text"), None, params)
        return True

    async def _api_sendChatAction(self, params: dict) -> bool:
        return True

    async def _api_deleteMessage(self, params: dict) -> bool:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise ApiError(400, "Bad Request: message to delete not found")
        message = self._messages.pop(key)
        self.deleted.append(message)
        await self._output("delete", key[0], key[1], None, None, params)
        return True

    async def _api_sendInvoice(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        prices = params["prices"]
        if params.get("currency") != "CNY" or not prices:
            raise ApiError(400, "Bad Request: CURRENCY_INVALID")
        message = ChatMessage(self.new_message_id(chat_id), chat_id, True, None)
        self.store(message)
        await self._output("invoice", chat_id, message.message_id, params.get("title"), None,
                           params)
        data = self._message_json(message)
        data["invoice"] = {"title": params["title"], "description": params["description"],
                           "start_parameter": "", "currency": params["currency"],
                           "total_amount": sum(p["amount"] for p in prices)}
        return data

    async def _api_answerInlineQuery(self, params: dict) -> bool:
        for result in params.get("results") or []:
            _check_markup(result.get("reply_markup"))
            _check_text((result.get("input_message_content") or {}).get("message_text", ""))
        await self._output("inline", None, None, None, None, params)
        return True

    async def _api_sendDocument(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        document = params.get("document")
        _check_caption(params.get("caption"))
        if not isinstance(document, dict) or not document.get("content"):
            raise ApiError(400, "Bad Request: there is no document in the request")
        message = ChatMessage(self.new_message_id(chat_id), chat_id, True, None)
        self.store(message)
        await self._output("document", chat_id, message.message_id, params.get("caption"),
                           None, params)
        data = self._message_json(message)
        data["document"] = {"file_id": f"doc{message.message_id}",
                            "file_unique_id": f"u{message.message_id}",
                            "file_name": document["filename"]}
        return data

    async def _api_sendPhoto(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        photo = params.get("photo")
        _check_caption(params.get("caption"))
        if not isinstance(photo, dict) or not photo.get("content"):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        message = ChatMessage(self.new_message_id(chat_id), chat_id, True, None)
        self.store(message)
        await self._output("photo", chat_id, message.message_id, params.get("caption"), None,
                           params)
        data = self._message_json(message)
        data["photo"] = [{"file_id": f"p{message.message_id}",
                          "file_unique_id": f"up{message.message_id}", "width": 1000,
                          "height": 400}]
        return data

    async def _api_answerPreCheckoutQuery(self, params: dict) -> bool:
        await self._output("precheckout", None, None, params.get("error_message"), None,
                           params)
        return True

    def _editable(self, params: dict) -> ChatMessage:
        message = self.message(int(params["chat_id"]), int(params["message_id"]))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    async def _output(self, kind: str, chat_id: int | None, message_id: int | None,
                      text: str | None, markup: dict | None, params: dict) -> None:
        async with self._changed:
            output = Output(kind, chat_id, message_id, text, markup, params, next(self._seq))
            self.outputs.append(output)
            self._changed.notify_all()
        for listener in self.listeners:
            listener(output)

    def _message_json(self, message: ChatMessage) -> dict:
        data = {
            "message_id": message.message_id, "date": message.date,
            "chat": self._chats[message.chat_id],
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Daihuan",
                     "username": BOT_USERNAME},
        }
        if message.text is not None:
            data["text"] = message.text
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup  # Telegram echoes inline ones only
        return data


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def too_many_requests(retry_after: int) -> web.Response:
    return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def _error(code: int, description: str, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if extra:
        body["parameters"] = extra
    return web.json_response(body, status=code)


def _units(text: str) -> int:
    """Telegram counts text in UTF-16 code units: an emoji is two."""
    return len(text.encode("utf-16-le")) // 2


def _check_text(text: str) -> None:
    if _units(text) > 4096:
        raise ApiError(400, "Bad Request: message is too long")


def _check_caption(caption: str | None) -> None:
    if caption and _units(caption) > 1024:
        raise ApiError(400, "Bad Request: message caption is too long")


def _check_markup(markup: dict | None) -> None:
    rows = (markup or {}).get("inline_keyboard") or []
    if sum(len(row) for row in rows) > 100:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await request.json()
    form = await request.post()
    params: dict[str, Any] = {}
    for name, value in form.items():
        if not isinstance(value, str):  # an uploaded file
            params[name] = {"filename": value.filename, "content": value.file.read()}
        elif name in _STRING_PARAMS:
            params[name] = value
        else:
            try:
                params[name] = json.loads(value)
            except ValueError:
                params[name] = value
    return params


class FakePerson:
    """Someone using Telegram: talks to the bot in a private chat and reads its replies."""

    def __init__(self, api: FakeBotApi, user_id: int, first_name: str,
                 language_code: str | None, last_name: str | None, username: str | None) -> None:
        self.api = api
        self.id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            self.user["last_name"] = last_name
        if username:
            self.user["username"] = username
        if language_code:
            self.user["language_code"] = language_code
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}
        api.remember_chat(self.chat)
        self.cursor = 0  # outputs up to this sequence number have been read

    # -- doing ---------------------------------------------------------------------------
    async def send(self, text: str, **extra: Any) -> int:
        message = self._message(text=text, **extra)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
        await self.api.push_update({"message": message})
        return message["message_id"]

    async def send_photo(self) -> int:
        return await self._push(photo=[{"file_id": "p1", "file_unique_id": "p1", "width": 800,
                                        "height": 500}])

    async def send_sticker(self) -> int:
        return await self._push(sticker={"file_id": "s1", "file_unique_id": "s1", "width": 1,
                                         "height": 1, "is_animated": False, "is_video": False,
                                         "type": "regular"})

    async def send_document(self, name: str = "scan.pdf") -> int:
        return await self._push(document={"file_id": "d1", "file_unique_id": "d1",
                                          "file_name": name})

    async def _push(self, **content: Any) -> int:
        message = self._message(**content)
        await self.api.push_update({"message": message})
        return message["message_id"]

    async def open_link(self, payload: str) -> int:
        """Open ``t.me/<bot>?start=<payload>``: Telegram sends ``/start <payload>``."""
        return await self.send(f"/start {payload}")

    async def share_contact(self, phone: str, owner_id: int | None = None,
                            first_name: str | None = None) -> int:
        contact = {"phone_number": phone, "first_name": first_name or self.user["first_name"]}
        if owner_id is not None:
            contact["user_id"] = owner_id
        message = self._message(contact=contact)
        await self.api.push_update({"message": message})
        return message["message_id"]

    async def press(self, output: Output, label: str | None = None, *,
                    data: str | None = None) -> int:
        """Press a button on a message the bot sent (by its label), or send raw data."""
        if data is None:
            matches = [b for b in output.buttons if label is not None and label in b["text"]]
            if len(matches) != 1:
                raise AssertionError(f"no single button {label!r} in {output.button_texts}")
            data = matches[0]["callback_data"]
        message = self.api.message(output.chat_id or self.id, output.message_id or 0)
        query: dict[str, Any] = {
            "id": f"{self.id}-{time.monotonic_ns()}", "from": self.user,
            "chat_instance": str(self.id), "data": data,
        }
        if message is not None:
            query["message"] = {**self.api._message_json(message)}
        return await self.api.push_update({"callback_query": query})

    async def pay(self, invoice: Output, charge_id: str | None = None) -> tuple[bool, str]:
        """Pay an invoice the bot sent: Telegram asks the bot first (pre-checkout), and only
        when it agrees sends the successful payment. Returns (accepted, charge id)."""
        params = invoice.params
        total = sum(p["amount"] for p in params["prices"])
        query_id = f"pcq-{self.id}-{time.monotonic_ns()}"
        after = self.api.last_seq
        await self.api.push_update({"pre_checkout_query": {
            "id": query_id, "from": self.user, "currency": params["currency"],
            "total_amount": total, "invoice_payload": params["payload"]}})
        answer = await self.api.wait_output(
            lambda o: o.kind == "precheckout" and o.params["pre_checkout_query_id"] == query_id,
            after)
        if not answer.params.get("ok"):
            return False, ""
        charge_id = charge_id or f"tg-charge-{time.monotonic_ns()}"
        await self.send_successful_payment(params["payload"], params["currency"], total,
                                           charge_id)
        return True, charge_id

    async def send_successful_payment(self, payload: str, currency: str, total: int,
                                      charge_id: str) -> None:
        message = self._message(successful_payment={
            "currency": currency, "total_amount": total, "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": f"provider-{charge_id}"})
        await self.api.push_update({"message": message})

    async def share_user(self, request_id: int, user_id: int, first_name: str,
                         last_name: str | None = None, username: str | None = None) -> int:
        """Pick someone with a request-users keyboard button. As Telegram does, the shared
        user carries a name or a username only if the button asked for it."""
        asked = next((b["request_users"] for o in reversed(self.api.outputs)
                      if o.chat_id == self.id for b in o.keyboard
                      if b.get("request_users", {}).get("request_id") == request_id), {})
        shared: dict[str, Any] = {"user_id": user_id}
        if asked.get("request_name"):
            shared["first_name"] = first_name
            if last_name:
                shared["last_name"] = last_name
        if asked.get("request_username") and username:
            shared["username"] = username
        message = self._message(users_shared={"request_id": request_id, "users": [shared]})
        await self.api.push_update({"message": message})
        return message["message_id"]

    async def inline(self, query: str) -> Output:
        """Type ``@bot <query>`` in some chat; returns the bot's answer (its results)."""
        query_id = f"iq-{self.id}-{time.monotonic_ns()}"
        after = self.api.last_seq
        await self.api.push_update({"inline_query": {
            "id": query_id, "from": self.user, "query": query, "offset": "",
            "chat_type": "group"}})
        return await self.api.wait_output(
            lambda o: o.kind == "inline" and o.params["inline_query_id"] == query_id, after)

    async def send_update(self, update: dict) -> int:
        return await self.api.push_update(update)

    def _message(self, **content: Any) -> dict:
        message_id = self.api.new_message_id(self.id)
        self.api.store(ChatMessage(message_id, self.id, False, content.get("text")))
        return {"message_id": message_id, "date": int(time.time()), "chat": self.chat,
                "from": self.user, **content}

    # -- reading -------------------------------------------------------------------------
    def sees(self, output: Output) -> bool:
        if output.kind == "inline":
            return str(output.params.get("inline_query_id", "")).startswith(f"iq-{self.id}-")
        if output.kind == "precheckout":
            return str(output.params.get("pre_checkout_query_id", "")).startswith(
                f"pcq-{self.id}-")
        if output.kind == "answer":
            return str(output.params.get("callback_query_id", "")).startswith(f"{self.id}-")
        return output.chat_id == self.id

    async def next(self, kind: str | None = None, timeout: float = 5.0) -> Output:
        """The next thing the bot showed this person (optionally of one kind)."""
        output = await self.api.wait_output(
            lambda o: self.sees(o) and (kind is None or o.kind == kind), self.cursor, timeout)
        self.cursor = output.seq
        return output

    async def reply(self, timeout: float = 5.0) -> Output:
        return await self.next("message", timeout)

    def unread(self) -> list[Output]:
        return [o for o in self.api.outputs if o.seq > self.cursor and self.sees(o)]
