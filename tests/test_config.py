"""Settings: defaults, a file, the environment; refused when they cannot work."""

from __future__ import annotations

import pytest

from hub.config import load_settings
from hub.errors import ConfigError


def test_production_refuses_the_development_secret():
    with pytest.raises(ConfigError, match="secret_key"):
        load_settings(environ={"WAGEHUB_MODE": "production"})
    ok = load_settings(environ={"WAGEHUB_MODE": "production", "WAGEHUB_SECRET_KEY": "a-real-secret-from-the-vault"})
    assert ok["hub"]["secret_key"] == "a-real-secret-from-the-vault"


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
