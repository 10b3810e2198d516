"""The web explorer (``uprising serve``; the ``app`` extra): a FastAPI server and a page drawn with plotly.js.

The core never imports this package; it imports the core.
"""

from .server import create_app

__all__ = ["create_app"]
