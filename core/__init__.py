"""Atelier core: data contract, engine and persistence (no Streamlit here)."""
