"""A real MIT Kerberos KDC on loopback (Debian krb5-kdc) and a Kafka 4.x node with a GSSAPI
listener, for the Kerberos tests.

`Kdc` makes a realm in a temp dir (`kdb5_util create`), principals and keytabs
(`kadmin.local`), and runs `krb5kdc -n` on a free port bound to 127.0.0.1 (TCP; clients are told
`udp_preference_limit = 1`); it is always stopped and reaped. Its krb5.conf is what the broker
(`-Djava.security.krb5.conf`) and the exporter (`sasl_kerberos_krb5_config`) use; nothing on the
machine's /etc is read or changed. `kerberos_cluster(kdc)` is a single node whose `KRB` listener
(SASL_PLAINTEXT, GSSAPI) authenticates with the `kafka/localhost` keytab.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from exporter.cli.demo.processes import free_port, stop_process
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_node import Listener

REALM = "KHE.TEST"
SERVICE = "kafka"
BROKER_HOST = "localhost"
CLIENT = "exporter"
MASTER_PASSWORD = "kdc-master-Pw-0c4e"


class KdcUnavailable(RuntimeError):
    """The MIT KDC tools are missing or the KDC did not start."""


@dataclass
class Kdc:
    """One realm and its KDC process."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="khe-kdc-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def krb5_conf(self) -> Path:
        return self.directory / "krb5.conf"

    def keytab(self, name: str) -> Path:
        return self.directory / f"{name.replace('/', '_')}.keytab"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5_KDC_PROFILE": str(self.directory / "kdc.conf"),
        }

    def start(self, timeout: float = 20.0) -> Kdc:
        for tool in ("kdb5_util", "kadmin.local", "krb5kdc"):
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
                raise KdcUnavailable(
                    f"{tool} not found: install Debian's krb5-kdc and krb5-admin-server"
                )
        self._write_configs()
        self._run("/usr/sbin/kdb5_util", "create", "-s", "-r", REALM, "-P", MASTER_PASSWORD)
        log = (self.directory / "krb5kdc.out").open("wb")
        try:
            self.process = subprocess.Popen(
                ["/usr/sbin/krb5kdc", "-n", "-r", REALM], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise KdcUnavailable(f"krb5kdc exited: {self.log_tail()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise KdcUnavailable(f"krb5kdc not listening on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 10)
            self.process = None

    def close(self) -> None:
        self.stop()
        if not os.environ.get("KHE_KEEP_KAFKA"):
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Kdc:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_principal(self, name: str, *, maxlife: str | None = None) -> Path:
        """A principal with a random key, exported to its own keytab (returned)."""
        life = ["-maxlife", f'"{maxlife}"'] if maxlife else []
        self.kadmin(f"addprinc -randkey {' '.join(life)} {name}@{REALM}")
        self.kadmin(f"ktadd -k {self.keytab(name)} {name}@{REALM}")
        return self.keytab(name)

    def kadmin(self, query: str) -> str:
        return self._run("/usr/sbin/kadmin.local", "-r", REALM, "-q", query)

    def log_tail(self) -> str:
        parts = [p.read_text(errors="replace")[-1500:] for p in
                 (self.directory / "krb5kdc.out", self.directory / "kdc.log") if p.exists()]  # fmt: skip
        return "\n".join(parts)

    def _run(self, *args: str) -> str:
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise KdcUnavailable(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def _write_configs(self) -> None:
        d = self.directory
        (d / "kadm5.acl").write_text(f"*/admin@{REALM} *\n")
        (d / "kdc.conf").write_text(
            f"[kdcdefaults]\n kdc_listen = 127.0.0.1:{self.port}\n"
            f" kdc_tcp_listen = 127.0.0.1:{self.port}\n"
            f"[realms]\n {REALM} = {{\n  database_name = {d / 'principal'}\n"
            f"  key_stash_file = {d / 'stash'}\n  acl_file = {d / 'kadm5.acl'}\n"
            f"  max_life = 1h\n  max_renewable_life = 0\n"
            f"  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n"
            f" }}\n[logging]\n kdc = FILE:{d / 'kdc.log'}\n"
        )
        self.krb5_conf.write_text(
            f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
            " dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n"
            " udp_preference_limit = 1\n ticket_lifetime = 1h\n forwardable = false\n"
            f"[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{self.port}\n }}\n"
            f"[domain_realm]\n localhost = {REALM}\n 127.0.0.1 = {REALM}\n"
        )


def kerberos_cluster(kdc: Kdc) -> KafkaCluster:
    """A single node with the KRB listener (GSSAPI, the kafka/localhost keytab), not started."""
    principal = f"{SERVICE}/{BROKER_HOST}"
    keytab = kdc.add_principal(principal)
    login = "com.sun.security.auth.module.Krb5LoginModule"
    jaas = (
        f'{login} required useKeyTab=true storeKey=true keyTab="{keytab}"'
        f' principal="{principal}@{REALM}";'
    )
    return KafkaCluster(
        listeners=[
            Listener(
                "KRB",
                "SASL_PLAINTEXT",
                {
                    "sasl.enabled.mechanisms": "GSSAPI",
                    "gssapi.sasl.jaas.config": jaas,
                    "sasl.kerberos.service.name": SERVICE,
                },
            )
        ],
        properties={"sasl.enabled.mechanisms": "GSSAPI", "sasl.kerberos.service.name": SERVICE},
        jvm=(f"-Djava.security.krb5.conf={kdc.krb5_conf}",),
    )
