"""The demo's one folder: keys, the signed directory, RabbitMQ's definitions applied, each
gateway's and the tracker's settings, users and secrets.

Every run replaces the folder (and the demo's vhost and users on RabbitMQ) cleanly: what a
previous run left is stopped and removed first. Secret files are 0600 in 0700 folders, as
the services require; the sign-ins a person needs are kept in `sign-ins.toml` (0600) and
printed at the end of the set-up.
"""

import base64
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from adapters.demo.federation import (
    AGENCIES,
    CASEWORKER,
    COORDINATION,
    COORDINATION_ENTRY,
    COORDINATOR_USER,
    COORDINATORS_EMAIL,
    DEMO_SLA,
    DUTY_WORKER,
    DUTY_WORKER_DISPLAY_NAME,
    DUTY_WORKER_TITLE,
    EXPORTS_FOLDER,
    POLICE,
    POLICE_CALLBACK_KEY_FILE,
    POLICE_INTAKE_KEY_FILE,
    POLICE_SYSTEM,
    POLICE_SYSTEM_PORT,
    SCHOOL,
    SCHOOL_URN,
    SMTP_PORT,
    SOCIAL_A,
    SOCIAL_B,
    SUPERVISOR,
    SUPERVISOR_DISPLAY_NAME,
    SYSTEM,
    TRACKER_PORT,
    USER_PREFIX,
    VHOST,
    DemoAgency,
    duty_email,
    supervisors_email,
)
from broker.envelope import AgencyKeys, RootKey, build_directory, verify_directory
from broker.errors import CaselinkError
from broker.keystore import replace_private, write_private, write_public
from broker.operator.apply import apply_definitions, delete_topology
from broker.people.passwords import hash_password
from broker.people.tokens import new_token, token_hash
from broker.topology.definitions import build_definitions
from broker.topology.names import Topology
from broker.topology.passwords import connection_url, load_or_create_passwords

TOPOLOGY = Topology(vhost=VHOST, user_prefix=USER_PREFIX)
SIGN_INS = "sign-ins.toml"  # also what marks a folder as a demo's
HOST = "127.0.0.1:5672"


@dataclass(frozen=True)
class SignIn:
    """How one person or system signs in: the user name and its password or token."""

    where: str
    name: str
    secret: str
    kind: str  # "password" or "token"


@dataclass
class DemoState:
    """The folder and what was made in it."""

    folder: Path
    sign_ins: list[SignIn] = field(default_factory=list)

    def gateway_folder(self, agency: DemoAgency) -> Path:
        return self.folder / "gateways" / agency.agency_id

    def gateway_config(self, agency: DemoAgency) -> Path:
        return self.gateway_folder(agency) / "gateway.toml"

    @property
    def tracker_folder(self) -> Path:
        return self.folder / "tracker"

    @property
    def tracker_config(self) -> Path:
        return self.tracker_folder / "tracker.toml"

    @property
    def notifier_config(self) -> Path:
        return self.folder / "notifier" / "notifier.toml"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def police_secret(self, name: str) -> str:
        """A secret of the police adapter's table: what the police system signs with
        (POLICE_INTAKE_KEY_FILE) or checks our callbacks with (POLICE_CALLBACK_KEY_FILE)."""
        folder = self.gateway_folder(POLICE) / "police-secrets"
        return (folder / name).read_text().strip()

    def school_exports(self) -> Path:
        """The folder the school's system exports its reports of concern into."""
        return self.gateway_folder(SCHOOL) / EXPORTS_FOLDER

    def token(self, agency: DemoAgency) -> str:
        """The agency system's API token."""
        return self._secret(agency.agency_id, SYSTEM)

    def password(self, agency_id: str, name: str) -> str:
        return self._secret(agency_id, name)

    def _secret(self, where: str, name: str) -> str:
        for sign_in in self.sign_ins:
            if (sign_in.where, sign_in.name) == (where, name):
                return sign_in.secret
        raise KeyError(f"no sign-in {name} at {where}")


