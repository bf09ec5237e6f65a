"""privlab's mitmproxy addons, the scripts `privlab capture` runs in mitmdump.

Each module is a mitmproxy script (`mitmdump -s addons/privlab.py` loads them all; each also runs alone);
they import each other by module name because mitmproxy puts the script's folder on `sys.path`.
This folder is a package only so that the wheel ships it and `importlib.resources.files("addons")` finds
it, installed or in a checkout; nothing imports the addons through it.
"""
