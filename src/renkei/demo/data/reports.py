"""Members' reports to the hub, each with how far through the workflow it has gone.

Each is the simple report form ``sharing`` accepts (title, description, TLP, indicators).
The descriptions name the member's own host, an internal address, a staff member and a
phone number, as real first reports do, so sanitising has something to take out. The
indicators use documentation addresses and ``.invalid`` domains.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from renkei.demo.cast import Member, member

#: how far a report gets: submitted → sanitised → approved → published (or rejected)
STAGES = ("submitted", "sanitised", "approved", "published", "rejected")


@dataclass(frozen=True)
class ReportScript:
    by: str  # the member's slug
    days_ago: float
    title: str
    story: str  # {host}, {address}, {staff} are filled with the member's own
    tlp: str
    indicators: tuple[tuple[str, str], ...]
    until: str
    sighted_by: tuple[str, ...] = ()

    @property
    def member(self) -> Member:
        return member(self.by)

    def payload(self) -> dict[str, Any]:
        own = self.member
        first = own.networks[0].split("/")[0].rsplit(".", 1)[0]
        text = self.story.format(host=f"www.{own.domain}", address=f"{first}.15",
                                 staff=own.staff)
        return {"title": self.title, "description": text + " Contact: +81 3 5555 0100.",
                "tlp": self.tlp, "indicators": [{"type": k, "value": v}
                                                for k, v in self.indicators]}


def sample_hash(seed: str) -> str:
    """A stand-in file hash: the SHA-256 of a label, not of any real file."""
    return hashlib.sha256(f"renkei demo sample {seed}".encode()).hexdigest()


REPORTS: tuple[ReportScript, ...] = (
    ReportScript("sakura-bank", 26, "Credential phishing against internet-banking customers",
                 "Customers received mail linking to a copy of {host}; {staff} saw logins "
                 "from {address} after the campaign began.", "green",
                 (("domain", "sakura-secure-login.invalid"),
                  ("url", "http://sakura-secure-login.invalid/signin"),
                  ("email-sender", "notice@sakura-secure-login.invalid")),
                 "published", ("kaede-securities", "digital-office", "nami-mobile")),
    ReportScript("kaede-securities", 23, "SQL injection attempts on the trading portal",
                 "The WAF in front of {host} blocked UNION-based injections; {staff} "
                 "traced them to two sources.", "amber",
                 (("ipv4", "203.0.113.7"), ("ipv4", "203.0.113.21")),
                 "published", ("sakura-bank",)),
    ReportScript("nami-mobile", 20, "Mirai-like telnet scanning from customer routers",
                 "Our abuse desk ({staff}) found customer routers scanning port 23; the "
                 "loader was fetched from the address below.", "green",
                 (("ipv4", "198.51.100.66"), ("sha256", sample_hash("loader-arm7"))),
                 "published", ("hikari-telecom", "aoba-prefecture")),
    ReportScript("digital-office", 18, "Malicious attachment in procurement mail",
                 "A PDF lure reached {staff}; the dropper called home from {address}.",
                 "amber", (("sha256", sample_hash("dropper-pdf")),
                           ("domain", "update-cdn-check.invalid")),
                 "published", ("aoba-prefecture",)),
    ReportScript("aoba-prefecture", 15, "Brute force on the prefecture's web mail",
                 "{host} saw thousands of failed logins; {staff} blocked the source.",
                 "clear", (("ipv4", "198.51.100.23"),),
                 "published", ("sakura-bank", "digital-office", "hikari-telecom")),
    ReportScript("hikari-telecom", 12, "DNS amplification against a customer",
                 "Reflected DNS answers flooded a customer behind {address}; {staff} "
                 "filtered the reflectors.", "green",
                 (("ipv4", "203.0.113.99"), ("ipv4", "203.0.113.100")),
                 "published", ("nami-mobile",)),
    ReportScript("sakura-bank", 8, "Web shell upload attempts after the CMS advisory",
                 "Requests to {host} tried to upload a PHP web shell; {staff} kept the "
                 "sample.", "amber", (("sha256", sample_hash("webshell-php")),
                                      ("ipv4", "203.0.113.33")),
                 "approved"),
    ReportScript("kaede-securities", 5, "Suspicious VPN logins from abroad",
                 "{staff} saw VPN sessions to {address} from an unusual source.", "amber",
                 (("ipv4", "198.51.100.201"),), "sanitised"),
    ReportScript("digital-office", 2, "Typosquatted domain of the services portal",
                 "A look-alike of {host} was registered; {staff} asked for a takedown.",
                 "green", (("domain", "digital-offlce.invalid"),), "submitted"),
    ReportScript("nami-mobile", 1, "SMS phishing wave against subscribers",
                 "Subscribers reported SMS linking to a fake billing page; {staff} "
                 "collected the links.", "green",
                 (("url", "http://nami-billing-check.invalid/pay"),), "submitted"),
    ReportScript("aoba-prefecture", 9, "Test report sent by mistake",
                 "Please ignore: a test from {staff}.", "green",
                 (("domain", "test-report.invalid"),), "rejected"),
)


def living_sighting_members() -> tuple[str, ...]:
    """Members whose analysts report sightings while the demo runs."""
    return ("sakura-bank", "hikari-telecom", "digital-office", "nami-mobile")


def living_report(step: int) -> ReportScript:
    """A new report for the hub to review, now: a member saw a scanner at its edge."""
    slugs = ("sakura-bank", "kaede-securities", "nami-mobile", "digital-office",
             "aoba-prefecture")
    source = f"203.0.113.{1 + step % 120}"
    return ReportScript(slugs[step // 10 % len(slugs)], 0, f"Scanning from {source}",
                        "Repeated probes reached {host}; {staff} logged the source.",
                        "green", (("ipv4", source),), "submitted")
