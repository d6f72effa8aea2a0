#!/usr/bin/env python3
"""The Windows build's window under Wine 10 and Xvfb, driven by xdotool as a user would.

A Windows holder (`port-inspector.exe listen`) holds a loopback port. The window opens on that
port (`port-inspector.exe window 127.0.0.1:P`); Ctrl+Shift+C copies its report, which xclip
reads from the X clipboard: it must name the holder's image name and the PID that `who --json`
gives. Ctrl+E asks to end the holder and Enter confirms it; the holder must exit, and the
window's fresh check, copied again, must say BINDABLE.

    wine-window.py EXE WINE10 [SCREENSHOT.png]

Every wait is a poll with a deadline. Needs Xvfb, xdotool and xclip (.ci/run installs them).
"""
import json
import os
import socket
import subprocess
import sys
import time

exe, wine10 = sys.argv[1], sys.argv[2]
shot = sys.argv[3] if len(sys.argv) > 3 else None
t0 = time.time()


def say(text):
    print(f"[{time.time() - t0:6.1f} s] {text}", flush=True)


def free_display():
    """A display number no X server uses (two runs at once pick different ones)."""
    for n in range(1200 + os.getpid() % 300, 1600):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return f":{n}"
    sys.exit("no free X display number")


def x(*args):
    env = dict(os.environ, DISPLAY=display)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=30).stdout


def wait(what, done, secs):
    """Polls `done` until it gives a true value; fails the run after `secs` seconds."""
    end = time.time() + secs
    while time.time() < end:
        got = done()
        if got:
            return got
        time.sleep(0.3)
    sys.exit(f"FAILED: timed out after {secs} s waiting for {what}")


def held(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def window_id():
    return x("xdotool", "search", "--name", "Port Inspector").split("\n")[0].strip()


def copy_report():
    """Focuses the window, presses Ctrl+Shift+C and reads the X clipboard."""
    wid = window_id()
    if not wid:
        return ""
    x("xdotool", "windowfocus", wid)
    x("xdotool", "key", "ctrl+shift+c")
    return x("xclip", "-o", "-selection", "clipboard", "-t", "UTF8_STRING")


display = free_display()
procs = []
try:
    procs.append(subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp",
                                   "-noreset"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 20)
    # Every Windows process of the prefix shares one desktop, made by the first one the
    # wineserver starts: a desktop made without a display (an earlier step's process) would
    # take the window too. So wait for the earlier wineserver to end, and start every process
    # here (the holder too) with this display.
    try:
        subprocess.run([wine10, "run", "wineserver", "-w"], timeout=60)
    except subprocess.TimeoutExpired:
        # A Windows process an earlier step left running keeps the old desktop alive.
        say("a Windows process of an earlier step still runs: ending the prefix's processes")
        subprocess.run([wine10, "run", "wineserver", "-k"], timeout=60)
        subprocess.run([wine10, "run", "wineserver", "-w"], timeout=60)
    os.environ["DISPLAY"] = display

    # The kernel picks a free port; the Windows holder then takes it (another taker in between
    # fails the holder, which the wait below says).
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    holder = subprocess.Popen([wine10, "wine", exe, "listen", f"127.0.0.1:{port}", "--for", "900"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(holder)
    wait(f"the Windows holder to hold 127.0.0.1:{port}", lambda: held(port), 60)
    who = subprocess.run([wine10, "wine", exe, "who", str(port), "--json"], capture_output=True,
                         text=True, timeout=120)
    owners = json.loads(who.stdout)["owners"]
    pid = next(o["pid"] for o in owners if o.get("pid"))
    name = next(o["process"] for o in owners if o.get("pid"))
    say(f"holder: {name} (PID {pid}) on 127.0.0.1:{port}")
    assert name.lower() == "port-inspector.exe", f"the holder's image name: {name!r}"

    err = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"wine-window-{os.getpid()}.log"), "w")
    procs.append(subprocess.Popen([wine10, "wine", exe, "window", f"127.0.0.1:{port}"],
                                  env=dict(os.environ, DISPLAY=display),
                                  stdout=subprocess.DEVNULL, stderr=err))
    wait("the window", window_id, 120)
    say("the window is open")
    report = wait("the report of the held port on the X clipboard",
                  lambda: (lambda r: r if "WSAEADDRINUSE" in r else None)(copy_report()), 120)
    first = report.splitlines()[0] if report else ""
    say(f"copied: {first!r}")
    assert first == f"# Port Inspector report: TCP 127.0.0.1:{port}", first
    assert "NOT BINDABLE" in report, report
    assert f"{name} (PID {pid})" in report, f"the holder by name and PID in: {report}"
    if shot:
        # The whole screen (1280x800, the window at the size its saved state gives it).
        x("import", "-window", "root", shot)
        say(f"screenshot: {shot}")

    # Ctrl+E: the plan comes from the worker; Enter in its confirmation ends the holder. Until
    # the confirmation is up, Enter only checks the port again (the form's key).
    wid = window_id()
    x("xdotool", "windowfocus", wid)
    x("xdotool", "key", "ctrl+e")

    def ended():
        if holder.poll() is not None:
            return True
        x("xdotool", "windowfocus", wid)
        x("xdotool", "key", "Return")
        return holder.poll() is not None

    wait(f"Ctrl+E and Enter to end PID {pid}", ended, 90)
    say(f"the holder exited (wine's status {holder.returncode})")
    assert not held(port), f"127.0.0.1:{port} free after the end"
    report = wait("the fresh check's report (BINDABLE)",
                  lambda: (lambda r: r if "BINDABLE" in r and "NOT BINDABLE" not in r else None)(copy_report()), 90)
    say("the fresh check says BINDABLE")
    print(f"window under Wine: held by {name} (PID {pid}), ended with Ctrl+E + Enter, "
          f"fresh check bindable ({time.time() - t0:.0f} s)")
finally:
    for p in reversed(procs):
        p.kill()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
