"""The Gradio dashboard: one module per tab (compare, history, plots, models, tokenizer),
each a thin layer over the service; ``app.build_app`` puts them together.
"""
