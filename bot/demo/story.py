"""``daihuan demo``: the whole product, told by three scripted people and the real bot.

Nothing is faked past the Bot API: the real Application, handlers, SQLite book, servicing
and outbox run in this process against the offline Bot API server (bot.demo.botapi). People
press buttons by what the buttons do (their callback data), so the story reads the same in
either language.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from bot.context import services
from bot.demo.botapi import FakeBotApi, FakePerson, Output
from bot.demo.local import LocalBot
from bot.demo.transcript import Transcript
from bot.jobs import JobContext, drain_job, servicing_job
from bot.settings import Settings
from core.clock import FixedClock
from core.identity import check_character
from core.money import Money
from storage.engine import what_the_book_holds
from storage.location import redacted

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 29, 10, tzinfo=TZ)
TOKEN = "100000001:DEMO-token-for-the-offline-bot-api-server"  # noqa: S105 - offline only
JANE, LI, OLGA = 1001, 1002, 9001
CAST = {  # user id: (first name, legal name, role) in each language
    "en": {JANE: ("Jane", "Jane Smith", "borrower: owes instalments on a credit line"),
           LI: ("Li", "Li Ming", "her friend: will cover them"),
           OLGA: ("Olga", "", "risk operator")},
    "zh": {JANE: ("小红", "张小红", "借款人：分期还款"),
           LI: ("李明", "李明", "她的朋友：代还"),
           OLGA: ("王芳", "", "风控运营")},
}


# The narration (not the bot's texts, which come from its catalogues), in each language.
NARRATION = {
    "en": {"contact": "shares their phone number (the button under the text field)",
           "id": "(their resident ID number)", "pays": "pays the invoice, {amount}, in Telegram",
           "wallet": "{name} wallet", "owes": "{name} owes the platform",
           "merchants": "paid to merchants", "telegram": "Telegram Payments (in)",
           "c1": "1. The operator and the borrower arrive",
           "c2": "2. A purchase on three instalments", "c3": "3. Asking a friend by link",
           "c4": "4. The friend funds the first instalment",
           "c5": "5. Servicing: reminders, a debit, a failure and its retry",
           "c6": "6. A default, overdue notices and a risk alert", "sends": "sends the link "
           "to her friend", "opens": "opens the link", "end": "The end",
           "db": "database: {path}", "chart": "daily report chart: {path}",
           "date": "business date {day}", "balances": "ledger balances",
           "account": "account", "balance": "balance", "popup": "bot (popup)",
           "deletes": "bot deletes {who}'s message (it held an ID number)",
           "invoice": "invoice"},
    "zh": {"contact": "分享手机号（输入框下方的按钮）", "id": "（身份证号码）",
           "pays": "在 Telegram 中支付账单 {amount}", "wallet": "{name} 的账户",
           "owes": "{name} 欠平台", "merchants": "已付商户", "telegram": "Telegram 支付（收入）",
           "c1": "1. 风控运营和借款人登场", "c2": "2. 分 3 期购物", "c3": "3. 用链接邀请好友代还",
           "c4": "4. 好友为第一期充值", "c5": "5. 日常处理：提醒、扣款、失败与重试",
           "c6": "6. 违约、逾期提醒与风险预警", "sends": "把链接发给好友", "opens": "打开链接",
           "end": "结束", "db": "数据库：{path}", "chart": "每日报告图表：{path}",
           "date": "营业日 {day}", "balances": "账本余额", "account": "账户",
           "balance": "余额", "popup": "机器人（弹窗）",
           "deletes": "机器人删除了 {who} 的消息（其中有身份证号码）", "invoice": "账单"},
}


def resident_id(born: date, sequence: str) -> str:
    first17 = f"110105{born:%Y%m%d}{sequence}"
    return first17 + check_character(first17)


class Story:
    def __init__(self, bot: LocalBot, clock: FixedClock, transcript: Transcript, lang: str,
                 pause: float) -> None:
        self.bot, self.api, self.clock = bot, bot.api, clock
        self.out, self.lang, self.pause = transcript, lang, pause
        self.people: dict[int, FakePerson] = {}
        self._shown: list[tuple[str, str]] = []  # the balances last printed
        for user_id, (first, _, role) in CAST[lang].items():
            self.people[user_id] = bot.person(user_id, first, lang)
            transcript.cast(user_id, first, role)

    def n(self, key: str, **params: object) -> str:
        return NARRATION[self.lang][key].format(**params)

    # -- acting --------------------------------------------------------------------------
    async def settle(self) -> None:
        """The bot has handled everything and sent every notice due."""
        await self.bot.drained(timeout=30)
        await drain_job(JobContext(self.bot.app))
        await self.bot.drained(timeout=30)
        if self.pause:
            await asyncio.sleep(self.pause)

    async def say(self, who: int, text: str, shown: str | None = None) -> None:
        self.out.says(who, shown or text)
        await self.people[who].send(text)
        await self.settle()

    async def tap(self, who: int, prefix: str) -> None:
        """Press the newest button this person was shown whose action starts with prefix."""
        output, button = self._button(who, prefix)
        self.out.presses(who, button["text"])
        await self.people[who].press(output, data=button["callback_data"])
        await self.settle()

    def _button(self, who: int, prefix: str) -> tuple[Output, dict]:
        person = self.people[who]
        for output in reversed(self.api.outputs):
            if output.kind not in ("message", "edit") or not person.sees(output):
                continue
            shown = self.api.message(output.chat_id or who, output.message_id or 0)
            markup = shown.reply_markup if shown is not None else output.reply_markup
            rows = (markup or {}).get("inline_keyboard") or []
            for button in (b for row in rows for b in row):
                if str(button.get("callback_data", "")).startswith(prefix):
                    return output, button
        raise RuntimeError(f"no button {prefix!r} for {who}")

    async def verify(self, who: int, born: date, sequence: str) -> None:
        _, legal, _ = CAST[self.lang][who]
        await self.say(who, "/verify")
        self.out.does(who, self.n("contact"))
        await self.people[who].share_contact(f"+86138{who:08d}", owner_id=who)
        await self.settle()
        await self.say(who, legal)
        number = resident_id(born, sequence)
        await self.say(who, number, shown=number[:4] + "… " + self.n("id"))

    async def top_up(self, who: int, fen: int, charge: str) -> None:
        await self.say(who, "/wallet")
        await self.tap(who, f"topup:{fen}")
        invoice = next(o for o in reversed(self.api.outputs)
                       if o.kind == "invoice" and o.chat_id == who)
        self.out.does(who, self.n("pays", amount=Money(fen)))
        await self.people[who].pay(invoice, charge_id=charge)
        await self.settle()
        await self.balances()

    async def on(self, day: date) -> None:
        """Move to a business date; the daily servicing job runs (and catches up)."""
        self.out.date(self.n("date", day=day.isoformat()))
        self.clock.set(datetime.combine(day, time(10), tzinfo=TZ))
        await servicing_job(JobContext(self.bot.app))
        await self.settle()
        await self.balances()

    async def balances(self) -> None:
        found = services(self.bot.app)
        names = {user_id: first for user_id, (first, _, _) in CAST[self.lang].items()}
        rows = []
        async with found.uow.read() as tx:
            for code, label in ((f"wallet:{LI}", self.n("wallet", name=names[LI])),
                                (f"wallet:{JANE}", self.n("wallet", name=names[JANE])),
                                (f"receivable:{JANE}", self.n("owes", name=names[JANE])),
                                ("merchant:settlement", self.n("merchants")),
                                ("external:telegram_payments", self.n("telegram"))):
                account = await tx.ledger.account_by_code(code)
                balance = account.balance if account else Money(0)
                if code.startswith(("receivable", "external")):
                    balance = Money(-balance.fen)  # shown as positive amounts
                rows.append((label, str(balance)))
        if rows != self._shown:  # only after money moved
            self.out.balances(rows)
            self._shown = rows

    # -- the story -----------------------------------------------------------------------
    async def tell(self) -> None:
        out = self.out
        out.chapter(self.n("c1"))
        await self.say(OLGA, "/start")
        await self.say(JANE, "/start")
        await self.verify(JANE, date(1995, 3, 8), "246")
        await self.say(JANE, "/credit")

        out.chapter(self.n("c2"))
        await self.say(JANE, "/buy")
        await self.say(JANE, "JD Mall" if self.lang == "en" else "京东自营")
        await self.say(JANE, "300")
        await self.tap(JANE, "buy:p:3:")
        await self.tap(JANE, "buy:ok:")
        await self.balances()

        out.chapter(self.n("c3"))
        await self.say(JANE, "/cover")
        await self.tap(JANE, "cv:b:")
        await self.tap(JANE, "cv:s:10000:")
        await self.tap(JANE, "cv:r:l:")
        link = next(o.text for o in reversed(self.api.outputs)
                    if o.chat_id == JANE and o.text and "start=" in o.text)
        payload = link.split("start=", 1)[1].split()[0]
        out.does(JANE, self.n("sends"))
        out.does(LI, self.n("opens"))
        self.out.says(LI, f"/start {payload[:6]}…")
        await self.people[LI].open_link(payload)
        await self.settle()
        await self.tap(LI, "fr:a:")
        await self.tap(LI, "fr:y:")
        self.out.does(LI, self.n("contact"))
        await self.people[LI].share_contact(f"+86139{LI:08d}", owner_id=LI)
        await self.settle()
        await self.say(LI, CAST[self.lang][LI][1])
        number = resident_id(date(1993, 7, 21), "135")
        await self.say(LI, number, shown=number[:4] + "… " + self.n("id"))
        await self.tap(LI, "fr:i:10k:")
        await self.tap(LI, "fr:s:")

        out.chapter(self.n("c4"))
        await self.top_up(LI, 10_000, "demo-charge-1")

        out.chapter(self.n("c5"))
        await self.on(date(2026, 12, 26))   # D-3 reminder
        await self.on(date(2026, 12, 29))   # first instalment debited
        await self.on(date(2027, 1, 29))    # second: the wallet is empty, the debit fails
        await self.top_up(LI, 10_000, "demo-charge-2")
        await self.on(date(2027, 1, 30))    # the retry succeeds

        out.chapter(self.n("c6"))
        await self.on(date(2027, 2, 28))    # third: fails
        await self.on(date(2027, 3, 1))     # retry fails
        await self.on(date(2027, 3, 3))     # last retry fails: default, back to the borrower
        await self.tap(OLGA, "al:a:")       # the operator acknowledges the alert
        await self.on(date(2027, 3, 7))     # overdue D+7 notice to the borrower
        await self.say(JANE, "/bills")


async def run_demo(lang: str = "en", speed: float = 1.0, keep: Path | None = None,
                   transcript: Transcript | None = None,
                   database_url: str | None = None) -> str | Path:
    """Tell the story on a fresh book: a SQLite file (under a temporary folder unless kept),
    or the empty PostgreSQL database at ``database_url``. Returns where the book is."""
    transcript = transcript or Transcript(NARRATION[lang])
    folder = Path(tempfile.mkdtemp(prefix="daihuan-demo-")) if keep is None else keep.parent
    db_path = keep or folder / "demo.db"
    book: str | Path = database_url or db_path
    held = await what_the_book_holds(book)
    if held:  # never a story told over someone's book
        where = redacted(database_url) if database_url else db_path
        raise FileExistsError(f"{where}: {held}; the demo starts a fresh book")
    clock = FixedClock(START)

    def settings(base_url: str) -> Settings:
        # The book is named here, both ways: a DATABASE_URL in the environment is never
        # picked up on its own.
        return Settings(_env_file=None, telegram_bot_token=TOKEN,
                        telegram_api_base_url=base_url, database_path=db_path,
                        database_url=SecretStr(database_url) if database_url else None,
                        id_hash_key="demo-id-hash-key-" + "0" * 32,
                        operator_ids=frozenset({OLGA}), telegram_max_rate=1000, web_port=0,
                        payment_provider_token="284685063:TEST:demo-provider")  # noqa: S106

    async with LocalBot(FakeBotApi(TOKEN), settings, clock) as bot:
        bot.api.listeners.append(transcript.bot)
        story = Story(bot, clock, transcript, lang, pause=0.0 if speed <= 0 else 0.4 / speed)
        await story.tell()
        where = bot.settings.book_where
    reports = sorted((db_path.parent / "reports").glob("*.png"))
    words = NARRATION[lang]
    transcript.chapter(words["end"])
    transcript.note(words["db"].format(path=where))
    if reports:
        transcript.note(words["chart"].format(path=reports[-1]))
    return book
