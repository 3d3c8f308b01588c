"""People and systems that sign in: password hashing, API tokens, sign-in throttling, and
the server-side sessions of people signed in by a form.

Shared by the gateway's API and the coordinators' dashboard so that both apply one set of
rules. Pure apart from scrypt running in a worker thread.
"""
