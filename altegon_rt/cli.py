"""The command line: ``serve``, ``create-admin``, ``check-config``. A thin composition root.

Exit codes: 0 done, 1 a runtime failure (storage, data dir in use), 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import trio

from altegon_rt import __version__
from altegon_rt.api.app import ROUTE_NAMES
from altegon_rt.api.schema import Field
from altegon_rt.api.services import Limits
from altegon_rt.auth.passwords import MAX_PASSWORD_BYTES, hash_password
from altegon_rt.config import Config, as_dict, load
from altegon_rt.errors import AltegonError, BadRequest, ConfigError
from altegon_rt.geo.locator import open_locator
from altegon_rt.server import Server
from altegon_rt.store import Store
from altegon_rt.store.datadir import hold_data_dir

log = logging.getLogger("altegon_rt")


def _config_flags(parser: argparse.ArgumentParser, serve_flags: bool) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config file (see conf/altegon.example.toml)")
    parser.add_argument("--data-dir", metavar="DIR", help="where embedded storage and files live (./data)")
    if serve_flags:
        parser.add_argument("--host", metavar="H", help="address to listen on (127.0.0.1)")
        parser.add_argument("--http-port", metavar="N", type=int, help="HTTP port; 0 picks a free one (8080)")
        parser.add_argument("--udp-port", metavar="N", type=int, help="SFU media UDP port (40000)")
        parser.add_argument(
            "--rtmp-port", metavar="N", type=int, help="RTMP ingest TCP port; 0 picks a free one (1935)"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="altegon-rt", description="Altegon RT realtime server")
    parser.add_argument("--version", action="version", version=f"altegon-rt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    _config_flags(serve, serve_flags=True)
    admin = sub.add_parser("create-admin", help="create an admin account (or make an account admin)")
    _config_flags(admin, serve_flags=False)
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", required=True,
                       help="read the password from the first line of standard input")  # fmt: skip
    check = sub.add_parser("check-config", help="validate configuration and exit")
    _config_flags(check, serve_flags=True)
    check.add_argument("--print", action="store_true", help="print the effective config (secrets masked)")
    return parser


def _load_config(args: argparse.Namespace) -> Config:
    flags: dict[str, Any] = {"server.data_dir": args.data_dir}
    if hasattr(args, "host"):
        flags.update(
            {
                "server.host": args.host,
                "server.http_port": args.http_port,
                "sfu.udp_port": args.udp_port,
                "rtk.rtmp_port": args.rtmp_port,
            }
        )
    return load(args.config, flags=flags)


def _check_as_serve(config: Config) -> None:
    """What ``serve`` refuses beyond the values themselves: a limit for a route that does not exist, and a
    GeoIP file that is not a MaxMind DB."""
    Limits.from_config(config, ROUTE_NAMES)
    open_locator(config.geo).close()


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if level.lower() != "debug":
        logging.getLogger("pymongo").setLevel(logging.WARNING)
        # httpx logs every request at info: one line per 4 MiB block of an Azure upload would bury the log.
        # Failures are logged by us, once, with what they mean.
        logging.getLogger("httpx").setLevel(logging.WARNING)


def _serve(config: Config) -> int:
    _setup_logging(config.server.log_level)
    log.info("altegon-rt %s starting (data dir %s)", __version__, config.data_dir)
    trio.run(Server(config).run)
    return 0


async def _create_admin(config: Config, email: str, password: str) -> str:
    password_hash = await trio.to_thread.run_sync(hash_password, password, config.auth.scrypt_n)
    async with trio.open_nursery() as nursery:
        store: Store = await nursery.start(Store(config.storage, config.data_dir).run)
        if await store.users.set_admin(email, password_hash):
            outcome = "made the existing account an admin and set its password"
        else:
            profile = {"email": email, "fName": "Admin", "lName": "", "phoneNumber": "", "country": ""}
            await store.users.create(profile, password_hash, role="admin")
            outcome = "created admin account"
        await store.audit.record(
            {"action": "admin.create", "outcome": "success", "actor": None, "ip": "cli",
             "requestId": "", "target": {"type": "user", "email": email}}
        )  # fmt: skip
        nursery.cancel_scope.cancel()
    return outcome


def _create_admin_command(config: Config, email: str) -> int:
    _setup_logging("warning")
    try:
        email = Field("email", "email").check(email)
    except BadRequest as exc:
        raise ConfigError(exc.message.replace("field 'email'", "--email")) from None
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < config.auth.password_min_length or len(password) > MAX_PASSWORD_BYTES:
        raise ConfigError(f"password must be {config.auth.password_min_length} to {MAX_PASSWORD_BYTES} characters")
    if config.storage.mongodb_uri:
        outcome = trio.run(_create_admin, config, email, password)
    else:
        with hold_data_dir(config.data_dir):
            outcome = trio.run(_create_admin, config, email, password)
    print(f"{outcome}: {email}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _load_config(args)
        if args.command == "check-config":
            _check_as_serve(config)
            print(json.dumps(as_dict(config), indent=2) if args.print else "config OK")
            return 0
        if args.command == "create-admin":
            return _create_admin_command(config, args.email)
        return _serve(config)
    except BaseException as exc:
        return _exit_line(exc)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _exit_line(exc: BaseException) -> int:
    """Known failures become one line on stderr and an exit code; anything else is a real bug: re-raise."""
    leaves = _leaves(exc)
    for leaf in leaves:
        if isinstance(leaf, ConfigError):
            print(f"altegon-rt: config error: {leaf}", file=sys.stderr)
            return 2
    for leaf in leaves:
        if isinstance(leaf, AltegonError):
            print(f"altegon-rt: {leaf}", file=sys.stderr)
            return 1
        if isinstance(leaf, OSError) and leaf.errno is not None:
            where = f" ({leaf.filename})" if leaf.filename else ""
            print(f"altegon-rt: {leaf.strerror}{where} [errno {leaf.errno}]", file=sys.stderr)
            return 1
    if all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        return 130
    raise exc


if __name__ == "__main__":
    sys.exit(main())
