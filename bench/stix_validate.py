"""STIX bundle validation, objects per second: the fast validator (``stix.validate_bundle``)
against the slow path it replaced (``stix2validator.validate_parsed_json`` on the bundle,
then ``stix2.parse`` on each object), in the same run, on one core.

    python bench/stix_validate.py [--objects 2000] [--slow-objects 500]

The slow path is timed on fewer objects (its cost per object does not depend on the
bundle's size) so that the run stays short.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import Any

import stix2  # type: ignore[import-untyped]
import stix2validator  # type: ignore[import-untyped]

from renkei.core.tlp import Tlp, marking_definition
from renkei.sharing import stix

AMBER = Tlp.AMBER.marking_id
T0, T1 = "2026-04-01T09:00:00.000Z", "2026-04-02T10:30:00.000Z"


def _id(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def _sdo(kind: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": _id(kind), "created": T0, "modified": T0,
            "object_marking_refs": [AMBER], **props}


def _sco(kind: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": _id(kind), "object_marking_refs": [AMBER],
            **props}


def indicator(n: int) -> dict[str, Any]:
    return _sdo("indicator", name="C2 server", pattern=f"[ipv4-addr:value = '198.51.{n // 256 % 256}.{n % 256}']",
                pattern_type="stix", valid_from="2026-04-01T09:00:00Z",
                indicator_types=["malicious-activity"])


def mixed(n: int) -> dict[str, Any]:
    """One of a dozen kinds of object, as a member's report mixes them."""
    ind, mal, ip = _id("indicator"), _id("malware"), _id("ipv4-addr")
    makers: list[Callable[[], dict[str, Any]]] = [
        lambda: indicator(n),
        lambda: _sdo("indicator", pattern=f"[file:hashes.'SHA-256' = '{n:064x}']",
                     pattern_type="stix", valid_from=T0),
        lambda: _sdo("indicator", pattern=f"[url:value = 'https://evil.example/{n}'] AND "
                     "[domain-name:value = 'evil.example']", pattern_type="stix", valid_from=T0),
        lambda: _sdo("indicator", pattern=f"[ipv4-addr:value = '203.0.113.{n % 256}'] "
                     "REPEATS 5 TIMES WITHIN 300 SECONDS", pattern_type="stix", valid_from=T0),
        lambda: _sdo("malware", name=f"Family {n}", is_family=True, malware_types=["trojan"]),
        lambda: _sdo("relationship", relationship_type="indicates", source_ref=ind, target_ref=mal),
        lambda: _sdo("sighting", sighting_of_ref=ind, count=3, first_seen=T0, last_seen=T1),
        lambda: _sdo("identity", name=f"Member {n}", identity_class="organization"),
        lambda: _sdo("report", name=f"Report {n}", published=T0, object_refs=[ind, mal]),
        lambda: _sdo("observed-data", first_observed=T0, last_observed=T1, number_observed=1,
                     object_refs=[ip]),
        lambda: _sdo("attack-pattern", name="Spearphishing"),
        lambda: _sdo("vulnerability", name="CVE-2021-44228", external_references=[
            {"source_name": "cve", "external_id": "CVE-2021-44228"}]),
        lambda: _sco("ipv4-addr", value=f"198.51.100.{n % 256}"),
        lambda: _sco("domain-name", value=f"host{n}.evil.example"),
        lambda: _sco("file", name=f"invoice{n}.exe", hashes={"SHA-256": f"{n:064x}"}),
        lambda: _sco("url", value=f"https://evil.example/{n}"),
        lambda: _sco("email-addr", value=f"billing{n}@evil.example"),
        lambda: _sdo("note", content="Seen again", object_refs=[ind]),
    ]
    return makers[n % len(makers)]()


def bundle(make: Callable[[int], dict[str, Any]], count: int) -> dict[str, Any]:
    objects = [marking_definition(Tlp.AMBER)] + [make(n) for n in range(count - 1)]
    return {"type": "bundle", "id": _id("bundle"), "objects": objects}


def slow(bundle: dict[str, Any]) -> None:
    """The checks of the slow path: the validator on the bundle, stix2 on each object."""
    result = stix2validator.validate_parsed_json(bundle)
    assert not result.errors, result.errors[:3]
    for obj in bundle["objects"]:
        stix2.parse(obj, allow_custom=False, version="2.1")


def fast(bundle: dict[str, Any]) -> None:
    stix.validate_bundle(bundle)


def rate(check: Callable[[dict[str, Any]], None], payload: dict[str, Any]) -> tuple[float, float]:
    """Objects/s over the wall clock and over this process's CPU time (which other work on
    a shared machine does not inflate)."""
    start, cpu = time.perf_counter(), time.process_time()
    check(payload)
    count = len(payload["objects"])
    return (count / (time.perf_counter() - start),
            count / max(time.process_time() - cpu, 1e-9))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--objects", type=int, default=2000)
    options.add_argument("--slow-objects", type=int, default=500)
    args = options.parse_args()
    fast(bundle(mixed, 40))  # warm up: the schemas compile on first use
    print(f"{'bundle':<12} {'objects':>8} {'slow obj/s':>11} {'fast obj/s':>11} {'ratio':>7}"
          f"   {'(CPU time: slow':>16} {'fast':>8} {'ratio)':>7}")
    for name, make in (("indicators", indicator), ("mixed", mixed)):
        old, old_cpu = rate(slow, bundle(make, args.slow_objects))
        new, new_cpu = rate(fast, bundle(make, args.objects))
        print(f"{name:<12} {args.objects:>8} {old:>11,.0f} {new:>11,.0f} {new / old:>6.1f}x"
              f"   {old_cpu:>16,.0f} {new_cpu:>8,.0f} {new_cpu / old_cpu:>6.1f}x")


if __name__ == "__main__":
    main()
