"""check-host: this interpreter's distributions and a dpkg status file as an inventory."""

from __future__ import annotations

from pathlib import Path

from renkei.vulns.host import host_inventory, read_os_release

STATUS = """Package: libssl3
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: bash
Essential: yes
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2
Source: bash (5.2.15-2)

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
"""


def write_host(tmp_path: Path, os_release: str) -> tuple[Path, Path]:
    status = tmp_path / "status"
    status.write_text(STATUS, encoding="utf-8")
    release = tmp_path / "os-release"
    release.write_text(os_release, encoding="utf-8")
    return status, release


def test_python_distributions_of_this_interpreter() -> None:
    inv = host_inventory(dpkg_status=None)
    assert inv.format == "host"
    pytest_dist = next(c for c in inv.components if c.name == "pytest")
    assert pytest_dist.ecosystem == "PyPI"
    assert pytest_dist.purl == f"pkg:pypi/pytest@{pytest_dist.version}"
    assert pytest_dist.given == f"pytest=={pytest_dist.version}"
    assert Path(pytest_dist.location).exists()
    assert all(c.ecosystem == "PyPI" for c in inv.components)


def test_debian_packages_with_the_release(tmp_path: Path) -> None:
    status, release = write_host(
        tmp_path,
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n',
    )
    inv = host_inventory(status, os_release=release, python_path=[])
    libssl, bash = inv.components
    assert (
        libssl.purl
        == "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&source=openssl"
    )
    assert (libssl.ecosystem, libssl.name, libssl.version) == (
        "Debian:12",
        "openssl",
        "3.0.11-1~deb12u2",
    )
    assert libssl.location == f"{status}:1"
    # a binNMU: the binary's version in the purl, the source's for matching
    assert bash.purl == "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12"
    assert (bash.name, bash.version) == ("bash", "5.2.15-2")
    assert inv.problems == []


def test_other_distributions_and_missing_files(tmp_path: Path) -> None:
    status, release = write_host(
        tmp_path, 'ID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n'
    )
    inv = host_inventory(status, os_release=release, python_path=[])
    assert inv.components[0].purl is not None
    assert inv.components[0].purl.startswith("pkg:deb/ubuntu/libssl3@")
    assert inv.components[0].ecosystem == "Ubuntu:22.04"
    assert read_os_release(tmp_path / "nothing") == ("debian", None)
    (tmp_path / "sid").write_text("ID=debian\nVERSION_CODENAME=trixie\n", encoding="utf-8")
    assert read_os_release(tmp_path / "sid") == ("debian", "trixie")
    assert host_inventory(tmp_path / "no-status", python_path=[]).components == []


def test_python_path_is_honoured(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "demo_pkg-1.2.3.dist-info").mkdir(parents=True)
    (site / "demo_pkg-1.2.3.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (site / "broken-0.1.dist-info").mkdir()
    (site / "broken-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\n", encoding="utf-8"
    )
    inv = host_inventory(None, python_path=[str(site)])
    demo = next(c for c in inv.components if c.name == "demo-pkg")
    assert (demo.purl, demo.version, demo.given) == (
        "pkg:pypi/demo-pkg@1.2.3",
        "1.2.3",
        "Demo_Pkg==1.2.3",
    )
    assert demo.location.endswith("demo_pkg-1.2.3.dist-info")
    assert [p.message for p in inv.problems] == ["distribution without a name"]
