"""The demo hub that ``renkei serve --demo`` seeds: every domain filled with synthetic data.

``data`` builds the demo's content as plain values (pure functions, no database);
``seed`` stores it through each domain's public services, never their tables; ``living``
adds a small batch now and then while the server runs, so the dashboard moves.
"""
