"""The web chat widget: its server side and its files (``static/``)."""
