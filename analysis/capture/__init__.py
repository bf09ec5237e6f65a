"""Capture: a real mitmdump with privlab's addons, an optional tcpdump, and the program under test."""
