"""Live Android devices: check, set up and reset a rooted emulator or phone, and read its facts.

`adb` wraps the adb client; `ca` names the mitmproxy CA the way Android's trust store does; `checks`
says what is ready; `setup` makes it ready and undoes it; `facts` reads device facts and identifiers,
plants canaries, and prepares a capture session (`prepare_device_session`, `pull_apks`).
"""
