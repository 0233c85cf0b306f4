"""Settings: defaults, a file, the environment; refused when they cannot work."""

from __future__ import annotations

import pytest

from hub.config import load_settings
from hub.contract.errors import ConfigError


@pytest.mark.parametrize("secret", ["dev-insecure-secret-change-me", "only-28-bytes-of-secret-here"])
def test_production_refuses_a_shipped_or_short_secret(secret):
    assert load_settings(environ={"WAGEHUB_SECRET_KEY": secret})["hub"]["secret_key"] == secret  # development
    with pytest.raises(ConfigError, match="hub.secret_key"):
        load_settings(environ={"WAGEHUB_MODE": "production", "WAGEHUB_SECRET_KEY": secret})
    strong = "x" * 32
    ok = load_settings(environ={"WAGEHUB_MODE": "production", "WAGEHUB_SECRET_KEY": strong})
    assert ok["hub"]["secret_key"] == strong


def test_no_configured_secret_means_a_random_one_kept_under_var(tmp_path):
    """Production without a secret set is fine too: the generated one is 64 random characters."""
    import os
    import stat

    from hub import keys

    var = tmp_path / "var"
    settings = load_settings({"hub": {"var_dir": str(var)}}, environ={"WAGEHUB_MODE": "production"})
    assert settings["hub"]["secret_key"] == ""
    secret = keys.session_secret(settings)
    assert len(secret) >= 64 and secret != keys.DEV_SECRET
    assert keys.session_secret(settings) == secret  # the next start (or another process) reads the same
    assert stat.S_IMODE(os.stat(var / "session-secret").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(var).st_mode) == 0o700
    other = load_settings({"hub": {"var_dir": str(tmp_path / "elsewhere")}}, environ={})
    assert keys.session_secret(other) != secret


def test_environment_over_file_over_defaults(tmp_path):
    extra = tmp_path / "site.toml"
    extra.write_text('[pipeline]\nbatch_size = 50\n[plugins.hrss]\nkey = "from-file"\n', encoding="utf-8")
    settings = load_settings(environ={"WAGEHUB_CONFIG": str(extra), "WAGEHUB_PIPELINE__BATCH_SIZE": "200"})
    assert settings["pipeline"]["batch_size"] == 200
    assert settings["plugins"]["hrss"]["key"] == "from-file"
    settings = load_settings(environ={"WAGEHUB_CONFIG": str(extra), "WAGEHUB_PLUGINS__HRSS__KEY": "from-env"})
    assert settings["plugins"]["hrss"]["key"] == "from-env"
    assert settings["hub"]["database_url"].startswith("sqlite:///")


def test_settings_that_cannot_work_name_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="pipeline.batch_sise"):
        load_settings(environ={"WAGEHUB_PIPELINE__BATCH_SISE": "5"})
    with pytest.raises(ConfigError, match="broker.prefetch"):
        load_settings(environ={"WAGEHUB_BROKER__PREFETCH": "0"})
    with pytest.raises(ConfigError, match="individual"):
        load_settings(environ={"WAGEHUB_LINKAGE__THRESHOLDS__370000__INDIVIDUAL": "30000"})
    with pytest.raises(ConfigError, match="WAGEHUB_CONFIG"):
        load_settings(environ={"WAGEHUB_CONFIG": str(tmp_path / "missing.toml")})


def test_a_province_threshold_from_the_environment():
    settings = load_settings(environ={"WAGEHUB_LINKAGE__THRESHOLDS__370000__INDIVIDUAL": "8000"})
    assert str(settings["linkage"]["thresholds"]["370000"]["individual"]) == "8000"
