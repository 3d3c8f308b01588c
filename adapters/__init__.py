"""Agency adapters: translate an agency's native format to and from Caselink's canonical model."""
