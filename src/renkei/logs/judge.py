"""Did an attack perhaps succeed? iLogScanner's judgement, from status and response size.

``True`` means the log shows a sign of success (the server answered 2xx with a size far
from that path's usual answers, served a probed file, or failed with 5xx right at an
injection), ``False`` a sign of failure (blocked, not found, refused), ``None`` that the
log cannot tell.
"""

from __future__ import annotations

from dataclasses import dataclass

from renkei.core.i18n import gettext_noop
from renkei.logs.model import Category, Finding

INJECTIONS = {
    Category.SQLI, Category.XSS, Category.CMDI, Category.TRAVERSAL, Category.RFI,
    Category.CODE_INJECTION, Category.JAVA, Category.SHELLSHOCK, Category.SSTI,
}
MIN_BASELINE = 5


@dataclass(frozen=True)
class SizeBaseline:
    """Sizes of a path's ordinary 2xx answers (requests without any finding)."""

    count: int
    mean: float
    std: float

    def is_unusual(self, size: int) -> bool:
        margin = max(3.0 * self.std, 0.5 * self.mean, 200.0)
        return abs(size - self.mean) > margin


Verdict = tuple[bool | None, str, dict[str, str | int]]


def judge(finding: Finding, baseline: SizeBaseline | None) -> Verdict:
    """(succeeded, reason template, its arguments): templates are translated by reports."""
    status = finding.status
    if status is None:
        return None, gettext_noop("no status in the log"), {}
    if finding.category is Category.SENSITIVE_FILE:
        if 200 <= status < 300:
            return True, gettext_noop("served with status {status}"), {"status": status}
        if status < 400:  # a redirect may lead to the file or to a login; 304: cached copy
            return None, gettext_noop("answered {status}"), {"status": status}
        return False, gettext_noop("answered {status}"), {"status": status}
    if finding.category not in INJECTIONS:
        return None, "", {}
    if status >= 500:
        return True, gettext_noop("server error {status} right at the attempt"), {"status": status}
    if status < 200 or 300 <= status < 400:  # a 302 after a login bypass is a success
        return None, gettext_noop("answered {status}"), {"status": status}
    if status >= 400:
        return False, gettext_noop("answered {status}"), {"status": status}
    if finding.size is None or baseline is None or baseline.count < MIN_BASELINE:
        return None, gettext_noop("no usual response size for this path to compare with"), {}
    args: dict[str, str | int] = {"size": finding.size, "mean": round(baseline.mean),
                                  "std": round(baseline.std)}
    if baseline.is_unusual(finding.size):
        return True, gettext_noop("response size {size} differs from this path's usual {mean} ± {std}"), args
    return False, gettext_noop("response size {size} is this path's usual"), args
