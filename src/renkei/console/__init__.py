"""The web console: sign-in with a second factor (``auth``), sessions, the page plumbing
every domain's pages use (``web``), the overview's panels and the administration pages.
A domain's pages plug in with one line in ``routes.PAGE_MODULES``; see docs/console.md."""
