"""Did an attack perhaps succeed? iLogScanner's judgement, from status and response size.

``True`` means the log shows a sign of success (the server answered 2xx with a size far
from that path's usual answers, served a probed file, or failed with 5xx right at an
injection), ``False`` a sign of failure (blocked, not found, refused), ``None`` that the
log cannot tell.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def judge(finding: Finding, baseline: SizeBaseline | None) -> tuple[bool | None, str]:
    status = finding.status
    if status is None:
        return None, "no status in the log"
    if finding.category is Category.SENSITIVE_FILE:
        if 200 <= status < 300:
            return True, f"served with status {status}"
        return False, f"answered {status}"
    if finding.category not in INJECTIONS:
        return None, ""
    if status >= 500:
        return True, f"server error {status} right at the attempt"
    if not 200 <= status < 300:
        return False, f"answered {status}"
    if finding.size is None or baseline is None or baseline.count < MIN_BASELINE:
        return None, "no usual response size for this path to compare with"
    if baseline.is_unusual(finding.size):
        return True, (f"response size {finding.size} differs from this path's usual "
                      f"{baseline.mean:.0f} ± {baseline.std:.0f}")
    return False, f"response size {finding.size} is this path's usual"
