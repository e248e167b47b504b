"""DistilKit pipeline: one module per stage; see build_all.py."""
from pipeline import quiet as _quiet

_quiet.install()  # before any stage imports torch, torchao or a converter
