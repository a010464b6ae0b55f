"""Through the real Application over HTTP: /start, /language, and bad input."""


import pytest

from tests.support.dbcheck import q
from tests.support.harness import BotHarness


@pytest.fixture
async def bot(tmp_path):
    async with BotHarness(tmp_path) as harness:
        yield harness


async def test_start_greets_in_telegram_language(bot):
    alice = bot.person(1001, "Alice", "en-US")
    await alice.send("/start")
    reply = await alice.reply()
    assert reply.text.startswith("Hello, Alice!")
    li = bot.person(1002, "李雷", "zh-hans")
    await li.send("/start")
    assert (await li.reply()).text.startswith("李雷，你好")
    assert q(bot.db_path, "SELECT id, display_name FROM users ORDER BY id") == [
        (1001, "Alice"), (1002, "李雷")]


async def test_command_menu_is_set_in_both_languages(bot):
    assert [c["command"] for c in bot.api.commands[None]] == [
        "start", "help", "verify", "credit", "buy", "bills", "wallet", "cover", "requests",
        "agreements", "terminate", "language", "cancel"]
    assert bot.api.commands["zh"][1]["description"] == "查看我能做什么"


async def test_language_switch_by_button(bot):
    alice = bot.person(1001, "Alice", "en")
    await alice.send("/language")
    prompt = await alice.reply()
    assert prompt.text == "Choose your language:"
    assert prompt.button_texts == ["中文", "✓ English"]
    await alice.press(prompt, "中文")
    assert (await alice.next("answer")).text is None
    edited = await alice.next("edit")
    assert edited.message_id == prompt.message_id
    assert edited.text == "好的，之后我会用中文和你交流。"
    assert edited.reply_markup is None  # the stale keyboard is gone
    await alice.send("/help")
    assert (await alice.reply()).text.startswith("我可以为你做这些")
    assert q(bot.db_path, "SELECT language FROM users WHERE id = 1001") == [("zh",)]


@pytest.mark.parametrize("data", ["garbage", "lang:fr", "lang:", "x" * 64, "lang:zh:1", "🙂"])
async def test_garbage_callback_gets_polite_answer_and_changes_nothing(bot, data):
    alice = bot.person(1001, "Alice", "en")
    await alice.send("/language")
    prompt = await alice.reply()
    before = q(bot.db_path, "SELECT * FROM users")
    await alice.press(prompt, data=data)
    answer = await alice.next("answer")
    assert answer.text == "This button is no longer valid. Nothing was changed."
    assert answer.params.get("show_alert") is True
    await bot.drained()
    assert q(bot.db_path, "SELECT * FROM users") == before
    assert alice.unread() == []


async def test_unknown_deep_link_and_command_are_answered(bot):
    li = bot.person(1002, "李雷", "zh")
    await li.open_link("not-a-real-token")
    assert "链接无效或已过期" in (await li.reply()).text
    await li.send("/frobnicate")
    assert "不认识这个命令" in (await li.reply()).text
    await li.send("hello?")
    assert "没太明白" in (await li.reply()).text


async def test_group_commands_point_to_private_chat(bot):
    alice = bot.person(1001, "Alice", "en")
    group = {"id": -5001, "type": "group", "title": "Friends"}
    bot.api.remember_chat(group)
    await alice.send_update({"message": {
        "message_id": 1, "date": 0, "chat": group, "from": alice.user, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}})
    reply = await bot.api.wait_output(lambda o: o.chat_id == -5001)
    assert reply.text.startswith("Please talk to me in a private chat")


async def test_unexpected_error_is_apologised_for_and_logged_without_secrets(
        tmp_path, production_logs):
    from bot.context import services
    from tests.support.harness import TEST_TOKEN

    async with BotHarness(tmp_path) as bot:
        people = services(bot.app).people

        async def broken(user_id, language):
            raise RuntimeError(f"database unavailable (token {TEST_TOKEN})")

        people.choose_language = broken
        li = bot.person(1002, "李雷", "zh")
        await li.send("/language")
        prompt = await li.reply()
        await li.press(prompt, "English")
        answer = await li.next("answer")
        assert answer.text == "抱歉，我们这边出了点问题，请稍后再试。"
        assert answer.params["show_alert"] is True
        await bot.drained()
    logs = production_logs.getvalue()
    assert "unhandled error while handling update" in logs
    assert "database unavailable" in logs  # the traceback is there...
    assert TEST_TOKEN not in logs and TEST_TOKEN.split(":")[1] not in logs  # ...the token not
