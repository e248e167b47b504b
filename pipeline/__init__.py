"""DistilKit pipeline: one module per stage; see build_all.py."""
