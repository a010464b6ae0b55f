"""Asking a friend through the real Application: all three invitation routes to a signed
agreement, and every way it must refuse."""

import hashlib
import re
from datetime import date, timedelta

import pytest

from core.clock import FixedClock
from tests.support.chat_flows import (
    BORROWER_ID,
    FRIEND_ID,
    LINK,
    NOW,
    ask_by_link,
    buy_in_chat,
    catch_up,
    friend_signs,
    press,
    press_and_edit,
    say_and_expect,
    verify,
)
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.idnumbers import resident_id


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
async def bot(tmp_path, clock):
    async with BotHarness(tmp_path, clock=clock) as harness:
        yield harness












async def borrower_with_bill(bot, user_id=3001, name="Jane", amount="300", plan="3 ×"):
    jane = bot.person(user_id, name, "en")
    await verify(bot, jane, number=BORROWER_ID)
    await buy_in_chat(jane, "JD Mall", amount, plan)
    return jane




async def to_the_agreement(friend, payload, accept="Accept", band="¥5,000–10,000"):
    """A verified friend opens the link, accepts and declares income: the agreement shown."""
    await friend.open_link(payload)
    review = await friend.reply()
    incomes = await press_and_edit(friend, review, accept)
    await press(friend, incomes, band)
    await friend.reply()  # the review passed
    return await friend.reply()




async def test_link_route_to_a_signed_agreement(bot):
    jane = await borrower_with_bill(bot)
    ready, payload = await ask_by_link(jane)
    assert "Request #1 is ready" in ready.text and ready.button_texts == ["✖ Cancel request #1"]
    li = bot.person(3002, "Li", "zh")
    await li.open_link(payload)
    review = await li.reply()
    assert "Jane (J*** S****) 邀请你代还 JD Mall 以下每期的 100%" in review.text
    assert "第 1/3 期，2026年12月29日 到期：¥100.00" in review.text
    assert "opened your request #1" in (await jane.reply()).text
    li.cursor = review.seq
    accepted = await press_and_edit(li, review, "接受")
    assert "请先完成实名认证" in accepted.text
    notice = await jane.reply()
    assert "accepted your request #1" in notice.text
    assert notice.button_texts == ["↩ Revoke request #1"]
    await press(li, accepted, "立即认证")
    await li.reply()
    await li.share_contact("+8613911112222", owner_id=li.id)
    await li.reply()
    await li.send("李四")
    await li.reply()
    await li.send(FRIEND_ID)
    assert "实名认证成功" in (await li.reply()).text
    incomes = await li.reply()
    await press(li, incomes, "¥5,000–10,000")
    assert "审核通过" in (await li.reply()).text
    shown = await li.reply()
    assert "好友代还协议" in shown.text and "代还人：李*" in shown.text
    sha = re.search(r"SHA-256：([0-9a-f]{64})", shown.text).group(1)
    await press(li, shown, "签署")
    await li.next("edit")
    assert "已签署代还协议 #1" in (await li.reply()).text
    signed = await jane.reply()
    assert "signed agreement #1 for request #1: they cover ¥300.00" in signed.text
    (text, stored, message_id), = q(bot.db_path, "SELECT text, text_sha256, shown_message_id"
                                                 " FROM agreements")
    assert hashlib.sha256(text.encode()).hexdigest() == stored == sha
    assert text in shown.text and message_id == shown.message_id
    # The link is single-use: a second person gets a polite refusal and nothing changes.
    tom = bot.person(3003, "Tom", "en")
    await tom.open_link(payload)
    assert "no longer open" in (await tom.reply()).text


