"""Deploy: reviewed templates in build/ → running stacks, safely.

    manifest ─▶ plan (describe stacks, hash compare; change sets) ─▶ gates ─▶ execute
                                                                          └▶ after-deploy steps

`cloud.py` is the only module that talks to AWS (or the local cloud); `plan.py` holds
the decisions as small frozen dataclasses and pure functions, so tests assert plans
without any network; `runner.py` schedules stacks in dependency order, in parallel;
`flow.py` takes one stack through its steps; `console.py` serializes what the threads
print and ask.
"""
