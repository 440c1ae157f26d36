"""talktracks: call recordings -> behaviours -> which talk tracks win deals."""

__version__ = "0.1.0"
