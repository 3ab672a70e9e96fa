"""The compare report, a section a module (base.py: what a section is, and `emit`)."""
