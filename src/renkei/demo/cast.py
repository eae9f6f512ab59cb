"""Who is in the demo: the hub, its members, their users, address space and sensors.

All names are fictional and every address is from ranges reserved for documentation,
benchmarking or shared address space, so nothing here points at anyone real.
"""

from __future__ import annotations

from dataclasses import dataclass

from renkei.core.models import Role

HUB = "National CSIRT (demo)"
HUB_DOMAIN = "csirt.demo.example"
#: one password for every demo user: the demo database is for trying renkei out only
PASSWORD = "renkei-demo-only"  # noqa: S105  (printed at start; demo-only, never a real hub)


@dataclass(frozen=True)
class Member:
    """A member organisation and what the hub knows of it."""

    name: str
    slug: str
    communities: tuple[str, ...]
    domain: str
    networks: tuple[str, ...]
    staff: str  # a name the sanitiser removes from its reports
    web_logs: bool = True


MEMBERS: tuple[Member, ...] = (
    Member("Sakura Bank (demo)", "sakura-bank", ("finance",), "sakura-bank.example",
           ("192.0.2.0/26",), "Aoi Tanaka"),
    Member("Kaede Securities (demo)", "kaede-securities", ("finance",),
           "kaede-sec.example", ("192.0.2.64/26",), "Ren Suzuki"),
    Member("Hikari Telecom (demo)", "hikari-telecom", ("telecom",), "hikari-tel.example",
           ("198.51.100.0/24",), "Yui Sato", web_logs=False),
    Member("Nami Mobile (demo)", "nami-mobile", ("telecom",), "nami-mobile.example",
           ("203.0.113.0/25",), "Sora Ito"),
    Member("Digital Services Office (demo)", "digital-office", ("government",),
           "digital-office.example", ("192.0.2.128/26",), "Haru Kobayashi"),
    Member("Aoba Prefecture (demo)", "aoba-prefecture", ("government", "telecom"),
           "aoba-pref.example", ("192.0.2.192/26",), "Mio Watanabe"),
)


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: Role
    organisation: str
    name: str


def _member_users() -> tuple[DemoUser, ...]:
    users = [DemoUser(f"submitter@{m.domain}", Role.MEMBER_SUBMITTER, m.name, m.staff)
             for m in MEMBERS]
    users += [DemoUser(f"reader@{m.domain}", Role.MEMBER_READER, m.name, f"{m.staff} (reader)")
              for m in MEMBERS[:2]]
    return tuple(users)


USERS: tuple[DemoUser, ...] = (
    DemoUser(f"admin@{HUB_DOMAIN}", Role.HUB_ADMIN, HUB, "Demo Administrator"),
    DemoUser(f"analyst@{HUB_DOMAIN}", Role.HUB_ANALYST, HUB, "Demo Analyst"),
    *_member_users(),
)
ADMIN = USERS[0].email
ANALYST = USERS[1].email


def member(slug: str) -> Member:
    return next(m for m in MEMBERS if m.slug == slug)


def submitter(m: Member) -> str:
    return f"submitter@{m.domain}"


@dataclass(frozen=True)
class DemoSensor:
    """A darknet sensor of the hub: an unused block that only unsolicited traffic reaches."""

    name: str
    site: str
    block: str
    first_address: int  # the block's first address as an integer


SENSORS: tuple[DemoSensor, ...] = (
    DemoSensor("darknet-tokyo", "Tokyo (demo)", "198.18.0.0/20", 0xC612_0000),
    DemoSensor("darknet-osaka", "Osaka (demo)", "198.19.0.0/20", 0xC613_0000),
)
