"""The Gradio dashboard: one module per tab, each a thin layer over the service."""
