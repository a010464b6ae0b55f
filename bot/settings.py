"""Every setting, read once from the environment and ``.env``; see ``.env.example``."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.bills import FeeSchedule
from core.capacity import CapacityPolicy
from core.cover import InviteTokens
from core.credit import CreditPolicy, Tier
from core.identity import IdentityHasher
from core.money import Money
from core.numerals import parse_int
from core.outbox import QuietHours
from core.risk import RiskPolicy
from core.services.cover import CoverConfig
from core.services.servicing import ServicingPolicy
from storage.location import POSTGRES_SCHEMES, redacted

if TYPE_CHECKING:
    from bot.sealing import Sealer

BOTFATHER_HINT = (
    "TELEGRAM_BOT_TOKEN is not set: open @BotFather in Telegram (https://t.me/BotFather), "
    "send /newbot, and put the token it gives you in .env as TELEGRAM_BOT_TOKEN=… "
    "(copy .env.example to start). No token yet? `daihuan demo` shows the whole product "
    "working without Telegram"
)
ID_HASH_KEY_HINT = (
    "ID_HASH_KEY is not set: it keys the hash under which identity numbers are stored; "
    "generate one with: python -c \"import secrets; print(secrets.token_hex(32))\""
)


TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)  # setWebhook's own list


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", frozen=True)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_path: Path = Path("data/daihuan.db")
    # postgresql://user:password@host:port/db selects PostgreSQL instead of the SQLite file
    # at DATABASE_PATH (whose folder still holds the saved reports). Secret: the password.
    database_url: SecretStr | None = None
    timezone: str = "Asia/Shanghai"
    operator_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    id_hash_key: SecretStr | None = None
    # Keys ID_HASH_KEY replaced, comma-separated: identities hashed under them are still
    # found (one identity, one account) and links made under them still open.
    id_hash_key_previous: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # "json": one JSON object per log line, for a log collector.
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # Webhook mode (daihuan run --webhook): the public HTTPS address Telegram posts to, and
    # the secret Telegram sends back in a header with every update (1-256 of A-Z a-z 0-9 _ -).
    webhook_url: str | None = Field(default=None, pattern=r"^https://\S+$")
    webhook_secret: SecretStr | None = None
    # The bot's own HTTP server: /healthz and /metrics, and the webhook in webhook mode.
    # Keep it on 127.0.0.1 behind a reverse proxy; WEB_PORT=0 turns it off in polling mode.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # Telegram Payments provider token (from @BotFather → Payments); unset: no in-chat top-up.
    payment_provider_token: SecretStr | None = None
    # Fees in basis points of the principal for plans that are not interest-free.
    fee_bp_1: int = Field(default=100, ge=0, le=3000)
    fee_bp_12: int = Field(default=720, ge=0, le=3000)
    # Credit line per tier, in whole yuan (tier E is always 0: no new credit).
    credit_line_a: int = Field(default=20_000, ge=0, le=1_000_000)
    credit_line_b: int = Field(default=10_000, ge=0, le=1_000_000)
    credit_line_c: int = Field(default=5_000, ge=0, le=1_000_000)
    credit_line_d: int = Field(default=2_000, ge=0, le=1_000_000)
    # Asking a friend: how long an invitation lives, how many a borrower may send a day, and
    # the notice a friend gives before ending an agreement.
    cover_expiry_hours: int = Field(default=48, ge=1, le=24 * 30)
    invites_per_day: int = Field(default=5, ge=1, le=100)
    termination_notice_days: int = Field(default=3, ge=0, le=60)
    # The friend's capacity review: share of declared income that monthly payments may take,
    # active agreements per friend, and the most one friend may cover in all (whole yuan).
    friend_max_commitment_percent: int = Field(default=50, ge=1, le=100)
    friend_max_agreements: int = Field(default=3, ge=1, le=50)
    friend_exposure_cap: int = Field(default=20_000, ge=1, le=10_000_000)
    # Daily servicing: when the bot runs it (local time), the debit retry days after a due
    # date, reminder days before it, overdue notice days after it, and quiet hours in which
    # non-urgent notices wait.
    servicing_time: time = time(6, 0)
    debit_retry_days: Annotated[tuple[int, ...], NoDecode] = (1, 3)
    reminder_days: Annotated[tuple[int, ...], NoDecode] = (3, 1, 0)
    overdue_notice_days: Annotated[tuple[int, ...], NoDecode] = (1, 3, 7)
    quiet_hours: str = Field(default="22:00-08:00",
                             pattern=r"^[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}$")
    outbox_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    # Risk rules: alert when an instalment is overdue beyond this many days; when one friend
    # covers more than this many borrowers; on this many invitations by one borrower within
    # this many minutes; on this many failed debits by one friend within this many days; when
    # a friend whose account is younger than this many days takes on a purchase of at least
    # this many yuan made within this many hours. Exposure uses FRIEND_EXPOSURE_CAP.
    risk_overdue_days: int = Field(default=30, ge=1, le=365)
    risk_max_borrowers_per_friend: int = Field(default=3, ge=1, le=100)
    risk_burst_invitations: int = Field(default=3, ge=2, le=100)
    risk_burst_minutes: int = Field(default=10, ge=1, le=1440)
    risk_debit_failures: int = Field(default=3, ge=1, le=100)
    risk_debit_failure_days: int = Field(default=30, ge=1, le=365)
    risk_new_account_days: int = Field(default=7, ge=1, le=365)
    risk_large_purchase: int = Field(default=5_000, ge=1, le=10_000_000)
    risk_fresh_purchase_hours: int = Field(default=24, ge=1, le=720)
    # Messages per second the bot sends in all (Telegram allows about 30 for bulk sends).
    telegram_max_rate: int = Field(default=30, ge=1, le=1000)
    # How long one Bot API call may take before it counts as timed out (and is retried).
    telegram_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}",
                                                  value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's"
                             " rule for the secret token)")
        return value

    @field_validator("telegram_bot_token", "id_hash_key", "payment_provider_token",
                     "webhook_secret", "webhook_url", "database_url",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            head, _, tail = value.get_secret_value().partition(":")
            if not re.fullmatch(r"[0-9]{1,20}", head) or len(tail) < 20:
                # Never echo the value: it may be a real token pasted with a typo.
                raise ValueError("does not look like a BotFather token (digits:secret)")
        return value

    @field_validator("id_hash_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters of random text")
        return value

    @field_validator("id_hash_key_previous", mode="before")
    @classmethod
    def _previous_keys(cls, value: object) -> object:
        if isinstance(value, str):
            keys = [k.strip() for k in value.split(",") if k.strip()]
            if any(len(k) < 32 for k in keys):
                raise ValueError("each key must be at least 32 characters (comma-separated)")
            return tuple(SecretStr(k) for k in keys)
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in POSTGRES_SCHEMES:
            raise ValueError("must be a PostgreSQL URL: postgresql://user:password@host:port/"
                             "database (leave it unset to use the SQLite file at"
                             " DATABASE_PATH)")
        if not parts.path.strip("/"):
            raise ValueError("names no database: end it with /<database name>")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_port(cls, value: str | None) -> str | None:
        # setWebhook refuses any other port with a BadRequest at start, which a service
        # manager would restart into the same refusal forever: say so here instead.
        if value is None:
            return value
        try:
            port = urlsplit(value).port or 443
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        if port not in TELEGRAM_WEBHOOK_PORTS:
            raise ValueError(f"uses port {port}; Telegram posts webhooks only to ports 443, 80, "
                             "88 or 8443 (put nginx on one of them in front of WEB_PORT)")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org/bot")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as "
                             "Asia/Shanghai)") from None
        return value

    @field_validator("debit_retry_days", "reminder_days", "overdue_notice_days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        if isinstance(value, str):
            days = [parse_int(p, 0, 60) for p in value.split(",") if p.strip()]
            if None in days:
                raise ValueError("give comma-separated whole days between 0 and 60, e.g. 1,3")
            return tuple(days)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        start, end = value.split("-")
        for part in (start, end):
            hour, minute = part.split(":")
            if int(hour) > 23 or int(minute) > 59:
                raise ValueError("use HH:MM-HH:MM, e.g. 22:00-08:00")
        return value

    @field_validator("operator_ids", mode="before")
    @classmethod
    def _operator_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            ids = []
            for part in parts:
                user_id = parse_int(part, -(2**53), 2**53)
                if user_id is None:
                    raise ValueError(f"{part!r} is not a Telegram user id; "
                                     "give comma-separated numbers")
                ids.append(user_id)
            return frozenset(ids)
        return value

    @model_validator(mode="after")
    def _lines_descend(self) -> Settings:
        lines = [self.credit_line_a, self.credit_line_b, self.credit_line_c, self.credit_line_d]
        if lines != sorted(lines, reverse=True):
            raise ValueError("CREDIT_LINE_A..D must not grow from tier A to tier D")
        return self

    @property
    def book_location(self) -> str | Path:
        """What storage.engine opens: the PostgreSQL URL if one is set, else the file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.database_path

    @property
    def book_where(self) -> str:
        """The book as logs and messages may name it: never with its password."""
        if self.database_url is not None:
            return redacted(self.database_url.get_secret_value())
        return str(self.database_path)

    def database_password(self) -> list[str]:
        """The password inside DATABASE_URL, alone, for the logs' redaction."""
        if self.database_url is None:
            return []
        password = urlsplit(self.database_url.get_secret_value()).password
        return [password] if password else []

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def fees(self) -> FeeSchedule:
        return FeeSchedule({1: self.fee_bp_1, 12: self.fee_bp_12})

    @property
    def credit_policy(self) -> CreditPolicy:
        return CreditPolicy({Tier.A: Money.yuan(self.credit_line_a),
                             Tier.B: Money.yuan(self.credit_line_b),
                             Tier.C: Money.yuan(self.credit_line_c),
                             Tier.D: Money.yuan(self.credit_line_d), Tier.E: Money.zero()},
                            tz=self.tz)

    @property
    def cover_config(self) -> CoverConfig:
        return CoverConfig(
            expiry_hours=self.cover_expiry_hours, invites_per_day=self.invites_per_day,
            notice_days=self.termination_notice_days, retry_days=self.debit_retry_days,
            capacity=CapacityPolicy(
                max_commitment_bp=self.friend_max_commitment_percent * 100,
                max_active_agreements=self.friend_max_agreements,
                exposure_cap=Money.yuan(self.friend_exposure_cap)))

    @property
    def servicing_policy(self) -> ServicingPolicy:
        start, end = (time.fromisoformat(p) for p in self.quiet_hours.split("-"))
        return ServicingPolicy(retry_days=self.debit_retry_days,
                               reminder_days=self.reminder_days,
                               overdue_days=self.overdue_notice_days,
                               quiet=QuietHours(start, end))

    @property
    def risk_policy(self) -> RiskPolicy:
        return RiskPolicy(
            overdue_days=self.risk_overdue_days,
            exposure_cap=Money.yuan(self.friend_exposure_cap),
            max_borrowers_per_friend=self.risk_max_borrowers_per_friend,
            burst_invitations=self.risk_burst_invitations,
            burst_minutes=self.risk_burst_minutes, debit_failures=self.risk_debit_failures,
            debit_failure_days=self.risk_debit_failure_days,
            new_account_days=self.risk_new_account_days,
            large_purchase=Money.yuan(self.risk_large_purchase),
            fresh_purchase_hours=self.risk_fresh_purchase_hours)

    def _keys(self) -> tuple[bytes, tuple[bytes, ...]]:
        if self.id_hash_key is None:
            raise ValueError(ID_HASH_KEY_HINT)
        return (self.id_hash_key.get_secret_value().encode(),
                tuple(k.get_secret_value().encode() for k in self.id_hash_key_previous))

    def invite_tokens(self) -> InviteTokens:
        return InviteTokens(*self._keys())

    def identity_hasher(self) -> IdentityHasher:
        return IdentityHasher(*self._keys())

    def sealer(self, purpose: str) -> Sealer:
        """What people typed, sealed for ``purpose`` ("inbox", "drafts": bot.sealing)."""
        from bot.sealing import Sealer  # cryptography: the command line does without

        return Sealer(*self._keys(), purpose=purpose)

    def missing_for_run(self) -> list[str]:
        """What ``daihuan run`` cannot start without, as hints for a person."""
        missing = []
        if self.telegram_bot_token is None:
            missing.append(BOTFATHER_HINT)
        if self.id_hash_key is None:
            missing.append(ID_HASH_KEY_HINT)
        return missing

    def missing_for_webhook(self) -> list[str]:
        missing = self.missing_for_run()
        if self.webhook_url is None:
            missing.append("WEBHOOK_URL: the public https:// address Telegram will post to")
        if self.webhook_secret is None:
            missing.append("WEBHOOK_SECRET: a random string of 1-256 letters, digits, _ or -"
                           " (for example: python -c 'import secrets; print(secrets."
                           "token_urlsafe(32))')")
        if self.web_port == 0:
            missing.append("WEB_PORT: the port the webhook listens on (not 0)")
        return missing


class SettingsError(Exception):
    """Settings that cannot be used; the message names each setting and never its value."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(p) for p in item["loc"]).upper() or "CREDIT_LINE_*"
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise SettingsError("invalid settings — " + "; ".join(problems)) from None
