"""Who takes part in the demo: six agencies, a coordination office, their ports and users.

Pure: names, kinds, ports and the shape of each gateway's adapter table; `state` writes the
files from it. Ports sit in one block (BASE_PORT..) on 127.0.0.1 only. Five agencies speak
through the adapter their systems use; the sixth has no case system at all: its one person
works in the gateway's inbox pages, in the browser.
"""

from dataclasses import dataclass

from schemas.kinds import AgencyKind

VHOST = "caselink-demo"
USER_PREFIX = "demo-"
BASE_PORT = 8710
TRACKER_PORT = BASE_PORT
POLICE_SYSTEM_PORT = BASE_PORT + 9  # the demo's stand-in for the police system's callback
SMTP_PORT = BASE_PORT + 8  # the demo's mail catcher, where the notifier sends its emails

COORDINATION = "region-coordination"
COORDINATORS_EMAIL = "coordinators@region.demo.example"


def duty_email(agency_id: str) -> str:
    return f"duty@{agency_id}.demo.example"


def supervisors_email(agency_id: str) -> str:
    return f"supervisors@{agency_id}.demo.example"


# The police system's name in the police adapter's table, and its two secrets' file names.
POLICE_SYSTEM = "west-records"
POLICE_INTAKE_KEY_FILE = "west-records.whsec"
POLICE_CALLBACK_KEY_FILE = "west-records-callback.whsec"
# Where the school's system drops its exports (in the school gateway's folder), and its URN.
EXPORTS_FOLDER = "school-exports"
SCHOOL_URN = "100001"


@dataclass(frozen=True)
class DemoAgency:
    """One agency of the demo: its directory entry, its gateway port and its adapter."""

    agency_id: str
    kind: AgencyKind
    name: str
    region: str
    port: int
    # The entry-point name of the adapter its systems speak through; None: it has no
    # system, and its people use the inbox pages only.
    adapter: str | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox_page(self) -> str:
        """The agency's inbox page (the notifier's `inbox_url` is the gateway's base URL)."""
        return f"{self.url}/inbox"


HOSPITAL = DemoAgency(
    "oscc-north",
    AgencyKind.HEALTH,
    "North Hospital One-Stop Crisis Centre",
    "north",
    BASE_PORT + 1,
    "health",
)
SCHOOL = DemoAgency(
    "school-riverside",
    AgencyKind.EDUCATION,
    "Riverside Primary School",
    "a",
    BASE_PORT + 2,
    "education",
)
POLICE = DemoAgency(
    "police-west",
    AgencyKind.POLICE,
    "West Police Child Protection Unit",
    "west",
    BASE_PORT + 3,
    "police",
)
SOCIAL_A = DemoAgency(
    "social-a",
    AgencyKind.SOCIAL_SERVICES,
    "Municipality A Social Services",
    "a",
    BASE_PORT + 4,
    "social",
)
SOCIAL_B = DemoAgency(
    "social-b",
    AgencyKind.SOCIAL_SERVICES,
    "Municipality B Social Services",
    "b",
    BASE_PORT + 5,
    "social",
)

# A small rural municipality: one duty social worker, no case system, the inbox pages only.
SOCIAL_C = DemoAgency(
    "social-c",
    AgencyKind.SOCIAL_SERVICES,
    "Municipality C Social Services",
    "c",
    BASE_PORT + 6,
    None,
)

AGENCIES = (HOSPITAL, SCHOOL, POLICE, SOCIAL_A, SOCIAL_B, SOCIAL_C)
# In the directory, with keys, but with no gateway: the coordinators' alerts are addressed to it.
COORDINATION_ENTRY = (COORDINATION, AgencyKind.COORDINATOR, "Regional Coordination Office", "all")

# The people of each agency with a system: a caseworker and a supervisor sign in with
# passwords, the agency's own system with a token.
CASEWORKER, SUPERVISOR, SYSTEM = "caseworker", "supervisor", "system"
# How a supervisor is named in what they authorise (a sharing without consent names them).
SUPERVISOR_DISPLAY_NAME = "Sam Okoro"
COORDINATOR_USER = "coordinator"
# The one person of an agency with no system (SOCIAL_C): a password, and no system token.
DUTY_WORKER = "noor"
DUTY_WORKER_DISPLAY_NAME = "Noor Haddad"
DUTY_WORKER_TITLE = "Duty social worker"

# Deadlines short enough to watch: a referral must be answered within 30 seconds, so one
# left alone is flagged after 30 seconds and escalated after a minute.
DEMO_SLA = """\
# The demo's deadlines: short enough to watch a reminder and an escalation happen.
[referral.emergency]
delivery = "15s"
response = "30s"

[referral.high]
delivery = "15s"
response = "30s"

[referral.normal]
delivery = "15s"
response = "30s"

[referral.low]
delivery = "15s"
response = "30s"

[transfer]
delivery = "30s"
response = "2m"

[consent_withdrawal]
acknowledgement = "1m"
"""
