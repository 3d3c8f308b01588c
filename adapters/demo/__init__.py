"""`caselink demo`: a working federation of agencies on the local RabbitMQ, and a scenario
that drives each agency through the adapter it would really use. It sits with the adapters
because it runs all of them (and builds its requests with their samples); `command` is the
`caselink demo` command, added through the `caselink.commands` entry point.

`federation` (pure: who takes part, their ports, adapters and users), `state` (the demo's
one folder: keys, directory, configs, secrets), `processes` (the gateways and the tracker as
their own processes), `scenario` (the steps, each checked, never assumed), `report` (the
progress display and the summary).
"""
