import logging
import re
from pathlib import Path

from bot.i18n import Texts, placeholders
from bot.logs import RedactingFilter
from core.users import Language

ROOT = Path(__file__).resolve().parents[2]


def test_catalogues_agree():
    texts = Texts.load()  # raises if keys or placeholders differ
    assert texts.keys(Language.ZH) == texts.keys(Language.EN)


def test_every_key_used_in_code_exists():
    texts = Texts.load()
    used = set()
    for path in (ROOT / "bot").rglob("*.py"):
        used |= set(re.findall(r"""["']((?:[a-z_]+\.)+[a-z_]+)["']""", path.read_text()))
    keys = texts.keys(Language.EN)
    prefixes = {k.split(".")[0] for k in keys}
    missing = {u for u in used if u.split(".")[0] in prefixes and u not in keys}
    assert missing == set()


def test_no_user_text_hard_coded_in_handlers():
    # Handlers reply with catalogue texts only: no CJK literals and no English sentences.
    for path in (ROOT / "bot" / "handlers").rglob("*.py"):
        source = path.read_text()
        code = re.sub(r'"""[\s\S]*?"""', "", source)
        code = "\n".join(line.split("#")[0] for line in code.splitlines())
        assert not re.search(r"[\u4e00-\u9fff]", code), path
        assert not re.search(r"""reply_text\(\s*["']""", code), path


def test_placeholders():
    assert placeholders("Hello, {name}! {amount}") == {"name", "amount"}


def test_redaction_of_token_id_and_phone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "url %s id %s phone %s", ("https://x/bot123:SECRET/getMe",
                                                        "11010519491231002X", "+8613800138000"),
                               None)
    RedactingFilter(["123:SECRET"]).filter(record)
    message = record.getMessage()
    assert "SECRET" not in message and "11010519491231002X" not in message
    assert "13800138000" not in message


def test_redaction_of_numbers_typed_with_spaces():
    from datetime import date

    from tests.support.idnumbers import resident_id

    number = resident_id(date(1990, 5, 17))
    spaced = f"{number[:6]}  {number[6:14]}  {number[14:]}"
    redactor = RedactingFilter([])
    for text in (spaced, "138 0013 8000", "+86-138-0013-8000", number.lower()):
        assert redactor.redact(f"got {text}!") in ("got [id-number]!", "got [number]!"), text
    assert redactor.redact("order 12345 at 10:30") == "order 12345 at 10:30"