async def test_contact_route_with_push_and_agreement_document(bot):
    jane = await borrower_with_bill(bot)
    li = bot.person(3002, "Li", "en")
    await verify(bot, li, number=FRIEND_ID, name="Li Si")
    choose = await say_and_expect(jane, "/cover", "Which bill")
    shares = await press_and_edit(jane, choose, "JD Mall")
    routes = await press_and_edit(jane, shares, "50%")
    chosen = await press_and_edit(jane, routes, "Pick a contact")
    assert chosen.text == "How to reach your friend: 👤 Pick a contact." and not chosen.buttons
    picker = await jane.reply()
    assert picker.text == "Choose the friend with the button below, or /cancel."  # once
    button = picker.keyboard[0]
    assert button["request_users"]["user_is_bot"] is False
    await jane.share_user(button["request_users"]["request_id"], li.id, "Li")
    assert "Request #1 sent to Li (L* S*)" in (await jane.reply()).text
    push = await li.reply()
    assert "Jane (J*** S****) asks you to cover" in push.text
    review = await press_and_edit(li, push, "View the request")
    assert "cover 50% of these instalments" in review.text
    incomes = await press_and_edit(li, review, "Accept")
    await press(li, incomes, "¥3,000–5,000")
    await li.reply()
    agreement = await li.reply()
    await press(li, agreement, "Sign")
    await li.next("edit")
    await li.reply()
    assert q(bot.db_path, "SELECT SUM(amount) FROM agreement_instalments") == [(15000,)]
    listing = await say_and_expect(li, "/agreements", "#1 you cover Jane (J*** S****)")
    await press(li, listing, "Full text of #1")
    document = await li.next("document")
    content = document.params["document"]["content"].decode()
    assert hashlib.sha256(content.encode()).hexdigest() in document.text
    assert content in agreement.text


async def test_card_route_by_inline_mode(bot):
    jane = await borrower_with_bill(bot)
    choose = await say_and_expect(jane, "/cover", "Which bill")
    shares = await press_and_edit(jane, choose, "JD Mall")
    routes = await press_and_edit(jane, shares, "100%")
    ready = await press_and_edit(jane, routes, "Share a card")
    assert ready.buttons[0]["switch_inline_query"] == "1"
    answer = await jane.inline("1")
    assert answer.params["is_personal"] is True
    (card,) = answer.params["results"]
    assert "邀请你在代还平台代还" in card["input_message_content"]["message_text"]
    assert "asks you to cover 100% of 3 instalments" in card["input_message_content"][
        "message_text"]
    url = card["reply_markup"]["inline_keyboard"][0][0]["url"]
    stranger = bot.person(3009, "Eve", "en")
    assert (await stranger.inline("1")).params["results"] == []  # cards are personal
    li = bot.person(3002, "Li", "en")
    await verify(bot, li, number=FRIEND_ID, name="Li Si")
    await friend_signs(bot, li, LINK.search(url).group(1))
    assert q(bot.db_path, "SELECT route, status FROM cover_requests") == [("card", "signed")]


async def test_decline_cancel_revoke_and_expiry(bot, clock):
    jane = await borrower_with_bill(bot)
    li = bot.person(3002, "Li", "en")
    _, first = await ask_by_link(jane, "50%")
    eve = bot.person(3008, "Eve", "en")  # sees the link first, says no: it stays open
    await eve.open_link(first)
    await press_and_edit(eve, await eve.reply(), "Decline")
    await li.open_link(first)
    review = await li.reply()
    await jane.reply()  # opened (by Eve; Li's look is not the first)
    await press_and_edit(li, review, "Accept")
    await jane.reply()  # accepted
    await li.press(review, data="fr:d:1")  # the Decline Li saw with the request
    await li.next("answer")
    declined = await li.next("edit")
    assert "You declined" in declined.text
    assert "Li declined your request #1" in (await jane.reply()).text

    ready, second = await ask_by_link(jane, "50%")
    await press_and_edit(jane, ready, "Cancel request #2")
    await li.open_link(second)
    assert "no longer open" in (await li.reply()).text

    _, third = await ask_by_link(jane, "50%")
    await li.open_link(third)
    review = await li.reply()
    await jane.reply()
    await press_and_edit(li, review, "Accept")
    notice = await jane.reply()
    assert "Request #3 revoked" in (await press_and_edit(jane, notice, "Revoke")).text
    assert "revoked request #3" in (await li.reply()).text
    await li.press(review, "Accept")
    assert "no longer open" in (await li.next("answer")).text

    _, fourth = await ask_by_link(jane, "50%")
    clock.advance(timedelta(hours=48))
    job = bot.app.job_queue.get_jobs_by_name("expire-cover-requests")[0]
    await job.run(bot.app)
    assert "Request #4 expired" in (await jane.reply()).text
    await li.open_link(fourth)
    assert "no longer open" in (await li.reply()).text
    assert q(bot.db_path, "SELECT status FROM cover_requests ORDER BY id") == [
        ("declined",), ("cancelled",), ("revoked",), ("expired",)]


