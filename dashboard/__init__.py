"""Atelier dashboard (Streamlit)."""
