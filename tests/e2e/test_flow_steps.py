"""Something other than the answer in the middle of a flow (a photo, a sticker, a file, text
where buttons are expected) asks the step again instead of ending at a dead end; in /verify a
photo or file is deleted at once, with a note that the number must be typed."""

from datetime import UTC, datetime

from core.clock import FixedClock
from tests.support.chat_flows import ADULT_ID, say_and_expect
from tests.support.dbcheck import q
from tests.support.harness import BotHarness

NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)


async def test_verify_asks_again_and_deletes_pictures(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as bot:
        ann = bot.person(2001, "Ann", "en")
        await say_and_expect(ann, "/verify", "Step 1 of 3")
        await ann.send_sticker()
        again = await ann.reply()
        assert "Share my phone number" in again.text and again.keyboard[0]["request_contact"]
        await ann.share_contact("+8613800138000", owner_id=ann.id)
        await ann.reply()
        photo = await ann.send_photo()  # a photo of her ID card, say
        assert "deleted that picture" in (await ann.reply()).text
        assert (await ann.reply()).text.startswith("Step 2 of 3")
        assert [m.message_id for m in bot.api.deleted] == [photo]
        await say_and_expect(ann, "Ann Lee", "Step 3 of 3")
        scan = await ann.send_document("id-card.pdf")
        assert "deleted that picture" in (await ann.reply()).text
        assert (await ann.reply()).text.startswith("Step 3 of 3")
        assert scan in [m.message_id for m in bot.api.deleted]
        await say_and_expect(ann, ADULT_ID, "Verified")
        assert q(bot.db_path, "SELECT COUNT(*) FROM identities") == [(1,)]


async def test_buy_asks_each_step_again(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as bot:
        ann = bot.person(2001, "Ann", "zh")
        from tests.support.chat_flows import verify

        await verify(bot, ann)
        deleted = len(bot.api.deleted)  # the ID number's message, once read
        await say_and_expect(ann, "/buy", "在哪家店购买")
        await ann.send_sticker()
        assert "在哪家店购买" in (await ann.reply()).text
        await say_and_expect(ann, "JD", "这笔消费多少钱")
        await ann.send_photo()
        assert "这笔消费多少钱" in (await ann.reply()).text
        plans = await say_and_expect(ann, "300", "分几期")
        await ann.send("3")  # text where the plan buttons are expected
        assert "请用上方按钮选择" in (await ann.reply()).text
        await ann.press(plans, "3 期")
        await ann.next("answer")
        await ann.next("edit")
        await ann.send_sticker()
        assert "请用上方按钮选择" in (await ann.reply()).text
        assert len(bot.api.deleted) == deleted  # nothing here carries identity: kept