async def test_who_may_not_accept(bot):
    jane = await borrower_with_bill(bot)
    _, payload = await ask_by_link(jane)
    # The borrower opening their own link.
    await jane.open_link(payload)
    assert "your own request" in (await jane.reply()).text
    # An addressed request pressed by a stranger with forged callback data.
    li, eve = bot.person(3002, "Li", "en"), bot.person(3003, "Eve", "en")
    await li.open_link(payload)
    review = await li.reply()
    await press_and_edit(li, review, "Accept")
    # Eve never had the link: to her the request does not exist, whatever id she tries.
    for forged in ("fr:a:1", "fr:i:5k:1", "fr:v:1", "fr:a:2"):
        await eve.press(review, data=forged)
        assert "This invitation is not valid" in (await eve.next("answer")).text
    # Once the link reaches her, she learns only that someone else has taken it.
    await eve.open_link(payload)
    assert "someone else" in (await eve.reply()).text
    await eve.press(review, data="fr:a:1")
    assert "someone else" in (await eve.next("answer")).text
    for forged in ("fr:s:1:10000:000000000000", "fr:a:99999", "fr:x:1", "fr:s:1:99999:abc"):
        await li.press(review, data=forged)
        assert (await li.next("answer")).text  # answered, politely
    await bot.drained()
    assert q(bot.db_path, "SELECT COUNT(*) FROM agreements") == [(0,)]
    assert q(bot.db_path, "SELECT friend_id, status FROM cover_requests") == [(3002, "accepted")]
    # A garbage deep link.
    await eve.open_link("c_" + "A" * 32)
    assert "not valid" in (await eve.reply()).text


async def test_same_identity_cannot_cover(bot):
    jane = await borrower_with_bill(bot)
    _, payload = await ask_by_link(jane)
    twin = bot.person(3004, "Jane2", "en")
    await twin.open_link(payload)
    review = await twin.reply()
    accepted = await press_and_edit(twin, review, "Accept")
    await press(twin, accepted, "Verify now")
    await twin.reply()
    await twin.share_contact("+8613800138000", owner_id=twin.id)
    await twin.reply()
    await twin.send("Jane Smith")
    await twin.reply()
    await twin.send(BORROWER_ID)
    assert "already verified on another Telegram account" in (await twin.reply()).text
    await twin.press(accepted, data="fr:i:20k:1")
    assert "verify your identity first" in (await twin.next("answer")).text
    await bot.drained()
    assert q(bot.db_path, "SELECT COUNT(*) FROM agreements") == [(0,)]


async def test_over_capacity_friend_is_declined_with_reasons(bot):
    jane = await borrower_with_bill(bot, amount="1800", plan="1 ×")  # ¥1,818.00 at once
    _, payload = await ask_by_link(jane)
    li = bot.person(3002, "Li", "en")
    await verify(bot, li, number=FRIEND_ID, name="Li Si")
    await li.open_link(payload)
    review = await li.reply()
    incomes = await press_and_edit(li, review, "Accept")
    refused = await press_and_edit(li, incomes, "Under ¥3,000")
    assert "You can cover at most 40% of this request" in refused.text
    assert "your monthly payments would reach ¥1,818.00, above ¥750.00" in refused.text
    await press(li, refused, "Cover 40%")
    agreement = await li.reply()
    assert "covers 40% of each instalment" in agreement.text
    await press(li, agreement, "Sign")
    await li.next("edit")
    await li.reply()
    assert q(bot.db_path, "SELECT share_bp FROM agreements") == [(4000,)]


