"""arrears: consumer-credit delinquency management and compliant, segmented collections."""

__version__ = "0.1.0"
