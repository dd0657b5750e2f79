"""The corpus programs are scripts, run in subprocesses by test_corpus.py: pytest's
``--doctest-modules`` must not import them (importing one would run it, under real torch)."""

collect_ignore_glob = ["programs/*.py"]