async def test_friend_over_every_limit_is_declined_and_borrower_told(tmp_path, clock):
    async with BotHarness(tmp_path, clock=clock, friend_exposure_cap=10) as bot:
        jane = await borrower_with_bill(bot)
        _, payload = await ask_by_link(jane)
        bo = bot.person(3005, "Bo", "en")
        await verify(bot, bo, number=FRIEND_ID, name="Bo Wu")
        await bo.open_link(payload)
        review = await bo.reply()
        incomes = await press_and_edit(bo, review, "Accept")
        declined = await press_and_edit(bo, incomes, "¥20,000 or more")
        assert "you cannot take this on now, because you would cover" in declined.text
        assert "above the ¥10.00 limit" in declined.text
        await jane.reply(), await jane.reply()  # opened, accepted
        assert "did not pass the affordability review" in (await jane.reply()).text
        assert q(bot.db_path, "SELECT status FROM cover_requests") == [("declined",)]


async def test_split_between_two_friends_and_termination(bot):
    jane = await borrower_with_bill(bot)
    li, bo = bot.person(3002, "Li", "en"), bot.person(3005, "Bo", "en")
    await verify(bot, li, number=FRIEND_ID, name="Li Si")
    await verify(bot, bo, number=resident_id(date(1980, 1, 1), sequence="789"), name="Bo Wu")
    _, a = await ask_by_link(jane, "50%")
    await friend_signs(bot, li, a)
    await catch_up(bot, jane)
    _, b = await ask_by_link(jane, "50%")
    await friend_signs(bot, bo, b)
    await catch_up(bot, jane)
    choose = await say_and_expect(jane, "/cover", "Which bill")
    shares = await press_and_edit(jane, choose, "JD Mall")
    routes = await press_and_edit(jane, shares, "20%")
    await jane.press(routes, "Get a link")
    await jane.next("answer")
    assert "already asked for or covering" in (await jane.reply()).text
    assert q(bot.db_path, "SELECT instalment_id, SUM(amount) FROM agreement_instalments"
                          " GROUP BY instalment_id") == [(1, 10000), (2, 10000), (3, 10000)]
    await catch_up(bot, jane)
    bills = await say_and_expect(jane, "/bills", "Open bills")
    assert ("1/3 due 29 Dec 2026  ¥100.00  covered by Li (L* S*): ¥50.00; "
            "covered by Bo (B* W*): ¥50.00") in bills.text
    assert "you pay" not in bills.text
    # Li ends early with enough notice: every future instalment goes back to Jane.
    choices = await say_and_expect(li, "/terminate", "Which agreement")
    confirm = await press_and_edit(li, choices, "End #1")
    done = await press_and_edit(li, confirm, "Yes, end #1")
    assert "Agreement #1 ended: 3 instalments are back with the borrower" in done.text
    assert "Li (L* S*) ended agreement #1" in (await jane.reply()).text


async def test_two_devices_pressing_sign_at_once_make_one_agreement(bot):
    jane = await borrower_with_bill(bot)
    _, payload = await ask_by_link(jane)
    li = bot.person(3002, "Li", "en")
    await verify(bot, li, number=FRIEND_ID, name="Li Si")
    agreement = await to_the_agreement(li, payload)
    sign = agreement.buttons[0]["callback_data"]
    await li.press(agreement, data=sign)  # two presses queued before either is handled
    await li.press(agreement, data=sign)
    await bot.drained()
    answers = [o for o in li.unread() if o.kind == "answer"]
    assert len(answers) == 2
    signed = [o for o in li.unread() if o.kind == "message" and "Signed" in (o.text or "")]
    assert len(signed) == 1
    assert q(bot.db_path, "SELECT COUNT(*) FROM agreements") == [(1,)]
    assert q(bot.db_path, "SELECT COUNT(*) FROM events WHERE kind = 'agreement.signed'") == [(1,)]


