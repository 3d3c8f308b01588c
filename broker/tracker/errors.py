"""Typed errors of the tracker's pure core: one line each, ids and categories only."""

from broker.errors import CaselinkError


class TrackerError(CaselinkError):
    """Base of every error the tracker raises on purpose."""

    reason = "tracker_error"


class PolicyError(TrackerError, ValueError):
    """The SLA policy text is not valid TOML or breaks the policy's rules."""

    reason = "invalid_sla_policy"


class MixedThreads(TrackerError, ValueError):
    """Events of another thread were passed to the fold of one thread."""

    reason = "mixed_threads"


class NoCoordinators(TrackerError, ValueError):
    """An alert for the coordinators was converted with no coordinator agency to address."""

    reason = "no_coordinators"
