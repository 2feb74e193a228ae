"""Command-line interface: `run`, `check-config`, `demo`, `probe` and `--version`.

Parsing needs only the standard library; each command imports what it uses when it runs, so
`probe` (an exec probe, every few seconds) and `--version` start fast, and `check-config` loads
the config models without the daemon or aiohttp.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from exporter import __version__
from exporter.cli.probe import add_probe_arguments, run_probe
from exporter.schema.addresses import split_host_port

if TYPE_CHECKING:
    from exporter.config.model import AppConfig
    from exporter.schema.errors import ConfigError
    from exporter.web.config import WebSettings

LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("exporter")


def _listen(value: str) -> str:
    try:
        split_host_port(value, default_host="0.0.0.0")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --listen {value!r}: {exc}") from None
    return value


def _telemetry_path(value: str) -> str:
    from exporter.web.paths import check_telemetry_path

    try:
        return check_telemetry_path(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_config_arg(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("KHE_CONFIG")
    parser.add_argument(
        "-c",
        "--config",
        default=default,
        required=default is None,
        help="config file (YAML); default: $KHE_CONFIG",
    )


def _add_web_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        metavar="PATH",
        help="exporter-toolkit web-config.yml: TLS, basic auth, headers "
        "(overrides server.web_config_file)",
    )


def _add_logging_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default="info", type=str.lower, choices=LOG_LEVELS)
    parser.add_argument("--log-format", default="text", choices=("text", "json"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kafka-health-exporter",
        description="Prometheus exporter for Kafka lag, CloudMonitor backlog and Streams health.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the exporter")
    _add_config_arg(run)
    run.add_argument(
        "--listen", type=_listen, help="HOST:PORT to serve on (overrides server.listen)"
    )
    _add_web_config_arg(run)
    run.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        type=_telemetry_path,
        default=None,
        metavar="PATH",
        help="path the metrics are served on (overrides server.telemetry_path, default /metrics)",
    )
    run.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="allow config reloads over HTTP (POST /-/reload); SIGHUP always reloads",
    )
    _add_logging_args(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser("check-config", help="validate a config file and summarise it")
    _add_config_arg(check)
    _add_web_config_arg(check)
    check.set_defaults(handler=_check_config)

    demo = commands.add_parser(
        "demo", help="run a local broker, producer, consumers and the exporter"
    )
    demo.add_argument(
        "--listen", type=_listen, default="127.0.0.1:9876", help="HOST:PORT (default %(default)s)"
    )
    _add_logging_args(demo)
    demo.set_defaults(handler=_demo)

    probe = commands.add_parser(
        "probe", help="check health once (an exec probe): exit 0 if healthy, 1 if not"
    )
    add_probe_arguments(probe)
    probe.set_defaults(handler=run_probe)
    return parser


def _print_config_error(error: ConfigError) -> None:
    print(f"invalid config {error.source}:", file=sys.stderr)
    for line in error.lines():
        print(f"  {line}", file=sys.stderr)


def _load(args: argparse.Namespace) -> tuple[AppConfig, WebSettings] | None:
    """The config and web config named by `args`, or None after printing every problem."""
    from exporter.config.settings import load_settings
    from exporter.schema.errors import ConfigError

    try:
        return load_settings(args.config, args.web_config_file)
    except ConfigError as error:
        _print_config_error(error)
        return None


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from exporter.cli.logs import setup_logging
    from exporter.daemon.serve import ListenError, serve

    setup_logging(args.log_level, args.log_format)
    loaded = _load(args)
    if loaded is None:
        return 1
    config, web_settings = loaded
    try:
        asyncio.run(
            serve(
                config,
                args.listen,
                config_path=args.config,
                web_settings=web_settings,
                web_config_override=args.web_config_file,
                telemetry_path=args.telemetry_path,
                enable_lifecycle=args.enable_lifecycle,
            )
        )
    except ListenError as exc:
        print(f"kafka-health-exporter: {exc}", file=sys.stderr)
        return 1
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from exporter.web.config import NO_WEB_CONFIG

    loaded = _load(args)
    if loaded is None:
        return 1
    config, web_settings = loaded
    print(
        f"{args.config}: OK, {len(config.collectors)} collector(s), listen {config.server.listen}"
    )
    if web_settings is not NO_WEB_CONFIG:
        tls = "TLS" if web_settings.ssl_context is not None else "no TLS"
        users = len(web_settings.users)
        print(f"  web config {web_settings.source}: {tls}, {users} basic auth user(s)")
    for entry in config.collectors:
        print(f"  {entry.summary()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from exporter.cli.demo.broker import BrokerUnavailable
    from exporter.cli.demo.run import run_demo
    from exporter.cli.logs import setup_logging
    from exporter.daemon.serve import ListenError

    setup_logging(args.log_level, args.log_format)
    try:
        return asyncio.run(run_demo(args.listen))
    except ListenError as exc:
        print(f"kafka-health-exporter demo: {exc}; pass --listen HOST:PORT", file=sys.stderr)
        return 1
    except BrokerUnavailable as exc:
        print(f"kafka-health-exporter demo: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kafka-health-exporter` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 0
