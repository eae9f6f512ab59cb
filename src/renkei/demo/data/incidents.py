"""The demo's incidents: where each came from, how far it got, and its tasks and notes.

One is opened from each kind of record (a logs alert, a vulnerability alert, a shared
indicator, a sensors finding) and the rest by hand, as a phone call or a mail to the hub
would be; they stand at every status, some within their SLA and some past it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the path an incident takes, and hours after opening that each status is reached
PATH = ("acknowledged", "investigating", "contained", "resolved", "closed")
HOURS = {"acknowledged": 0.4, "investigating": 2.0, "contained": 10.0, "resolved": 30.0,
         "closed": 50.0}


@dataclass(frozen=True)
class IncidentScript:
    source: str  # logs-alert, vulns-alert, shared, sensors-finding or manual
    days_ago: float  # when it is opened (a record's own time is used when later)
    status: str  # where it ends up; "closed-unresolved": closed from new with a note
    title: str = ""
    severity: str = ""
    category: str = ""
    organisations: tuple[str, ...] = ()  # member slugs
    description: str = ""
    tasks: tuple[tuple[str, bool], ...] = ()  # (title, done)
    notes: tuple[str, ...] = ()
    indicators: tuple[tuple[str, str], ...] = ()
    share: bool = False
    tlp: str = ""
    hint: str = ""  # which record: a logs category, a shared indicator's value …

    def path(self) -> tuple[str, ...]:
        """The statuses it moves through after "new"."""
        if self.status == "new":
            return ()
        if self.status == "closed-unresolved":
            return ("closed",)
        return PATH[:PATH.index(self.status) + 1]


INCIDENTS: tuple[IncidentScript, ...] = (
    IncidentScript("logs-alert", 24, "closed", hint="sqli", organisations=("kaede-securities",),
                   tasks=(("Block the sources at the WAF", True),
                          ("Check the database logs for data taken", True)),
                   notes=("The injection did not reach the database: the WAF blocked it.",),
                   indicators=(("ipv4", "203.0.113.7"),), share=True, tlp="amber"),
    IncidentScript("shared", 25, "resolved", hint="sakura-secure-login.invalid",
                   severity="high", organisations=("sakura-bank",),
                   tasks=(("Ask the registrar to take the domain down", True),),
                   notes=("The phishing site is down; customers were warned.",)),
    IncidentScript("sensors-finding", 13, "contained", hint="backscatter", severity="high",
                   category="availability", organisations=("sakura-bank",),
                   title="SYN flood against Sakura Bank's web server (seen as backscatter)",
                   tasks=(("Ask the upstream provider to filter", True),
                          ("Write the report for the member", False)),
                   notes=("Backscatter from 192.0.2.10 on both sensors: a spoofed SYN flood.",)),
    IncidentScript("vulns-alert", 6, "investigating", hint="kev",
                   tasks=(("Confirm the version the member runs", True),
                          ("Apply the vendor's update", False)),
                   notes=("Listed as known exploited: the member was called.",)),
    IncidentScript("sensors-finding", 4, "investigating", hint="mirai", severity="medium",
                   organisations=("nami-mobile",),
                   title="Customer routers of Nami Mobile scanning telnet (Mirai-like)",
                   tasks=(("Send the member its notice with the addresses", False),)),
    IncidentScript("manual", 2, "acknowledged", severity="critical", category="malicious-code",
                   title="Ransom note on a file server (phone report)",
                   organisations=("aoba-prefecture",),
                   description="The prefecture's IT desk called: files on a shared server "
                               "are encrypted and a ransom note was left.",
                   tasks=(("Isolate the server from the network", False),
                          ("Collect the note and a sample of the files", False)),
                   indicators=(("domain", "pay-your-key.invalid"),)),
    IncidentScript("manual", 0.12, "new", severity="medium", category="fraud",
                   title="Extortion mail threatening a DDoS (mail report)",
                   organisations=("hikari-telecom",),
                   description="A customer forwarded a mail demanding payment to avoid a "
                               "denial-of-service attack."),
    IncidentScript("logs-alert", 1, "new", hint="brute-force"),
    IncidentScript("manual", 10, "closed-unresolved", severity="low", category="test",
                   title="Alarm test by the member's new SOC", organisations=("digital-office",),
                   notes=("A planned test, not an incident.",)),
)
