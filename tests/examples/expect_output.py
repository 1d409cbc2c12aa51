"""Runs one example program (bounded in time) and compares what it prints
with what the seed's README says the snippet prints.

    expect_output.py EXPECTED_STDOUT PROGRAM [ARGS...]
"""
import subprocess
import sys

expected = sys.argv[1].encode().decode("unicode_escape")
run = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=60)
if run.returncode != 0 or run.stdout != expected:
    print(f"exit {run.returncode}\nexpected {expected!r}\ngot      {run.stdout!r}\n{run.stderr}")
    sys.exit(1)
print(run.stdout, end="")
