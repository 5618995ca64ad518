"""Search algorithms, one module per searcher (installed as ``zcbench.searchers``).

The searchers arrive with the search issue; this package exists so the import namespace of the
design card is in place from the start.
"""
