import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

ENV_KEYS = ["TELEGRAM_BOT_TOKEN", "ID_HASH_KEY", "TIMEZONE", "OPERATOR_IDS", "DATABASE_PATH",
            "TELEGRAM_API_BASE_URL", "LOG_LEVEL", "LOG_FORMAT", "WEBHOOK_URL", "WEBHOOK_SECRET",
            "WEB_PORT"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return monkeypatch


def test_defaults(clean_env):
    settings = load_settings()
    assert settings.timezone == "Asia/Shanghai"
    assert str(settings.database_path) == "data/daihuan.db"
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.operator_ids == frozenset()


def test_operator_ids_and_env_file(clean_env, tmp_path):
    (tmp_path / ".env").write_text("OPERATOR_IDS=11, 22;33\nTIMEZONE=UTC\n")
    settings = load_settings()
    assert settings.operator_ids == {11, 22, 33}
    assert settings.timezone == "UTC"


@pytest.mark.parametrize(("name", "value"), [
    ("TIMEZONE", "Mars/Olympus"), ("OPERATOR_IDS", "12,abc"), ("ID_HASH_KEY", "short"),
    ("TELEGRAM_BOT_TOKEN", "not-a-token"), ("TELEGRAM_API_BASE_URL", "ftp://x"),
    ("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml"), ("WEBHOOK_URL", "http://plain.example.com"),
    ("WEBHOOK_SECRET", "has spaces and ü"), ("WEB_PORT", "70000"),
])
def test_invalid_values_are_refused_by_name(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert name in str(error.value)
    if name in ("ID_HASH_KEY", "TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"):
        assert value not in str(error.value)  # secrets are never echoed


@pytest.mark.parametrize("url", ["https://bot.example.com:8080/hook",
                                 "https://bot.example.com:9443/hook",
                                 "https://bot.example.com:x/hook"])
def test_a_webhook_on_a_port_telegram_refuses_is_refused_with_the_reason(clean_env, url):
    clean_env.setenv("WEBHOOK_URL", url)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "WEBHOOK_URL" in str(error.value)
    assert "443, 80, 88 or 8443" in str(error.value) or "not a number" in str(error.value)


@pytest.mark.parametrize("url", ["https://bot.example.com/hook", "https://bot.example.com:88/h",
                                 "https://bot.example.com:8443/h", "https://b.example.com:443/"])
def test_a_webhook_on_a_port_telegram_posts_to_is_taken(clean_env, url):
    clean_env.setenv("WEBHOOK_URL", url)
    assert load_settings().webhook_url == url


def _daihuan(args, cwd, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_run_without_token_says_what_to_do_in_one_line(tmp_path):
    result = _daihuan(["run"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0]
    assert "daihuan demo" in lines[0]  # something to see before there is a token
    assert "Traceback" not in result.stderr


def test_webhook_mode_names_what_it_still_needs(tmp_path):
    result = _daihuan(["run", "--webhook"], tmp_path, {
        "TELEGRAM_BOT_TOKEN": "123456789:TEST-token-for-the-offline-bot-api-server",
        "ID_HASH_KEY": "k" * 40})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "WEBHOOK_URL" in result.stderr and "WEBHOOK_SECRET" in result.stderr


def test_python_dash_m_bot_is_run(tmp_path):
    assert _daihuan([], tmp_path).stderr == _daihuan(["run"], tmp_path).stderr


def test_invalid_setting_is_one_line_without_traceback(tmp_path):
    result = _daihuan(["migrate"], tmp_path, {"TIMEZONE": "Nowhere/City"})
    assert result.returncode == 2
    assert "TIMEZONE" in result.stderr and "Traceback" not in result.stderr


def test_migrate_creates_database(tmp_path):
    result = _daihuan(["migrate"], tmp_path, {"DATABASE_PATH": str(tmp_path / "x" / "d.db")})
    assert result.returncode == 0, result.stderr
    from storage.migrate import available_migrations
    assert f"schema version {available_migrations()[-1].version}" in result.stdout
    assert (tmp_path / "x" / "d.db").exists()


ROOT = Path(__file__).resolve().parents[2]


def test_commands_import_only_what_they_use(tmp_path):
    """`daihuan --help` loads no settings, Telegram or matplotlib, and the operator commands
    (servicing among them) no Telegram or matplotlib: they used to spend two seconds
    importing both before doing anything. Measured by what is imported, not by a clock."""
    probe = ("import sys, runpy; sys.argv = ['daihuan'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('bot', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "heavy = {'telegram', 'matplotlib', 'pydantic_settings', 'aiohttp'}\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    def loaded(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
        return done.stdout.strip().splitlines()[-1]

    assert loaded("--help") == "[]"
    assert loaded("servicing", "--status") == "['pydantic_settings']"
