"""An agency's runtime: outbox, inbox, automatic acknowledgements, local HTTP API."""
