"""Config: defaults, file, environment, flags, validation — each error one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from altegon_rt.config import DEFAULT_ROUTE_LIMITS, Config, as_dict, load
from altegon_rt.errors import ConfigError


def test_defaults_are_valid_and_local() -> None:
    config = load(None, environ={})
    assert config == Config()
    assert config.server.host == "127.0.0.1" and config.server.http_port == 8080
    assert not config.tls_enabled and config.storage.mongodb_uri == ""


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text("[server]\nhttp_port = 1\nshutdown_grace_s = 3\n[storage]\nthreads = 4\n")
    config = load(str(conf), environ={"ALTEGON_SERVER_HTTP_PORT": "2", "ALTEGON_STORAGE_THREADS": "5"},
                  flags={"server.http_port": 3, "server.host": None})  # fmt: skip
    assert config.server.http_port == 3  # flag beats env beats file
    assert config.storage.threads == 5  # env beats file
    assert config.server.shutdown_grace_s == 3.0  # file beats default; int accepted for a float key
    assert config.server.host == "127.0.0.1"  # a flag not given changes nothing


def test_env_names_of_a_section_with_an_underscore() -> None:
    env = {"ALTEGON_STORAGE_QUOTA_SAS_TTL_S": "60", "ALTEGON_STORAGE_THREADS": "3"}
    config = load(None, environ=env)
    assert config.storage_quota.sas_ttl_s == 60 and config.storage.threads == 3
    with pytest.raises(ConfigError, match="storage_quota"):
        load(None, environ={"ALTEGON_STORAGE_QUOTA_SAS_SECRET": "short"})
    with pytest.raises(ConfigError, match="ALTEGON_STORAGE_QUOTA_NOPE"):
        load(None, environ={"ALTEGON_STORAGE_QUOTA_NOPE": "1"})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[server]\nport = 1\n", "unknown key server.port"),
        ("[nope]\na = 1\n", "unknown section [nope]"),
        ('[server]\nhttp_port = "x"\n', "server.http_port must be int"),
        ("[server]\nhttp_port = true\n", "server.http_port must be int"),
        ("[server]\nhttp_port = 70000\n", "server.http_port must be between 0 and 65535"),
        ("[auth]\njwt_secret = 'short'\n", "auth.jwt_secret must be at least 32 characters"),
        ("[auth]\nscrypt_n = 1000\n", "auth.scrypt_n must be a power of two"),
        ("[tls]\ncert = '/nonexistent.pem'\n", "tls.cert and tls.key must be set together"),
        ("[storage]\nmongodb_uri = 'http://x'\n", "storage.mongodb_uri must start with mongodb://"),
        ("[storage]\ndatabase = 'a.b'\n", "storage.database is not a valid database name"),
        ("[sfu]\nannounced_ip = 'example.com'\n", "sfu.announced_ip is not an IP address"),
        ("[geo]\ndatabase = '/nonexistent.mmdb'\n", "geo.database: no such file /nonexistent.mmdb"),
        ("[limits]\nlogin_per_ip_per_min = 0\n", "limits.login_per_ip_per_min must be at least 1"),
        ("[ai]\nopenai_base_url = 'ftp://x'\n", "ai.openai_base_url must start with https://"),
        ("[ai]\ntimeout_s = 0\n", "ai.timeout_s must be between 0 and 600"),
        ("[ai]\nazure_deployment = 'a/b'\n", "ai.azure_deployment is not a deployment name"),
        ("[speech]\nazure_region = 'East US'\n", "speech.azure_region is not an Azure region name"),
        ("[speech]\nazure_key = 'k'\n", "speech.azure_region (or speech.token_url) must be set"),
        ("[limits]\nsummaries_per_account_per_min = 0\n", "limits.summaries_per_account_per_min must be at least 1"),
        ("[storage_quota]\nazure_key = 'a2V5'\n", "storage_quota.azure_account must be set with azure_key"),
        ("[storage_quota]\nazure_account = 'acct1'\n", "storage_quota.azure_key must be set with azure_account"),
        ("[storage_quota]\nazure_account = 'My_Account'\nazure_key = 'a2V5'\n", "is not a storage account name"),
        ("[storage_quota]\nazure_account = 'acct1'\nazure_key = 'not base64!'\n", "azure_key is not a base64"),
        (
            "[storage_quota]\nazure_account = 'acct1'\nazure_key = 'a2V5'\nazure_container = 'a--b'\n",
            "storage_quota.azure_container is not a container name",
        ),
        (
            "[storage_quota]\nazure_account = 'acct1'\nazure_key = 'a2V5'\nazure_container = 'Rec'\n",
            "storage_quota.azure_container is not a container name",
        ),
        (
            "[storage_quota]\nazure_account = 'acct1'\nazure_key = 'a2V5'\nazure_endpoint = 'ftp://x'\n",
            "storage_quota.azure_endpoint must be an http(s) URL",
        ),
        (
            "[storage_quota]\nazure_account = 'acct1'\nazure_key = 'a2V5'\nazure_endpoint = 'https://x/?sv=1'\n",
            "storage_quota.azure_endpoint must be an http(s) URL",
        ),
        ("[storage_quota]\nazure_timeout_s = 0\n", "storage_quota.azure_timeout_s must be between 0 and 600"),
        ("[server\n", "is not valid TOML"),
        ("server = 1\n", "[server] must be a table"),
    ],
)
def test_file_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(str(conf), environ={})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_env_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="unknown variable ALTEGON_SERVER_PROT"):
        load(None, environ={"ALTEGON_SERVER_PROT": "1"})
    with pytest.raises(ConfigError, match=r"ALTEGON_SERVER_TRUST_PROXY_HEADERS.*must be bool"):
        load(None, environ={"ALTEGON_SERVER_TRUST_PROXY_HEADERS": "maybe"})
    assert load(None, environ={"ALTEGON_SERVER_TRUST_PROXY_HEADERS": "yes"}).server.trust_proxy_headers is True
    assert load(None, environ={"OTHER_VAR": "x"}) == Config()


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(str(tmp_path / "missing.toml"), environ={})


def test_as_dict_masks_secrets() -> None:
    config = load(None, environ={"ALTEGON_AUTH_JWT_SECRET": "s" * 40,
                                 "ALTEGON_STORAGE_MONGODB_URI": "mongodb://user:pw@db.internal:27017/x"})  # fmt: skip
    data = as_dict(config)
    assert data["auth"]["jwt_secret"] == "***"
    keys = as_dict(load(None, environ={"ALTEGON_AI_OPENAI_API_KEY": "sk-1", "ALTEGON_SPEECH_AZURE_KEY": "az-1",
                                       "ALTEGON_SPEECH_AZURE_REGION": "eastus2"}))  # fmt: skip
    assert keys["ai"]["openai_api_key"] == keys["speech"]["azure_key"] == "***"
    assert "pw" not in data["storage"]["mongodb_uri"] and data["storage"]["mongodb_uri"].endswith("db.internal:27017/x")


def test_azure_blob_storage_settings() -> None:
    env = {"ALTEGON_STORAGE_QUOTA_AZURE_ACCOUNT": "acct1", "ALTEGON_STORAGE_QUOTA_AZURE_KEY": "a2V5a2V5a2V5"}
    q = load(None, environ=env).storage_quota
    assert q.azure_container == "recordings" and q.azure_blob_endpoint == "https://acct1.blob.core.windows.net"
    assert as_dict(load(None, environ=env))["storage_quota"]["azure_key"] == "***"
    local = {**env, "ALTEGON_STORAGE_QUOTA_AZURE_ENDPOINT": "http://127.0.0.1:10000/devstoreaccount1/",
             "ALTEGON_STORAGE_QUOTA_AZURE_CONTAINER": "rec-2025"}  # fmt: skip
    q = load(None, environ=local).storage_quota
    assert q.azure_blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1" and q.azure_container == "rec-2025"


def test_config_is_immutable() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.server.http_port = 1  # type: ignore[misc]


def test_example_config_is_complete_and_valid() -> None:
    example = Path(__file__).parents[2] / "conf" / "altegon.example.toml"
    config = load(str(example), environ={})
    assert config == Config()
    text = example.read_text()
    for section, values in as_dict(Config()).items():
        for key in values:
            assert f"ALTEGON_{section.upper()}_{key.upper()}" in text, key


def test_route_limits_merge_over_the_defaults_one_route_at_a_time(tmp_path: Path) -> None:
    defaults = dict(DEFAULT_ROUTE_LIMITS)
    assert dict(Config().limits.routes) == defaults and defaults["sas_url"] == 30
    conf = tmp_path / "c.toml"
    conf.write_text("[limits]\nwrites_per_account_per_min = 5\n[limits.routes]\nsas_url = 5\nstorage_info = 0\n")
    from_file = load(str(conf), environ={})
    assert dict(from_file.limits.routes) == {**defaults, "sas_url": 5, "storage_info": 0}
    assert from_file.limits.writes_per_account_per_min == 5
    env = {"ALTEGON_LIMITS_ROUTES": '{"sas_url": 7, "login": 3}'}
    both = load(str(conf), environ=env)
    assert dict(both.limits.routes) == {**defaults, "sas_url": 7, "storage_info": 0, "login": 3}
    assert as_dict(both)["limits"]["routes"] == dict(both.limits.routes)  # printed as the file writes it
    assert load(None, environ={"ALTEGON_LIMITS_ROUTES": ""}) == Config()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[limits]\nroutes = 5\n", "limits.routes must be a table"),
        ('[limits.routes]\nsas_url = "5"\n', "limits.routes.sas_url must be int, got str '5'"),
        ("[limits.routes]\nsas_url = 1.5\n", "limits.routes.sas_url must be int, got float"),
        ("[limits.routes]\nsas_url = true\n", "limits.routes.sas_url must be int, got bool"),
        ("[limits.routes]\nsas_url = -1\n", "limits.routes.sas_url must be between 0 (no limit of its own) and"),
        ("[limits.routes]\nsas_url = 1000001\n", "limits.routes.sas_url must be between 0"),
        ("[limits.routes]\nsas_url = { a = 1 }\n", "limits.routes.sas_url must be int, got dict"),
    ],
)
def test_route_limit_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(str(conf), environ={})
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{bad", 'limits.routes must be a JSON object such as {"sas_url": 30}'),
        ("[1, 2]", "limits.routes must be a table (in the environment a JSON object)"),
        ('{"sas_url": "5"}', "limits.routes.sas_url must be int"),
        ('{"sas_url": 5.0}', "limits.routes.sas_url must be int"),
        ('{"": 5}', "limits.routes has a key that is not a route name: ''"),
    ],
)
def test_route_limits_from_the_environment_are_json(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(None, environ={"ALTEGON_LIMITS_ROUTES": value})
    assert message in str(info.value) and "ALTEGON_LIMITS_ROUTES" in str(info.value)