def private_folder(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def demo_agency_ids() -> list[str]:
    """Every agency of the demo's directory, the coordination office included."""
    return [agency.agency_id for agency in AGENCIES] + [COORDINATION]


class NotADemoFolder(CaselinkError):
    """The folder given to the demo holds something else: it is never deleted."""

    reason = "not_a_demo_folder"


def remove_previous(folder: Path) -> None:
    """Remove the demo's vhost and users from RabbitMQ, and the folder a previous run left.

    Raises NotADemoFolder, before removing anything, when `folder` is neither missing, nor
    empty, nor a demo's (its sign-ins file marks it): a mistyped --folder must not delete
    a home directory.
    """
    if folder.exists() and any(folder.iterdir()) and not (folder / SIGN_INS).exists():
        raise NotADemoFolder(f"{folder} is not empty and holds no demo: give another --folder")
    delete_topology(TOPOLOGY, demo_agency_ids())
    if folder.exists():
        shutil.rmtree(folder)


def create_state(folder: Path) -> DemoState:
    """Write the whole federation into `folder` (new) and apply its topology to RabbitMQ."""
    state = DemoState(private_folder(folder))
    private_folder(state.logs)
    private_folder(folder / "gateways")
    now = int(time.time()) - 60
    root = RootKey.generate(now=now)
    keys = {a.agency_id: AgencyKeys.generate(a.agency_id, now=now) for a in AGENCIES}
    coordination_keys = AgencyKeys.generate(COORDINATION, now=now)
    entries = [
        keys[a.agency_id].public_entry(kind=a.kind, name=a.name, region=a.region) for a in AGENCIES
    ]
    _, kind, name, region = COORDINATION_ENTRY
    entries.append(coordination_keys.public_entry(kind=kind, name=name, region=region))
    signed = build_directory(entries, root, now=now)
    fed = private_folder(folder / "federation")
    write_private(fed / "root.key", root.to_bytes())
    write_public(fed / "directory.json", signed)
    write_public(fed / "root.pub.json", root.public().to_bytes())
    trusted = verify_directory(signed, root.public())
    users = TOPOLOGY.users([*keys, COORDINATION])
    passwords = load_or_create_passwords(fed / "rabbitmq-passwords.json", users)
    apply_definitions(build_definitions(trusted.directory, passwords, TOPOLOGY))

    for agency in AGENCIES:
        _write_gateway(state, agency, keys[agency.agency_id], signed, root, passwords)
    _write_tracker(state, signed, root, passwords)
    _write_notifier(state, passwords, signed, root)
    replace_private(folder / SIGN_INS, _sign_ins_toml(state.sign_ins).encode())
    return state


def _url(user: str, passwords: Mapping[str, str]) -> str:
    return connection_url(user, passwords[user], HOST, VHOST)


def _write_gateway(
    state: DemoState,
    agency: DemoAgency,
    keys: AgencyKeys,
    signed: bytes,
    root: RootKey,
    passwords: Mapping[str, str],
) -> None:
    folder = private_folder(state.gateway_folder(agency))
    write_private(folder / "agency.key", keys.to_bytes())
    write_public(folder / "directory.json", signed)
    write_public(folder / "root.pub.json", root.public().to_bytes())
    replace_private(folder / "users.toml", _users_toml(_gateway_users(state, agency)).encode())
    # The inbox pages' sessions outlive a gateway restart; the cookie goes over plain HTTP,
    # as the dashboard's does: the demo serves 127.0.0.1 only.
    write_private(folder / "session-secret", secrets.token_urlsafe(32).encode())
    settings: dict[str, Any] = {
        "agency_id": agency.agency_id,
        "key_file": "agency.key",
        "directory": "directory.json",
        "root_pub": "root.pub.json",
        "users_file": "users.toml",
        "amqp_url": _url(TOPOLOGY.agency_user(agency.agency_id), passwords),
        "store_url": f"sqlite+aiosqlite:///{folder / 'gateway.db'}",
        "api_listen": f"127.0.0.1:{agency.port}",
        "user_prefix": USER_PREFIX,
        "directory_poll_s": 2.0,
        "session_secret_file": "session-secret",
        "secure_cookie": False,
    }
    tables = adapter_tables(agency, folder)
    if tables:
        settings["adapters"] = tables
    replace_private(folder / "gateway.toml", tomlkit.dumps(settings).encode())


def _gateway_users(state: DemoState, agency: DemoAgency) -> list[dict[str, str]]:
    """The users file's entries of `agency`'s gateway, their secrets into `state.sign_ins`:
    a caseworker, a supervisor and the system's token; an agency with no system (no
    adapter) has its duty worker only, who works in the inbox pages."""
    if agency.adapter is None:
        people = [_person(state, agency, DUTY_WORKER, "caseworker")]
        people[0] |= {"display_name": DUTY_WORKER_DISPLAY_NAME, "job_title": DUTY_WORKER_TITLE}
        return people
    people = [
        _person(state, agency, CASEWORKER, "caseworker"),
        _person(state, agency, SUPERVISOR, "supervisor"),
    ]
    people[-1]["display_name"] = SUPERVISOR_DISPLAY_NAME
    token = new_token()
    state.sign_ins.append(SignIn(agency.agency_id, SYSTEM, token, "token"))
    people.append({"name": SYSTEM, "role": "system", "token_hash": token_hash(token)})
    return people


def _person(state: DemoState, agency: DemoAgency, name: str, role: str) -> dict[str, str]:
    """A person of `agency` with a new password (kept in `state.sign_ins`)."""
    password = secrets.token_urlsafe(12)
    state.sign_ins.append(SignIn(agency.agency_id, name, password, "password"))
    return {"name": name, "role": role, "password_hash": hash_password(password)}


def adapter_tables(agency: DemoAgency, folder: Path) -> dict[str, Any]:
    """The `[adapters.<name>]` table of `agency`'s gateway (relative paths: its folder);
    writes the secrets an adapter's table names."""
    if agency.adapter == "health":
        return {"health": {}}
    if agency.adapter == "social":
        # Cases created through Primero's API, sealed, one 0600 file each.
        return {"social": {"cases_folder": "primero-cases"}}
    if agency.adapter == "education":
        return {
            "education": {
                "folder": EXPORTS_FOLDER,
                "state": "school-state/education.sqlite",
                "send_as": SYSTEM,
                "recipient": SOCIAL_A.agency_id,
                "poll_s": 1.0,
                "schools": {SCHOOL_URN: {"date_format": "%d/%m/%Y"}},
            }
        }
    if agency.adapter == "police":
        secrets_folder = private_folder(folder / "police-secrets")
        for name in (POLICE_INTAKE_KEY_FILE, POLICE_CALLBACK_KEY_FILE):
            write_private(secrets_folder / name, webhook_secret().encode())
        return {
            "police": {
                "send_as": SYSTEM,
                "recipient": SOCIAL_A.agency_id,
                "store_url": "sqlite+aiosqlite:///police-state/police.db",
                "poll_s": 1.0,
                "systems": {
                    POLICE_SYSTEM: {
                        "secret_file": f"police-secrets/{POLICE_INTAKE_KEY_FILE}",
                        "callback_url": f"http://127.0.0.1:{POLICE_SYSTEM_PORT}/callbacks",
                        "callback_secret_file": f"police-secrets/{POLICE_CALLBACK_KEY_FILE}",
                    }
                },
            }
        }
    return {}


def webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _write_tracker(
    state: DemoState, signed: bytes, root: RootKey, passwords: Mapping[str, str]
) -> None:
    folder = private_folder(state.tracker_folder)
    write_public(folder / "directory.json", signed)
    write_public(folder / "root.pub.json", root.public().to_bytes())
    write_private(folder / "session-secret", secrets.token_urlsafe(32).encode())
    (folder / "sla.toml").write_text(DEMO_SLA)
    password = secrets.token_urlsafe(12)
    state.sign_ins.append(SignIn("dashboard", COORDINATOR_USER, password, "password"))
    users = [
        {"name": COORDINATOR_USER, "role": "coordinator", "password_hash": hash_password(password)}
    ]
    replace_private(folder / "users.toml", _users_toml(users).encode())
    settings = {
        "amqp_url": _url(TOPOLOGY.tracker_user(), passwords),
        "directory": "directory.json",
        "root_pub": "root.pub.json",
        "store_url": f"sqlite+aiosqlite:///{folder / 'tracker.db'}",
        "sla_policy": "sla.toml",
        "coordinators": [COORDINATION],
        "users_file": "users.toml",
        "session_secret_file": "session-secret",
        "listen": f"127.0.0.1:{TRACKER_PORT}",
        "user_prefix": USER_PREFIX,
        "sweep_interval_s": 2.0,
        "secure_cookie": False,
    }
    replace_private(folder / "tracker.toml", tomlkit.dumps(settings).encode())


def _write_notifier(
    state: DemoState, passwords: Mapping[str, str], signed: bytes, root: RootKey
) -> None:
    folder = private_folder(state.notifier_config.parent)
    # Names from the directory; each agency's inbox pages on its gateway; the emails of one
    # agency in Danish (Copenhagen time), to show a recipient's language.
    write_public(folder / "directory.json", signed)
    write_public(folder / "root.pub.json", root.public().to_bytes())
    agencies: dict[str, dict[str, Any]] = {
        a.agency_id: {
            "duty": [duty_email(a.agency_id)],
            "supervisors": [supervisors_email(a.agency_id)],
            "inbox_url": a.url,
        }
        for a in AGENCIES
    }
    agencies[SOCIAL_B.agency_id] |= {"language": "da", "time_zone": "Europe/Copenhagen"}
    agencies[COORDINATION] = {"coordinators": [COORDINATORS_EMAIL]}
    settings = {
        "amqp_url": _url(TOPOLOGY.notifier_user(), passwords),
        "store_url": f"sqlite+aiosqlite:///{folder / 'sent.db'}",
        "dashboard_url": f"http://127.0.0.1:{TRACKER_PORT}",
        "user_prefix": USER_PREFIX,
        "retry_max_s": 2.0,
        "smtp": {"host": "127.0.0.1", "port": SMTP_PORT, "from": "caselink@demo.example"},
        "agencies": agencies,
        "directory": "directory.json",
        "root_pub": "root.pub.json",
    }
    replace_private(state.notifier_config, tomlkit.dumps(settings).encode())


def _users_toml(users: list[dict[str, str]]) -> str:
    document = tomlkit.document()
    table = tomlkit.aot()
    for user in users:
        table.append(tomlkit.item(user))
    document.append("users", table)
    return tomlkit.dumps(document)


def _sign_ins_toml(sign_ins: list[SignIn]) -> str:
    document = tomlkit.document()
    document.add(tomlkit.comment("The demo's sign-ins: synthetic, for this machine only."))
    for sign_in in sign_ins:
        table = document.setdefault(sign_in.where, tomlkit.table())
        table[sign_in.name] = sign_in.secret
    return tomlkit.dumps(document)