async def test_requests_lists_states_links_and_buttons(bot):
    jane = await borrower_with_bill(bot)
    _, first = await ask_by_link(jane, "50%")
    li = bot.person(3002, "Li", "en")
    await li.open_link(first)
    await press_and_edit(li, await li.reply(), "Accept")
    await catch_up(bot, jane)
    _, second = await ask_by_link(jane, "20%")
    listing = await say_and_expect(jane, "/requests", "Your cover requests:")
    assert "#2 JD Mall, 20% — waiting" in listing.text and second in listing.text
    assert "#1 JD Mall, 50% — accepted, not signed yet (Li)" in listing.text
    assert first not in listing.text  # taken: its link is of no use to anyone else
    assert listing.button_texts == ["✖ Cancel request #2", "↩ Revoke request #1"]
    done = await press_and_edit(jane, listing, "Cancel request #2")
    assert "Request #2 cancelled" in done.text


async def test_a_picked_friend_who_never_wrote_to_the_bot_is_shown_by_name(bot):
    jane = await borrower_with_bill(bot)
    choose = await say_and_expect(jane, "/cover", "Which bill")
    shares = await press_and_edit(jane, choose, "JD Mall")
    routes = await press_and_edit(jane, shares, "50%")
    await press_and_edit(jane, routes, "Pick a contact")
    picker = await jane.reply()
    asked = picker.keyboard[0]["request_users"]
    assert asked["request_name"] is True and asked["request_username"] is True
    await jane.share_user(asked["request_id"], 3304, "Wang", last_name="Wu", username="wangwu")
    told = await jane.reply()
    assert told.text.startswith("Wang Wu has not started this bot yet") and "#3304" not in told.text
    assert LINK.search(told.text)  # the link only they can use


async def test_each_party_reads_the_agreement_in_their_own_language(bot):
    """Li signs in Chinese; Jane reads English: she gets a translation made from the same
    terms when Li signed, marked as one, then the signed original."""
    jane = await borrower_with_bill(bot)
    _, payload = await ask_by_link(jane)
    li = bot.person(3002, "Li", "zh")
    await verify(bot, li, number=FRIEND_ID, name="李四")
    shown = await to_the_agreement(li, payload, accept="接受")
    await press(li, shown, "签署")
    await catch_up(bot, jane)
    listing = await say_and_expect(jane, "/agreements", "#1 Li (李*) covers you")
    await press(jane, listing, "Full text of #1")
    translated, original = await jane.next("document"), await jane.next("document")
    english = translated.params["document"]["content"].decode()
    chinese = original.params["document"]["content"].decode()
    (signed, sha), = q(bot.db_path, "SELECT text, text_sha256 FROM agreements")
    assert chinese == signed and chinese in shown.text and "好友代还协议" in chinese
    assert english.startswith("TRANSLATION FOR REFERENCE. This agreement was signed in "
                              f"Chinese; the signed original (SHA-256 {sha}) prevails.")
    assert "FRIEND REPAYMENT AGREEMENT" in english and "Friend (covering party): 李*" in english
    assert "a translation for reference" in translated.text and sha in original.text
    # Li, who signed in Chinese, gets the original alone.
    await catch_up(bot, li)
    li_list = await say_and_expect(li, "/agreements", "#1")
    await press(li, li_list, "#1")
    assert (await li.next("document")).params["document"]["content"].decode() == signed
    await bot.drained()
    assert [o for o in li.unread() if o.kind == "document"] == []
