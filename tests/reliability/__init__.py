"""The reliability suite: botkit attacked from outside, as a real ``botkit serve`` process.

Five measurements, each a test module here: kill -9 in the middle of a burst (acknowledged
turns lost, turns doubled, the SQLite file's integrity), one user's messages all at once on every
store, a table of bad input across every endpoint and the widget's WebSocket, upstreams that hang
or drip under Kakao's 5-second deadline, and secrets and personal data in the server's logs.

``make test`` runs a fast subset; ``make reliability`` (``python -m tests.reliability``) runs
the full counts and prints the figures as a table. docs/reliability.md says what each one means.
"""
